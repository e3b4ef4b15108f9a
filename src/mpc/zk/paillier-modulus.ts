/**
 * The Paillier modulus statement P2 checks before it trusts anything encrypted under P1's N:
 *
 *   N = p·q with p, q distinct primes, p ≡ q ≡ 3 (mod 4), gcd(N, φ(N)) = 1, and p, q > 2^509.
 *
 * Made of four parts, each closing what the previous ones leave open:
 *   1. structure (paillier-validity.ts): N odd, 2048–4096 bits, no prime factor < 2^13, not a
 *      square, not prime;
 *   2. N-th roots (paillier-validity.ts): gcd(N, φ(N)) = 1, so N is square-free (error 2^-130,
 *      which needs part 1's bound on small factors);
 *   3. Π^mod (paillier-blum-modulus.ts): a square-free composite N passes only as a product of
 *      exactly two primes ≡ 3 (mod 4) (error 2^-128);
 *   4. Π^fac (no-small-factor.ts): N's two factors both exceed 2^509 (error ≈ 2^-256 + strong RSA).
 * The PDL-with-range proof (paillier-dlog-range.ts) is sound only over such an N: it needs every
 * challenge difference e − e′ ∈ (−q, q) to be invertible mod N, i.e. no prime factor below 2^256.
 * Without part 4, N = p′·P with a prime 2^13 < p′ lets P1 grind the challenge to e ≡ 0 (mod p′)
 * and prove a ckey that does not encrypt x1 (test/mpc/attacks-modulus.test.ts).
 *
 * The proof is about N alone. Its transcript binds N and a random 32-byte proof id chosen by the
 * prover, so the phone makes it in idle time, before any session exists, and the extension checks
 * it while both users compare the pairing code; key generation then commits to N (keygen.ts).
 */
import { bitLength } from '../bytes.ts';
import { generatePaillierKey, paillierSecretKeyFromPrimes, type PaillierSecretKey } from '../paillier.ts';
import { KEYGEN_KEY_ID, transcriptContext } from '../protocol-context.ts';
import { randomBytes } from '../random.ts';
import type { TranscriptContext } from '../transcript.ts';
import { FieldReader, hexFromBytes } from '../wire.ts';
import { decodeNoSmallFactorProof, encodeNoSmallFactorProof, proveNoSmallFactor, verifyNoSmallFactor, type NoSmallFactorProof } from './no-small-factor.ts';
import { decodePaillierBlumProof, encodePaillierBlumProof, provePaillierBlum, verifyPaillierBlum, type PaillierBlumProof } from './paillier-blum-modulus.ts';
import {
  checkPaillierModulus,
  decodePaillierValidityProof,
  encodePaillierValidityProof,
  provePaillierValidity,
  verifyPaillierValidity,
  type PaillierValidityProof,
} from './paillier-validity.ts';

export const MODULUS_PROOF_ID_BYTES = 32;

export interface PaillierModulusProof {
  /** Chosen by the prover; binds the transcript of this one proof. */
  readonly id: Uint8Array;
  readonly nthRoots: PaillierValidityProof;
  readonly blum: PaillierBlumProof;
  readonly factors: NoSmallFactorProof;
}

/** A Paillier key and the proof of its modulus, made in idle time. */
export interface PreparedPaillierKey {
  readonly key: PaillierSecretKey;
  readonly proof: PaillierModulusProof;
}

declare const verified: unique symbol;
/** A modulus whose whole statement P2 has checked; only verifyPaillierModulus makes one. */
export interface VerifiedPaillierModulus {
  readonly n: bigint;
  readonly [verified]: true;
}

function context(id: Uint8Array): TranscriptContext {
  return transcriptContext('paillier-modulus', id, KEYGEN_KEY_ID, 'P1');
}

export function provePaillierModulus(key: PaillierSecretKey): PaillierModulusProof {
  const id = randomBytes(MODULUS_PROOF_ID_BYTES);
  return {
    id,
    nthRoots: provePaillierValidity(context(id), key),
    blum: provePaillierBlum(context(id), key),
    factors: proveNoSmallFactor(context(id), key),
  };
}

/** A fresh 2048-bit key with its proof: what a device prepares before it is needed. */
export function preparePaillierKey(): PreparedPaillierKey {
  const key = generatePaillierKey();
  return { key, proof: provePaillierModulus(key) };
}

/** Checks every part; throws `invalid_modulus`, `proof_failed` or `out_of_range` naming the part. */
export function verifyPaillierModulus(n: bigint, proof: PaillierModulusProof, field: string): VerifiedPaillierModulus {
  checkPaillierModulus(n, `${field}.n`);
  verifyPaillierValidity(context(proof.id), n, proof.nthRoots, `${field}.nthRoots`);
  verifyPaillierBlum(context(proof.id), n, proof.blum, `${field}.blum`);
  verifyNoSmallFactor(context(proof.id), n, proof.factors, `${field}.factors`);
  return { n } as VerifiedPaillierModulus;
}

export function encodePaillierModulusProof(proof: PaillierModulusProof): object {
  return {
    id: hexFromBytes(proof.id),
    nthRoots: encodePaillierValidityProof(proof.nthRoots),
    blum: encodePaillierBlumProof(proof.blum),
    factors: encodeNoSmallFactorProof(proof.factors),
  };
}

/** Size caps for a modulus of `n`'s size; the checks are in verifyPaillierModulus. */
export function decodePaillierModulusProof(value: unknown, field: string, n: bigint): PaillierModulusProof {
  const nBits = bitLength(n);
  const reader = new FieldReader(value, field);
  const proof: PaillierModulusProof = {
    id: reader.bytes('id', MODULUS_PROOF_ID_BYTES),
    nthRoots: decodePaillierValidityProof(reader.raw('nthRoots'), reader.field('nthRoots')),
    blum: decodePaillierBlumProof(reader.raw('blum'), reader.field('blum'), nBits),
    factors: decodeNoSmallFactorProof(reader.raw('factors'), reader.field('factors'), nBits),
  };
  reader.end();
  return proof;
}

/** A prepared key as a worker posts it (structured clone: text only). */
export interface PreparedKeyMessage {
  readonly p: string;
  readonly q: string;
  readonly proof: object;
}

export function encodePreparedKey(prepared: PreparedPaillierKey): PreparedKeyMessage {
  return { p: prepared.key.p.toString(16), q: prepared.key.q.toString(16), proof: encodePaillierModulusProof(prepared.proof) };
}

export function decodePreparedKey(message: PreparedKeyMessage): PreparedPaillierKey {
  const key = paillierSecretKeyFromPrimes(BigInt(`0x${message.p}`), BigInt(`0x${message.q}`));
  return { key, proof: decodePaillierModulusProof(message.proof, 'preparedKey.proof', key.publicKey.n) };
}
