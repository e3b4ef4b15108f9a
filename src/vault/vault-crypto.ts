/**
 * The vault's cryptography:
 * - key, by the header's KDF:
 *   - PBKDF2-HMAC-SHA256(NFKC(password) as UTF-8, 16-byte random salt, iterations) (WebCrypto);
 *   - scrypt(NFKC(password) as UTF-8, 16-byte random salt, N, r, p) (@noble/hashes: memory-hard,
 *     128·N·r bytes per guess), for a passphrase that must resist an offline search;
 *   - WebAuthn PRF: the authenticator's PRF output for the stored salt (32 bytes, never stored)
 *     → HKDF-SHA256(salt, "duet-vault/v2/prf"): a key bound to the authenticator;
 *   → a 256-bit AES-GCM key, non-extractable unless the caller needs to export it;
 * - each record: AES-256-GCM with a fresh random 96-bit IV and additional data
 *   "duet-vault/v2/record/" ‖ record key, so a ciphertext moved under another key fails to open;
 * - the password check: the constant CHECK_PLAINTEXT sealed with additional data
 *   "duet-vault/v2/check" (a different prefix, so no record can pass for it or it for a record).
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { VaultError } from './vault-error.ts';

export const KDF_ALGORITHM = 'PBKDF2-SHA256';
export const SCRYPT_ALGORITHM = 'scrypt';
export const PRF_ALGORITHM = 'WebAuthn-PRF';
export const CIPHER = 'AES-256-GCM';
export const SALT_BYTES = 16;
/** The PRF input: 32 random bytes, as WebAuthn's prf extension takes them. */
export const PRF_SALT_BYTES = 32;
export const PRF_OUTPUT_BYTES = 32;
export const IV_BYTES = 12;
export const KEY_BYTES = 32;
/** AES-GCM's 128-bit tag: the shortest valid ciphertext. */
export const TAG_BYTES = 16;
const RECORD_AAD_PREFIX = 'duet-vault/v2/record/';
const CHECK_AAD = 'duet-vault/v2/check';
const CHECK_PLAINTEXT = 'duet-vault-check-v2';
const PRF_HKDF_INFO = 'duet-vault/v2/prf';
const KEY_USAGES: KeyUsage[] = ['encrypt', 'decrypt'];

export interface Pbkdf2Parameters {
  readonly algorithm: typeof KDF_ALGORITHM;
  readonly iterations: number;
  readonly salt: Uint8Array;
}

/** scrypt's cost: N (a power of two), r and p; one guess takes 128·N·r bytes of memory. */
export interface ScryptCost {
  readonly n: number;
  readonly r: number;
  readonly p: number;
}

export interface ScryptParameters extends ScryptCost {
  readonly algorithm: typeof SCRYPT_ALGORITHM;
  readonly salt: Uint8Array;
}

export interface PrfParameters {
  readonly algorithm: typeof PRF_ALGORITHM;
  /** The WebAuthn credential whose PRF gives the key. */
  readonly credentialId: Uint8Array;
  /** The PRF input (and the HKDF salt). */
  readonly salt: Uint8Array;
}

/** Everything here is public: it is stored in plain text in the header. */
export type KdfParameters = Pbkdf2Parameters | ScryptParameters | PrfParameters;

/** A password (PBKDF2, scrypt) or a PRF output (WebAuthn). */
export type VaultSecret = string | Uint8Array;

export interface SealedRecord {
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
}

const encoder = new TextEncoder();

/** A copy backed by a plain ArrayBuffer, as WebCrypto's types want. */
function buffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

export function newKdfParameters(iterations: number): Pbkdf2Parameters {
  return { algorithm: KDF_ALGORITHM, iterations, salt: crypto.getRandomValues(new Uint8Array(SALT_BYTES)) };
}

export function newScryptParameters(cost: ScryptCost): ScryptParameters {
  return { algorithm: SCRYPT_ALGORITHM, n: cost.n, r: cost.r, p: cost.p, salt: crypto.getRandomValues(new Uint8Array(SALT_BYTES)) };
}

function passwordBytes(secret: VaultSecret, kdf: KdfParameters): Uint8Array<ArrayBuffer> {
  if (typeof secret !== 'string') throw new VaultError('invalid_argument', `a ${kdf.algorithm} vault is opened with a password`);
  return buffer(encoder.encode(secret.normalize('NFKC')));
}

/**
 * A password is NFKC-normalised first (NIST SP 800-63B §5.1.1.2), so the same password typed
 * with a different keyboard or composition gives the same key.
 */
