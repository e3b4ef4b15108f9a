/**
 * Writes test/fixtures/paillier-keys.json: pre-generated 2048-bit Paillier keys (as their primes)
 * so unit tests need not spend ~0.4 s per key generation. Test-only material; never shipped.
 * Run: npx tsx scripts/generate-paillier-fixtures.ts
 */
import { writeFileSync } from 'node:fs';
import { generatePaillierKey } from '../src/mpc/paillier.ts';

const FIXTURE_COUNT = 6;

const keys = Array.from({ length: FIXTURE_COUNT }, () => {
  const key = generatePaillierKey();
  return { p: key.p.toString(16), q: key.q.toString(16) };
});
writeFileSync('test/fixtures/paillier-keys.json', `${JSON.stringify({ bits: 2048, keys }, null, 2)}\n`);
