/** Pre-generated 2048-bit Paillier keys and their modulus proofs for tests (scripts/generate-paillier-fixtures.ts). */
import { readFileSync } from 'node:fs';
import { paillierSecretKeyFromPrimes, type PaillierSecretKey } from '../../src/mpc/paillier.ts';
import { decodePaillierModulusProof, type PreparedPaillierKey } from '../../src/mpc/zk/paillier-modulus.ts';

interface PaillierFixtureFile {
  readonly bits: number;
  readonly keys: readonly { readonly p: string; readonly q: string }[];
}

const readJson = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const fixture = readJson('paillier-keys.json') as PaillierFixtureFile;
const proofs = (readJson('paillier-modulus-proofs.json') as { proofs: unknown[] }).proofs;

export const PAILLIER_FIXTURE_COUNT = fixture.keys.length;

export function loadPaillierFixture(index: number): PaillierSecretKey {
  const entry = fixture.keys[index];
  if (!entry) throw new RangeError(`no Paillier fixture ${index}`);
  return paillierSecretKeyFromPrimes(BigInt(`0x${entry.p}`), BigInt(`0x${entry.q}`));
}

/** Fixture key `index` with its stored modulus proof, as a device prepares them in idle time. */
export function loadPreparedPaillierFixture(index: number): PreparedPaillierKey {
  const key = loadPaillierFixture(index);
  return { key, proof: decodePaillierModulusProof(proofs[index], 'fixture', key.publicKey.n) };
}
