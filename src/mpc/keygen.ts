/**
 * Two-party key generation (Lindell 2017, §3.1 / Protocol 3.1, with additive shares).
 *
 *   P1 → P2  KeyGenMsg0: Paillier N with the proof of its modulus (paillier-modulus.ts), sent as
 *                        soon as the channel is up; P2 checks it while the users compare the SAS
 *   P1 → P2  KeyGenMsg1: commitment to (Q1 = x1·G, Schnorr proof of x1, chain-code part c1, N)
 *   P2 → P1  KeyGenMsg2: Q2 = x2·G, Schnorr proof of x2, chain-code part c2
 *   P1 → P2  KeyGenMsg3: opening of msg1; ckey = Enc_N(x1) with the PDL-with-range proof
 *
 * Outputs: Q = Q1 + Q2, chain code = H(c1, c2), key id = H(session id, Q1, Q2, c1, c2).
 * Each round is a pure function of the caller-held state and the received message.
 */
import { bitLength, equalBytes } from './bytes.ts';
import { G, type Point } from './curve.ts';
import { MpcError } from './errors.ts';
import { KEY_SHARE_VERSION, type P1KeyShare, type P2KeyShare } from './key-share.ts';
import { encrypt, paillierPublicKey, type PaillierSecretKey } from './paillier.ts';
import { KEYGEN_KEY_ID, assertSessionId, transcriptContext } from './protocol-context.ts';
import { randomBytes, randomScalar, randomUnit } from './random.ts';
import { PROTOCOL_VERSION, Transcript } from './transcript.ts';
import { FieldReader, encodeInteger, encodePoint, hexFromBytes } from './wire.ts';
import { COMMITMENT_BYTES, OPENING_BYTES, commit, verifyCommitment, type CommittedValues } from './zk/commitment.ts';
import { decodePdlProof, encodePdlProof, provePdl, verifyPdl, type PdlProof } from './zk/paillier-dlog-range.ts';
import {
  decodePaillierModulusProof,
  encodePaillierModulusProof,
  verifyPaillierModulus,
  type PaillierModulusProof,
  type PreparedPaillierKey,
  type VerifiedPaillierModulus,
} from './zk/paillier-modulus.ts';
import { PAILLIER_MODULUS_MAX_BITS, checkPaillierModulus } from './zk/paillier-validity.ts';
import { decodeSchnorrProof, encodeSchnorrProof, proveDiscreteLog, verifyDiscreteLog, type SchnorrProof } from './zk/schnorr.ts';

export const CHAIN_CODE_BYTES = 32;

export interface KeyGenMsg0 {
  readonly type: 'keygen/0';
  readonly paillierN: bigint;
  readonly modulusProof: PaillierModulusProof;
}

export interface KeyGenMsg1 {
  readonly type: 'keygen/1';
  readonly sessionId: Uint8Array;
  readonly commitment: Uint8Array;
}

export interface KeyGenMsg2 {
  readonly type: 'keygen/2';
  readonly sessionId: Uint8Array;
  readonly q2: Point;
  readonly proof: SchnorrProof;
  readonly chainCodePart: Uint8Array;
}

export interface KeyGenMsg3 {
  readonly type: 'keygen/3';
  readonly sessionId: Uint8Array;
  readonly opening: Uint8Array;
  readonly q1: Point;
  readonly proof: SchnorrProof;
  readonly chainCodePart: Uint8Array;
  readonly ckey: bigint;
  readonly pdlProof: PdlProof;
}

/** P1's state between sending msg1 and receiving msg2. */
export interface P1KeyGenState {
  readonly step: 'keygen/awaiting-2';
  readonly sessionId: Uint8Array;
  readonly x1: bigint;
  readonly q1: Point;
  readonly proof: SchnorrProof;
  readonly chainCodePart: Uint8Array;
  readonly opening: Uint8Array;
  readonly paillier: PaillierSecretKey;
  /** Who P2 is (e.g. its pinned identity key): a failed signature names it in the taint. */
  readonly counterpart: string;
}

