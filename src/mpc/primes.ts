/**
 * Exact-size probable primes for Paillier keys.
 *
 * A candidate has its top two bits set, so the product of two `bits`-bit primes has exactly
 * 2·bits bits (no discarded keys), and is ≡ 3 (mod 4) (Blum primes). Candidates are sieved by
 * the odd primes below 2^13 (the bound P2 also checks N against), then tested by Miller–Rabin
 * with random bases. For 1024-bit random candidates, FIPS 186-5 Table B.1 gives error < 2^-100 with
 * 4 rounds (Damgård–Landrock–Pomerance bounds); we run 40 rounds as an independent margin.
 */
import { bitLength, bytesToBigInt } from './bytes.ts';
import { modPow } from './modpow.ts';
import { randomBelow, randomBytes } from './random.ts';

/** Factors P2 refuses in N; also the sieve used when generating primes. */
export const SMALL_PRIME_BOUND = 1 << 13;
export const MILLER_RABIN_ROUNDS = 40;

function sieveOddPrimes(limit: number): number[] {
  const composite = new Uint8Array(limit);
  const primes: number[] = [];
  for (let n = 3; n < limit; n += 2) {
    if (composite[n]) continue;
    primes.push(n);
    for (let m = n * n; m < limit; m += 2 * n) composite[m] = 1;
  }
  return primes;
}

/** Odd primes below 2^13. */
export const SMALL_ODD_PRIMES: readonly number[] = sieveOddPrimes(SMALL_PRIME_BOUND);

/** The smallest prime factor of n below 2^13, or null when there is none. */
export function smallPrimeFactor(n: bigint): number | null {
  if (n % 2n === 0n) return 2;
  for (const prime of SMALL_ODD_PRIMES) {
    if (BigInt(prime) >= n) return null;
    if (n % BigInt(prime) === 0n) return prime;
  }
  return null;
}

export function isProbablePrime(n: bigint, rounds = MILLER_RABIN_ROUNDS): boolean {
  if (n < 2n) return false;
  for (const prime of [2, ...SMALL_ODD_PRIMES.slice(0, 100)]) {
    if (n === BigInt(prime)) return true;
    if (n % BigInt(prime) === 0n) return false;
  }
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  witness: for (let round = 0; round < rounds; round++) {
    const a = randomBelow(n - 3n) + 2n;
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    for (let r = 1; r < s; r++) {
      x = (x * x) % n;
      if (x === n - 1n) continue witness;
    }
    return false;
  }
  return true;
}

/** Steps of 4 from a ≡ 3 (mod 4) start keep candidates ≡ 3 (mod 4). */
const CANDIDATE_STEP = 4;
/** How far to walk from one random start before drawing a new one. */
const MAX_WALK = 4096;

/** A random prime p with exactly `bits` bits, top two bits set, p ≡ 3 (mod 4). */
export function generateBlumPrime(bits: number): bigint {
  if (bits < 64) throw new RangeError('prime size too small');
  const topBits = 3n << BigInt(bits - 2);
  for (;;) {
    const random = bytesToBigInt(randomBytes(Math.ceil(bits / 8))) & ((1n << BigInt(bits)) - 1n);
    const start = random | topBits | 3n;
    const residues = SMALL_ODD_PRIMES.map((prime) => Number(start % BigInt(prime)));
    for (let offset = 0; offset < MAX_WALK; offset += CANDIDATE_STEP) {
      let divisible = false;
      for (let i = 0; i < residues.length; i++) {
        if (((residues[i] as number) + offset) % (SMALL_ODD_PRIMES[i] as number) === 0) {
          divisible = true;
          break;
        }
      }
      if (divisible) continue;
      const candidate = start + BigInt(offset);
      if (bitLength(candidate) !== bits) break;
      if (isProbablePrime(candidate)) return candidate;
    }
  }
}
