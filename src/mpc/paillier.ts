/**
 * Paillier encryption (Paillier 1999) with the fast paths Duet needs at 2048 bits.
 *
 * - g = N + 1, so g^m = 1 + m·N (mod N²): encryption costs one r^N mod N².
 * - r^N mod N² can be computed ahead of time (NoncePool), leaving two multiplications.
 * - Decryption by CRT over p² and q² with exponents reduced mod p−1 and q−1 (Paillier §7).
 * - Keys are made of two exactly-sized Blum primes, so |N| is exactly the requested size.
 */
import { bitLength } from './bytes.ts';
import { invertMod, mod } from './curve.ts';
import { modPow } from './modpow.ts';
import { generateBlumPrime } from './primes.ts';
import { randomUnit } from './random.ts';
import { gcd } from './wire.ts';

export const PAILLIER_MIN_BITS = 2048;

export interface PaillierPublicKey {
  readonly n: bigint;
  readonly n2: bigint;
}

export interface PaillierSecretKey {
  readonly publicKey: PaillierPublicKey;
  readonly p: bigint;
  readonly q: bigint;
  /** φ(N) = (p−1)(q−1). */
  readonly phi: bigint;
  readonly p2: bigint;
  readonly q2: bigint;
  /** h_p = L_p(g^(p−1) mod p²)^(−1) mod p, and likewise h_q (Paillier §7). */
  readonly hp: bigint;
  readonly hq: bigint;
  /** p^(−1) mod q, for CRT recombination. */
  readonly pInvModQ: bigint;
}

export function paillierPublicKey(n: bigint): PaillierPublicKey {
  return { n, n2: n * n };
}

export function paillierSecretKeyFromPrimes(p: bigint, q: bigint): PaillierSecretKey {
  if (p === q) throw new RangeError('Paillier primes must differ');
  const n = p * q;
  const publicKey = paillierPublicKey(n);
  const p2 = p * p;
  const q2 = q * q;
  const g = n + 1n;
  const lp = (modPow(g, p - 1n, p2) - 1n) / p;
  const lq = (modPow(g, q - 1n, q2) - 1n) / q;
  return {
    publicKey,
    p,
    q,
    phi: (p - 1n) * (q - 1n),
    p2,
    q2,
    hp: invertMod(lp, p),
    hq: invertMod(lq, q),
    pInvModQ: invertMod(p, q),
  };
}

export function generatePaillierKey(bits: number = PAILLIER_MIN_BITS): PaillierSecretKey {
  if (bits < PAILLIER_MIN_BITS || bits % 2 !== 0) {
    throw new RangeError(`Paillier modulus must be an even number of bits ≥ ${PAILLIER_MIN_BITS}`);
  }
  for (;;) {
    const p = generateBlumPrime(bits / 2);
    const q = generateBlumPrime(bits / 2);
    if (p === q) continue;
    const key = paillierSecretKeyFromPrimes(p, q);
    if (bitLength(key.publicKey.n) === bits && gcd(key.publicKey.n, key.phi) === 1n) return key;
  }
}

/** (1 + m·N)·rN mod N², with rN = r^N mod N² given. */
export function encryptWithMaskedNonce(pk: PaillierPublicKey, m: bigint, rN: bigint): bigint {
  return (mod(1n + mod(m, pk.n) * pk.n, pk.n2) * rN) % pk.n2;
}

/** Enc(m; r) = (1 + m·N)·r^N mod N², r uniform in Z*_N unless given. */
export function encrypt(pk: PaillierPublicKey, m: bigint, r: bigint = randomUnit(pk.n)): bigint {
  return encryptWithMaskedNonce(pk, m, modPow(r, pk.n, pk.n2));
}

function decryptModPrime(c: bigint, prime: bigint, primeSquared: bigint, h: bigint): bigint {
  const u = modPow(c % primeSquared, prime - 1n, primeSquared);
  return (((u - 1n) / prime) * h) % prime;
}

/** CRT decryption: m_p = L_p(c^(p−1) mod p²)·h_p mod p, likewise m_q, then recombine mod N. */
export function decrypt(sk: PaillierSecretKey, c: bigint): bigint {
  const mp = decryptModPrime(c, sk.p, sk.p2, sk.hp);
  const mq = decryptModPrime(c, sk.q, sk.q2, sk.hq);
  return mp + sk.p * mod((mq - mp) * sk.pInvModQ, sk.q);
}

/** Enc(a)·Enc(b) = Enc(a + b). */
export function addCiphertexts(pk: PaillierPublicKey, a: bigint, b: bigint): bigint {
  return (a * b) % pk.n2;
}

/** Enc(m)^k = Enc(k·m). */
export function multiplyCiphertext(pk: PaillierPublicKey, c: bigint, k: bigint): bigint {
  return modPow(c, k, pk.n2);
}

/** 0 < c < N² and gcd(c, N) = 1. */
export function isCiphertext(pk: PaillierPublicKey, c: bigint): boolean {
  return c > 0n && c < pk.n2 && gcd(c, pk.n) === 1n;
}

/**
 * r^N mod N² values computed ahead of time (e.g. while the device is idle), so an encryption on
 * the signing path costs two multiplications. Each value is handed out once.
 */
export class NoncePool {
  private readonly publicKey: PaillierPublicKey;
  private readonly values: bigint[] = [];

  constructor(publicKey: PaillierPublicKey) {
    this.publicKey = publicKey;
  }

  fill(count: number): void {
    for (let i = 0; i < count; i++) this.values.push(this.fresh());
  }

  take(): bigint {
    return this.values.pop() ?? this.fresh();
  }

  get size(): number {
    return this.values.length;
  }

  private fresh(): bigint {
    return modPow(randomUnit(this.publicKey.n), this.publicKey.n, this.publicKey.n2);
  }
}
