/**
 * Writes the Paillier test fixtures: pre-generated 2048-bit keys (test/fixtures/paillier-keys.json,
 * as their primes) and a modulus proof for each (test/fixtures/paillier-modulus-proofs.json), so
 * unit tests need not spend ~0.4 s per key and ~0.6 s per proof. A modulus proof binds only N and
 * its own id, so a stored one stays valid. Test-only material; never shipped.
 * Also writes test/fixtures/small-factor-moduli.json: the factors of the malicious moduli
 * N = p′·P of test/mpc/attacks-modulus.test.ts (p′ a prime just above 2^13 or 2^16, or of 64 bits).
 * Run: npx tsx scripts/generate-paillier-fixtures.ts          (new keys, proofs and moduli)
 *      npx tsx scripts/generate-paillier-fixtures.ts --keys   (new keys and proofs only)
 *      npx tsx scripts/generate-paillier-fixtures.ts --proofs (new proofs for the stored keys)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { bitLength } from '../src/mpc/bytes.ts';
import { generatePaillierKey, paillierSecretKeyFromPrimes } from '../src/mpc/paillier.ts';
import { generateBlumPrime } from '../src/mpc/primes.ts';
import { gcd } from '../src/mpc/wire.ts';
import { encodePaillierModulusProof, provePaillierModulus } from '../src/mpc/zk/paillier-modulus.ts';

/** Enough for a wallet's keygen, three members' pair setups and ten refreshes without reusing a key. */
const FIXTURE_COUNT = 30;
const KEYS_FILE = 'test/fixtures/paillier-keys.json';
const PROOFS_FILE = 'test/fixtures/paillier-modulus-proofs.json';
const MODULI_FILE = 'test/fixtures/small-factor-moduli.json';
/** p′ ≡ 1 (mod 4) fails Π^mod; p′ ≡ 3 (mod 4) makes a Blum N that only Π^fac refuses. */
const SMALL_PRIMES = [8209n, 65537n, 8219n, 65539n];

/** P with N = small·P of at least 2048 bits and gcd(N, φ(N)) = 1. */
function bigCofactor(small: bigint): bigint {
  for (;;) {
    const big = generateBlumPrime(2049 - bitLength(small));
    if (bitLength(small * big) >= 2048 && gcd(small * big, (small - 1n) * (big - 1n)) === 1n) return big;
  }
}

const keys = process.argv.includes('--proofs')
  ? (JSON.parse(readFileSync(KEYS_FILE, 'utf8')) as { keys: { p: string; q: string }[] }).keys.map((entry) => paillierSecretKeyFromPrimes(BigInt(`0x${entry.p}`), BigInt(`0x${entry.q}`)))
  : Array.from({ length: FIXTURE_COUNT }, () => generatePaillierKey());
writeFileSync(KEYS_FILE, `${JSON.stringify({ bits: 2048, keys: keys.map((key) => ({ p: key.p.toString(16), q: key.q.toString(16) })) }, null, 2)}\n`);
writeFileSync(PROOFS_FILE, `${JSON.stringify({ proofs: keys.map((key) => encodePaillierModulusProof(provePaillierModulus(key))) })}\n`);
if (!process.argv.includes('--proofs') && !process.argv.includes('--keys')) {
  const moduli = [...SMALL_PRIMES, generateBlumPrime(64)].map((small) => ({ small: small.toString(16), big: bigCofactor(small).toString(16) }));
  writeFileSync(MODULI_FILE, `${JSON.stringify({ moduli }, null, 2)}\n`);
}
