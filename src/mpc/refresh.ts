/**
 * Key refresh: new additive shares and a new Paillier key for P1, same public key and address.
 *
 *   P1 → P2  RefreshMsg1: commitment to P1's part δ1
 *   P2 → P1  RefreshMsg2: P2's part δ2
 *   P1 → P2  RefreshMsg3: opening of δ1; δ = δ1 + δ2; a fresh N' ≠ N with the proof of its modulus
 *                         (paillier-modulus.ts); ckey' = Enc_N'(x1 + δ) with the PDL-with-range
 *                         proof for Q1 + δ·G
 *   P2 → P1  RefreshMsg4: acknowledgement binding the new epoch, N' and ckey'
 *
 * New shares x1' = x1 + δ, x2' = x2 − δ: they sum to the same x, and an old share combined
 * with a new one sums to x ± δ, which is no key at all. δ is committed first by P1, so neither
 * device chooses it. P1 keeps its old share and the pending new one until the acknowledgement
 * arrives (P2 switches when it has verified msg3), so a lost message never strands the key.
 *
 * A tainted P1 share refuses every round, including the last: p1RefreshComplete takes P1's
 * current share, so a refresh started before a taint cannot finish with an untainted share.
 * Taints are carried into the new epoch (the leak they record is about x, which does not change).
 */
import { equalBytes } from './bytes.ts';
import { CURVE_ORDER, G, modQ } from './curve.ts';
import { MpcError } from './errors.ts';
import { isTainted, type P1KeyShare, type P2KeyShare } from './key-share.ts';
import { encrypt, paillierPublicKey } from './paillier.ts';
import { KEY_ID_BYTES, SESSION_ID_BYTES, assertSessionId, transcriptContext } from './protocol-context.ts';
import { randomBelow, randomUnit } from './random.ts';
import { PROTOCOL_VERSION, Transcript } from './transcript.ts';
import { FieldReader, encodeInteger, encodeScalar, hexFromBytes } from './wire.ts';
import { COMMITMENT_BYTES, OPENING_BYTES, commit, verifyCommitment, type CommittedValues } from './zk/commitment.ts';
import { decodePdlProof, encodePdlProof, provePdl, verifyPdl, type PdlProof } from './zk/paillier-dlog-range.ts';
import {
  decodePaillierModulusProof,
  encodePaillierModulusProof,
  preparePaillierKey,
  verifyPaillierModulus,
  type PaillierModulusProof,
  type PreparedPaillierKey,
} from './zk/paillier-modulus.ts';
import { PAILLIER_MODULUS_MAX_BITS, checkPaillierModulus } from './zk/paillier-validity.ts';

interface RefreshHeader {
  readonly sessionId: Uint8Array;
  readonly keyId: Uint8Array;
  /** The epoch being refreshed; the result has epoch + 1. */
  readonly epoch: number;
}

export interface RefreshMsg1 extends RefreshHeader { readonly type: 'refresh/1'; readonly commitment: Uint8Array }
export interface RefreshMsg2 extends RefreshHeader { readonly type: 'refresh/2'; readonly delta2: bigint }
export interface RefreshMsg3 extends RefreshHeader {
  readonly type: 'refresh/3';
  readonly opening: Uint8Array;
  readonly delta1: bigint;
  readonly paillierN: bigint;
  readonly modulusProof: PaillierModulusProof;
  readonly ckey: bigint;
  readonly pdlProof: PdlProof;
}
export interface RefreshMsg4 extends RefreshHeader { readonly type: 'refresh/4'; readonly confirmation: Uint8Array }

export interface P1RefreshState { readonly step: 'refresh/awaiting-2'; readonly header: RefreshHeader; readonly delta1: bigint; readonly opening: Uint8Array }
export interface P2RefreshState { readonly step: 'refresh/awaiting-3'; readonly header: RefreshHeader; readonly commitment: Uint8Array; readonly delta2: bigint }
/** P1's new share, usable once P2 acknowledges it. Persist it next to the old share. */
export interface P1PendingRefresh { readonly step: 'refresh/awaiting-4'; readonly header: RefreshHeader; readonly keyShare: P1KeyShare; readonly ckey: bigint }

const context = (purpose: string, header: RefreshHeader, role: 'P1' | 'P2') =>
  transcriptContext(`refresh/${purpose}`, header.sessionId, header.keyId, role);

const committedDelta = (delta1: bigint): CommittedValues => (transcript) => transcript.appendBigInt('delta1', delta1);

function confirmation(header: RefreshHeader, paillierN: bigint, ckey: bigint): Uint8Array {
  return Transcript.start(context('confirm', header, 'P2')).appendBigInt('N', paillierN).appendBigInt('ckey', ckey).digest();
}

function checkHeader(message: RefreshHeader, expected: RefreshHeader, field: string): void {
  if (!equalBytes(message.sessionId, expected.sessionId)) throw new MpcError('session_mismatch', `${field}.sessionId`, 'message belongs to another session');
  if (!equalBytes(message.keyId, expected.keyId)) throw new MpcError('session_mismatch', `${field}.keyId`, 'message belongs to another key');
  if (message.epoch !== expected.epoch) throw new MpcError('session_mismatch', `${field}.epoch`, 'message belongs to another key epoch');
}

