/**
 * The one error type of src/vault. Messages name record keys and parameters at most; they never
 * contain a password, a key or a stored value.
 */
export type VaultErrorCode =
  /** The password does not open this vault; nothing was changed. */
  | 'wrong_password'
  /** The handle is locked, or its key no longer opens the vault (the password was changed elsewhere, or a saved unlock key is stale). */
  | 'locked'
  /** No vault has been created under this name. */
  | 'not_found'
  /** Stored data fails authentication or has an unknown shape. */
  | 'corrupt'
  /** createVault found a vault already there. */
  | 'already_exists'
  /** KDF parameters below the minimum (or above the maximum) this code accepts. */
  | 'weak_parameters'
  /** A bad argument: empty password, bad record key, a value the encoding cannot hold, a raw key of the wrong size. */
  | 'invalid_argument'
  /** exportUnlockKey on a handle opened without exportableKey. */
  | 'key_not_exportable'
  /** The vault changed while a password change was being prepared; nothing was changed. */
  | 'conflict'
  /** IndexedDB refused a read or write (quota, closed database); nothing was changed. */
  | 'storage_error';

export class VaultError extends Error {
  readonly code: VaultErrorCode;

  constructor(code: VaultErrorCode, message: string) {
    super(message);
    this.name = 'VaultError';
    this.code = code;
  }
}
