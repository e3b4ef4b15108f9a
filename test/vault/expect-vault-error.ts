/** Awaits `promise` and expects it to fail with a VaultError of `code`. */
import { expect } from 'vitest';
import { VaultError, type VaultErrorCode } from '../../src/vault/vault.ts';

export async function expectVaultError(promise: Promise<unknown>, code: VaultErrorCode): Promise<void> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error, `expected VaultError ${code}`).toBeInstanceOf(VaultError);
  expect((error as VaultError).code).toBe(code);
}