function refuseTainted(keyShare: P1KeyShare): void {
  if (isTainted(keyShare)) throw new MpcError('key_tainted', 'keyShare.taints', 'a refresh with a suspect counterpart is refused; it may be compromised');
}

export function p1RefreshStart(keyShare: P1KeyShare, sessionId: Uint8Array): { state: P1RefreshState; message: RefreshMsg1 } {
  refuseTainted(keyShare);
  assertSessionId(sessionId, 'refresh.sessionId');
  const header: RefreshHeader = { sessionId, keyId: keyShare.keyId, epoch: keyShare.epoch };
  const delta1 = randomBelow(CURVE_ORDER);
  const { commitment, opening } = commit(context('commit', header, 'P1'), committedDelta(delta1));
  return { state: { step: 'refresh/awaiting-2', header, delta1, opening }, message: { type: 'refresh/1', ...header, commitment } };
}

export function p2RefreshRespond(keyShare: P2KeyShare, message: RefreshMsg1): { state: P2RefreshState; message: RefreshMsg2 } {
  const header: RefreshHeader = { sessionId: message.sessionId, keyId: keyShare.keyId, epoch: keyShare.epoch };
  checkHeader(message, header, 'refresh1');
  const delta2 = randomBelow(CURVE_ORDER);
  return { state: { step: 'refresh/awaiting-3', header, commitment: message.commitment, delta2 }, message: { type: 'refresh/2', ...header, delta2 } };
}

/** `prepared`: a fresh Paillier key with its modulus proof, made in idle time (else made now). */
export function p1RefreshProve(
  keyShare: P1KeyShare,
  state: P1RefreshState,
  message: RefreshMsg2,
  prepared: PreparedPaillierKey = preparePaillierKey(),
): { pending: P1PendingRefresh; message: RefreshMsg3 } {
  refuseTainted(keyShare);
  if (state.step !== 'refresh/awaiting-2') throw new MpcError('unexpected_message', 'refresh2', 'not expecting refresh/2');
  checkHeader(message, state.header, 'refresh2');
  const delta = modQ(state.delta1 + message.delta2);
  const x1 = modQ(keyShare.x1 + delta);
  if (x1 === 0n) throw new MpcError('out_of_range', 'refresh.delta', 'refreshed share is zero; start again');
  const paillier = prepared.key;
  const pk = paillier.publicKey;
  if (pk.n === keyShare.paillier.publicKey.n) throw new MpcError('invalid_modulus', 'refresh.paillier', 'a refresh needs a fresh Paillier key');
  const nonce = randomUnit(pk.n);
  const ckey = encrypt(pk, x1, nonce);
  const q1 = G.multiply(x1);
  const newShare: P1KeyShare = { ...keyShare, x1, q2: keyShare.publicKey.subtract(q1), paillier, epoch: keyShare.epoch + 1 };
  return {
    pending: { step: 'refresh/awaiting-4', header: state.header, keyShare: newShare, ckey },
    message: {
      type: 'refresh/3',
      ...state.header,
      opening: state.opening,
      delta1: state.delta1,
      paillierN: pk.n,
      modulusProof: prepared.proof,
      ckey,
      pdlProof: provePdl(context('pdl', state.header, 'P1'), { publicKey: pk, ciphertext: ckey, point: q1 }, { x: x1, r: nonce }),
    },
  };
}

export function p2RefreshFinish(keyShare: P2KeyShare, state: P2RefreshState, message: RefreshMsg3): { keyShare: P2KeyShare; message: RefreshMsg4 } {
  if (state.step !== 'refresh/awaiting-3') throw new MpcError('unexpected_message', 'refresh3', 'not expecting refresh/3');
  checkHeader(message, state.header, 'refresh3');
  verifyCommitment(context('commit', state.header, 'P1'), state.commitment, message.opening, committedDelta(message.delta1), 'refresh3.opening');
  const delta = modQ(message.delta1 + state.delta2);
  const x2 = modQ(keyShare.x2 - delta);
  if (x2 === 0n) throw new MpcError('out_of_range', 'refresh.delta', 'refreshed share is zero; start again');
  const q2 = G.multiply(x2);
  const q1 = keyShare.publicKey.subtract(q2);
  if (message.paillierN === keyShare.paillierN) throw new MpcError('invalid_modulus', 'refresh3.paillierN', 'the refresh reuses the current Paillier key; a fresh one is required');
  verifyPaillierModulus(message.paillierN, message.modulusProof, 'refresh3.modulusProof');
  const pk = paillierPublicKey(message.paillierN);
  verifyPdl(context('pdl', state.header, 'P1'), { publicKey: pk, ciphertext: message.ckey, point: q1 }, message.pdlProof, 'refresh3.pdlProof');
  return {
    keyShare: { ...keyShare, x2, q1, paillierN: message.paillierN, ckey: message.ckey, epoch: keyShare.epoch + 1 },
    message: { type: 'refresh/4', ...state.header, confirmation: confirmation(state.header, message.paillierN, message.ckey) },
  };
}

