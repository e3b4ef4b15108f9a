/** The key-encryption key's rules: where it may come from, and what its sealed records resist. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KekError, KeyEncryptionKey, SealedRecordError, loadKek } from '../../src/guard/key-encryption.ts';

const KEY = 'ab'.repeat(32);
const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function workspace(): { root: string; data: string } {
  const root = mkdtempSync(join(tmpdir(), 'duet-kek-'));
  folders.push(root);
  const data = join(root, 'data');
  mkdirSync(data);
  return { root, data };
}

function expectKekError(action: () => unknown, message: RegExp): void {
  expect(action).toThrow(KekError);
  expect(action).toThrow(message);
}

describe('the key-encryption key', () => {
  it('comes from GUARD_KEK or an owner-only file outside the data folder', () => {
    const { root, data } = workspace();
    expect(loadKek({ envKey: KEY, dataDir: data }).kek).toBeInstanceOf(KeyEncryptionKey);
    expectKekError(() => loadKek({ envKey: 'not hex', dataDir: data }), /GUARD_KEK must hold the key-encryption key as 64 hex digits/);
    const file = join(root, 'kek');
    writeFileSync(file, KEY, { mode: 0o600 });
    expect(loadKek({ file, dataDir: data }).created).toBeNull();
    expectKekError(() => loadKek({ dataDir: data }), /no key-encryption key/);
    expectKekError(() => loadKek({ file: join(root, 'missing'), dataDir: data }), /does not exist/);
  });

  it('refuses a file inside the data folder, also through a symbolic link', () => {
    const { root, data } = workspace();
    const inside = join(data, 'kek');
    writeFileSync(inside, KEY, { mode: 0o600 });
    expectKekError(() => loadKek({ file: inside, dataDir: data }), /is inside the data folder/);
    const link = join(root, 'data-link');
    symlinkSync(data, link);
    expectKekError(() => loadKek({ file: join(link, 'kek'), dataDir: data }), /is inside the data folder/);
  });

  it('refuses a file others may read', () => {
    const { root, data } = workspace();
    const file = join(root, 'kek');
    writeFileSync(file, KEY, { mode: 0o600 });
    chmodSync(file, 0o644);
    expectKekError(() => loadKek({ file, dataDir: data }), /may be read by others \(mode 644\): chmod 600/);
    chmodSync(file, 0o640);
    expectKekError(() => loadKek({ file, dataDir: data }), /may be read by others/);
  });

  it('a development setup may make one: owner-only, never over an existing file', () => {
    const { root, data } = workspace();
    const file = join(root, 'new-kek');
    const loaded = loadKek({ file, dataDir: data, createIfMissing: true });
    expect(loaded.created).toMatch(/made a new key-encryption key/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadKek({ file, dataDir: data, createIfMissing: true }).created).toBeNull();
  });

  it('a sealed record opens only as the kind and row it was sealed for, and only under its key', () => {
    const kek = new KeyEncryptionKey(new Uint8Array(32).fill(1));
    const sealed = kek.seal('share', 'wallet-a', 'secret share');
    expect(kek.openText('share', 'wallet-a', sealed)).toBe('secret share');
    expect(() => kek.open('share', 'wallet-b', sealed)).toThrow(SealedRecordError);
    expect(() => kek.open('totp', 'wallet-a', sealed)).toThrow(SealedRecordError);
    expect(() => new KeyEncryptionKey(new Uint8Array(32).fill(2)).open('share', 'wallet-a', sealed)).toThrow(SealedRecordError);
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}A`;
    expect(() => kek.open('share', 'wallet-a', tampered)).toThrow(SealedRecordError);
    expect(JSON.stringify({ kek })).not.toContain('1');
  });
});
