/** Pre-generated 2048-bit Paillier keys for tests (scripts/generate-paillier-fixtures.ts). */
import { readFileSync } from 'node:fs';
import { paillierSecretKeyFromPrimes, type PaillierSecretKey } from '../../src/mpc/paillier.ts';

interface PaillierFixtureFile {
  readonly bits: number;
  readonly keys: readonly { readonly p: string; readonly q: string }[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/paillier-keys.json', import.meta.url), 'utf8')) as PaillierFixtureFile;

export const PAILLIER_FIXTURE_COUNT = fixture.keys.length;

export function loadPaillierFixture(index: number): PaillierSecretKey {
  const entry = fixture.keys[index];
  if (!entry) throw new RangeError(`no Paillier fixture ${index}`);
  return paillierSecretKeyFromPrimes(BigInt(`0x${entry.p}`), BigInt(`0x${entry.q}`));
}
