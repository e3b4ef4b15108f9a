/**
 * Degree-1 Shamir sharing over the scalar field of secp256k1, with Feldman commitments
 * (Feldman, "A practical scheme for non-interactive verifiable secret sharing", FOCS 1987).
 *
 *   x = F(0) for F(z) = x + a·z;  member i holds s_i = F(i), public share S_i = s_i·G
 *   any two members i ≠ j: x = λ_i·s_i + λ_j·s_j with λ_i = j/(j − i), λ_j = i/(i − j)  (mod q)
 *   a dealer of f(z) = c + a·z publishes C = [c·G, a·G]; member j checks f(j)·G = C₀ + j·C₁
 *
 * Member indices are positive integers, never 0 (F(0) is the secret) and never reused.
 */
import { CURVE_ORDER, G, invertMod, modQ, type Point } from './curve.ts';
import { MpcError } from './errors.ts';
import { randomScalar } from './random.ts';

/** Indices above this would not fit the wire encoding or could wrap mod q. */
export const MAX_MEMBER_INDEX = 0xffff;

export function assertMemberIndex(index: number, field: string): void {
  if (!Number.isInteger(index) || index < 1 || index > MAX_MEMBER_INDEX) throw new MpcError('out_of_range', field, `member index must be an integer in [1, ${MAX_MEMBER_INDEX}]`);
}

/** The Lagrange coefficients at 0 of the pair {i, j}: x = λ_i·s_i + λ_j·s_j. */
export function pairCoefficients(i: number, j: number): { readonly self: bigint; readonly other: bigint } {
  if (i === j) throw new MpcError('out_of_range', 'pair', 'a pair needs two distinct members');
  const bi = BigInt(i);
  const bj = BigInt(j);
  return { self: modQ(bj * invertMod(modQ(bj - bi), CURVE_ORDER)), other: modQ(bi * invertMod(modQ(bi - bj), CURVE_ORDER)) };
}

/** A dealer's polynomial f(z) = constant + slope·z and its Feldman commitment [constant·G, slope·G]. */
export interface DealtPolynomial {
  readonly constant: bigint;
  readonly slope: bigint;
  readonly commitment: readonly [Point, Point];
}

/** `constant` must be non-zero mod q (a weighted share always is, except with probability 2^-256). */
export function dealPolynomial(constant: bigint): DealtPolynomial {
  const c = modQ(constant);
  if (c === 0n) throw new MpcError('out_of_range', 'reshare.constant', 'the dealt constant is zero');
  const slope = randomScalar();
  return { constant: c, slope, commitment: [G.multiply(c), G.multiply(slope)] };
}

export function evaluatePolynomial(polynomial: Pick<DealtPolynomial, 'constant' | 'slope'>, index: number): bigint {
  return modQ(polynomial.constant + polynomial.slope * BigInt(index));
}

/** C₀ + index·C₁: the public value of f(index). */
export function evaluateCommitment(commitment: readonly [Point, Point], index: number): Point {
  return commitment[0].add(commitment[1].multiply(BigInt(index)));
}
