import { describe, expect, it } from 'vitest';
import * as reference from 'paillier-bigint';
import { bitLength } from '../../src/mpc/bytes.ts';
import { invertMod } from '../../src/mpc/curve.ts';
import { modPow } from '../../src/mpc/modpow.ts';
import {
  NoncePool,
  addCiphertexts,
  decrypt,
  encrypt,
  encryptWithMaskedNonce,
  generatePaillierKey,
  isCiphertext,
  multiplyCiphertext,
  paillierSecretKeyFromPrimes,
} from '../../src/mpc/paillier.ts';
import { generateBlumPrime, isProbablePrime, smallPrimeFactor } from '../../src/mpc/primes.ts';
import { randomBelow } from '../../src/mpc/random.ts';
import { loadPaillierFixture } from './fixtures.ts';

describe('modPow', () => {
  it('matches square-and-multiply on random inputs', () => {
    const naive = (b: bigint, e: bigint, m: bigint) => {
      let result = 1n;
      let base = b % m;
      for (let x = e; x > 0n; x >>= 1n) {
        if (x & 1n) result = (result * base) % m;
        base = (base * base) % m;
      }
      return result;
    };
    for (const bits of [8n, 64n, 300n, 1100n, 2100n]) {
      const m = randomBelow(1n << bits) | 1n;
      const b = randomBelow(m);
      const e = randomBelow(1n << bits);
      expect(modPow(b, e, m)).toBe(naive(b, e, m));
    }
    expect(modPow(5n, 0n, 7n)).toBe(1n);
    expect(modPow(-2n, 3n, 7n)).toBe(6n);
  });
});

describe('primes', () => {
  it('generates exact-size Blum primes', () => {
    const p = generateBlumPrime(256);
    expect(bitLength(p)).toBe(256);
    expect(p >> 254n).toBe(3n);
    expect(p % 4n).toBe(3n);
    expect(isProbablePrime(p)).toBe(true);
  });

  it('finds small factors and rejects composites', () => {
    expect(smallPrimeFactor(8191n * 1000003n)).toBe(8191);
    expect(smallPrimeFactor(1000003n * 1000033n)).toBeNull();
    expect(isProbablePrime(561n)).toBe(false);
    expect(isProbablePrime((1n << 127n) - 1n)).toBe(true);
  });
});

describe('Paillier', () => {
  const key = loadPaillierFixture(0);
  const pk = key.publicKey;

  it('agrees with paillier-bigint in both directions', () => {
    const referencePublic = new reference.PublicKey(pk.n, pk.n + 1n);
    const referencePrivate = new reference.PrivateKey(key.phi, invertMod(key.phi, pk.n), referencePublic);
    for (let i = 0; i < 5; i++) {
      const m = randomBelow(pk.n);
      expect(decrypt(key, referencePublic.encrypt(m))).toBe(m);
      expect(referencePrivate.decrypt(encrypt(pk, m))).toBe(m);
    }
  });

  it('is additively homomorphic', () => {
    const a = randomBelow(pk.n);
    const b = randomBelow(pk.n);
    const k = randomBelow(1n << 256n);
    expect(decrypt(key, addCiphertexts(pk, encrypt(pk, a), encrypt(pk, b)))).toBe((a + b) % pk.n);
    expect(decrypt(key, multiplyCiphertext(pk, encrypt(pk, a), k))).toBe((a * k) % pk.n);
  });

  it('encrypts with pooled nonces, each used once', () => {
    const pool = new NoncePool(pk);
    pool.fill(2);
    const first = pool.take();
    const second = pool.take();
    expect(first).not.toBe(second);
    expect(pool.size).toBe(0);
    expect(decrypt(key, encryptWithMaskedNonce(pk, 42n, first))).toBe(42n);
    expect(decrypt(key, encryptWithMaskedNonce(pk, 43n, pool.take()))).toBe(43n);
  });

  it('recognises elements of Z*_{N^2}', () => {
    expect(isCiphertext(pk, encrypt(pk, 1n))).toBe(true);
    expect(isCiphertext(pk, 0n)).toBe(false);
    expect(isCiphertext(pk, pk.n2)).toBe(false);
    expect(isCiphertext(pk, key.p * 12345n)).toBe(false);
  });

  it('generates a fresh 2048-bit key of exactly 2048 bits', () => {
    const fresh = generatePaillierKey();
    expect(bitLength(fresh.publicKey.n)).toBe(2048);
    expect(decrypt(fresh, encrypt(fresh.publicKey, 99n))).toBe(99n);
    expect(() => generatePaillierKey(1024)).toThrow(RangeError);
  });

  it('rebuilds the same key from its primes', () => {
    expect(paillierSecretKeyFromPrimes(key.p, key.q)).toEqual(key);
  });
});
