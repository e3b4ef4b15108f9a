/**
 * Two-party signing (Lindell 2017, Protocol 4.1 with additive shares, 2021 revision), four messages.
 *
 *   P1 → P2  SignMsg1: commitment to (R1 = k1·G, Schnorr proof of k1, digest, account index)
 *   P2 → P1  SignMsg2: R2 = k2·G, Schnorr proof of k2
 *   P1 → P2  SignMsg3: opening of msg1; P2 checks the digest and account are its own
 *   P2 → P1  SignMsg4: c3 = Enc(ρq + k2⁻¹(m + r·x2_i)) ⊕ (k2⁻¹·r) ⊙ ckey
 *   P1: s = k1⁻¹·Dec(c3) mod q, low-s, recovery bit, verify under Q_i, then release.
 *
 * R = k1·R2 = k2·R1 = k1k2·G, r = x(R) mod q, and Dec(c3) ≡ k2⁻¹(m + r(x1 + x2_i)) (mod q).
 *
 * Each party's session lives in memory only: the nonce sits in a OneTimeNonce that each round
 * takes once (a second use of a state is `unexpected_message`) and that refuses to be serialised,
 * so a state is never stored or resumed; an interrupted signing restarts as a new attempt with
 * fresh nonces. A message for another session, key or epoch is refused (`session_mismatch`);
 * one for another step is refused (`unexpected_message`).
 *
 * Leaked-abort defence (CVE-2023-33242): if the signature from a well-formed c3 does not verify,
 * p1SignFinish returns `{ kind: 'tainted', keyShare }` with a taint naming the counterpart; the
 * caller holds it in memory at once, persists it before sending anything, and every later call
 * with it throws `key_tainted` — except a rescue (SignRequest.rescue): in a pair there is no other
 * member to sign with, so moving the funds away needs the suspect once more. A rescue is allowed
 * after exactly one failure with the counterpart; a second failure refuses everything, rescues too.
 * Each failure tells a malicious P2 about one bit of x (or ~log₂ T bits by its timing over T
 * signatures), so two failures cap the leak far below the 256 bits of the key (docs/threat-model.md).
 */
import { equalBytes } from './bytes.ts';
import { CURVE_ORDER, G, invertMod, mod, modQ, type Point } from './curve.ts';
import { accountOffset, accountPublicKey, assertAccountIndex } from './derivation.ts';
import { MpcError } from './errors.ts';
import { failuresWithCounterpart, type P1KeyShare, type P2KeyShare } from './key-share.ts';
import { OneTimeNonce, takeNonce } from './one-time-nonce.ts';
import { decrypt, encryptWithMaskedNonce, multiplyCiphertext, addCiphertexts, paillierPublicKey, type NoncePool } from './paillier.ts';
import { assertSessionId, transcriptContext } from './protocol-context.ts';
import { randomBelow, randomScalar, randomUnit } from './random.ts';
import { modPow } from './modpow.ts';
import { normalizeLowS, verifyEcdsa, type EcdsaSignature } from './signature.ts';
import { RANGE_BOUND_BITS } from './zk/paillier-dlog-range.ts';
import { commit, verifyCommitment, type CommittedValues } from './zk/commitment.ts';
import { proveDiscreteLog, verifyDiscreteLog, type SchnorrProof } from './zk/schnorr.ts';
import { bytesToBigInt } from './bytes.ts';

export const DIGEST_BYTES = 32;
/**
 * ρ < 2^(RANGE_BOUND_BITS + 128): the mask must hide q·(ρ + k2⁻¹r·⌊x1/q⌋) for any x1 the PDL proof
 * admits (x1 < 2^RANGE_BOUND_BITS), not only x1 < q as in the paper's ρ ∈ Z_{q²}; 128 bits of
 * statistical distance. The plaintext stays below 2^1155 ≪ N, so it never wraps mod N.
 */
export const SIGN_MASK_BITS = RANGE_BOUND_BITS + 128;

