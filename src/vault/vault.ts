/**
 * Encrypted storage in IndexedDB (via idb), used by the extension and the phone for key shares,
 * pairing keys and other secrets. The key comes from a password (PBKDF2 or scrypt) or from a
 * WebAuthn authenticator's PRF. See docs/vault.md.
 *
 * Layout: one database per vault with two object stores. `meta` holds the header under "vault":
 * { format: 2, kdf: { algorithm, …its parameters, salt }, cipher, check }. `records` holds, under each
 * record key, { iv, ciphertext } (vault-crypto.ts). Record keys are stored in plain text: they
 * must name things, never hold secrets.
 *
 * Every operation runs in one IndexedDB transaction that also reads the header and checks it is
 * the one this handle's key belongs to (by the check value's IV, fresh at every re-key); a handle
 * whose vault was re-keyed elsewhere becomes locked instead of writing records no one can read.
 * Operations on one handle run one at a time, in call order (putFirst excepted).
 */
import { wrap, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { VaultError } from './vault-error.ts';
import { WEAK_KDF_FOR_TESTS_ONLY, type WeakKdfForTests } from './test-only-weak-kdf.ts';
import { decodeValue, encodeValue } from './value-codec.ts';
import {
  CIPHER,
  KDF_ALGORITHM,
  PRF_ALGORITHM,
  PRF_SALT_BYTES,
  SALT_BYTES,
  SCRYPT_ALGORITHM,
  asSealedRecord,
  deriveVaultKey,
  exportVaultKey,
  importVaultKey,
  keyOpensCheck,
  newKdfParameters,
  newScryptParameters,
  openRecord,
  sealCheck,
  sealRecord,
  type KdfParameters,
  type ScryptCost,
  type SealedRecord,
  type VaultSecret,
} from './vault-crypto.ts';

export { VaultError, type VaultErrorCode } from './vault-error.ts';
export { PRF_OUTPUT_BYTES, PRF_SALT_BYTES, type KdfParameters, type ScryptCost, type VaultSecret } from './vault-crypto.ts';

/** OWASP Password Storage Cheat Sheet (2023): PBKDF2-HMAC-SHA256 with at least 600,000 iterations. */
export const MIN_PBKDF2_ITERATIONS = 600_000;
export const DEFAULT_PBKDF2_ITERATIONS = MIN_PBKDF2_ITERATIONS;
/** An upper bound, so a tampered header cannot make unlocking hang (~2 s per 1.2 M on a laptop core). */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
/**
 * scrypt for a passphrase: N = 2^17, r = 8, p = 2 takes 128 MiB and ~0.8 s per guess in JS on
 * this project's 2-core reference machine (measured by test/vault/scrypt-cost.test.ts); the
 * accepted minimum keeps ≥ 64 MiB and that much work, the maximum keeps a tampered header from
 * making unlocking take more than ~8× as long or more than 256 MiB.
 */
export const DEFAULT_SCRYPT_COST: ScryptCost = Object.freeze({ n: 2 ** 17, r: 8, p: 2 });
const MIN_SCRYPT_MEMORY_BLOCKS = 2 ** 19; // N·r: 128·N·r bytes = 64 MiB
const MIN_SCRYPT_WORK = 2 ** 21; // N·r·p of the default
const MAX_SCRYPT_MEMORY_BLOCKS = 2 ** 21; // 256 MiB
const MAX_SCRYPT_WORK = 2 ** 24;
const MAX_CREDENTIAL_ID_BYTES = 1023;
export const MAX_RECORD_KEY_LENGTH = 256;
const FORMAT = 2;
const DB_VERSION = 1;
const META_STORE = 'meta';
const RECORD_STORE = 'records';
const HEADER_KEY = 'vault';

interface VaultSchema extends DBSchema {
  meta: { key: string; value: unknown };
  records: { key: string; value: unknown };
}

type VaultDatabase = IDBPDatabase<VaultSchema>;
type StoreName = typeof META_STORE | typeof RECORD_STORE;
type WriteTransaction = IDBPTransaction<VaultSchema, StoreName[], 'readwrite'>;

interface VaultHeader {
  readonly format: typeof FORMAT;
  readonly kdf: KdfParameters;
  readonly cipher: typeof CIPHER;
  readonly check: SealedRecord;
}

export interface VaultStorageOptions {
  /** The IndexedDB factory; default globalThis.indexedDB. Node tests pass fake-indexeddb's. */
  readonly indexedDB?: IDBFactory;
}

export interface VaultUnlockOptions extends VaultStorageOptions {
  /**
   * Keep the AES key extractable so exportUnlockKey() works. Only the extension's service worker
   * needs it (to survive restarts through chrome.storage.session); by default the key is
   * non-extractable.
   */
  readonly exportableKey?: boolean;
  /** WEAK_KDF_FOR_TESTS_ONLY, in unit tests only: allows fewer than 600,000 iterations. */
  readonly weakKdfForTests?: WeakKdfForTests;
}

export interface VaultCreateOptions extends VaultUnlockOptions {
  /** PBKDF2 iterations when the key is a plain password string; default and minimum 600,000. */
  readonly iterations?: number;
}

/** How a new key is made: from a password (PBKDF2 or scrypt) or a WebAuthn PRF output. */
export type NewVaultKey =
  | { readonly kdf: typeof KDF_ALGORITHM; readonly password: string; readonly iterations?: number }
  | { readonly kdf: typeof SCRYPT_ALGORITHM; readonly password: string; readonly cost?: ScryptCost }
  | { readonly kdf: typeof PRF_ALGORITHM; readonly prfOutput: Uint8Array; readonly credentialId: Uint8Array; readonly salt: Uint8Array };

export interface ChangePasswordOptions {
  /** PBKDF2 iterations for the new key; default: the current count, raised to the default if lower. */
  readonly iterations?: number;
  readonly weakKdfForTests?: WeakKdfForTests;
}

function factoryOf(options: VaultStorageOptions): IDBFactory {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  if (!factory) throw new VaultError('storage_error', 'IndexedDB is not available here');
  return factory;
}

function storageError(error: unknown): VaultError {
  if (error instanceof VaultError) return error;
  const name = error instanceof Error ? error.name : 'unknown error';
  return new VaultError('storage_error', `IndexedDB refused the operation (${name})`);
}

async function openDatabase(options: VaultStorageOptions, name: string): Promise<VaultDatabase> {
  if (typeof name !== 'string' || name.length === 0) throw new VaultError('invalid_argument', 'a vault needs a database name');
  const request = factoryOf(options).open(name, DB_VERSION);
  request.onupgradeneeded = () => {
    const db = request.result;
    for (const store of [META_STORE, RECORD_STORE]) if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
  };
  let opened: IDBPDatabase | undefined;
  try {
    opened = await wrap(request);
  } catch (error) {
    throw storageError(error);
  }
  if (!opened) throw new VaultError('storage_error', 'IndexedDB did not open the database');
  const db = opened as unknown as VaultDatabase;
  // Another tab deleting or upgrading the database must not wait on this connection.
  db.addEventListener('versionchange', () => db.close());
  return db;
}

function allowsWeakKdf(options: { readonly weakKdfForTests?: WeakKdfForTests }): boolean {
  return options.weakKdfForTests === WEAK_KDF_FOR_TESTS_ONLY;
}

function checkIterations(iterations: number, allowWeak: boolean): void {
  const min = allowWeak ? 1 : MIN_PBKDF2_ITERATIONS;
  if (!Number.isSafeInteger(iterations) || iterations < min || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new VaultError('weak_parameters', `PBKDF2 iterations must be an integer from ${MIN_PBKDF2_ITERATIONS} to ${MAX_PBKDF2_ITERATIONS}`);
  }
}

function checkPassword(password: unknown, what: string): asserts password is string {
  if (typeof password !== 'string' || password.length === 0) throw new VaultError('invalid_argument', `${what} must be a non-empty string`);
}

function checkRecordKey(recordKey: unknown): asserts recordKey is string {
  if (typeof recordKey !== 'string' || recordKey.length === 0 || recordKey.length > MAX_RECORD_KEY_LENGTH) {
    throw new VaultError('invalid_argument', `a record key is a string of 1 to ${MAX_RECORD_KEY_LENGTH} characters`);
  }
}

function checkScryptCost(cost: ScryptCost, allowWeak: boolean): void {
  const { n, r, p } = cost;
  const integers = [n, r, p].every((value) => Number.isSafeInteger(value) && value >= 1);
  if (!integers || (n & (n - 1)) !== 0 || n < 2 || n * r > MAX_SCRYPT_MEMORY_BLOCKS || n * r * p > MAX_SCRYPT_WORK) {
    throw new VaultError('weak_parameters', 'scrypt needs N a power of two ≥ 2, and at most 256 MiB and 8 times the default work');
  }
  if (!allowWeak && (n * r < MIN_SCRYPT_MEMORY_BLOCKS || n * r * p < MIN_SCRYPT_WORK)) throw new VaultError('weak_parameters', 'scrypt needs at least 64 MiB (N·r ≥ 2^19) and N·r·p ≥ 2^21');
}

const isBytes = (value: unknown, min: number, max: number): value is Uint8Array => value instanceof Uint8Array && value.length >= min && value.length <= max;

/** The header's KDF; a shape error is corrupt, a KDF below the minimum weak_parameters. */
function parseKdf(kdf: Record<string, unknown>, allowWeak: boolean): KdfParameters | null {
  const { algorithm, salt } = kdf;
  if (algorithm === KDF_ALGORITHM) {
    const { iterations } = kdf;
    if (!isBytes(salt, SALT_BYTES, SALT_BYTES) || typeof iterations !== 'number' || !Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) return null;
    checkIterations(iterations, allowWeak);
    return { algorithm, iterations, salt };
  }
  if (algorithm === SCRYPT_ALGORITHM) {
    const { n, r, p } = kdf;
    if (!isBytes(salt, SALT_BYTES, SALT_BYTES) || typeof n !== 'number' || typeof r !== 'number' || typeof p !== 'number') return null;
    checkScryptCost({ n, r, p }, allowWeak);
    return { algorithm, n, r, p, salt };
  }
  if (algorithm === PRF_ALGORITHM) {
    const { credentialId } = kdf;
    if (!isBytes(salt, PRF_SALT_BYTES, PRF_SALT_BYTES) || !isBytes(credentialId, 1, MAX_CREDENTIAL_ID_BYTES)) return null;
    return { algorithm, credentialId, salt };
  }
  return null;
}

/** Checks the stored header's shape; a KDF below the minimum is weak_parameters, not corrupt. */
function parseHeader(value: unknown, allowWeak: boolean): VaultHeader {
  const corrupt = () => new VaultError('corrupt', 'the vault header is damaged or of an unsupported format');
  if (typeof value !== 'object' || value === null) throw corrupt();
  const { format, kdf, cipher, check } = value as Record<string, unknown>;
  const sealedCheck = asSealedRecord(check);
  if (format !== FORMAT || cipher !== CIPHER || sealedCheck === null || typeof kdf !== 'object' || kdf === null) throw corrupt();
  const parsed = parseKdf(kdf as Record<string, unknown>, allowWeak);
  if (!parsed) throw corrupt();
  return { format: FORMAT, kdf: parsed, cipher: CIPHER, check: sealedCheck };
}

/** The KDF parameters and the key for a new key, checked against the minimums. */
async function newKey(key: NewVaultKey, extractable: boolean, allowWeak: boolean): Promise<{ kdf: KdfParameters; key: CryptoKey }> {
  if (typeof key !== 'object' || key === null) throw new VaultError('invalid_argument', 'a new vault key is a password or a NewVaultKey');
  let kdf: KdfParameters;
  let secret: VaultSecret;
  switch (key.kdf) {
    case KDF_ALGORITHM: {
      checkPassword(key.password, 'the password');
      const iterations = key.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
      checkIterations(iterations, allowWeak);
      kdf = newKdfParameters(iterations);
      secret = key.password;
      break;
    }
    case SCRYPT_ALGORITHM: {
      checkPassword(key.password, 'the password');
      const cost = key.cost ?? DEFAULT_SCRYPT_COST;
      checkScryptCost(cost, allowWeak);
      kdf = newScryptParameters(cost);
      secret = key.password;
      break;
    }
    case PRF_ALGORITHM: {
      if (!isBytes(key.salt, PRF_SALT_BYTES, PRF_SALT_BYTES) || !isBytes(key.credentialId, 1, MAX_CREDENTIAL_ID_BYTES)) throw new VaultError('invalid_argument', `a PRF key needs a ${PRF_SALT_BYTES}-byte salt and a credential id of 1 to ${MAX_CREDENTIAL_ID_BYTES} bytes`);
      kdf = { algorithm: PRF_ALGORITHM, credentialId: key.credentialId.slice(), salt: key.salt.slice() };
      secret = key.prfOutput;
      break;
    }
    default:
      throw new VaultError('invalid_argument', 'unknown key derivation');
  }
  return { kdf, key: await deriveVaultKey(secret, kdf, extractable) };
}

/** Identifies one header version: the check value's IV is fresh each time the vault is keyed. */
function headerId(check: SealedRecord): string {
  return Array.from(check.iv, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Runs `body` in one read-write transaction over both stores; aborts it on any error. */
async function inWriteTransaction(db: VaultDatabase, body: (tx: WriteTransaction, track: <T>(request: Promise<T>) => Promise<T>) => Promise<void>): Promise<void> {
  const tx = db.transaction([META_STORE, RECORD_STORE], 'readwrite');
  const pending: Promise<unknown>[] = [tx.done];
  const track = <T>(request: Promise<T>): Promise<T> => {
    pending.push(request);
    return request;
  };
  try {
    await body(tx, track);
    await Promise.all(pending);
  } catch (error) {
    for (const request of pending) request.catch(() => undefined);
    try {
      tx.abort();
    } catch {
      // already finished or aborted: nothing was committed after the failure
    }
    throw storageError(error);
  }
}

/** An unlocked vault. Values: see value-codec.ts (JSON plus bigint). */
export class UnlockedVault {
  private key: CryptoKey | null;
  private currentHeaderId: string;
  private readonly db: VaultDatabase;
  private queue: Promise<unknown> = Promise.resolve();

  /** Use createVault, unlockVault or importUnlockKey. */
  constructor(db: VaultDatabase, key: CryptoKey, header: VaultHeader) {
    this.db = db;
    this.key = key;
    this.currentHeaderId = headerId(header.check);
  }

  get isLocked(): boolean {
    return this.key === null;
  }

  /** Runs operations one at a time, in call order; a failed one does not stop the next. */
  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private requireKey(): CryptoKey {
    if (!this.key) throw new VaultError('locked', 'the vault is locked');
    return this.key;
  }

  /** Locks this handle when the stored header is no longer the one its key belongs to. */
  private requireCurrentHeader(stored: unknown): void {
    const current = typeof stored === 'object' && stored !== null ? asSealedRecord((stored as Record<string, unknown>).check) : null;
    if (current !== null && headerId(current) === this.currentHeaderId) return;
    this.drop();
    throw new VaultError('locked', 'the vault was re-keyed or replaced since this handle was unlocked; unlock it again');
  }

  private drop(): void {
    this.key = null;
    this.db.close();
  }

  /** The value under `recordKey`, or undefined when there is none. */
  get<T = unknown>(recordKey: string): Promise<T | undefined> {
    return this.serial(async () => {
      checkRecordKey(recordKey);
      const key = this.requireKey();
      let stored: [unknown, unknown];
      try {
        const tx = this.db.transaction([META_STORE, RECORD_STORE], 'readonly');
        stored = await Promise.all([tx.objectStore(META_STORE).get(HEADER_KEY), tx.objectStore(RECORD_STORE).get(recordKey), tx.done]).then(([header, record]) => [header, record]);
      } catch (error) {
        throw storageError(error);
      }
      this.requireCurrentHeader(stored[0]);
      if (stored[1] === undefined) return undefined;
      const sealed = asSealedRecord(stored[1]);
      const plaintext = sealed && (await openRecord(key, recordKey, sealed));
      if (!plaintext) throw new VaultError('corrupt', `record ${JSON.stringify(recordKey)} fails authentication`);
      return decodeValue(plaintext, recordKey) as T;
    });
  }

  put(recordKey: string, value: unknown): Promise<void> {
    return this.putMany({ [recordKey]: value });
  }

  /** Writes all records in one transaction: all of them or none. Everything is encrypted first. */
  putMany(records: Readonly<Record<string, unknown>>): Promise<void> {
    return this.serial(() => this.write(records));
  }

  /**
   * Like putMany, but ahead of the operations already queued on this handle: for a record that must
   * be durable at once (the phone's taint), not after a queue of full-state writes. It still commits
   * in one transaction of its own, after any transaction already running.
   */
  putFirst(records: Readonly<Record<string, unknown>>): Promise<void> {
    return this.write(records);
  }

  private async write(records: Readonly<Record<string, unknown>>): Promise<void> {
    const key = this.requireKey();
    if (typeof records !== 'object' || records === null) throw new VaultError('invalid_argument', 'putMany takes an object of records');
    const entries = Object.entries(records);
    for (const [recordKey] of entries) checkRecordKey(recordKey);
    const plaintexts = entries.map(([recordKey, value]) => [recordKey, encodeValue(value, recordKey)] as const);
    const sealed = await Promise.all(plaintexts.map(async ([recordKey, plaintext]) => [recordKey, await sealRecord(key, recordKey, plaintext)] as const));
    await inWriteTransaction(this.db, async (tx, track) => {
      this.requireCurrentHeader(await track(tx.objectStore(META_STORE).get(HEADER_KEY)));
      const store = tx.objectStore(RECORD_STORE);
      for (const [recordKey, record] of sealed) track(store.put(record, recordKey));
    });
  }

  delete(recordKey: string): Promise<void> {
    return this.deleteMany([recordKey]);
  }

  /** Writes `records` and deletes `deletes` in one transaction: all of it or none (a migration, a commit). */
  replace(records: Readonly<Record<string, unknown>>, deletes: readonly string[]): Promise<void> {
    return this.serial(async () => {
      const key = this.requireKey();
      if (!Array.isArray(deletes)) throw new VaultError('invalid_argument', 'replace takes an array of record keys to delete');
      for (const recordKey of [...Object.keys(records), ...deletes]) checkRecordKey(recordKey);
      const sealed = await Promise.all(Object.entries(records).map(async ([recordKey, value]) => [recordKey, await sealRecord(key, recordKey, encodeValue(value, recordKey))] as const));
      await inWriteTransaction(this.db, async (tx, track) => {
        this.requireCurrentHeader(await track(tx.objectStore(META_STORE).get(HEADER_KEY)));
        const store = tx.objectStore(RECORD_STORE);
        for (const recordKey of deletes) track(store.delete(recordKey));
        for (const [recordKey, record] of sealed) track(store.put(record, recordKey));
      });
    });
  }

  /** Deletes all the records in one transaction; missing ones are ignored. */
  deleteMany(recordKeys: readonly string[]): Promise<void> {
    return this.serial(async () => {
      this.requireKey();
      if (!Array.isArray(recordKeys)) throw new VaultError('invalid_argument', 'deleteMany takes an array of record keys');
      for (const recordKey of recordKeys) checkRecordKey(recordKey);
      await inWriteTransaction(this.db, async (tx, track) => {
        this.requireCurrentHeader(await track(tx.objectStore(META_STORE).get(HEADER_KEY)));
        const store = tx.objectStore(RECORD_STORE);
        for (const recordKey of recordKeys) track(store.delete(recordKey));
      });
    });
  }

  /** The record keys, sorted. */
  keys(): Promise<string[]> {
    return this.serial(async () => {
      this.requireKey();
      let stored: [unknown, IDBValidKey[]];
      try {
        const tx = this.db.transaction([META_STORE, RECORD_STORE], 'readonly');
        stored = await Promise.all([tx.objectStore(META_STORE).get(HEADER_KEY), tx.objectStore(RECORD_STORE).getAllKeys(), tx.done]).then(([header, keys]) => [header, keys]);
      } catch (error) {
        throw storageError(error);
      }
      this.requireCurrentHeader(stored[0]);
      return stored[1].map(String).sort();
    });
  }

  /**
   * Re-encrypts every record under a key from the new password (fresh salt) and replaces the
   * header, in one transaction. A wrong old password is `wrong_password` and changes nothing; if
   * the vault changed since it was read, `conflict` and nothing changed.
   */
  changePassword(oldPassword: string, newPassword: string, options: ChangePasswordOptions = {}): Promise<void> {
    return this.serial(async () => {
      const key = this.requireKey();
      checkPassword(oldPassword, 'the old password');
      checkPassword(newPassword, 'the new password');
      const snapshot = await this.readEverything();
      this.requireCurrentHeader(snapshot.header);
      const header = parseHeader(snapshot.header, true);
      if (!(await keyOpensCheck(await deriveVaultKey(oldPassword, header.kdf, false), header.check))) throw new VaultError('wrong_password', 'wrong password');
      const current = header.kdf.algorithm === KDF_ALGORITHM ? header.kdf.iterations : DEFAULT_PBKDF2_ITERATIONS;
      const iterations = options.iterations ?? Math.max(current, DEFAULT_PBKDF2_ITERATIONS);
      const next = await newKey({ kdf: KDF_ALGORITHM, password: newPassword, iterations }, key.extractable, allowsWeakKdf(options));
      await this.reseal(key, snapshot, next);
    });
  }

  /**
   * Re-encrypts every record under a new key of any kind (a passphrase with scrypt, a WebAuthn
   * PRF output…) and replaces the header, in one transaction: the phone's move from a PIN to a
   * stronger key. Holding the unlocked handle is the authority; `conflict` as for changePassword.
   */
  rekey(key: NewVaultKey, options: { readonly weakKdfForTests?: WeakKdfForTests } = {}): Promise<void> {
    return this.serial(async () => {
      const current = this.requireKey();
      const snapshot = await this.readEverything();
      this.requireCurrentHeader(snapshot.header);
      await this.reseal(current, snapshot, await newKey(key, current.extractable, allowsWeakKdf(options)));
    });
  }

  /** Every record decrypted with `key` and sealed under `next`, written with its header in one transaction. */
  private async reseal(key: CryptoKey, snapshot: { records: [string, unknown][] }, next: { kdf: KdfParameters; key: CryptoKey }): Promise<void> {
    const resealed: (readonly [string, SealedRecord])[] = [];
    for (const [recordKey, stored] of snapshot.records) {
      const sealed = asSealedRecord(stored);
      const plaintext = sealed && (await openRecord(key, recordKey, sealed));
      if (!plaintext) throw new VaultError('corrupt', `record ${JSON.stringify(recordKey)} fails authentication; nothing was changed`);
      resealed.push([recordKey, await sealRecord(next.key, recordKey, plaintext)]);
      plaintext.fill(0);
    }
    const newHeader: VaultHeader = { format: FORMAT, kdf: next.kdf, cipher: CIPHER, check: await sealCheck(next.key) };
    await inWriteTransaction(this.db, async (tx, track) => {
      const [storedHeader, keys, values] = await Promise.all([track(tx.objectStore(META_STORE).get(HEADER_KEY)), track(tx.objectStore(RECORD_STORE).getAllKeys()), track(tx.objectStore(RECORD_STORE).getAll())]);
      this.requireCurrentHeader(storedHeader);
      if (!sameRecords(snapshot.records, keys.map(String), values)) throw new VaultError('conflict', 'the vault changed during the re-key; nothing was changed, try again');
      track(tx.objectStore(META_STORE).put(newHeader, HEADER_KEY));
      const store = tx.objectStore(RECORD_STORE);
      for (const [recordKey, record] of resealed) track(store.put(record, recordKey));
    });
    this.key = next.key;
    this.currentHeaderId = headerId(newHeader.check);
  }

  private async readEverything(): Promise<{ header: unknown; records: [string, unknown][] }> {
    try {
      const tx = this.db.transaction([META_STORE, RECORD_STORE], 'readonly');
      const [header, keys, values] = await Promise.all([tx.objectStore(META_STORE).get(HEADER_KEY), tx.objectStore(RECORD_STORE).getAllKeys(), tx.objectStore(RECORD_STORE).getAll(), tx.done]);
      return { header, records: keys.map((recordKey, index) => [String(recordKey), values[index]]) };
    } catch (error) {
      throw storageError(error);
    }
  }

  /**
   * The raw 32-byte AES key, for the extension's service worker to keep in chrome.storage.session
   * (memory only) and reopen with importUnlockKey after a restart. Whoever holds these bytes can
   * read the vault until the password changes: never write them to persistent storage or logs.
   */
  exportUnlockKey(): Promise<Uint8Array<ArrayBuffer>> {
    return this.serial(() => exportVaultKey(this.requireKey()));
  }

  /** Drops the key and closes the database; every later call is `locked`. */
  lock(): void {
    if (this.key) this.drop();
  }
}

/** Same keys and, for each, the same IV (every write draws a fresh one). */
function sameRecords(snapshot: readonly [string, unknown][], keys: readonly string[], values: readonly unknown[]): boolean {
  if (snapshot.length !== keys.length) return false;
  return snapshot.every(([recordKey, stored], index) => {
    const before = asSealedRecord(stored);
    const now = asSealedRecord(values[index]);
    return keys[index] === recordKey && before !== null && now !== null && before.iv.every((byte, position) => byte === now.iv[position]);
  });
}

async function readHeader(db: VaultDatabase): Promise<unknown> {
  try {
    return await db.get(META_STORE, HEADER_KEY);
  } catch (error) {
    throw storageError(error);
  }
}

/** Opens the database and returns its parsed header; closes it again on any failure. */
async function openExisting(name: string, options: VaultUnlockOptions): Promise<{ db: VaultDatabase; header: VaultHeader }> {
  const db = await openDatabase(options, name);
  try {
    const stored = await readHeader(db);
    if (stored === undefined) throw new VaultError('not_found', 'no vault has been created here');
    return { db, header: parseHeader(stored, allowsWeakKdf(options)) };
  } catch (error) {
    db.close();
    throw error;
  }
}

export async function vaultExists(name: string, options: VaultStorageOptions = {}): Promise<boolean> {
  const db = await openDatabase(options, name);
  try {
    return (await readHeader(db)) !== undefined;
  } finally {
    db.close();
  }
}

/** The KDF of the vault under `name` (all public, as stored), or null when there is none: what a PRF unlock needs first. */
export async function readVaultKdf(name: string, options: VaultStorageOptions & { readonly weakKdfForTests?: WeakKdfForTests } = {}): Promise<KdfParameters | null> {
  const db = await openDatabase(options, name);
  try {
    const stored = await readHeader(db);
    return stored === undefined ? null : parseHeader(stored, allowsWeakKdf(options)).kdf;
  } finally {
    db.close();
  }
}

/** A password string is PBKDF2 with `options.iterations`; a NewVaultKey chooses scrypt or a WebAuthn PRF. */
export async function createVault(name: string, password: string | NewVaultKey, options: VaultCreateOptions = {}): Promise<UnlockedVault> {
  const spec: NewVaultKey = typeof password === 'string' ? { kdf: KDF_ALGORITHM, password, ...(options.iterations !== undefined ? { iterations: options.iterations } : {}) } : password;
  const { kdf, key } = await newKey(spec, options.exportableKey === true, allowsWeakKdf(options));
  const db = await openDatabase(options, name);
  try {
    if ((await readHeader(db)) !== undefined) throw new VaultError('already_exists', 'a vault already exists here');
    const header: VaultHeader = { format: FORMAT, kdf, cipher: CIPHER, check: await sealCheck(key) };
    await inWriteTransaction(db, async (tx, track) => {
      // Checked again inside the transaction: two createVault calls racing cannot both win.
      if ((await track(tx.objectStore(META_STORE).get(HEADER_KEY))) !== undefined) throw new VaultError('already_exists', 'a vault already exists here');
      if ((await track(tx.objectStore(RECORD_STORE).count())) !== 0) throw new VaultError('corrupt', 'records exist without a vault header');
      track(tx.objectStore(META_STORE).put(header, HEADER_KEY));
    });
    return new UnlockedVault(db, key, header);
  } catch (error) {
    db.close();
    throw error;
  }
}

/** A wrong password is `wrong_password`, and nothing is changed. */
export async function unlockVault(name: string, secret: VaultSecret, options: VaultUnlockOptions = {}): Promise<UnlockedVault> {
  if (typeof secret === 'string') checkPassword(secret, 'the password');
  const { db, header } = await openExisting(name, options);
  try {
    const key = await deriveVaultKey(secret, header.kdf, options.exportableKey === true);
    if (!(await keyOpensCheck(key, header.check))) throw new VaultError('wrong_password', 'wrong password');
    return new UnlockedVault(db, key, header);
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Reopens a vault with a key from exportUnlockKey (service-worker restart). A key that no longer
 * opens it (the password changed) is `locked`: unlock with the password.
 */
export async function importUnlockKey(name: string, rawKey: Uint8Array, options: VaultUnlockOptions = {}): Promise<UnlockedVault> {
  const key = await importVaultKey(rawKey, options.exportableKey === true);
  const { db, header } = await openExisting(name, options);
  if (!(await keyOpensCheck(key, header.check))) {
    db.close();
    throw new VaultError('locked', 'this unlock key does not open the vault; unlock with the password');
  }
  return new UnlockedVault(db, key, header);
}