export async function deriveVaultKey(secret: VaultSecret, kdf: KdfParameters, extractable: boolean): Promise<CryptoKey> {
  switch (kdf.algorithm) {
    case KDF_ALGORITHM: {
      const material = await crypto.subtle.importKey('raw', passwordBytes(secret, kdf), 'PBKDF2', false, ['deriveKey']);
      return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt: buffer(kdf.salt), iterations: kdf.iterations }, material, { name: 'AES-GCM', length: 256 }, extractable, KEY_USAGES);
    }
    case SCRYPT_ALGORITHM: {
      const password = passwordBytes(secret, kdf);
      // maxmem: noble's default (1 GiB) caps nothing we accept; asyncTick keeps a page responsive.
      const raw = await scryptAsync(password, kdf.salt, { N: kdf.n, r: kdf.r, p: kdf.p, dkLen: KEY_BYTES, maxmem: 2 ** 31, asyncTick: 50 });
      password.fill(0);
      try {
        return await importVaultKey(raw, extractable);
      } finally {
        raw.fill(0);
      }
    }
    case PRF_ALGORITHM: {
      if (!(secret instanceof Uint8Array) || secret.length !== PRF_OUTPUT_BYTES) throw new VaultError('invalid_argument', `a ${PRF_ALGORITHM} vault is opened with the ${PRF_OUTPUT_BYTES}-byte PRF output`);
      const material = await crypto.subtle.importKey('raw', buffer(secret), 'HKDF', false, ['deriveKey']);
      return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: buffer(kdf.salt), info: buffer(encoder.encode(PRF_HKDF_INFO)) }, material, { name: 'AES-GCM', length: 256 }, extractable, KEY_USAGES);
    }
  }
}

export async function importVaultKey(rawKey: Uint8Array, extractable: boolean): Promise<CryptoKey> {
  if (!(rawKey instanceof Uint8Array) || rawKey.length !== KEY_BYTES) throw new VaultError('invalid_argument', `an unlock key is ${KEY_BYTES} bytes`);
  return crypto.subtle.importKey('raw', buffer(rawKey), { name: 'AES-GCM', length: 256 }, extractable, KEY_USAGES);
}

export async function exportVaultKey(key: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  if (!key.extractable) throw new VaultError('key_not_exportable', 'this vault was opened without exportableKey');
  return new Uint8Array(await crypto.subtle.exportKey('raw', key));
}

async function seal(key: CryptoKey, additionalData: string, plaintext: Uint8Array): Promise<SealedRecord> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: buffer(encoder.encode(additionalData)) }, key, buffer(plaintext));
  return { iv, ciphertext: new Uint8Array(ciphertext) };
}

/** null when authentication fails (wrong key, tampered or moved ciphertext). */
async function open(key: CryptoKey, additionalData: string, sealed: SealedRecord): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: buffer(sealed.iv), additionalData: buffer(encoder.encode(additionalData)) }, key, buffer(sealed.ciphertext)));
  } catch {
    return null;
  }
}

export function sealRecord(key: CryptoKey, recordKey: string, plaintext: Uint8Array): Promise<SealedRecord> {
  return seal(key, RECORD_AAD_PREFIX + recordKey, plaintext);
}

export function openRecord(key: CryptoKey, recordKey: string, sealed: SealedRecord): Promise<Uint8Array | null> {
  return open(key, RECORD_AAD_PREFIX + recordKey, sealed);
}

export function sealCheck(key: CryptoKey): Promise<SealedRecord> {
  return seal(key, CHECK_AAD, encoder.encode(CHECK_PLAINTEXT));
}

/** Whether `key` is the key the check value was sealed with. */
export async function keyOpensCheck(key: CryptoKey, check: SealedRecord): Promise<boolean> {
  const plaintext = await open(key, CHECK_AAD, check);
  return plaintext !== null && new TextDecoder().decode(plaintext) === CHECK_PLAINTEXT;
}

/** A stored { iv, ciphertext } of the right sizes, or null. */
export function asSealedRecord(value: unknown): SealedRecord | null {
  if (typeof value !== 'object' || value === null) return null;
  const { iv, ciphertext } = value as Record<string, unknown>;
  if (!(iv instanceof Uint8Array) || iv.length !== IV_BYTES || !(ciphertext instanceof Uint8Array) || ciphertext.length < TAG_BYTES) return null;
  return { iv, ciphertext };
}