export interface SignRequest {
  readonly sessionId: Uint8Array;
  /** The 32-byte digest this device computed itself from the request it showed the user. */
  readonly digest: Uint8Array;
  readonly accountIndex: number;
  /**
   * P1 only: the request moves the funds away after a taint (the caller decided it qualifies, e.g.
   * a transfer to the address the user entered on the P1 device); allowed after one failure.
   */
  readonly rescue?: boolean;
}

/** After this many failed signatures with a counterpart, P1 refuses it for rescues too. */
export const RESCUE_FAILURE_LIMIT = 1;

interface SignHeader {
  readonly sessionId: Uint8Array;
  readonly keyId: Uint8Array;
  readonly epoch: number;
}

export interface SignMsg1 extends SignHeader {
  readonly type: 'sign/1';
  readonly commitment: Uint8Array;
}

export interface SignMsg2 extends SignHeader {
  readonly type: 'sign/2';
  readonly r2: Point;
  readonly proof: SchnorrProof;
}

export interface SignMsg3 extends SignHeader {
  readonly type: 'sign/3';
  readonly opening: Uint8Array;
  readonly r1: Point;
  readonly proof: SchnorrProof;
  readonly digest: Uint8Array;
  readonly accountIndex: number;
}

export interface SignMsg4 extends SignHeader {
  readonly type: 'sign/4';
  readonly c3: bigint;
}

export type P1SignSession =
  | { readonly step: 'sign/awaiting-2'; readonly request: SignRequest; readonly k1: OneTimeNonce; readonly r1: Point; readonly proof: SchnorrProof; readonly opening: Uint8Array }
  | { readonly step: 'sign/awaiting-4'; readonly request: SignRequest; readonly k1: OneTimeNonce; readonly r: bigint; readonly bigR: Point }
  | { readonly step: 'sign/done'; readonly request: SignRequest };

export type P2SignSession =
  | { readonly step: 'sign/awaiting-3'; readonly request: SignRequest; readonly commitment: Uint8Array; readonly k2: OneTimeNonce; readonly r2: Point }
  | { readonly step: 'sign/done'; readonly request: SignRequest };

export type P1SignOutcome =
  | { readonly kind: 'signature'; readonly signature: EcdsaSignature; readonly session: P1SignSession }
  | { readonly kind: 'tainted'; readonly keyShare: P1KeyShare; readonly session: P1SignSession; readonly error: MpcError };

const context = (purpose: string, header: SignHeader, role: 'P1' | 'P2') =>
  transcriptContext(`sign/${purpose}`, header.sessionId, header.keyId, role);

/** The tuple P1 commits to in SignMsg1, in transcript order. */
export function committedNonce(r1: Point, proof: SchnorrProof, digest: Uint8Array, accountIndex: number): CommittedValues {
  const index = new Uint8Array(4);
  new DataView(index.buffer).setUint32(0, accountIndex, false);
  return (transcript) =>
    transcript
      .appendPoint('R1', r1)
      .appendPoint('proof.commitment', proof.commitment)
      .appendBigInt('proof.response', proof.response)
      .appendBytes('digest', digest)
      .appendBytes('account-index', index);
}

function checkRequest(request: SignRequest): void {
  assertSessionId(request.sessionId, 'sign.sessionId');
  if (!(request.digest instanceof Uint8Array) || request.digest.length !== DIGEST_BYTES) {
    throw new MpcError('malformed', 'sign.digest', `digest must be ${DIGEST_BYTES} bytes`);
  }
  assertAccountIndex(request.accountIndex, 'sign.accountIndex');
}

function checkHeader(message: SignHeader & { type: string }, keyId: Uint8Array, epoch: number, session: { request: SignRequest }, field: string): void {
  if (!equalBytes(message.sessionId, session.request.sessionId)) throw new MpcError('session_mismatch', `${field}.sessionId`, 'message belongs to another session');
  if (!equalBytes(message.keyId, keyId)) throw new MpcError('session_mismatch', `${field}.keyId`, 'message belongs to another key');
  if (message.epoch !== epoch) throw new MpcError('session_mismatch', `${field}.epoch`, 'message belongs to another key epoch');
}

function refuseTainted(keyShare: P1KeyShare, request: SignRequest): void {
  const failures = failuresWithCounterpart(keyShare);
  if (failures === 0 || (request.rescue === true && failures <= RESCUE_FAILURE_LIMIT)) return;
  throw new MpcError('key_tainted', 'keyShare.taints', 'a signature with this counterpart failed the check; it may be compromised');
}

