import { afterEach, describe, expect, it, vi } from 'vitest';
// idb checks values against the global IDB* classes, so Node needs them installed (a browser has
// them); each test still passes its own factory, so tests share no database.
import 'fake-indexeddb/auto';
import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import {
  MAX_PBKDF2_ITERATIONS,
  MIN_PBKDF2_ITERATIONS,
  VaultError,
  createVault,
  importUnlockKey,
  unlockVault,
  vaultExists,
  type VaultCreateOptions,
} from '../../src/vault/vault.ts';
import { WEAK_KDF_FOR_TESTS_ONLY } from '../../src/vault/test-only-weak-kdf.ts';
import { dumpVault, readStore, writeRaw } from './raw-indexeddb.ts';
import { expectVaultError } from './expect-vault-error.ts';

/** Fast key derivation for tests (1,000 iterations); one test below runs the shipping 600,000. */
const FAST = { iterations: 1_000, weakKdfForTests: WEAK_KDF_FOR_TESTS_ONLY } as const;
const PASSWORD = 'correct horse battery staple';
const SECRET = 'x2-share-3f9a6c0e1d2b';

/** A fresh in-memory IndexedDB per test, and a vault name in it. */
function setup(extra: Partial<VaultCreateOptions> = {}) {
  const indexedDB = new IDBFactory();
  const options = { ...FAST, indexedDB, ...extra };
  return { indexedDB, options, name: 'duet-vault', create: (password = PASSWORD) => createVault('duet-vault', password, options) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('create, lock, unlock', () => {
  it('keeps values across lock and unlock', async () => {
    const { name, options, create } = setup();
    expect(await vaultExists(name, options)).toBe(false);
    const vault = await create();
    expect(await vaultExists(name, options)).toBe(true);
    await vault.putMany({ share: { x2: SECRET }, settings: { autoLockMinutes: 15 } });
    expect(await vault.get('missing')).toBeUndefined();
    vault.lock();
    expect(vault.isLocked).toBe(true);
    await expectVaultError(vault.get('share'), 'locked');
    await expectVaultError(vault.put('share', 1), 'locked');
    await expectVaultError(vault.keys(), 'locked');
    const again = await unlockVault(name, PASSWORD, options);
    expect(await again.get('share')).toEqual({ x2: SECRET });
    expect(await again.keys()).toEqual(['settings', 'share']);
    await again.delete('settings');
    expect(await again.keys()).toEqual(['share']);
  });

  it('refuses to create over an existing vault, and to unlock a missing one', async () => {
    const { name, options, create } = setup();
    await expectVaultError(unlockVault(name, PASSWORD, options), 'not_found');
    await create();
    await expectVaultError(createVault(name, 'another password', options), 'already_exists');
    expect(await (await unlockVault(name, PASSWORD, options)).keys()).toEqual([]);
  });

  it('a wrong password is wrong_password and changes nothing', async () => {
    const { indexedDB, name, options, create } = setup();
    const vault = await create();
    await vault.put('share', SECRET);
    const before = await dumpVault(indexedDB, name);
    await expectVaultError(unlockVault(name, 'wrong horse', options), 'wrong_password');
    expect(await dumpVault(indexedDB, name)).toBe(before);
    expect(await vault.get('share')).toBe(SECRET);
  });

  it('normalises the password (NFKC): composed and decomposed é open the same vault', async () => {
    const { name, options, create } = setup();
    await create('caf\u00e9-passphrase');
    await expect(unlockVault(name, 'cafe\u0301-passphrase', options)).resolves.toBeDefined();
  });

  it('refuses empty passwords, bad record keys and bad database names', async () => {
    const { name, options, create } = setup();
    await expectVaultError(createVault(name, '', options), 'invalid_argument');
    const vault = await create();
    await expectVaultError(unlockVault(name, '', options), 'invalid_argument');
    await expectVaultError(vault.put('', 1), 'invalid_argument');
    await expectVaultError(vault.put('k'.repeat(257), 1), 'invalid_argument');
    await expectVaultError(vault.get(''), 'invalid_argument');
    await expectVaultError(vaultExists('', options), 'invalid_argument');
  });

  it('uses the IndexedDB factory it is given, and globalThis.indexedDB by default', async () => {
    const first = setup();
    await first.create();
    expect(await vaultExists(first.name, { indexedDB: new IDBFactory() })).toBe(false);
    expect(await vaultExists(first.name)).toBe(false);
    await createVault('global-vault', PASSWORD, FAST);
    expect(await vaultExists('global-vault', { indexedDB: globalThis.indexedDB })).toBe(true);
    expect(await vaultExists('global-vault', { indexedDB: first.indexedDB })).toBe(false);
  });

  it('runs one handle\'s operations in call order', async () => {
    const vault = await setup().create();
    await Promise.all([vault.put('n', 1), vault.put('n', 2), vault.put('n', 3)]);
    expect(await vault.get('n')).toBe(3);
  });
});

describe('key derivation parameters', () => {
  it('refuses fewer than 600,000 iterations without the test-only flag object', async () => {
    const { name, indexedDB } = setup();
    await expectVaultError(createVault(name, PASSWORD, { indexedDB, iterations: 1_000 }), 'weak_parameters');
    await expectVaultError(createVault(name, PASSWORD, { indexedDB, iterations: MIN_PBKDF2_ITERATIONS - 1 }), 'weak_parameters');
    const lookalike = { purpose: WEAK_KDF_FOR_TESTS_ONLY.purpose };
    await expectVaultError(createVault(name, PASSWORD, { indexedDB, iterations: 1_000, weakKdfForTests: lookalike }), 'weak_parameters');
    await expectVaultError(createVault(name, PASSWORD, { indexedDB, iterations: MAX_PBKDF2_ITERATIONS + 1 }), 'weak_parameters');
    await expectVaultError(createVault(name, PASSWORD, { indexedDB, iterations: 600_000.5 }), 'weak_parameters');
    expect(await vaultExists(name, { indexedDB })).toBe(false);
  });

  it('refuses to unlock a weak vault without the flag (a downgraded header)', async () => {
    const { name, indexedDB, create } = setup();
    await create();
    await expectVaultError(unlockVault(name, PASSWORD, { indexedDB }), 'weak_parameters');
  });

  it('ships 600,000 iterations and a 16-byte salt, stored with the vault', async () => {
    const indexedDB = new IDBFactory();
    const vault = await createVault('shipping', PASSWORD, { indexedDB });
    await vault.put('share', SECRET);
    const [header] = await readStore(indexedDB, 'shipping', 'meta');
    const kdf = (header?.value as { kdf: { algorithm: string; iterations: number; salt: Uint8Array } }).kdf;
    expect(kdf.algorithm).toBe('PBKDF2-SHA256');
    expect(kdf.iterations).toBe(600_000);
    expect(kdf.salt).toBeInstanceOf(Uint8Array);
    expect(kdf.salt.length).toBe(16);
    expect(await (await unlockVault('shipping', PASSWORD, { indexedDB })).get('share')).toBe(SECRET);
  });
});

describe('tampering', () => {
  it('a flipped ciphertext or IV bit is corrupt', async () => {
    const { indexedDB, name, create } = setup();
    const vault = await create();
    await vault.putMany({ a: 'first', b: 'second' });
    const [a, b] = (await readStore(indexedDB, name, 'records')).map((entry) => entry.value as { iv: Uint8Array; ciphertext: Uint8Array });
    const ciphertext = new Uint8Array(a!.ciphertext);
    ciphertext[0]! ^= 1;
    await writeRaw(indexedDB, name, 'records', 'a', { iv: a!.iv, ciphertext });
    await expectVaultError(vault.get('a'), 'corrupt');
    const iv = new Uint8Array(b!.iv);
    iv[11]! ^= 0x80;
    await writeRaw(indexedDB, name, 'records', 'b', { iv, ciphertext: b!.ciphertext });
    await expectVaultError(vault.get('b'), 'corrupt');
    await writeRaw(indexedDB, name, 'records', 'c', 'not a sealed record');
    await expectVaultError(vault.get('c'), 'corrupt');
  });

  it('swapped records are detected (the record key is authenticated)', async () => {
    const { indexedDB, name, create } = setup();
    const vault = await create();
    await vault.putMany({ keyShare: SECRET, settings: 'harmless' });
    const records = await readStore(indexedDB, name, 'records');
    const settings = records.find((entry) => entry.key === 'settings')!.value;
    await writeRaw(indexedDB, name, 'records', 'keyShare', settings);
    await expectVaultError(vault.get('keyShare'), 'corrupt');
  });

  it('the password check value cannot be passed off as a record', async () => {
    const { indexedDB, name, create } = setup();
    const vault = await create();
    const [header] = await readStore(indexedDB, name, 'meta');
    await writeRaw(indexedDB, name, 'records', 'vault', (header!.value as { check: unknown }).check);
    await expectVaultError(vault.get('vault'), 'corrupt');
  });

  it('a header of unknown format is corrupt', async () => {
    const { indexedDB, name, options, create } = setup();
    await create();
    const [header] = await readStore(indexedDB, name, 'meta');
    await writeRaw(indexedDB, name, 'meta', 'vault', { ...(header!.value as object), format: 1 });
    await expectVaultError(unlockVault(name, PASSWORD, options), 'corrupt');
  });
});

describe('no plaintext at rest', () => {
  it('neither the values, the password nor the key appear anywhere in IndexedDB', async () => {
    const { indexedDB, name, options } = setup({ exportableKey: true });
    const vault = await createVault(name, PASSWORD, options);
    const bigSecret = 0x1234567890abcdef1234567890abcdefn;
    await vault.putMany({ share: { x2: SECRET, scalar: bigSecret }, list: [SECRET, SECRET] });
    const key = Buffer.from(await vault.exportUnlockKey());
    const dump = await dumpVault(indexedDB, name);
    for (const needle of [SECRET, PASSWORD, bigSecret.toString(10), bigSecret.toString(16), key.toString('hex'), key.toString('latin1')]) {
      expect(dump).not.toContain(needle);
    }
    expect(dump).toContain('share');
  });
});

describe('values', () => {
  it('round-trips bigints (negative, beyond 2^256, nested in arrays and objects)', async () => {
    const vault = await setup().create();
    const value = { a: 0n, b: -5n, c: 1n << 300n, list: [1n, { d: (1n << 255n) + 1n }], text: '$bigint', n: 1.5, flag: true, none: null };
    await vault.put('values', value);
    expect(await vault.get('values')).toEqual(value);
  });

  it('drops undefined object properties, as JSON does', async () => {
    const vault = await setup().create();
    await vault.put('v', { kept: 1, dropped: undefined });
    expect(await vault.get('v')).toEqual({ kept: 1 });
  });

  it('refuses values JSON would silently change, naming where they are', async () => {
    const vault = await setup().create();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: [unknown, string][] = [
      [undefined, 'v'],
      [{ a: [1, undefined] }, 'v.a[1]'],
      [{ n: Number.NaN }, 'v.n'],
      [{ n: Number.POSITIVE_INFINITY }, 'v.n'],
      [{ when: new Date(0) }, 'v.when'],
      [{ bytes: new Uint8Array(4) }, 'v.bytes'],
      [{ map: new Map() }, 'v.map'],
      [{ f: () => 1 }, 'v.f'],
      [{ s: Symbol('s') }, 'v.s'],
      [{ $bigint: '1' }, 'v'],
      [cyclic, 'v.self'],
    ];
    for (const [value, path] of cases) {
      const error = await vault.put('v', value).then(() => null, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(VaultError);
      expect((error as VaultError).code).toBe('invalid_argument');
      expect((error as VaultError).message.startsWith(`${path}:`)).toBe(true);
    }
    expect(await vault.keys()).toEqual([]);
  });

  it('stores records in the documented format: AES-256-GCM, 12-byte IV, additional data "duet-vault/v2/record/" + key', async () => {
    const { indexedDB, name, options } = setup({ exportableKey: true });
    const vault = await createVault(name, PASSWORD, options);
    const key = await crypto.subtle.importKey('raw', await vault.exportUnlockKey(), 'AES-GCM', false, ['encrypt', 'decrypt']);
    const seal = async (recordKey: string, text: string) => {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const additionalData = new TextEncoder().encode(`duet-vault/v2/record/${recordKey}`);
      return { iv, ciphertext: new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, key, new TextEncoder().encode(text))) };
    };
    await writeRaw(indexedDB, name, 'records', 'made-outside', await seal('made-outside', '{"n":{"$bigint":"-12"}}'));
    expect(await vault.get('made-outside')).toEqual({ n: -12n });
    for (const text of ['not json', '{"n":{"$bigint":"12x"}}', '{"n":{"$bigint":"1","extra":1}}', '{"n":{"$bigint":1}}']) {
      await writeRaw(indexedDB, name, 'records', 'garbage', await seal('garbage', text));
      await expectVaultError(vault.get('garbage'), 'corrupt');
    }
  });
});

describe('putMany atomicity', () => {
  it('a value that cannot be stored fails the whole batch before anything is written', async () => {
    const vault = await setup().create();
    await vault.put('a', 'old');
    await expectVaultError(vault.putMany({ a: 'new', b: Number.NaN, c: 'new' }), 'invalid_argument');
    expect(await vault.get('a')).toBe('old');
    expect(await vault.keys()).toEqual(['a']);
  });

  it('an IndexedDB failure in the middle of the batch leaves nothing written', async () => {
    const { indexedDB, name, create } = setup();
    const vault = await create();
    await vault.put('a', 'old');
    const before = await dumpVault(indexedDB, name);
    const originalPut = IDBObjectStore.prototype.put;
    let calls = 0;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      calls += 1;
      if (calls === 2) throw new DOMException('simulated full disk', 'QuotaExceededError');
      return originalPut.apply(this, args);
    });
    await expectVaultError(vault.putMany({ a: 'new', b: 'new', c: 'new' }), 'storage_error');
    vi.restoreAllMocks();
    expect(calls).toBe(2);
    expect(await dumpVault(indexedDB, name)).toBe(before);
    expect(await vault.get('a')).toBe('old');
    expect(await vault.keys()).toEqual(['a']);
  });

  it('deleteMany removes all or nothing', async () => {
    const vault = await setup().create();
    await vault.putMany({ a: 1, b: 2, c: 3 });
    await expectVaultError(vault.deleteMany(['a', '']), 'invalid_argument');
    expect(await vault.keys()).toEqual(['a', 'b', 'c']);
    await vault.deleteMany(['a', 'b', 'not-there']);
    expect(await vault.keys()).toEqual(['c']);
  });
});

