/**
 * The key-encryption key (KEK): every secret the Guard stores — wallet shares with their Paillier
 * keys, pending reshare shares, its identity keys, channel keys, TOTP secrets, enrolment-code
 * secrets — is sealed with it before it reaches the database, so a copy of the database (a backup,
 * a stolen disk, a read-only SQL injection) holds ciphertext only.
 *
 * Where the KEK comes from (`loadKek`): the environment variable GUARD_KEK (64 hex digits), or a
 * file (the same text) readable by its owner only. The Guard refuses to start when the file sits
 * inside the data folder (a copy of the folder would carry the key with the data) or when its
 * group or others may read it. In production the KEK lives in a KMS or HSM that wraps it
 * (docs/guard.md, "Running it for real").
 *
 * Sealing: XChaCha20-Poly1305 (@noble/ciphers) with a random 24-byte nonce (safe to pick at
 * random for any number of records) and associated data "duet/guard/<kind>/<context>", so a
 * sealed value moved to another row or another kind of record does not open.
 * Format: "k1." ‖ base64url(nonce ‖ ciphertext ‖ tag).
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve, isAbsolute } from 'node:path';
import { decodeBase64Url, encodeBase64Url } from '../channel/base64url.ts';

export const KEK_BYTES = 32;
const NONCE_BYTES = 24;
const PREFIX = 'k1.';
const encoder = new TextEncoder();

/** Why the Guard will not start with this KEK (the message says what to do). */
export class KekError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KekError';
  }
}

/** A sealed value that does not open: damaged, moved, or sealed under another KEK. */
export class SealedRecordError extends Error {
  constructor(kind: string) {
    super(`a stored ${kind} record does not open with this key-encryption key (damaged, moved, or another key)`);
    this.name = 'SealedRecordError';
  }
}

export class KeyEncryptionKey {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length !== KEK_BYTES) throw new KekError(`the key-encryption key must be ${KEK_BYTES} bytes`);
    this.#key = key.slice();
  }

  seal(kind: string, context: string, plaintext: Uint8Array | string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const body = typeof plaintext === 'string' ? encoder.encode(plaintext) : plaintext;
    const sealed = xchacha20poly1305(this.#key, nonce, aad(kind, context)).encrypt(body);
    const out = new Uint8Array(NONCE_BYTES + sealed.length);
    out.set(nonce);
    out.set(sealed, NONCE_BYTES);
    return `${PREFIX}${encodeBase64Url(out)}`;
  }

  open(kind: string, context: string, sealed: string): Uint8Array {
    const bytes = sealed.startsWith(PREFIX) ? decodeBase64Url(sealed.slice(PREFIX.length)) : null;
    if (!bytes || bytes.length < NONCE_BYTES + 16) throw new SealedRecordError(kind);
    try {
      return xchacha20poly1305(this.#key, bytes.subarray(0, NONCE_BYTES), aad(kind, context)).decrypt(bytes.subarray(NONCE_BYTES));
    } catch {
      throw new SealedRecordError(kind);
    }
  }

  openText(kind: string, context: string, sealed: string): string {
    return new TextDecoder().decode(this.open(kind, context, sealed));
  }

  /** Never printed: a KEK in a log line or an error would undo all of the above. */
  toJSON(): string {
    return '[key-encryption key]';
  }
}

function aad(kind: string, context: string): Uint8Array {
  return encoder.encode(`duet/guard/${kind}/${context}`);
}

function parseKek(text: string, source: string): KeyEncryptionKey {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new KekError(`${source} must hold the key-encryption key as 64 hex digits`);
  return new KeyEncryptionKey(Uint8Array.from(hex.match(/../g) as string[], (byte) => parseInt(byte, 16)));
}

/** Whether `path` is `folder` or inside it (after resolving symbolic links of what exists). */
function isInside(path: string, folder: string): boolean {
  const real = (target: string) => {
    let existing = resolve(target);
    const rest: string[] = [];
    while (!existsSync(existing) && dirname(existing) !== existing) {
      rest.unshift(existing.slice(dirname(existing).length + 1));
      existing = dirname(existing);
    }
    return resolve(realpathSync(existing), ...rest);
  };
  const rel = relative(real(folder), real(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export interface KekSource {
  /** GUARD_KEK: the key itself, 64 hex digits. */
  readonly envKey?: string | undefined;
  /** A file holding it. */
  readonly file?: string | null | undefined;
  /** The Guard's data folder (PGlite), if any: the KEK may not sit inside it. */
  readonly dataDir?: string | null | undefined;
  /** Make a new KEK file (owner-only) when `file` does not exist yet: for development setups. */
  readonly createIfMissing?: boolean;
}

export interface LoadedKek {
  readonly kek: KeyEncryptionKey;
  /** A sentence for the operator when a new KEK file was made. */
  readonly created: string | null;
}

export function loadKek(source: KekSource): LoadedKek {
  if (source.envKey !== undefined && source.envKey !== '') return { kek: parseKek(source.envKey, 'GUARD_KEK'), created: null };
  const file = source.file;
  if (!file) throw new KekError('no key-encryption key: set GUARD_KEK (64 hex digits) or --kek-file <path> (a file outside the data folder, readable by its owner only)');
  if (source.dataDir && isInside(file, source.dataDir)) {
    throw new KekError(`the key-encryption key file ${file} is inside the data folder ${source.dataDir}: keep it apart, or a copy of the data carries its key`);
  }
  let created: string | null = null;
  if (!existsSync(file)) {
    if (!source.createIfMissing) throw new KekError(`the key-encryption key file ${file} does not exist`);
    const key = randomBytes(KEK_BYTES);
    writeFileSync(file, `${Array.from(key, (byte) => byte.toString(16).padStart(2, '0')).join('')}\n`, { mode: 0o600, flag: 'wx' });
    created = `made a new key-encryption key in ${file}: keep it apart from the data folder and back it up — without it the stored shares cannot be read`;
  }
  const stats = statSync(file);
  if (!stats.isFile()) throw new KekError(`the key-encryption key file ${file} is not a regular file`);
  if ((stats.mode & 0o077) !== 0) {
    throw new KekError(`the key-encryption key file ${file} may be read by others (mode ${(stats.mode & 0o777).toString(8)}): chmod 600 ${file}`);
  }
  return { kek: parseKek(readFileSync(file, 'utf8'), `the key-encryption key file ${file}`), created };
}
