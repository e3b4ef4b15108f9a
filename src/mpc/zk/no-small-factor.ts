/**
 * Π^fac: N = p·q with both factors large (CGGMP21, ePrint 2021/060, §C.5 / Fig. 28), over the
 * ring-Pedersen parameters (Ñ, s, t) of ring-pedersen.ts. With ℓ = 256 challenge bits and ε = 256
 * hiding bits:
 *
 *   prover:   α, β ← ±2^(ℓ+ε)·√N      μ, ν ← ±2^ℓ·Ñ       σ ← ±2^ℓ·N·Ñ
 *             x, y ← ±2^(2ℓ+ε)·Ñ       r ← ±2^(2ℓ+ε+1)·N·Ñ
 *             P = s^p t^μ, Q = s^q t^ν, A = s^α t^x, B = s^β t^y, T = Q^α t^r   (mod Ñ)
 *             e = H(context, N, Ñ, s, t, P, Q, A, B, T, σ) ∈ [0, q)
 *             z1 = α + e·p, z2 = β + e·q, w1 = x + e·μ, w2 = y + e·ν, v = r + e·(σ − ν·p)
 *   verifier: R = s^N t^σ;  s^z1 t^w1 = A·P^e,  s^z2 t^w2 = B·Q^e,  Q^z1 t^v = T·R^e  (mod Ñ)
 *             |z1|, |z2| ≤ 2^(ℓ+ε+1)·√N
 *
 * Soundness: from two accepting answers to e ≠ e′, strong RSA in Z*_Ñ makes e − e′ divide the
 * differences, giving integers p̃ = (z1 − z1′)/(e − e′), q̃ likewise, with P, Q opening to p̃, q̃
 * and R = Q^p̃·t^(…) = s^(p̃q̃)·t^(…); R = s^N·t^σ and binding give N = p̃·q̃. The range check gives
 * |p̃|, |q̃| ≤ 2^(ℓ+ε+2)·√N, hence each factor ≥ √N / 2^(ℓ+ε+2) = √N / 2^514 > 2^509 for N ≥ 2^2047.
 * CGGMP21 takes ε = 2ℓ; we take ε = ℓ for α and β so that the proven bound stays above 2^256
 * (the PDL proof needs every e − e′ ∈ (−q, q) invertible mod N), and mask the products with
 * Ñ-sized values by 2^(2ℓ+ε) so every response is within 2^-256 of independent of p and q.
 * Error ≈ 1/q + the strong-RSA advantage.
 */
import { bitLength } from '../bytes.ts';
import { CURVE_ORDER } from '../curve.ts';
import { MpcError } from '../errors.ts';
import type { PaillierSecretKey } from '../paillier.ts';
import { randomBelow } from '../random.ts';
import { Transcript, type TranscriptContext } from '../transcript.ts';
import { FieldReader, encodeInteger, encodeSignedInteger, gcd } from '../wire.ts';
import { integerSquareRoot } from './paillier-validity.ts';
import { RING_PEDERSEN, ringCommit, ringPower, type RingPedersenParameters } from './ring-pedersen.ts';

/** ℓ: challenge bits. */
const CHALLENGE_BITS = 256n;
/** ε: statistical hiding bits. */
const HIDING_BITS = 256n;

export interface NoSmallFactorProof {
  readonly P: bigint;
  readonly Q: bigint;
  readonly A: bigint;
  readonly B: bigint;
  readonly T: bigint;
  readonly sigma: bigint;
  readonly z1: bigint;
  readonly z2: bigint;
  readonly w1: bigint;
  readonly w2: bigint;
  readonly v: bigint;
}

/** Uniform in [−bound, bound]. */
function randomSigned(bound: bigint): bigint {
  return randomBelow(2n * bound + 1n) - bound;
}

/** The bound on |z1| and |z2|: 2^(ℓ+ε+1)·⌈√N⌉. */
function responseBound(n: bigint): bigint {
  return (integerSquareRoot(n) + 1n) << (CHALLENGE_BITS + HIDING_BITS + 1n);
}

/** Bit caps for decoding, from N and Ñ: each response's magnitude is below its cap. */
export function noSmallFactorBitCaps(nBits: number, ring: RingPedersenParameters = RING_PEDERSEN) {
  const ringBits = bitLength(ring.modulus);
  const l = Number(CHALLENGE_BITS);
  const eps = Number(HIDING_BITS);
  return {
    ring: ringBits,
    sigma: l + nBits + ringBits,
    z: l + eps + 2 + Math.ceil(nBits / 2),
    w: 2 * l + eps + ringBits + 2,
    v: 2 * l + eps + 3 + nBits + ringBits,
  };
}

function challenge(context: TranscriptContext, n: bigint, ring: RingPedersenParameters, proof: Pick<NoSmallFactorProof, 'P' | 'Q' | 'A' | 'B' | 'T' | 'sigma'>): bigint {
  const transcript = Transcript.start({ ...context, purpose: `${context.purpose}/no-small-factor` })
    .appendBigInt('N', n)
    .appendBigInt('ring-modulus', ring.modulus)
    .appendBigInt('ring-s', ring.s)
    .appendBigInt('ring-t', ring.t);
  for (const name of ['P', 'Q', 'A', 'B', 'T'] as const) transcript.appendBigInt(name, proof[name]);
  return transcript.appendText('sigma-sign', proof.sigma < 0n ? '-' : '+').appendBigInt('sigma', proof.sigma < 0n ? -proof.sigma : proof.sigma).challengeBelow('e', CURVE_ORDER);
}

