/**
 * The vault's other keys (issue 11, point 4): scrypt for a passphrase, a WebAuthn PRF output bound
 * to an authenticator, and re-keying (the phone's move from a PIN). Weak scrypt parameters here,
 * through the test-only flag; test/vault/scrypt-cost.test.ts runs the shipped ones.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { WEAK_KDF_FOR_TESTS_ONLY } from '../../src/vault/test-only-weak-kdf.ts';
import { DEFAULT_SCRYPT_COST, createVault, readVaultKdf, unlockVault, type NewVaultKey } from '../../src/vault/vault.ts';
import { dumpVault, readStore, writeRaw } from './raw-indexeddb.ts';
import { expectVaultError } from './expect-vault-error.ts';

const WEAK = { weakKdfForTests: WEAK_KDF_FOR_TESTS_ONLY } as const;
const FAST_SCRYPT = { n: 1024, r: 8, p: 1 } as const;
const PASSPHRASE = 'violin orbit candle meadow fossil drift';
const SECRET = 'x1-share-5b7c9d';

function prfKey(prfOutput = crypto.getRandomValues(new Uint8Array(32))): Extract<NewVaultKey, { kdf: 'WebAuthn-PRF' }> {
  return { kdf: 'WebAuthn-PRF', prfOutput, credentialId: crypto.getRandomValues(new Uint8Array(16)), salt: crypto.getRandomValues(new Uint8Array(32)) };
}

describe('scrypt', () => {
  it('opens with the passphrase only; its parameters are in the header', async () => {
    const indexedDB = new IDBFactory();
    const vault = await createVault('v', { kdf: 'scrypt', password: PASSPHRASE, cost: FAST_SCRYPT }, { indexedDB, ...WEAK });
    await vault.put('share', SECRET);
    vault.lock();
    expect(await readVaultKdf('v', { indexedDB, ...WEAK })).toEqual({ algorithm: 'scrypt', ...FAST_SCRYPT, salt: expect.any(Uint8Array) });
    await expectVaultError(unlockVault('v', 'violin orbit candle meadow fossil', { indexedDB, ...WEAK }), 'wrong_password');
    expect(await (await unlockVault('v', PASSPHRASE, { indexedDB, ...WEAK })).get('share')).toBe(SECRET);
  });

  it('ships N = 2^17, r = 8, p = 2 (128 MiB), and refuses less than 64 MiB or less work without the test flag', async () => {
    expect(DEFAULT_SCRYPT_COST).toEqual({ n: 2 ** 17, r: 8, p: 2 });
    const indexedDB = new IDBFactory();
    for (const cost of [FAST_SCRYPT, { n: 2 ** 15, r: 8, p: 8 }, { n: 2 ** 16, r: 8, p: 1 }]) {
      await expectVaultError(createVault('v', { kdf: 'scrypt', password: PASSPHRASE, cost }, { indexedDB }), 'weak_parameters');
    }
    for (const cost of [{ n: 1000, r: 8, p: 1 }, { n: 2 ** 22, r: 8, p: 1 }, { n: 2 ** 17, r: 8, p: 200 }, { n: 2 ** 17, r: 8.5, p: 2 }]) {
      await expectVaultError(createVault('v', { kdf: 'scrypt', password: PASSPHRASE, cost }, { indexedDB, ...WEAK }), 'weak_parameters');
    }
    expect(await readVaultKdf('v', { indexedDB })).toBeNull();
  });

  it('a header lowered below the minimum, or raised to hang the phone, is refused before any derivation', async () => {
    const indexedDB = new IDBFactory();
    (await createVault('v', { kdf: 'scrypt', password: PASSPHRASE, cost: FAST_SCRYPT }, { indexedDB, ...WEAK })).lock();
    await expectVaultError(unlockVault('v', PASSPHRASE, { indexedDB }), 'weak_parameters');
    const [header] = await readStore(indexedDB, 'v', 'meta');
    const value = header?.value as { kdf: Record<string, unknown> };
    await writeRaw(indexedDB, 'v', 'meta', 'vault', { ...value, kdf: { ...value.kdf, n: 2 ** 26 } });
    await expectVaultError(unlockVault('v', PASSPHRASE, { indexedDB, ...WEAK }), 'weak_parameters');
    await writeRaw(indexedDB, 'v', 'meta', 'vault', { ...value, kdf: { ...value.kdf, n: '1024' } });
    await expectVaultError(unlockVault('v', PASSPHRASE, { indexedDB, ...WEAK }), 'corrupt');
  });
});

describe('WebAuthn PRF', () => {
  it('opens with the same PRF output only; the header holds the credential and salt, never the output', async () => {
    const indexedDB = new IDBFactory();
    const key = prfKey();
    const vault = await createVault('v', key, { indexedDB });
    await vault.put('share', SECRET);
    vault.lock();
    expect(await readVaultKdf('v', { indexedDB })).toEqual({ algorithm: 'WebAuthn-PRF', credentialId: key.credentialId, salt: key.salt });
    await expectVaultError(unlockVault('v', crypto.getRandomValues(new Uint8Array(32)), { indexedDB }), 'wrong_password');
    await expectVaultError(unlockVault('v', PASSPHRASE, { indexedDB }), 'invalid_argument');
    await expectVaultError(unlockVault('v', key.prfOutput.subarray(0, 16), { indexedDB }), 'invalid_argument');
    expect(await (await unlockVault('v', key.prfOutput, { indexedDB })).get('share')).toBe(SECRET);
    expect(await dumpVault(indexedDB, 'v')).not.toContain(Buffer.from(key.prfOutput).toString('hex'));
  });

  it('refuses a malformed salt or credential id', async () => {
    const indexedDB = new IDBFactory();
    await expectVaultError(createVault('v', { ...prfKey(), salt: new Uint8Array(16) }, { indexedDB }), 'invalid_argument');
    await expectVaultError(createVault('v', { ...prfKey(), credentialId: new Uint8Array(0) }, { indexedDB }), 'invalid_argument');
    await expectVaultError(createVault('v', { ...prfKey(), prfOutput: new Uint8Array(31) }, { indexedDB }), 'invalid_argument');
  });
});

describe('rekey', () => {
  it('moves a PIN vault to a passphrase: every record kept, the PIN opens nothing any more', async () => {
    const indexedDB = new IDBFactory();
    const vault = await createVault('v', '246810', { indexedDB, iterations: 1_000, ...WEAK });
    await vault.putMany({ share: SECRET, n: 7n });
    await vault.rekey({ kdf: 'scrypt', password: PASSPHRASE, cost: FAST_SCRYPT }, WEAK);
    expect(await vault.get('share')).toBe(SECRET);
    vault.lock();
    await expectVaultError(unlockVault('v', '246810', { indexedDB, ...WEAK }), 'wrong_password');
    const reopened = await unlockVault('v', PASSPHRASE, { indexedDB, ...WEAK });
    expect(await reopened.get('n')).toBe(7n);
    const key = prfKey();
    await reopened.rekey(key);
    expect(await readVaultKdf('v', { indexedDB })).toMatchObject({ algorithm: 'WebAuthn-PRF' });
    expect(await (await unlockVault('v', key.prfOutput, { indexedDB })).get('share')).toBe(SECRET);
  });

  it('refuses a weak new key and changes nothing', async () => {
    const indexedDB = new IDBFactory();
    const vault = await createVault('v', { kdf: 'scrypt', password: PASSPHRASE, cost: FAST_SCRYPT }, { indexedDB, ...WEAK });
    await vault.put('share', SECRET);
    const before = await dumpVault(indexedDB, 'v');
    await expectVaultError(vault.rekey({ kdf: 'scrypt', password: 'x', cost: FAST_SCRYPT }), 'weak_parameters');
    await expectVaultError(vault.rekey({ kdf: 'PBKDF2-SHA256', password: '' }), 'invalid_argument');
    expect(await dumpVault(indexedDB, 'v')).toBe(before);
    expect(await vault.get('share')).toBe(SECRET);
  });
});
