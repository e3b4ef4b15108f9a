/**
 * The first two parts of the Paillier modulus statement (paillier-modulus.ts puts them together
 * with Π^mod and Π^fac).
 *
 * Structural checks (no proof needed): N odd, 2048 ≤ |N| ≤ 4096 bits, no prime factor below
 * 2^13, not a perfect square, not a prime. They are not a bound on the factors: a factor just above
 * 2^13 passes them, which is why Π^fac exists.
 *
 * Proof that gcd(N, φ(N)) = 1 (so N is square-free), by N-th roots (Goldberg, Reyzin, Sagga, Baldimtsi, "Efficient
 * noninteractive certification of RSA moduli", ACNS 2019; the same check as Coinbase cb-mpc
 * `valid_paillier_t`): for ρ_i hashed from the transcript, the prover sends σ_i = ρ_i^(N⁻¹ mod φ(N)).
 * If gcd(N, φ(N)) ≠ 1, some prime p' ≥ 2^13 divides both, and at most a 1/p' fraction of Z*_N
 * has N-th roots, so each round passes with probability ≤ 2^-13; 10 rounds give ≤ 2^-130.
 */
import { bitLength } from '../bytes.ts';
import { invertMod, mod } from '../curve.ts';
import { MpcError } from '../errors.ts';
import { modPow } from '../modpow.ts';
import type { PaillierSecretKey } from '../paillier.ts';
import { MILLER_RABIN_ROUNDS, SMALL_PRIME_BOUND, isProbablePrime, smallPrimeFactor } from '../primes.ts';
import { Transcript, type TranscriptContext } from '../transcript.ts';
import { FieldReader, decodeInteger, encodeInteger, gcd } from '../wire.ts';

export const PAILLIER_MODULUS_MIN_BITS = 2048;
/** The upper bound P2 enforces: caps every ciphertext and proof P2 must process. */
export const PAILLIER_MODULUS_MAX_BITS = 4096;
/** log2 of the small-factor bound 2^13. */
const SMALL_FACTOR_BITS = 13;
/** ⌈128 / 13⌉ rounds for ≥ 128-bit soundness. */
export const VALIDITY_ROUNDS = Math.ceil(128 / SMALL_FACTOR_BITS);

export interface PaillierValidityProof {
  readonly roots: readonly bigint[];
}

/** ⌊√n⌋. */
export function integerSquareRoot(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const next = (x + n / x) >> 1n;
    if (next >= x) return x;
    x = next;
  }
}

/** The checks that need no proof; each failure is `invalid_modulus` naming `field`. */
export function checkPaillierModulus(n: bigint, field: string): void {
  const bits = bitLength(n);
  if (bits < PAILLIER_MODULUS_MIN_BITS) throw new MpcError('invalid_modulus', field, `modulus has ${bits} bits, fewer than ${PAILLIER_MODULUS_MIN_BITS}`);
  if (bits > PAILLIER_MODULUS_MAX_BITS) throw new MpcError('invalid_modulus', field, `modulus has ${bits} bits, more than ${PAILLIER_MODULUS_MAX_BITS}`);
  if (n % 2n === 0n) throw new MpcError('invalid_modulus', field, 'modulus is even');
  const factor = smallPrimeFactor(n);
  if (factor !== null) throw new MpcError('invalid_modulus', field, `modulus has a prime factor below ${SMALL_PRIME_BOUND}`);
  const root = integerSquareRoot(n);
  if (root * root === n) throw new MpcError('invalid_modulus', field, 'modulus is a perfect square');
  if (isProbablePrime(n, MILLER_RABIN_ROUNDS)) throw new MpcError('invalid_modulus', field, 'modulus is prime');
}

function challenges(context: TranscriptContext, n: bigint): bigint[] {
  const transcript = Transcript.start({ ...context, purpose: `${context.purpose}/paillier-validity` }).appendBigInt('N', n);
  return Array.from({ length: VALIDITY_ROUNDS }, (_, i) => transcript.challengeBelow(`rho-${i}`, n));
}

export function provePaillierValidity(context: TranscriptContext, key: PaillierSecretKey): PaillierValidityProof {
  const { p, q } = key;
  const n = key.publicKey.n;
  // N-th roots by CRT: exponents N⁻¹ mod (p−1) and N⁻¹ mod (q−1).
  const dp = invertMod(n % (p - 1n), p - 1n);
  const dq = invertMod(n % (q - 1n), q - 1n);
  const pInvModQ = key.pInvModQ;
  const roots = challenges(context, n).map((rho) => {
    const rootP = modPow(rho % p, dp, p);
    const rootQ = modPow(rho % q, dq, q);
    return rootP + p * mod((rootQ - rootP) * pInvModQ, q);
  });
  return { roots };
}

/** Structural checks, then the N-th root proof; throws `invalid_modulus` or `proof_failed`. */
export function verifyPaillierValidity(context: TranscriptContext, n: bigint, proof: PaillierValidityProof, field: string): void {
  checkPaillierModulus(n, `${field}.n`);
  const rhos = challenges(context, n);
  let product = 1n;
  rhos.forEach((rho, i) => {
    const root = proof.roots[i];
    if (root === undefined || root <= 0n || root >= n) throw new MpcError('proof_failed', `${field}.roots[${i}]`, 'root out of range');
    if (modPow(root, n, n) !== rho) throw new MpcError('proof_failed', `${field}.roots[${i}]`, 'not an N-th root of the challenge');
    product = (product * rho) % n;
  });
  if (gcd(product, n) !== 1n) throw new MpcError('proof_failed', `${field}.roots`, 'challenge not coprime to N');
}

export function encodePaillierValidityProof(proof: PaillierValidityProof): { roots: string[] } {
  return { roots: proof.roots.map(encodeInteger) };
}

export function decodePaillierValidityProof(value: unknown, field: string): PaillierValidityProof {
  const reader = new FieldReader(value, field);
  const roots = reader.array('roots', VALIDITY_ROUNDS, (item, itemField) =>
    decodeInteger(item, itemField, PAILLIER_MODULUS_MAX_BITS),
  );
  reader.end();
  return { roots };
}
