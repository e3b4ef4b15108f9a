/**
 * How the phone's vault is keyed and opened (issue 11, point 4). The phone never accepts a PIN for
 * a new key: it uses its platform authenticator through WebAuthn PRF where it can (device-key.ts),
 * otherwise a passphrase of at least MIN_PASSPHRASE_BITS estimated entropy with scrypt. A vault
 * made by an older app version with a PIN (PBKDF2) still opens once, and must then be re-keyed
 * (`upgrade`) before the phone does anything else. Typed secrets are throttled (unlock-throttle.ts).
 *
 * Every failure is a PhoneKeyError whose message is for the user; nothing is changed by a failure.
 */
import {
  PRF_SALT_BYTES,
  VaultError,
  createVault,
  readVaultKdf,
  unlockVault,
  type KdfParameters,
  type NewVaultKey,
  type ScryptCost,
  type UnlockedVault,
} from '../vault/vault.ts';
import type { WeakKdfForTests } from '../vault/test-only-weak-kdf.ts';
import type { DeviceKeyAuthenticator } from './device-key.ts';
import { MIN_PASSPHRASE_BITS, estimatePassphraseBits } from './passphrase.ts';
import { UnlockThrottle, type AttemptStore } from './unlock-throttle.ts';

/** device: WebAuthn PRF; passphrase: scrypt; pin: a PBKDF2 vault of an older version, to be upgraded. */
export type UnlockMethod = 'device' | 'passphrase' | 'pin';

export type NewKeyChoice = { readonly kind: 'device' } | { readonly kind: 'passphrase'; readonly passphrase: string; readonly confirmation: string };

export class PhoneKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PhoneKeyError';
  }
}

export interface PhoneVaultKeyOptions {
  readonly vaultName: string;
  /** null where the browser has no WebAuthn. */
  readonly deviceKey: DeviceKeyAuthenticator | null;
  readonly attempts: AttemptStore;
  readonly now: () => number;
  /** Tests only (with weakKdfForTests): a cheaper scrypt. */
  readonly scryptCost?: ScryptCost;
  readonly weakKdfForTests?: WeakKdfForTests;
}

const METHOD_OF: Record<KdfParameters['algorithm'], UnlockMethod> = { 'WebAuthn-PRF': 'device', scrypt: 'passphrase', 'PBKDF2-SHA256': 'pin' };

export class PhoneVaultKey {
  private readonly options: PhoneVaultKeyOptions;
  private readonly throttle: UnlockThrottle;

  constructor(options: PhoneVaultKeyOptions) {
    this.options = options;
    this.throttle = new UnlockThrottle(options.attempts, options.now);
  }

  private get vaultOptions() {
    return this.options.weakKdfForTests ? { weakKdfForTests: this.options.weakKdfForTests } : {};
  }

  /** How the stored vault opens; null when there is none yet. */
  async method(): Promise<UnlockMethod | null> {
    try {
      const kdf = await readVaultKdf(this.options.vaultName, this.vaultOptions);
      return kdf && METHOD_OF[kdf.algorithm];
    } catch (error) {
      throw new PhoneKeyError(vaultFailure(error, 'pin'));
    }
  }

  async deviceKeyAvailable(): Promise<boolean> {
    return (await this.options.deviceKey?.available().catch(() => false)) ?? false;
  }

  async create(choice: NewKeyChoice): Promise<UnlockedVault> {
    const key = await this.newKey(choice);
    try {
      return await createVault(this.options.vaultName, key, this.vaultOptions);
    } catch (error) {
      throw new PhoneKeyError(vaultFailure(error, 'passphrase'));
    }
  }

  /** Re-keys an open vault (from a PIN): every record re-encrypted, the PIN opens nothing after. */
  async upgrade(vault: UnlockedVault, choice: NewKeyChoice): Promise<void> {
    const key = await this.newKey(choice);
    try {
      await vault.rekey(key, this.vaultOptions);
    } catch (error) {
      throw new PhoneKeyError(vaultFailure(error, 'passphrase'));
    }
  }