/**
 * P1, round 1. `activeSession` is the caller's current session for this key, if any: a second
 * session while one is unfinished is refused (`session_busy`); abandon the old one explicitly.
 */
export function p1SignStart(keyShare: P1KeyShare, request: SignRequest, activeSession: P1SignSession | null): { session: P1SignSession; message: SignMsg1 } {
  refuseTainted(keyShare, request);
  if (activeSession && activeSession.step !== 'sign/done') throw new MpcError('session_busy', 'sign.session', 'another signing session with this key is in progress');
  checkRequest(request);
  const header: SignHeader = { sessionId: request.sessionId, keyId: keyShare.keyId, epoch: keyShare.epoch };
  const k1 = randomScalar();
  const r1 = G.multiply(k1);
  const proof = proveDiscreteLog(context('r1', header, 'P1'), k1, r1);
  const { commitment, opening } = commit(context('commit', header, 'P1'), committedNonce(r1, proof, request.digest, request.accountIndex));
  return {
    session: { step: 'sign/awaiting-2', request, k1: new OneTimeNonce(k1), r1, proof, opening },
    message: { type: 'sign/1', ...header, commitment },
  };
}

/** P2, round 1: after its own user approved the same request, answer with R2. */
export function p2SignRespond(keyShare: P2KeyShare, request: SignRequest, message: SignMsg1, activeSession: P2SignSession | null): { session: P2SignSession; message: SignMsg2 } {
  if (activeSession && activeSession.step !== 'sign/done') throw new MpcError('session_busy', 'sign.session', 'another signing session with this key is in progress');
  checkRequest(request);
  checkHeader(message, keyShare.keyId, keyShare.epoch, { request }, 'sign1');
  const header: SignHeader = { sessionId: request.sessionId, keyId: keyShare.keyId, epoch: keyShare.epoch };
  const k2 = randomScalar();
  const r2 = G.multiply(k2);
  const proof = proveDiscreteLog(context('r2', header, 'P2'), k2, r2);
  return {
    session: { step: 'sign/awaiting-3', request, commitment: message.commitment, k2: new OneTimeNonce(k2), r2 },
    message: { type: 'sign/2', ...header, r2, proof },
  };
}

/** P1, round 2: check R2, compute R, open the commitment. */
export function p1SignReveal(keyShare: P1KeyShare, session: P1SignSession, message: SignMsg2): { session: P1SignSession; message: SignMsg3 } {
  refuseTainted(keyShare, session.request);
  if (session.step !== 'sign/awaiting-2') throw new MpcError('unexpected_message', 'sign2', 'not expecting sign/2');
  checkHeader(message, keyShare.keyId, keyShare.epoch, session, 'sign2');
  const header: SignHeader = { sessionId: session.request.sessionId, keyId: keyShare.keyId, epoch: keyShare.epoch };
  verifyDiscreteLog(context('r2', header, 'P2'), message.r2, message.proof, 'sign2.proof');
  const k1 = takeNonce(session.k1, 'sign2');
  const bigR = message.r2.multiply(k1);
  const rx = bigR.toAffine().x;
  // x(R) ≥ q (probability ≈ 2^-128) would need a recovery id Ethereum cannot carry; r = 0 is invalid.
  if (rx >= CURVE_ORDER || rx === 0n) throw new MpcError('out_of_range', 'sign.r', 'unusable nonce point; start a new session');
  const r = rx;
  return {
    session: { step: 'sign/awaiting-4', request: session.request, k1: new OneTimeNonce(k1), r, bigR },
    message: {
      type: 'sign/3',
      ...header,
      opening: session.opening,
      r1: session.r1,
      proof: session.proof,
      digest: session.request.digest,
      accountIndex: session.request.accountIndex,
    },
  };
}

/**
 * P2, round 2: open P1's commitment, refuse a different digest or account, then compute c3.
 * `noncePool` supplies r^N mod N² computed in idle time; without it one is computed now.
 */
