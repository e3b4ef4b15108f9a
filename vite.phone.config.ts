import { defineConfig, type Plugin } from 'vite';
import preact from '@preact/preset-vite';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { phoneAppContentSecurityPolicy, phoneAppHeaders } from './src/phone/app-security.ts';
import { RELEASE_FILE, SUMS_FILE, releaseManifest, sha256Sums } from './src/phone/release-manifest.ts';

/** The development build (tests, `npm start`) and the release build (`npm run build:release`, no test hooks). */
const outDir = (mode: string) => resolve(mode === 'release' ? 'dist-phone-release' : 'dist-phone');
/** Relays on another origin than the app (production): space-separated ws(s):// origins. */
const RELAY_ORIGINS = (process.env.DUET_RELAY_ORIGINS ?? '').split(/\s+/).filter(Boolean);
/** Duet Guards the phone links to (production): space-separated https:// origins. */
const GUARD_ORIGINS = (process.env.DUET_GUARD_ORIGINS ?? '').split(/\s+/).filter(Boolean);
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

function filesUnder(dir: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path).split(sep).join('/'), readFileSync(path));
  }
  return files;
}

/**
 * The release step: the CSP also as a <meta> tag (for static hosts that cannot send headers; a
 * meta CSP cannot carry frame-ancestors), `_headers` for hosts that can (Netlify, Cloudflare
 * Pages), and the published hashes: release.json and SHA256SUMS (src/phone/release-manifest.ts).
 */
function phoneRelease(mode: string): Plugin {
  // The folder the build writes to, as finally resolved (a caller may override build.outDir).
  let OUT_DIR = '';
  return {
    name: 'duet-phone-release',
    configResolved(config) {
      OUT_DIR = resolve(config.root, config.build.outDir);
    },
    // Only the release: the relay that serves the development build sends the CSP as a header, with
    // the Duet Guards of the running stack (a meta CSP would narrow it to what was known at build time).
    transformIndexHtml: () => (mode !== 'release' ? [] : [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: phoneAppContentSecurityPolicy(RELAY_ORIGINS, GUARD_ORIGINS).replace("; frame-ancestors 'none'", '') }, injectTo: 'head-prepend' }]),
    closeBundle() {
      // The static host serves https only: HSTS keeps the phone from ever asking over http again.
      const production = { ...phoneAppHeaders(RELAY_ORIGINS, GUARD_ORIGINS), 'strict-transport-security': 'max-age=31536000' };
      const headers = Object.entries(production).map(([name, value]) => `  ${name}: ${value}`);
      writeFileSync(join(OUT_DIR, '_headers'), `/*\n${headers.join('\n')}\n`);
      const release = releaseManifest(VERSION, filesUnder(OUT_DIR));
      writeFileSync(join(OUT_DIR, SUMS_FILE), sha256Sums(release.files));
      writeFileSync(join(OUT_DIR, RELEASE_FILE), `${JSON.stringify(release, null, 2)}\n`);
      console.log(`phone app ${release.version}: bundle hash ${release.bundleHash} (${RELEASE_FILE}, ${SUMS_FILE})`);
    },
  };
}

/**
 * The phone co-signer (PWA) build: src/phone → dist-phone/, for its own static origin (the relay
 * serves it in development); `--mode release` → dist-phone-release/, where the development test
 * hooks (__DUET_DEV_HOOKS__: Paillier keys from the end-to-end tests' fixtures) are compiled out.
 */
export default defineConfig(({ mode }) => ({
  root: resolve('src/phone'),
  base: './',
  publicDir: resolve('public'),
  plugins: [preact(), phoneRelease(mode)],
  define: { __DUET_RELAY_ORIGINS__: JSON.stringify(RELAY_ORIGINS), __DUET_DEV_HOOKS__: JSON.stringify(mode !== 'release') },
  build: {
    outDir: outDir(mode),
    emptyOutDir: true,
    target: 'es2022',
    // The passphrase estimator's dictionaries (zxcvbn-ts) are one lazily loaded chunk of ~1.2 MB.
    chunkSizeWarningLimit: 1400,
  },
}));