  /** `secret` is the typed passphrase or PIN; the device method asks the authenticator. */
  async unlock(secret?: string): Promise<{ vault: UnlockedVault; method: UnlockMethod }> {
    const kdf = await readVaultKdf(this.options.vaultName, this.vaultOptions).catch((error: unknown) => {
      throw new PhoneKeyError(vaultFailure(error, 'pin'));
    });
    if (!kdf) throw new PhoneKeyError('There is no vault on this phone yet.');
    const method = METHOD_OF[kdf.algorithm];
    if (kdf.algorithm === 'WebAuthn-PRF') {
      const prfOutput = await this.deviceSecret(() => this.requireDeviceKey().evaluate(kdf.credentialId, kdf.salt));
      try {
        return { vault: await unlockVault(this.options.vaultName, prfOutput, this.vaultOptions), method };
      } catch (error) {
        throw new PhoneKeyError(vaultFailure(error, method));
      } finally {
        prfOutput.fill(0);
      }
    }
    if (!secret) throw new PhoneKeyError(method === 'pin' ? 'Enter your PIN.' : 'Enter your passphrase.');
    const waitMs = await this.throttle.waitMs();
    if (waitMs > 0) throw new PhoneKeyError(`Too many wrong attempts. Try again in ${Math.ceil(waitMs / 1000)} s.`);
    await this.throttle.begin();
    try {
      const vault = await unlockVault(this.options.vaultName, secret, this.vaultOptions);
      await this.throttle.succeeded();
      return { vault, method };
    } catch (error) {
      throw new PhoneKeyError(vaultFailure(error, method));
    }
  }

  private requireDeviceKey(): DeviceKeyAuthenticator {
    if (!this.options.deviceKey) throw new PhoneKeyError("This browser cannot use the phone's screen lock (no WebAuthn).");
    return this.options.deviceKey;
  }

  /** Runs an authenticator ceremony; a cancelled or unverified one is a PhoneKeyError. */
  private async deviceSecret<T>(ceremony: () => Promise<T>): Promise<T> {
    try {
      return await ceremony();
    } catch (error) {
      if (error instanceof PhoneKeyError) throw error;
      throw new PhoneKeyError('The screen lock was cancelled or did not verify you. Try again.');
    }
  }

  private async newKey(choice: NewKeyChoice): Promise<NewVaultKey> {
    if (choice.kind === 'device') {
      const salt = crypto.getRandomValues(new Uint8Array(PRF_SALT_BYTES));
      const registered = await this.deviceSecret(() => this.requireDeviceKey().register(salt));
      if (!registered) throw new PhoneKeyError("This phone's screen lock cannot protect the key in this browser (its authenticator has no PRF support). Use a passphrase.");
      return { kdf: 'WebAuthn-PRF', prfOutput: registered.prfOutput, credentialId: registered.credentialId, salt };
    }
    if (choice.passphrase !== choice.confirmation) throw new PhoneKeyError('The two entries differ.');
    const bits = await estimatePassphraseBits(choice.passphrase);
    if (bits < MIN_PASSPHRASE_BITS) throw new PhoneKeyError(`This passphrase is too easy to guess (about ${Math.floor(bits)} bits; at least ${MIN_PASSPHRASE_BITS} are needed). Use the suggested words, or a longer passphrase.`);
    return { kdf: 'scrypt', password: choice.passphrase, ...(this.options.scryptCost ? { cost: this.options.scryptCost } : {}) };
  }
}

/** A user-facing sentence for a vault error; anything else is a bug and is thrown on. */
export function vaultFailure(error: unknown, method: UnlockMethod): string {
  if (error instanceof PhoneKeyError) return error.message;
  if (error instanceof VaultError) {
    if (error.code === 'wrong_password') return method === 'device' ? "The screen lock did not give this vault's key (was its passkey deleted?). The phone stays locked." : method === 'pin' ? 'Wrong PIN.' : 'Wrong passphrase.';
    if (error.code === 'corrupt') return "This phone's stored data is damaged and cannot be read. Unpair in the extension and pair again.";
    return `The phone's storage refused: ${error.message}.`;
  }
  throw error;
}
