/**
 * The vault's lock state across service-worker restarts. Unlocking derives the key from the
 * password (PBKDF2-SHA256, 600k iterations, in src/vault); the raw AES key is then kept in
 * chrome.storage.session, which lives in memory only and is cleared when the browser closes, so a
 * restarted worker reopens the vault without the password. Locking removes it.
 */
import { decodeBase64Url, encodeBase64Url } from '../channel/base64url.ts';
import { VaultError, createVault, importUnlockKey, unlockVault, vaultExists, type UnlockedVault } from '../vault/vault.ts';
import { MIN_PASSWORD_LENGTH } from './password-policy.ts';
import type { KeyValueStore } from './storage.ts';
import { WalletActionError } from './wallet-action-error.ts';

const UNLOCK_KEY = 'duet/unlock-key';
/** The raw key must be exportable to survive a worker restart through session storage. */
const UNLOCK_OPTIONS = { exportableKey: true } as const;

export class VaultSession {
  private readonly session: KeyValueStore;
  private readonly name: string;
  private unlocked: UnlockedVault | null = null;
  /** A vault, once seen, is never deleted: later checks skip opening IndexedDB (the popup polls). */
  private seenVault = false;

  constructor(session: KeyValueStore, vaultName: string) {
    this.session = session;
    this.name = vaultName;
  }

  get vault(): UnlockedVault | null {
    return this.unlocked;
  }

  async exists(): Promise<boolean> {
    this.seenVault ||= await vaultExists(this.name);
    return this.seenVault;
  }

  async create(password: string): Promise<UnlockedVault> {
    requireStrongPassword(password, 'password');
    let vault: UnlockedVault;
    try {
      vault = await createVault(this.name, password, UNLOCK_OPTIONS);
    } catch (error) {
      if (error instanceof VaultError && error.code === 'already_exists') throw new WalletActionError('already_created', 'Duet is already set up on this browser.');
      throw error;
    }
    return this.opened(vault);
  }

  async unlock(password: string): Promise<UnlockedVault> {
    if (this.unlocked) return this.unlocked;
    let vault: UnlockedVault;
    try {
      vault = await unlockVault(this.name, password, UNLOCK_OPTIONS);
    } catch (error) {
      if (error instanceof VaultError && error.code === 'wrong_password') throw new WalletActionError('wrong_password', 'Wrong password.', 'password');
      if (error instanceof VaultError && error.code === 'not_found') throw new WalletActionError('not_created', 'Duet is not set up yet.');
      throw error;
    }
    return this.opened(vault);
  }

  /** After a restart: reopen with the key in session storage, if there is one. */
  async restore(): Promise<UnlockedVault | null> {
    if (this.unlocked) return this.unlocked;
    const stored = await this.session.get<string>(UNLOCK_KEY);
    const key = stored ? decodeBase64Url(stored) : null;
    if (!key) return null;
    try {
      this.unlocked = await importUnlockKey(this.name, key, UNLOCK_OPTIONS);
    } catch {
      await this.session.remove(UNLOCK_KEY);
      return null;
    }
    return this.unlocked;
  }

  /**
   * Re-encrypts the vault under a key from the new password, in one IndexedDB transaction: a
   * wrong current password or a weak new one changes nothing. The session key is replaced too.
   */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    const vault = this.unlocked;
    if (!vault) throw new WalletActionError('locked', 'Duet is locked. Unlock it first.');
    requireStrongPassword(newPassword, 'newPassword');
    try {
      await vault.changePassword(currentPassword, newPassword);
    } catch (error) {
      if (error instanceof VaultError && error.code === 'wrong_password') throw new WalletActionError('wrong_password', 'The current password is wrong.', 'currentPassword');
      if (error instanceof VaultError && error.code === 'invalid_argument') throw new WalletActionError('invalid_input', 'Enter the current password.', 'currentPassword');
      throw error;
    }
    await this.session.set(UNLOCK_KEY, encodeBase64Url(await vault.exportUnlockKey()));
  }

  async lock(): Promise<void> {
    this.unlocked?.lock();
    this.unlocked = null;
    await this.session.remove(UNLOCK_KEY);
  }

  private async opened(vault: UnlockedVault): Promise<UnlockedVault> {
    await this.session.set(UNLOCK_KEY, encodeBase64Url(await vault.exportUnlockKey()));
    this.unlocked = vault;
    return vault;
  }
}

function requireStrongPassword(password: string, field: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new WalletActionError('weak_password', `Choose a password of at least ${MIN_PASSWORD_LENGTH} characters.`, field);
}