/** P2's state between sending msg2 and receiving msg3. */
export interface P2KeyGenState {
  readonly step: 'keygen/awaiting-3';
  readonly sessionId: Uint8Array;
  readonly commitment: Uint8Array;
  readonly x2: bigint;
  readonly q2: Point;
  readonly chainCodePart: Uint8Array;
  /** P1's modulus, verified from KeyGenMsg0 before this round. */
  readonly paillierN: bigint;
}

const context = (purpose: string, sessionId: Uint8Array, role: 'P1' | 'P2') =>
  transcriptContext(`keygen/${purpose}`, sessionId, KEYGEN_KEY_ID, role);

/** The tuple P1 commits to in KeyGenMsg1, in transcript order. */
export function committedShare(q1: Point, proof: SchnorrProof, chainCodePart: Uint8Array, paillierN: bigint): CommittedValues {
  return (transcript) =>
    transcript
      .appendPoint('Q1', q1)
      .appendPoint('proof.commitment', proof.commitment)
      .appendBigInt('proof.response', proof.response)
      .appendBytes('chain-code-part', chainCodePart)
      .appendBigInt('N', paillierN);
}

function jointOutputs(sessionId: Uint8Array, q1: Point, q2: Point, c1: Uint8Array, c2: Uint8Array) {
  const publicKey = q1.add(q2);
  if (publicKey.is0()) throw new MpcError('invalid_point', 'keygen.publicKey', 'joint public key is the identity');
  const base = () => Transcript.start(context('outputs', sessionId, 'P1')).appendPoint('Q1', q1).appendPoint('Q2', q2).appendBytes('c1', c1).appendBytes('c2', c2);
  return {
    publicKey,
    keyId: base().challengeBytes('key-id', 32),
    chainCode: base().challengeBytes('chain-code', CHAIN_CODE_BYTES),
  };
}

function expectSession(received: Uint8Array, expected: Uint8Array, field: string): void {
  if (!equalBytes(received, expected)) throw new MpcError('session_mismatch', field, 'message belongs to another session');
}

/** P1, round 0: announce the prepared Paillier key (made and proven in idle time). */
export function p1KeyGenAnnounce(prepared: PreparedPaillierKey): KeyGenMsg0 {
  return { type: 'keygen/0', paillierN: prepared.key.publicKey.n, modulusProof: prepared.proof };
}

/** P2, round 0: check P1's modulus; the result is used only once the pairing is confirmed. */
export function p2KeyGenVerifyModulus(message: KeyGenMsg0): VerifiedPaillierModulus {
  return verifyPaillierModulus(message.paillierN, message.modulusProof, 'keygen0.modulusProof');
}

/** P1, round 1: choose x1 and commit to Q1 with its proof and to the announced N. */
export function p1KeyGenStart(sessionId: Uint8Array, prepared: PreparedPaillierKey, counterpart: string): { state: P1KeyGenState; message: KeyGenMsg1 } {
  assertSessionId(sessionId, 'keygen.sessionId');
  const x1 = randomScalar();
  const q1 = G.multiply(x1);
  const proof = proveDiscreteLog(context('q1', sessionId, 'P1'), x1, q1);
  const chainCodePart = randomBytes(CHAIN_CODE_BYTES);
  const paillier = prepared.key;
  const { commitment, opening } = commit(context('commit', sessionId, 'P1'), committedShare(q1, proof, chainCodePart, paillier.publicKey.n));
  return {
    state: { step: 'keygen/awaiting-2', sessionId, x1, q1, proof, chainCodePart, opening, paillier, counterpart },
    message: { type: 'keygen/1', sessionId, commitment },
  };
}

