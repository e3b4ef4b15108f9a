/**
 * PDL with range: ckey = Enc_N(x; r), Q1 = x·G and x < 2^(ℓ+ε), in one Σ-protocol with a
 * 256-bit Fiat–Shamir challenge. This is Π^log* of Canetti, Gennaro, Goldfeder, Makriyannis,
 * Peled (CGGMP21, ePrint 2021/060, Fig. 25) with non-negative ranges, using the ring-Pedersen
 * parameters of ring-pedersen.ts.
 *
 *   prover:  α ← [0, 2^(ℓ+ε)), μ ← [0, 2^ℓ·Ñ), r' ← Z*_N, γ ← [0, 2^(ℓ+ε)·Ñ)
 *            S = s^x t^μ mod Ñ, A = (1+N)^α r'^N mod N², Y = α·G, D = s^α t^γ mod Ñ
 *            e = H(context, N, ckey, Q1, S, A, Y, D) ∈ [0, q)
 *            z1 = α + e·x (integer), z2 = r'·r^e mod N, z3 = γ + e·μ (integer)
 *   verifier: z1 < 2^(ℓ+ε+1), (1+N)^z1 · z2^N = A · ckey^e (mod N²), z1·G = Y + e·Q1,
 *            s^z1 t^z3 = D · S^e (mod Ñ)
 *
 * Soundness: two accepting answers for e ≠ e' give (strong RSA in Z*_Ñ) e − e' | z1 − z1', so
 * x = (z1 − z1')/(e − e') is an integer with |x| < 2^(ℓ+ε+1) and Q1 = x·G, and ckey^(e−e') encrypts
 * (e − e')·x. That makes ckey encrypt x only if e − e' ∈ (−q, q) is invertible mod N: sound only over
 * a modulus whose prime factors all exceed 2^256, which paillier-modulus.ts proves (both > 2^509).
 * Over N = p'·P with a small prime p', P1 can grind e ≡ 0 (mod p') and prove a ckey that encrypts
 * x + N/p' (test/mpc/attacks-modulus.test.ts). Error ≈ 1/q ≈ 2^-256 plus the strong-RSA advantage.
 * Zero knowledge: z1 is within 2^(2ℓ−ℓ−ε) = 2^-256 of uniform.
 */
import { bitLength } from '../bytes.ts';
import { CURVE_ORDER, G, mod, type Point } from '../curve.ts';
import { MpcError } from '../errors.ts';
import { modPow } from '../modpow.ts';
import type { PaillierPublicKey } from '../paillier.ts';
import { randomBelow, randomUnit } from '../random.ts';
import { Transcript, type TranscriptContext } from '../transcript.ts';
import { FieldReader, encodeInteger, encodePoint, gcd } from '../wire.ts';
import { RING_PEDERSEN, ringCommit, type RingPedersenParameters } from './ring-pedersen.ts';

/** ℓ: bits of the honest witness (x < q < 2^256). */
export const WITNESS_BITS = 256;
/** ε: slack bits, ≥ challenge bits (256) + statistical hiding (256). */
export const SLACK_BITS = 512;
/** The verified bound: ckey encrypts an x < 2^(ℓ+ε+1). */
export const RANGE_BOUND_BITS = WITNESS_BITS + SLACK_BITS + 1;

export interface PdlStatement {
  readonly publicKey: PaillierPublicKey;
  readonly ciphertext: bigint;
  readonly point: Point;
}

export interface PdlWitness {
  readonly x: bigint;
  /** The Paillier randomness of the ciphertext: ciphertext = (1 + xN)·r^N mod N². */
  readonly r: bigint;
}

export interface PdlProof {
  readonly S: bigint;
  readonly A: bigint;
  readonly Y: Point;
  readonly D: bigint;
  readonly z1: bigint;
  readonly z2: bigint;
  readonly z3: bigint;
}

/** The Fiat–Shamir challenge e (exported for the attack tests, which grind it). */
export function pdlChallenge(context: TranscriptContext, statement: PdlStatement, proof: Pick<PdlProof, 'S' | 'A' | 'Y' | 'D'>, ring: RingPedersenParameters = RING_PEDERSEN): bigint {
  return Transcript.start({ ...context, purpose: `${context.purpose}/pdl-range` })
    .appendBigInt('ring-modulus', ring.modulus)
    .appendBigInt('ring-s', ring.s)
    .appendBigInt('ring-t', ring.t)
    .appendBigInt('N', statement.publicKey.n)
    .appendBigInt('ciphertext', statement.ciphertext)
    .appendPoint('Q', statement.point)
    .appendBigInt('S', proof.S)
    .appendBigInt('A', proof.A)
    .appendPoint('Y', proof.Y)
    .appendBigInt('D', proof.D)
    .challengeBelow('e', CURVE_ORDER);
}

