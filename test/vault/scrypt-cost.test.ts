/**
 * What one guess at a passphrase-protected vault costs (issue 11, point 4): the shipped scrypt
 * parameters, through the real unlock path, must take ≥ 0.5 s and ≥ 64 MiB on this project's
 * reference machine (2 cores). This is a floor, not a speed target: a slower (busier) machine only
 * passes more easily; a faster one that fails it means the parameters must go up.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { expect, it } from 'vitest';
import { VaultError, createVault, unlockVault } from '../../src/vault/vault.ts';

const MIB = 2 ** 20;

it('one wrong-passphrase guess with the shipped scrypt costs ≥ 0.5 s and ≥ 64 MiB', async () => {
  const indexedDB = new IDBFactory();
  (await createVault('v', { kdf: 'scrypt', password: 'violin orbit candle meadow fossil drift' }, { indexedDB })).lock();
  const baseline = process.memoryUsage().arrayBuffers;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
  const started = performance.now();
  const error = await unlockVault('v', 'violin orbit candle meadow fossil', { indexedDB }).catch((caught: unknown) => caught);
  const elapsedMs = performance.now() - started;
  clearInterval(sampler);
  expect((error as VaultError).code).toBe('wrong_password');
  console.log(`one scrypt guess: ${Math.round(elapsedMs)} ms, ${Math.round((peak - baseline) / MIB)} MiB`);
  expect(elapsedMs).toBeGreaterThanOrEqual(500);
  expect(peak - baseline).toBeGreaterThanOrEqual(64 * MIB);
}, 30_000);