/** P2, round 1: answer the commitment with Q2 and its proof; N is the modulus P2 verified. */
export function p2KeyGenRespond(message: KeyGenMsg1, modulus: VerifiedPaillierModulus): { state: P2KeyGenState; message: KeyGenMsg2 } {
  const { sessionId } = message;
  const x2 = randomScalar();
  const q2 = G.multiply(x2);
  const proof = proveDiscreteLog(context('q2', sessionId, 'P2'), x2, q2);
  const chainCodePart = randomBytes(CHAIN_CODE_BYTES);
  return {
    state: { step: 'keygen/awaiting-3', sessionId, commitment: message.commitment, x2, q2, chainCodePart, paillierN: modulus.n },
    message: { type: 'keygen/2', sessionId, q2, proof, chainCodePart },
  };
}

/** P1, round 2: verify Q2, encrypt x1 and prove it. P1's key share is final once msg3 is sent. */
export function p1KeyGenFinish(state: P1KeyGenState, message: KeyGenMsg2): { keyShare: P1KeyShare; message: KeyGenMsg3 } {
  if (state.step !== 'keygen/awaiting-2') throw new MpcError('unexpected_message', 'keygen2', 'not expecting keygen/2');
  expectSession(message.sessionId, state.sessionId, 'keygen2.sessionId');
  verifyDiscreteLog(context('q2', state.sessionId, 'P2'), message.q2, message.proof, 'keygen2.proof');

  const { paillier } = state;
  const pk = paillier.publicKey;
  const nonce = randomUnit(pk.n);
  const ckey = encrypt(pk, state.x1, nonce);
  const pdlProof = provePdl(context('pdl', state.sessionId, 'P1'), { publicKey: pk, ciphertext: ckey, point: state.q1 }, { x: state.x1, r: nonce });
  const outputs = jointOutputs(state.sessionId, state.q1, message.q2, state.chainCodePart, message.chainCodePart);

  return {
    keyShare: {
      version: KEY_SHARE_VERSION,
      keyId: outputs.keyId,
      publicKey: outputs.publicKey,
      chainCode: outputs.chainCode,
      x1: state.x1,
      q2: message.q2,
      paillier,
      epoch: 0,
      counterpart: state.counterpart,
      taints: [],
    },
    message: {
      type: 'keygen/3',
      sessionId: state.sessionId,
      opening: state.opening,
      q1: state.q1,
      proof: state.proof,
      chainCodePart: state.chainCodePart,
      ckey,
      pdlProof,
    },
  };
}

/** P2, round 2: open the commitment, check every proof, and keep ckey. */
export function p2KeyGenFinish(state: P2KeyGenState, message: KeyGenMsg3): P2KeyShare {
  if (state.step !== 'keygen/awaiting-3') throw new MpcError('unexpected_message', 'keygen3', 'not expecting keygen/3');
  expectSession(message.sessionId, state.sessionId, 'keygen3.sessionId');
  const { sessionId } = state;
  verifyCommitment(context('commit', sessionId, 'P1'), state.commitment, message.opening, committedShare(message.q1, message.proof, message.chainCodePart, state.paillierN), 'keygen3.opening');
  verifyDiscreteLog(context('q1', sessionId, 'P1'), message.q1, message.proof, 'keygen3.proof');
  const pk = paillierPublicKey(state.paillierN);
  verifyPdl(context('pdl', sessionId, 'P1'), { publicKey: pk, ciphertext: message.ckey, point: message.q1 }, message.pdlProof, 'keygen3.pdlProof');
  const outputs = jointOutputs(sessionId, message.q1, state.q2, message.chainCodePart, state.chainCodePart);
  return {
    version: KEY_SHARE_VERSION,
    keyId: outputs.keyId,
    publicKey: outputs.publicKey,
    chainCode: outputs.chainCode,
    x2: state.x2,
    q1: message.q1,
    paillierN: state.paillierN,
    ckey: message.ckey,
    epoch: 0,
  };
}

// ---- wire encoding -------------------------------------------------------------------------

const header = (type: string, sessionId: Uint8Array) => ({ type, version: PROTOCOL_VERSION, sessionId: hexFromBytes(sessionId) });

