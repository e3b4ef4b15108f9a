/**
 * What one guess at a passphrase-protected vault costs (issue 11, point 4): the shipped scrypt
 * parameters, through the vault's own key derivation and password check, must take ≥ 0.5 s and
 * ≥ 64 MiB on this project's reference machine (2 cores). The guess runs in a child process of its
 * own, so its peak memory (max RSS) is not mixed with other tests'. This is a floor, not a speed
 * target: a busier machine only passes more easily; a faster one that fails it means the
 * parameters must go up.
 */
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';

const MIB = 2 ** 20;

/** One wrong guess against a vault check value, timed, with the growth of the process' max RSS. */
const GUESS = `
import { DEFAULT_SCRYPT_COST } from './src/vault/vault.ts';
import { deriveVaultKey, keyOpensCheck, newScryptParameters, sealCheck } from './src/vault/vault-crypto.ts';
const kdf = newScryptParameters(DEFAULT_SCRYPT_COST);
const check = await sealCheck(await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']));
const rssBefore = process.resourceUsage().maxRSS;
const started = performance.now();
const opened = await keyOpensCheck(await deriveVaultKey('violin orbit candle meadow fossil', kdf, false), check);
const elapsedMs = performance.now() - started;
console.log(JSON.stringify({ opened, elapsedMs, rssGrowthKiB: process.resourceUsage().maxRSS - rssBefore, n: kdf.n, r: kdf.r, p: kdf.p }));
`;

it('one wrong-passphrase guess with the shipped scrypt costs ≥ 0.5 s and ≥ 64 MiB', () => {
  const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', GUESS], { encoding: 'utf8' });
  const { opened, elapsedMs, rssGrowthKiB, n, r, p } = JSON.parse(output.trim().split('\n').pop() as string) as { opened: boolean; elapsedMs: number; rssGrowthKiB: number; n: number; r: number; p: number };
  console.log(`one scrypt guess (N=${n}, r=${r}, p=${p}): ${Math.round(elapsedMs)} ms, max RSS +${Math.round(rssGrowthKiB / 1024)} MiB`);
  expect(opened).toBe(false);
  expect(128 * n * r).toBeGreaterThanOrEqual(64 * MIB);
  expect(elapsedMs).toBeGreaterThanOrEqual(500);
  expect(rssGrowthKiB * 1024).toBeGreaterThanOrEqual(64 * MIB);
}, 30_000);
