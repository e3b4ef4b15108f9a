/**
 * Password-encrypted storage in IndexedDB, used by both devices for their key share, pairing
 * keys and settings.
 *
 * - Key: PBKDF2-SHA256, ≥ 600,000 iterations (OWASP Password Storage Cheat Sheet, 2023), 16-byte
 *   random salt → AES-GCM-256. The parameters are stored with the vault so they can be raised.
 * - Each record is encrypted on its own with a fresh 12-byte IV and its key as additional data,
 *   so records cannot be swapped; a check record tells a wrong password from a corrupt vault.
 * - Writes of several records happen in one IndexedDB transaction: all or nothing.
 * It uses the global IndexedDB (browsers; Node unit tests install fake-indexeddb).
 */
import { openDB, type IDBPDatabase } from 'idb';

export const MIN_PBKDF2_ITERATIONS = 600_000;
const SALT_BYTES = 16;
const IV_BYTES = 12;
const META_STORE = 'meta';
const RECORD_STORE = 'records';
const META_KEY = 'vault';
const CHECK_PLAINTEXT = 'duet-vault-check-v1';

export type VaultErrorCode = 'wrong_password' | 'locked' | 'not_found' | 'corrupt' | 'already_exists' | 'weak_parameters';

export class VaultError extends Error {
  readonly code: VaultErrorCode;

  constructor(code: VaultErrorCode, message: string) {
    super(message);
    this.name = 'VaultError';
    this.code = code;
  }
}

interface VaultMeta {
  readonly version: 1;
  readonly kdf: { readonly name: 'PBKDF2-SHA256'; readonly iterations: number; readonly salt: Uint8Array };
  readonly check: EncryptedRecord;
}

interface EncryptedRecord {
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export interface VaultOptions {
  readonly iterations?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function open(name: string): Promise<IDBPDatabase> {
  return openDB(name, 1, {
    upgrade(db) {
      db.createObjectStore(META_STORE);
      db.createObjectStore(RECORD_STORE);
    },
  });
}

/** A copy backed by a plain ArrayBuffer, as WebCrypto's types want. */
function buffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

async function deriveKey(password: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', buffer(encoder.encode(password)), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt: buffer(salt), iterations }, material, { name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
}

async function encrypt(key: CryptoKey, recordKey: string, plaintext: Uint8Array): Promise<EncryptedRecord> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: buffer(encoder.encode(recordKey)) }, key, buffer(plaintext)));
  return { iv, ciphertext };
}

async function decrypt(key: CryptoKey, recordKey: string, record: EncryptedRecord): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: buffer(record.iv), additionalData: buffer(encoder.encode(recordKey)) }, key, buffer(record.ciphertext)));
}

export class UnlockedVault {
  private key: CryptoKey | null;
  private readonly db: IDBPDatabase;

  constructor(db: IDBPDatabase, key: CryptoKey) {
    this.db = db;
    this.key = key;
  }

  private requireKey(): CryptoKey {
    if (!this.key) throw new VaultError('locked', 'the vault is locked');
    return this.key;
  }

  async get<T>(recordKey: string): Promise<T | undefined> {
    const key = this.requireKey();
    const record = (await this.db.get(RECORD_STORE, recordKey)) as EncryptedRecord | undefined;
    if (!record) return undefined;
    try {
      return JSON.parse(decoder.decode(await decrypt(key, recordKey, record))) as T;
    } catch {
      throw new VaultError('corrupt', `record ${recordKey} cannot be decrypted`);
    }
  }

  async put(recordKey: string, value: unknown): Promise<void> {
    await this.putMany({ [recordKey]: value });
  }

  /** Encrypts everything first, then writes all records in one transaction. */
  async putMany(records: Record<string, unknown>): Promise<void> {
    const key = this.requireKey();
    const encrypted = await Promise.all(Object.entries(records).map(async ([recordKey, value]) => [recordKey, await encrypt(key, recordKey, encoder.encode(JSON.stringify(value)))] as const));
    const tx = this.db.transaction(RECORD_STORE, 'readwrite');
    await Promise.all([...encrypted.map(([recordKey, record]) => tx.store.put(record, recordKey)), tx.done]);
  }

  async delete(recordKey: string): Promise<void> {
    this.requireKey();
    await this.db.delete(RECORD_STORE, recordKey);
  }

  async keys(): Promise<string[]> {
    this.requireKey();
    return (await this.db.getAllKeys(RECORD_STORE)).map(String);
  }

  /** The raw AES key, for an MV3 service worker to keep in chrome.storage.session (memory only). */
  async exportKey(): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.exportKey('raw', this.requireKey()));
  }

  lock(): void {
    this.key = null;
    this.db.close();
  }
}

export async function vaultExists(name: string): Promise<boolean> {
  const db = await open(name);
  const meta = await db.get(META_STORE, META_KEY);
  db.close();
  return meta !== undefined;
}

export async function createVault(name: string, password: string, options: VaultOptions = {}): Promise<UnlockedVault> {
  const iterations = options.iterations ?? MIN_PBKDF2_ITERATIONS;
  if (iterations < MIN_PBKDF2_ITERATIONS) throw new VaultError('weak_parameters', `PBKDF2 needs at least ${MIN_PBKDF2_ITERATIONS} iterations`);
  const db = await open(name);
  if (await db.get(META_STORE, META_KEY)) {
    db.close();
    throw new VaultError('already_exists', 'a vault already exists here');
  }
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const key = await deriveKey(password, salt, iterations);
  const meta: VaultMeta = { version: 1, kdf: { name: 'PBKDF2-SHA256', iterations, salt }, check: await encrypt(key, META_KEY, encoder.encode(CHECK_PLAINTEXT)) };
  await db.put(META_STORE, meta, META_KEY);
  return new UnlockedVault(db, key);
}

async function readMeta(db: IDBPDatabase): Promise<VaultMeta> {
  const meta = (await db.get(META_STORE, META_KEY)) as VaultMeta | undefined;
  if (!meta) {
    db.close();
    throw new VaultError('not_found', 'no vault has been created yet');
  }
  return meta;
}

async function checkKey(db: IDBPDatabase, meta: VaultMeta, key: CryptoKey, failure: VaultErrorCode): Promise<void> {
  try {
    const check = decoder.decode(await decrypt(key, META_KEY, meta.check));
    if (check === CHECK_PLAINTEXT) return;
  } catch {
    // fall through to the failure below
  }
  db.close();
  throw new VaultError(failure, failure === 'wrong_password' ? 'wrong password' : 'the saved unlock key does not open this vault');
}

export async function unlockVault(name: string, password: string): Promise<UnlockedVault> {
  const db = await open(name);
  const meta = await readMeta(db);
  const key = await deriveKey(password, meta.kdf.salt, meta.kdf.iterations);
  await checkKey(db, meta, key, 'wrong_password');
  return new UnlockedVault(db, key);
}

/** Re-opens with a key kept in memory-only session storage (service-worker restart). */
export async function unlockVaultWithKey(name: string, rawKey: Uint8Array): Promise<UnlockedVault> {
  const db = await open(name);
  const meta = await readMeta(db);
  const key = await crypto.subtle.importKey('raw', buffer(rawKey), { name: 'AES-GCM' }, true, ['encrypt', 'decrypt']);
  await checkKey(db, meta, key, 'corrupt');
  return new UnlockedVault(db, key);
}