/** `current`: P1's share as it is now (not as read when the refresh began); its taints carry over. */
export function p1RefreshComplete(current: P1KeyShare, pending: P1PendingRefresh, message: RefreshMsg4): P1KeyShare {
  refuseTainted(current);
  if (pending.step !== 'refresh/awaiting-4') throw new MpcError('unexpected_message', 'refresh4', 'not expecting refresh/4');
  checkHeader(message, pending.header, 'refresh4');
  if (!equalBytes(current.keyId, pending.header.keyId) || current.epoch !== pending.header.epoch) throw new MpcError('session_mismatch', 'refresh4.epoch', 'the current share is not the one this refresh started from');
  const expected = confirmation(pending.header, pending.keyShare.paillier.publicKey.n, pending.ckey);
  if (!equalBytes(expected, message.confirmation)) throw new MpcError('commitment_mismatch', 'refresh4.confirmation', 'acknowledges a different key');
  return { ...pending.keyShare, counterpart: current.counterpart, taints: current.taints };
}

// ---- wire encoding -------------------------------------------------------------------------

function encodeHeader(type: string, message: RefreshHeader) {
  return { type, version: PROTOCOL_VERSION, sessionId: hexFromBytes(message.sessionId), keyId: hexFromBytes(message.keyId), epoch: message.epoch };
}

function readHeader(value: unknown, path: string, type: string): { reader: FieldReader; header: RefreshHeader } {
  const reader = new FieldReader(value, path);
  reader.literal('type', type);
  reader.literal('version', PROTOCOL_VERSION);
  const sessionId = reader.bytes('sessionId', SESSION_ID_BYTES);
  const keyId = reader.bytes('keyId', KEY_ID_BYTES);
  const epoch = reader.raw('epoch');
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) throw new MpcError('malformed', reader.field('epoch'), 'expected a non-negative integer');
  return { reader, header: { sessionId, keyId, epoch } };
}

function readDelta(reader: FieldReader, name: string): bigint {
  const value = reader.integer(name, 256);
  if (value >= CURVE_ORDER) throw new MpcError('out_of_range', reader.field(name), 'must be below q');
  return value;
}

export function encodeRefreshMsg1(message: RefreshMsg1): object {
  return { ...encodeHeader(message.type, message), commitment: hexFromBytes(message.commitment) };
}

export function encodeRefreshMsg2(message: RefreshMsg2): object {
  return { ...encodeHeader(message.type, message), delta2: encodeScalar(message.delta2) };
}

export function encodeRefreshMsg3(message: RefreshMsg3): object {
  return {
    ...encodeHeader(message.type, message),
    opening: hexFromBytes(message.opening),
    delta1: encodeScalar(message.delta1),
    paillierN: encodeInteger(message.paillierN),
    modulusProof: encodePaillierModulusProof(message.modulusProof),
    ckey: encodeInteger(message.ckey),
    pdlProof: encodePdlProof(message.pdlProof),
  };
}

export function encodeRefreshMsg4(message: RefreshMsg4): object {
  return { ...encodeHeader(message.type, message), confirmation: hexFromBytes(message.confirmation) };
}

export function decodeRefreshMsg1(value: unknown): RefreshMsg1 {
  const { reader, header } = readHeader(value, 'refresh1', 'refresh/1');
  const message: RefreshMsg1 = { type: 'refresh/1', ...header, commitment: reader.bytes('commitment', COMMITMENT_BYTES) };
  reader.end();
  return message;
}

export function decodeRefreshMsg2(value: unknown): RefreshMsg2 {
  const { reader, header } = readHeader(value, 'refresh2', 'refresh/2');
  const message: RefreshMsg2 = { type: 'refresh/2', ...header, delta2: readDelta(reader, 'delta2') };
  reader.end();
  return message;
}

export function decodeRefreshMsg3(value: unknown): RefreshMsg3 {
  const { reader, header } = readHeader(value, 'refresh3', 'refresh/3');
  const opening = reader.bytes('opening', OPENING_BYTES);
  const delta1 = readDelta(reader, 'delta1');
  const paillierN = reader.integer('paillierN', PAILLIER_MODULUS_MAX_BITS);
  checkPaillierModulus(paillierN, reader.field('paillierN'));
  const modulusProof = decodePaillierModulusProof(reader.raw('modulusProof'), reader.field('modulusProof'), paillierN);
  const ckey = reader.ciphertext('ckey', paillierN);
  const pdlProof = decodePdlProof(reader.raw('pdlProof'), reader.field('pdlProof'), paillierN.toString(2).length);
  reader.end();
  return { type: 'refresh/3', ...header, opening, delta1, paillierN, modulusProof, ckey, pdlProof };
}

export function decodeRefreshMsg4(value: unknown): RefreshMsg4 {
  const { reader, header } = readHeader(value, 'refresh4', 'refresh/4');
  const message: RefreshMsg4 = { type: 'refresh/4', ...header, confirmation: reader.bytes('confirmation', 32) };
  reader.end();
  return message;
}
