/**
 * The one way to open or create a vault with KDF parameters below the shipping minimums (600,000
 * PBKDF2 iterations; scrypt's 64 MiB and N·r·p ≥ 2^21): pass this exact
 * object as `weakKdfForTests`. The vault compares by identity, so nothing but an import of this
 * module unlocks it. Unit tests use it to keep key derivation fast; no shipping code may import
 * this module (outside vault.ts, which compares against it, a grep for its name finds only test/).
 */
export interface WeakKdfForTests {
  readonly purpose: 'tests only: allows KDF parameters below the shipping minimums';
}

export const WEAK_KDF_FOR_TESTS_ONLY: WeakKdfForTests = Object.freeze({ purpose: 'tests only: allows KDF parameters below the shipping minimums' });