describe('changePassword', () => {
  it('re-encrypts everything under the new password; the old one stops working', async () => {
    const { indexedDB, name, options, create } = setup();
    const vault = await create();
    await vault.putMany({ share: SECRET, n: 42n });
    const [oldHeader] = await readStore(indexedDB, name, 'meta');
    const oldRecords = await readStore(indexedDB, name, 'records');
    await vault.changePassword(PASSWORD, 'new passphrase', { iterations: 2_000, weakKdfForTests: WEAK_KDF_FOR_TESTS_ONLY });
    expect(await vault.get('share')).toBe(SECRET);
    await expectVaultError(unlockVault(name, PASSWORD, options), 'wrong_password');
    const reopened = await unlockVault(name, 'new passphrase', options);
    expect(await reopened.get('n')).toBe(42n);
    const [newHeader] = await readStore(indexedDB, name, 'meta');
    const kdf = (entry: typeof newHeader) => (entry!.value as { kdf: { iterations: number; salt: Uint8Array } }).kdf;
    expect(kdf(newHeader).iterations).toBe(2_000);
    expect(Buffer.from(kdf(newHeader).salt).equals(Buffer.from(kdf(oldHeader).salt))).toBe(false);
    const newRecords = await readStore(indexedDB, name, 'records');
    for (const [index, entry] of newRecords.entries()) {
      expect(Buffer.from((entry.value as { ciphertext: Uint8Array }).ciphertext).equals(Buffer.from((oldRecords[index]!.value as { ciphertext: Uint8Array }).ciphertext))).toBe(false);
    }
  });

  it('raises the iteration count to the default unless told otherwise', async () => {
    const { indexedDB, name, create } = setup();
    const vault = await create();
    await vault.changePassword(PASSWORD, 'new passphrase');
    const [header] = await readStore(indexedDB, name, 'meta');
    expect((header!.value as { kdf: { iterations: number } }).kdf.iterations).toBe(600_000);
  });

  it('a wrong old password changes nothing', async () => {
    const { indexedDB, name, create } = setup();
    const vault = await create();
    await vault.put('share', SECRET);
    const before = await dumpVault(indexedDB, name);
    await expectVaultError(vault.changePassword('wrong horse', 'new passphrase'), 'wrong_password');
    await expectVaultError(vault.changePassword(PASSWORD, ''), 'invalid_argument');
    await expectVaultError(vault.changePassword(PASSWORD, 'new passphrase', { iterations: 1_000 }), 'weak_parameters');
    expect(await dumpVault(indexedDB, name)).toBe(before);
    expect(await vault.get('share')).toBe(SECRET);
  });

  it('a corrupt record stops the change before anything is written', async () => {
    const { indexedDB, name, create } = setup();
    const vault = await create();
    await vault.putMany({ a: 1, b: 2 });
    await writeRaw(indexedDB, name, 'records', 'b', (await readStore(indexedDB, name, 'records'))[0]!.value);
    const before = await dumpVault(indexedDB, name);
    await expectVaultError(vault.changePassword(PASSWORD, 'new passphrase'), 'corrupt');
    expect(await dumpVault(indexedDB, name)).toBe(before);
  });

  it('a write from another handle during the change is a conflict, and nothing of the change is written', async () => {
    // 100,000 iterations make the two key derivations of changePassword outlast the other write.
    const { indexedDB, name, options } = setup({ iterations: 100_000 });
    const first = await createVault(name, PASSWORD, options);
    await first.put('a', 1);
    const second = await unlockVault(name, PASSWORD, options);
    const change = first.changePassword(PASSWORD, 'new passphrase', { iterations: 100_000, weakKdfForTests: WEAK_KDF_FOR_TESTS_ONLY });
    await second.put('b', 2);
    await expectVaultError(change, 'conflict');
    expect(await first.get('b')).toBe(2);
    expect(await (await unlockVault(name, PASSWORD, options)).keys()).toEqual(['a', 'b']);
    void indexedDB;
  });

  it('another handle opened before the change becomes locked instead of writing unreadable records', async () => {
    const { name, options, create } = setup();
    const first = await create();
    const second = await unlockVault(name, PASSWORD, options);
    await first.changePassword(PASSWORD, 'new passphrase', { iterations: 1_000, weakKdfForTests: WEAK_KDF_FOR_TESTS_ONLY });
    await expectVaultError(second.put('x', 1), 'locked');
    expect(second.isLocked).toBe(true);
    expect(await first.keys()).toEqual([]);
  });
});

