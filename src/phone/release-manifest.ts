/**
 * The published description of one release of the phone app (release.json), written by the
 * build (vite.phone.config.ts) and checked by the app's service worker (public/phone-sw.js):
 *
 *   files:      every file of the bundle → its SHA-256 (hex), as `sha256sum` prints it
 *   SHA256SUMS: the lines "<hex>  <path>\n", sorted by path (verifiable with `sha256sum -c`)
 *   bundleHash: SHA-256 (hex) of SHA256SUMS — one value that names the whole bundle
 *
 * The phone remembers the version and bundleHash it runs (trust on first use) and shows any
 * change before using it (release-check.ts).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export const RELEASE_FILE = 'release.json';
export const SUMS_FILE = 'SHA256SUMS';
/** Files about the bundle, not part of it. */
export const NOT_IN_BUNDLE = [RELEASE_FILE, SUMS_FILE, '_headers'];

export interface Release {
  readonly app: 'duet-phone';
  readonly version: string;
  readonly bundleHash: string;
  readonly files: Readonly<Record<string, string>>;
}

export function sha256Sums(files: Readonly<Record<string, string>>): string {
  return Object.keys(files)
    .sort()
    .map((path) => `${files[path]}  ${path}\n`)
    .join('');
}

/** The release of `files` (bundle-relative paths, '/' separated, → contents). */
export function releaseManifest(version: string, files: ReadonlyMap<string, Uint8Array>): Release {
  const hashes: Record<string, string> = {};
  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!NOT_IN_BUNDLE.includes(path)) hashes[path] = bytesToHex(sha256(bytes));
  }
  return { app: 'duet-phone', version, bundleHash: bytesToHex(sha256(new TextEncoder().encode(sha256Sums(hashes)))), files: hashes };
}

/** A parsed release.json, or null for anything else (a damaged or foreign file). */
export function parseRelease(value: unknown): Release | null {
  if (typeof value !== 'object' || value === null) return null;
  const { app, version, bundleHash, files } = value as Record<string, unknown>;
  const hex = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
  if (app !== 'duet-phone' || typeof version !== 'string' || version.length > 64 || !hex(bundleHash) || typeof files !== 'object' || files === null) return null;
  if (!Object.values(files).every(hex)) return null;
  return { app, version, bundleHash: bundleHash as string, files: files as Record<string, string> };
}
