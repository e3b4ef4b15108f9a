/**
 * JSON encoding of the key shares for storage (the caller encrypts it in its vault), with strict
 * decoders: a corrupted or foreign record is refused with an MpcError naming the field.
 */
import { CHAIN_CODE_BYTES } from './keygen.ts';
import { KEY_SHARE_VERSION, type P1KeyShare, type P2KeyShare, type Taint } from './key-share.ts';
import { MpcError } from './errors.ts';
import { paillierSecretKeyFromPrimes } from './paillier.ts';
import { isProbablePrime } from './primes.ts';
import { KEY_ID_BYTES } from './protocol-context.ts';
import { FieldReader, encodeInteger, encodePoint, encodeScalar, hexFromBytes } from './wire.ts';
import { PAILLIER_MODULUS_MAX_BITS, checkPaillierModulus } from './zk/paillier-validity.ts';
import { G } from './curve.ts';

export interface P1KeyShareJson {
  readonly kind: 'duet/p1-key-share';
  readonly version: number;
  readonly keyId: string;
  readonly publicKey: string;
  readonly chainCode: string;
  readonly x1: string;
  readonly q2: string;
  readonly paillierP: string;
  readonly paillierQ: string;
  readonly epoch: number;
  readonly counterpart: string;
  readonly taints: readonly { readonly suspect: string; readonly epoch: number }[];
}

export interface P2KeyShareJson {
  readonly kind: 'duet/p2-key-share';
  readonly version: number;
  readonly keyId: string;
  readonly publicKey: string;
  readonly chainCode: string;
  readonly x2: string;
  readonly q1: string;
  readonly paillierN: string;
  readonly ckey: string;
  readonly epoch: number;
}

export function encodeP1KeyShare(share: P1KeyShare): P1KeyShareJson {
  return {
    kind: 'duet/p1-key-share',
    version: share.version,
    keyId: hexFromBytes(share.keyId),
    publicKey: encodePoint(share.publicKey),
    chainCode: hexFromBytes(share.chainCode),
    x1: encodeScalar(share.x1),
    q2: encodePoint(share.q2),
    paillierP: encodeInteger(share.paillier.p),
    paillierQ: encodeInteger(share.paillier.q),
    epoch: share.epoch,
    counterpart: share.counterpart,
    taints: share.taints.map((taint) => ({ suspect: taint.suspect, epoch: taint.epoch })),
  };
}

export function encodeP2KeyShare(share: P2KeyShare): P2KeyShareJson {
  return {
    kind: 'duet/p2-key-share',
    version: share.version,
    keyId: hexFromBytes(share.keyId),
    publicKey: encodePoint(share.publicKey),
    chainCode: hexFromBytes(share.chainCode),
    x2: encodeScalar(share.x2),
    q1: encodePoint(share.q1),
    paillierN: encodeInteger(share.paillierN),
    ckey: encodeInteger(share.ckey),
    epoch: share.epoch,
  };
}

function readEpoch(reader: FieldReader, name = 'epoch'): number {
  const value = reader.raw(name);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new MpcError('malformed', reader.field(name), 'expected a non-negative integer');
  return value;
}

/** More taints than this cannot happen (each needs a distinct suspect); a bigger list is damage. */
const MAX_TAINTS = 64;

function readTaints(reader: FieldReader): Taint[] {
  return reader.list('taints', MAX_TAINTS, (item, field) => {
    const taint = new FieldReader(item, field);
    const decoded: Taint = { suspect: taint.string('suspect'), epoch: readEpoch(taint) };
    taint.end();
    return decoded;
  });
}

/** Miller–Rabin rounds for the primes of a stored share: storage is authenticated, so this catches damage, not forgery. */
const STORED_PRIME_ROUNDS = 20;

/** A Paillier prime of a stored P1 share: prime and ≡ 3 (mod 4), as paillier.ts makes them. */
function checkPaillierPrime(prime: bigint, field: string): void {
  if (prime % 4n !== 3n || !isProbablePrime(prime, STORED_PRIME_ROUNDS)) throw new MpcError('malformed', field, 'not a Blum prime');
}

/**
 * Also reads version 1 (before taints named a suspect): its counterpart is `legacyCounterpart`
 * and its `tainted` flag becomes one taint of that counterpart.
 */
export function decodeP1KeyShare(value: unknown, legacyCounterpart = 'P2'): P1KeyShare {
  const reader = new FieldReader(value, 'p1KeyShare');
  reader.literal('kind', 'duet/p1-key-share');
  const version = (value as { version?: unknown }).version === 1 ? reader.literal('version', 1) : reader.literal('version', KEY_SHARE_VERSION);
  const keyId = reader.bytes('keyId', KEY_ID_BYTES);
  const publicKey = reader.point('publicKey');
  const chainCode = reader.bytes('chainCode', CHAIN_CODE_BYTES);
  const x1 = reader.scalar('x1');
  const q2 = reader.point('q2');
  const p = reader.integer('paillierP', PAILLIER_MODULUS_MAX_BITS / 2);
  const q = reader.integer('paillierQ', PAILLIER_MODULUS_MAX_BITS / 2);
  const epoch = readEpoch(reader);
  let counterpart = legacyCounterpart;
  let taints: Taint[];
  if (version === 1) {
    const tainted = reader.raw('tainted');
    if (typeof tainted !== 'boolean') throw new MpcError('malformed', reader.field('tainted'), 'expected a boolean');
    taints = tainted ? [{ suspect: counterpart, epoch }] : [];
  } else {
    counterpart = reader.string('counterpart');
    taints = readTaints(reader);
  }
  reader.end();
  if (!G.multiply(x1).add(q2).equals(publicKey)) throw new MpcError('malformed', 'p1KeyShare.publicKey', 'does not equal x1·G + Q2');
  checkPaillierPrime(p, 'p1KeyShare.paillierP');
  checkPaillierPrime(q, 'p1KeyShare.paillierQ');
  checkPaillierModulus(p * q, 'p1KeyShare.paillier');
  return { version: KEY_SHARE_VERSION, keyId, publicKey, chainCode, x1, q2, paillier: paillierSecretKeyFromPrimes(p, q), epoch, counterpart, taints };
}

/** Also reads version 1, which has the same fields. */
export function decodeP2KeyShare(value: unknown): P2KeyShare {
  const reader = new FieldReader(value, 'p2KeyShare');
  reader.literal('kind', 'duet/p2-key-share');
  if ((value as { version?: unknown }).version === 1) reader.literal('version', 1);
  else reader.literal('version', KEY_SHARE_VERSION);
  const keyId = reader.bytes('keyId', KEY_ID_BYTES);
  const publicKey = reader.point('publicKey');
  const chainCode = reader.bytes('chainCode', CHAIN_CODE_BYTES);
  const x2 = reader.scalar('x2');
  const q1 = reader.point('q1');
  const paillierN = reader.integer('paillierN', PAILLIER_MODULUS_MAX_BITS);
  const ckey = reader.ciphertext('ckey', paillierN);
  const epoch = readEpoch(reader);
  reader.end();
  if (!G.multiply(x2).add(q1).equals(publicKey)) throw new MpcError('malformed', 'p2KeyShare.publicKey', 'does not equal x2·G + Q1');
  return { version: KEY_SHARE_VERSION, keyId, publicKey, chainCode, x2, q1, paillierN, ckey, epoch };
}