export function provePdl(context: TranscriptContext, statement: PdlStatement, witness: PdlWitness, ring: RingPedersenParameters = RING_PEDERSEN): PdlProof {
  const { n, n2 } = statement.publicKey;
  const rangeBound = 1n << BigInt(WITNESS_BITS + SLACK_BITS);
  let alpha = randomBelow(rangeBound);
  while (mod(alpha, CURVE_ORDER) === 0n) alpha = randomBelow(rangeBound);
  const mu = randomBelow((1n << BigInt(WITNESS_BITS)) * ring.modulus);
  const gamma = randomBelow(rangeBound * ring.modulus);
  const rPrime = randomUnit(n);
  const S = ringCommit(ring, witness.x, mu);
  const A = (mod(1n + alpha * n, n2) * modPow(rPrime, n, n2)) % n2;
  const Y = G.multiply(mod(alpha, CURVE_ORDER));
  const D = ringCommit(ring, alpha, gamma);
  const e = pdlChallenge(context, statement, { S, A, Y, D }, ring);
  return {
    S,
    A,
    Y,
    D,
    z1: alpha + e * witness.x,
    z2: (rPrime * modPow(witness.r, e, n)) % n,
    z3: gamma + e * mu,
  };
}

function isUnit(value: bigint, modulus: bigint): boolean {
  return value > 0n && value < modulus && gcd(value, modulus) === 1n;
}

/** Throws `proof_failed` (or `out_of_range`) naming the failing part under `field`. */
export function verifyPdl(context: TranscriptContext, statement: PdlStatement, proof: PdlProof, field: string, ring: RingPedersenParameters = RING_PEDERSEN): void {
  const { n, n2 } = statement.publicKey;
  if (!isUnit(proof.S, ring.modulus)) throw new MpcError('proof_failed', `${field}.S`, 'not a unit modulo the ring-Pedersen modulus');
  if (!isUnit(proof.D, ring.modulus)) throw new MpcError('proof_failed', `${field}.D`, 'not a unit modulo the ring-Pedersen modulus');
  if (!isUnit(proof.A, n2)) throw new MpcError('proof_failed', `${field}.A`, 'not an element of Z*_{N^2}');
  if (!isUnit(proof.z2, n)) throw new MpcError('proof_failed', `${field}.z2`, 'not an element of Z*_N');
  if (bitLength(proof.z1) > RANGE_BOUND_BITS) throw new MpcError('out_of_range', `${field}.z1`, `response exceeds 2^${RANGE_BOUND_BITS}`);
  const e = pdlChallenge(context, statement, proof, ring);

  const encryptedResponse = (mod(1n + proof.z1 * n, n2) * modPow(proof.z2, n, n2)) % n2;
  const expectedCiphertext = (proof.A * modPow(statement.ciphertext, e, n2)) % n2;
  if (encryptedResponse !== expectedCiphertext) throw new MpcError('proof_failed', `${field}.z2`, 'Paillier equation fails');

  const z1Point = mod(proof.z1, CURVE_ORDER) === 0n ? null : G.multiply(mod(proof.z1, CURVE_ORDER));
  const eQ = e === 0n ? null : statement.point.multiplyUnsafe(e);
  const expectedPoint = eQ ? proof.Y.add(eQ) : proof.Y;
  if (!z1Point || !z1Point.equals(expectedPoint)) throw new MpcError('proof_failed', `${field}.z1`, 'curve equation fails');

  if (ringCommit(ring, proof.z1, proof.z3) !== (proof.D * modPow(proof.S, e, ring.modulus)) % ring.modulus) {
    throw new MpcError('proof_failed', `${field}.z3`, 'ring-Pedersen equation fails');
  }
}

export function encodePdlProof(proof: PdlProof): Record<string, string> {
  return {
    S: encodeInteger(proof.S),
    A: encodeInteger(proof.A),
    Y: encodePoint(proof.Y),
    D: encodeInteger(proof.D),
    z1: encodeInteger(proof.z1),
    z2: encodeInteger(proof.z2),
    z3: encodeInteger(proof.z3),
  };
}

/** Size caps only; the algebraic checks are in verifyPdl. */
export function decodePdlProof(value: unknown, field: string, nBits: number): PdlProof {
  const reader = new FieldReader(value, field);
  const ringBits = bitLength(RING_PEDERSEN.modulus);
  const proof: PdlProof = {
    S: reader.integer('S', ringBits),
    A: reader.integer('A', 2 * nBits),
    Y: reader.point('Y'),
    D: reader.integer('D', ringBits),
    z1: reader.integer('z1', RANGE_BOUND_BITS),
    z2: reader.integer('z2', nBits),
    z3: reader.integer('z3', WITNESS_BITS + SLACK_BITS + 2 + ringBits),
  };
  reader.end();
  return proof;
}
