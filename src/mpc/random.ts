/**
 * Secure randomness for the engine: crypto.getRandomValues only, rejection sampling for
 * uniform integers (no modulo bias).
 */
import { bitLength, bytesToBigInt } from './bytes.ts';
import { CURVE_ORDER } from './curve.ts';
import { gcd } from './wire.ts';

/** crypto.getRandomValues fills at most 65,536 bytes per call. */
const MAX_RANDOM_CHUNK = 65_536;

export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += MAX_RANDOM_CHUNK) {
    crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + MAX_RANDOM_CHUNK)));
  }
  return out;
}

/** Uniform integer in [0, bound). */
export function randomBelow(bound: bigint): bigint {
  if (bound <= 0n) throw new RangeError('bound must be positive');
  const bits = bitLength(bound - 1n);
  const bytes = Math.ceil(bits / 8);
  const excess = BigInt(bytes * 8 - bits);
  for (;;) {
    const candidate = bytesToBigInt(randomBytes(bytes)) >> excess;
    if (candidate < bound) return candidate;
  }
}

/** Uniform scalar in [1, q). */
export function randomScalar(): bigint {
  return randomBelow(CURVE_ORDER - 1n) + 1n;
}

/** Uniform element of Z*_n. */
export function randomUnit(n: bigint): bigint {
  for (;;) {
    const candidate = randomBelow(n);
    if (candidate !== 0n && gcd(candidate, n) === 1n) return candidate;
  }
}
