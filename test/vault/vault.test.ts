import { describe, expect, it } from 'vitest';
import 'fake-indexeddb/auto';
import { createVault, unlockVault, unlockVaultWithKey, vaultExists, VaultError } from '../../src/vault/vault.ts';

async function expectVaultError(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(VaultError);
  await expect(promise).rejects.toMatchObject({ code });
}

describe('vault', () => {
  it('creates, locks, unlocks and keeps values; refuses a wrong password and changes nothing', async () => {
    const name = `vault-${crypto.randomUUID()}`;
    expect(await vaultExists(name)).toBe(false);
    const vault = await createVault(name, 'correct horse');
    await vault.putMany({ share: { x2: 'secret-share-value' }, settings: { autoLockMinutes: 15 } });
    vault.lock();
    await expectVaultError(vault.get('share'), 'locked');
    await expectVaultError(unlockVault(name, 'wrong horse'), 'wrong_password');
    const again = await unlockVault(name, 'correct horse');
    expect(await again.get('share')).toEqual({ x2: 'secret-share-value' });
    expect((await again.keys()).sort()).toEqual(['settings', 'share']);
    await expectVaultError(createVault(name, 'other'), 'already_exists');
  });

  it('reopens with the exported key (service-worker restart) and refuses a foreign key', async () => {
    const name = `vault-${crypto.randomUUID()}`;
    const vault = await createVault(name, 'pw-123456');
    await vault.put('a', 1);
    const raw = await vault.exportKey();
    const reopened = await unlockVaultWithKey(name, raw);
    expect(await reopened.get('a')).toBe(1);
    await expectVaultError(unlockVaultWithKey(name, crypto.getRandomValues(new Uint8Array(32))), 'corrupt');
  });

  it('detects tampered and swapped records, and never stores plaintext', async () => {
    const name = `vault-${crypto.randomUUID()}`;
    const vault = await createVault(name, 'pw-123456');
    await vault.putMany({ one: 'first-secret', two: 'second-secret' });
    const raw = await new Promise<IDBDatabase>((resolve) => {
      const request = indexedDB.open(name);
      request.onsuccess = () => resolve(request.result);
    });
    const read = (key: string) =>
      new Promise<{ iv: Uint8Array; ciphertext: Uint8Array }>((resolve) => {
        const request = raw.transaction('records').objectStore('records').get(key);
        request.onsuccess = () => resolve(request.result);
      });
    const write = (key: string, value: unknown) =>
      new Promise<void>((resolve) => {
        const tx = raw.transaction('records', 'readwrite');
        tx.objectStore('records').put(value, key);
        tx.oncomplete = () => resolve();
      });
    const one = await read('one');
    const two = await read('two');
    expect(Buffer.from(one.ciphertext).toString('latin1')).not.toContain('first-secret');
    await write('one', two);
    await expectVaultError(vault.get('one'), 'corrupt');
    const flipped = new Uint8Array(two.ciphertext);
    flipped[0] = (flipped[0] as number) ^ 1;
    await write('two', { iv: two.iv, ciphertext: flipped });
    await expectVaultError(vault.get('two'), 'corrupt');
    raw.close();
  });

  it('refuses fewer than 600,000 PBKDF2 iterations', async () => {
    await expectVaultError(createVault('weak', 'pw', { iterations: 1000 }), 'weak_parameters');
  });
});