export function p2SignCompute(keyShare: P2KeyShare, session: P2SignSession, message: SignMsg3, noncePool?: NoncePool): { session: P2SignSession; message: SignMsg4 } {
  if (session.step !== 'sign/awaiting-3') throw new MpcError('unexpected_message', 'sign3', 'not expecting sign/3');
  checkHeader(message, keyShare.keyId, keyShare.epoch, session, 'sign3');
  const header: SignHeader = { sessionId: session.request.sessionId, keyId: keyShare.keyId, epoch: keyShare.epoch };
  verifyCommitment(context('commit', header, 'P1'), session.commitment, message.opening, committedNonce(message.r1, message.proof, message.digest, message.accountIndex), 'sign3.opening');
  verifyDiscreteLog(context('r1', header, 'P1'), message.r1, message.proof, 'sign3.proof');
  if (!equalBytes(message.digest, session.request.digest)) throw new MpcError('digest_mismatch', 'sign3.digest', 'the phone is signing a different request');
  if (message.accountIndex !== session.request.accountIndex) throw new MpcError('digest_mismatch', 'sign3.accountIndex', 'the phone is signing for a different account');

  const k2 = takeNonce(session.k2, 'sign3');
  const bigR = message.r1.multiply(k2);
  const r = modQ(bigR.toAffine().x);
  if (r === 0n) throw new MpcError('out_of_range', 'sign.r', 'r = 0; start a new session');
  const m = modQ(bytesToBigInt(session.request.digest));
  const x2i = modQ(keyShare.x2 + accountOffset(keyShare.chainCode, keyShare.publicKey, session.request.accountIndex));
  const k2Inverse = invertMod(k2, CURVE_ORDER);
  const pk = paillierPublicKey(keyShare.paillierN);
  const rho = randomBelow(1n << BigInt(SIGN_MASK_BITS));
  const plaintext = rho * CURVE_ORDER + modQ(k2Inverse * modQ(m + r * x2i));
  const maskedNonce = noncePool ? noncePool.take() : modPow(randomUnit(pk.n), pk.n, pk.n2);
  const c1 = encryptWithMaskedNonce(pk, plaintext, maskedNonce);
  const c3 = addCiphertexts(pk, c1, multiplyCiphertext(pk, keyShare.ckey, modQ(k2Inverse * r)));
  return {
    session: { step: 'sign/done', request: session.request },
    message: { type: 'sign/4', ...header, c3 },
  };
}

/**
 * P1, round 3: decrypt, finish, normalise and verify. A signature that does not verify taints
 * the key: persist `keyShare` from the tainted outcome before replying to anyone.
 */
export function p1SignFinish(keyShare: P1KeyShare, session: P1SignSession, message: SignMsg4): P1SignOutcome {
  refuseTainted(keyShare, session.request);
  if (session.step !== 'sign/awaiting-4') throw new MpcError('unexpected_message', 'sign4', 'not expecting sign/4');
  checkHeader(message, keyShare.keyId, keyShare.epoch, session, 'sign4');
  const k1 = takeNonce(session.k1, 'sign4');
  const done: P1SignSession = { step: 'sign/done', request: session.request };
  const sPrime = mod(decrypt(keyShare.paillier, message.c3), CURVE_ORDER);
  const rawS = modQ(invertMod(k1, CURVE_ORDER) * sPrime);
  const affineR = session.bigR.toAffine();
  const { s, yParity } = normalizeLowS(rawS, Number(affineR.y & 1n) as 0 | 1);
  const signature: EcdsaSignature = { r: session.r, s, yParity };
  const accountKey = accountPublicKey(keyShare.publicKey, keyShare.chainCode, session.request.accountIndex);
  const digest = bytesToBigInt(session.request.digest);
  if (!verifyEcdsa(digest, signature, accountKey)) {
    return {
      kind: 'tainted',
      keyShare: { ...keyShare, taints: [...keyShare.taints, { suspect: keyShare.counterpart, epoch: keyShare.epoch }] },
      session: done,
      error: new MpcError('invalid_signature', 'sign4.c3', 'the joint signature is invalid: the extension may be compromised'),
    };
  }
  return { kind: 'signature', signature, session: done };
}