export function encodeKeyGenMsg0(message: KeyGenMsg0): object {
  return { type: message.type, version: PROTOCOL_VERSION, paillierN: encodeInteger(message.paillierN), modulusProof: encodePaillierModulusProof(message.modulusProof) };
}

export function encodeKeyGenMsg1(message: KeyGenMsg1): object {
  return { ...header(message.type, message.sessionId), commitment: hexFromBytes(message.commitment) };
}

export function encodeKeyGenMsg2(message: KeyGenMsg2): object {
  return {
    ...header(message.type, message.sessionId),
    q2: encodePoint(message.q2),
    proof: encodeSchnorrProof(message.proof),
    chainCodePart: hexFromBytes(message.chainCodePart),
  };
}

export function encodeKeyGenMsg3(message: KeyGenMsg3): object {
  return {
    ...header(message.type, message.sessionId),
    opening: hexFromBytes(message.opening),
    q1: encodePoint(message.q1),
    proof: encodeSchnorrProof(message.proof),
    chainCodePart: hexFromBytes(message.chainCodePart),
    ckey: encodeInteger(message.ckey),
    pdlProof: encodePdlProof(message.pdlProof),
  };
}

function readHeader<T extends string>(value: unknown, path: string, type: T): { reader: FieldReader; sessionId: Uint8Array } {
  const reader = new FieldReader(value, path);
  reader.literal('type', type);
  reader.literal('version', PROTOCOL_VERSION);
  return { reader, sessionId: reader.bytes('sessionId', 32) };
}

export function decodeKeyGenMsg0(value: unknown): KeyGenMsg0 {
  const reader = new FieldReader(value, 'keygen0');
  reader.literal('type', 'keygen/0');
  reader.literal('version', PROTOCOL_VERSION);
  const paillierN = reader.integer('paillierN', PAILLIER_MODULUS_MAX_BITS);
  checkPaillierModulus(paillierN, reader.field('paillierN'));
  const modulusProof = decodePaillierModulusProof(reader.raw('modulusProof'), reader.field('modulusProof'), paillierN);
  reader.end();
  return { type: 'keygen/0', paillierN, modulusProof };
}

export function decodeKeyGenMsg1(value: unknown): KeyGenMsg1 {
  const { reader, sessionId } = readHeader(value, 'keygen1', 'keygen/1');
  const message: KeyGenMsg1 = { type: 'keygen/1', sessionId, commitment: reader.bytes('commitment', COMMITMENT_BYTES) };
  reader.end();
  return message;
}

export function decodeKeyGenMsg2(value: unknown): KeyGenMsg2 {
  const { reader, sessionId } = readHeader(value, 'keygen2', 'keygen/2');
  const message: KeyGenMsg2 = {
    type: 'keygen/2',
    sessionId,
    q2: reader.point('q2'),
    proof: decodeSchnorrProof(reader.raw('proof'), reader.field('proof')),
    chainCodePart: reader.bytes('chainCodePart', CHAIN_CODE_BYTES),
  };
  reader.end();
  return message;
}

/** P2 decodes msg3 against the modulus it verified from msg0. */
export function decodeKeyGenMsg3(value: unknown, paillierN: bigint): KeyGenMsg3 {
  const { reader, sessionId } = readHeader(value, 'keygen3', 'keygen/3');
  const opening = reader.bytes('opening', OPENING_BYTES);
  const q1 = reader.point('q1');
  const proof = decodeSchnorrProof(reader.raw('proof'), reader.field('proof'));
  const chainCodePart = reader.bytes('chainCodePart', CHAIN_CODE_BYTES);
  const ckey = reader.ciphertext('ckey', paillierN);
  const pdlProof = decodePdlProof(reader.raw('pdlProof'), reader.field('pdlProof'), bitLength(paillierN));
  reader.end();
  return { type: 'keygen/3', sessionId, opening, q1, proof, chainCodePart, ckey, pdlProof };
}