describe('unlock key export (service-worker restarts)', () => {
  it('is off by default: the key is non-extractable', async () => {
    const vault = await setup().create();
    await expectVaultError(vault.exportUnlockKey(), 'key_not_exportable');
  });

  it('exports 32 bytes that reopen the vault, until the password changes', async () => {
    const { name, options } = setup({ exportableKey: true });
    const vault = await createVault(name, PASSWORD, options);
    await vault.put('share', SECRET);
    const raw = await vault.exportUnlockKey();
    expect(raw.length).toBe(32);
    const restarted = await importUnlockKey(name, raw, { ...options, exportableKey: false });
    expect(await restarted.get('share')).toBe(SECRET);
    await expectVaultError(restarted.exportUnlockKey(), 'key_not_exportable');
    expect(Buffer.from(await (await importUnlockKey(name, raw, options)).exportUnlockKey()).equals(Buffer.from(raw))).toBe(true);
    await vault.changePassword(PASSWORD, 'new passphrase', { iterations: 1_000, weakKdfForTests: WEAK_KDF_FOR_TESTS_ONLY });
    await expectVaultError(importUnlockKey(name, raw, options), 'locked');
    expect((await vault.exportUnlockKey()).length).toBe(32);
  });

  it('refuses a key of the wrong size or one that does not open the vault', async () => {
    const { name, options, create } = setup();
    await create();
    await expectVaultError(importUnlockKey(name, new Uint8Array(16), options), 'invalid_argument');
    await expectVaultError(importUnlockKey(name, crypto.getRandomValues(new Uint8Array(32)), options), 'locked');
    await expectVaultError(importUnlockKey('no-such-vault', crypto.getRandomValues(new Uint8Array(32)), options), 'not_found');
  });
});