export function proveNoSmallFactor(context: TranscriptContext, key: PaillierSecretKey, ring: RingPedersenParameters = RING_PEDERSEN): NoSmallFactorProof {
  const { p, q } = key;
  const n = key.publicKey.n;
  const rootN = integerSquareRoot(n);
  const factorMask = (rootN << (CHALLENGE_BITS + HIDING_BITS));
  const alpha = randomSigned(factorMask);
  const beta = randomSigned(factorMask);
  const mu = randomSigned(ring.modulus << CHALLENGE_BITS);
  const nu = randomSigned(ring.modulus << CHALLENGE_BITS);
  const sigma = randomSigned((n * ring.modulus) << CHALLENGE_BITS);
  const r = randomSigned((n * ring.modulus) << (2n * CHALLENGE_BITS + HIDING_BITS + 1n));
  const x = randomSigned(ring.modulus << (2n * CHALLENGE_BITS + HIDING_BITS));
  const y = randomSigned(ring.modulus << (2n * CHALLENGE_BITS + HIDING_BITS));
  const P = ringCommit(ring, p, mu);
  const Q = ringCommit(ring, q, nu);
  const A = ringCommit(ring, alpha, x);
  const B = ringCommit(ring, beta, y);
  const T = (ringPower(ring, Q, alpha) * ringPower(ring, ring.t, r)) % ring.modulus;
  const e = challenge(context, n, ring, { P, Q, A, B, T, sigma });
  return {
    P,
    Q,
    A,
    B,
    T,
    sigma,
    z1: alpha + e * p,
    z2: beta + e * q,
    w1: x + e * mu,
    w2: y + e * nu,
    v: r + e * (sigma - nu * p),
  };
}

function isUnit(value: bigint, modulus: bigint): boolean {
  return value > 0n && value < modulus && gcd(value, modulus) === 1n;
}

/** Throws `proof_failed` or `out_of_range` naming the failing part under `field`. */
export function verifyNoSmallFactor(context: TranscriptContext, n: bigint, proof: NoSmallFactorProof, field: string, ring: RingPedersenParameters = RING_PEDERSEN): void {
  for (const name of ['P', 'Q', 'A', 'B', 'T'] as const) {
    if (!isUnit(proof[name], ring.modulus)) throw new MpcError('proof_failed', `${field}.${name}`, 'not a unit modulo the ring-Pedersen modulus');
  }
  const bound = responseBound(n);
  for (const name of ['z1', 'z2'] as const) {
    const value = proof[name];
    if (value > bound || -value > bound) throw new MpcError('out_of_range', `${field}.${name}`, 'response exceeds 2^(ℓ+ε+1)·√N: a factor of N may be small');
  }
  const e = challenge(context, n, ring, proof);
  const { modulus } = ring;
  const R = ringCommit(ring, n, proof.sigma);
  if (ringCommit(ring, proof.z1, proof.w1) !== (proof.A * ringPower(ring, proof.P, e)) % modulus) throw new MpcError('proof_failed', `${field}.w1`, 'commitment equation for p fails');
  if (ringCommit(ring, proof.z2, proof.w2) !== (proof.B * ringPower(ring, proof.Q, e)) % modulus) throw new MpcError('proof_failed', `${field}.w2`, 'commitment equation for q fails');
  const left = (ringPower(ring, proof.Q, proof.z1) * ringPower(ring, ring.t, proof.v)) % modulus;
  if (left !== (proof.T * ringPower(ring, R, e)) % modulus) throw new MpcError('proof_failed', `${field}.v`, 'product equation N = p·q fails');
}

const INTEGER_FIELDS = ['P', 'Q', 'A', 'B', 'T'] as const;
const SIGNED_FIELDS = ['sigma', 'z1', 'z2', 'w1', 'w2', 'v'] as const;

export function encodeNoSmallFactorProof(proof: NoSmallFactorProof): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of INTEGER_FIELDS) out[name] = encodeInteger(proof[name]);
  for (const name of SIGNED_FIELDS) out[name] = encodeSignedInteger(proof[name]);
  return out;
}

/** Size caps only; the algebraic checks are in verifyNoSmallFactor. */
export function decodeNoSmallFactorProof(value: unknown, field: string, nBits: number, ring: RingPedersenParameters = RING_PEDERSEN): NoSmallFactorProof {
  const reader = new FieldReader(value, field);
  const caps = noSmallFactorBitCaps(nBits, ring);
  const proof: NoSmallFactorProof = {
    P: reader.integer('P', caps.ring),
    Q: reader.integer('Q', caps.ring),
    A: reader.integer('A', caps.ring),
    B: reader.integer('B', caps.ring),
    T: reader.integer('T', caps.ring),
    sigma: reader.signedInteger('sigma', caps.sigma),
    z1: reader.signedInteger('z1', caps.z),
    z2: reader.signedInteger('z2', caps.z),
    w1: reader.signedInteger('w1', caps.w),
    w2: reader.signedInteger('w2', caps.w),
    v: reader.signedInteger('v', caps.v),
  };
  reader.end();
  return proof;
}
