/**
 * What the builds ship: the release build asks for no host permission (and `offscreen` only, for the direct path's WebRTC),
 * the development build (the one the tests and `npm start` load, dist/) may reach only this
 * computer, and neither carries the phone app's files. The release build loads and answers pages.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { build } from 'vite';
import { dappRequest } from '../src/devstack/demo-flow.ts';
import { EXTENSION_DIST_DIR, launchExtensionBrowser } from '../src/devstack/extension-browser.ts';
import { expect, test } from './fixtures.ts';

interface BuiltManifest {
  permissions: string[];
  host_permissions?: string[];
  icons: Record<string, string>;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [relative(dir, path)];
  });
}

/** The phone app's files in public/ (its service worker, web manifest and home-screen icons). */
const PHONE_FILES = ['phone-sw.js', 'phone/manifest.webmanifest', 'icons/icon-192.png', 'icons/icon-512.png'];

function checkShipped(dir: string): BuiltManifest {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as BuiltManifest;
  expect(manifest.permissions).toEqual(['storage', 'alarms', 'offscreen']);
  for (const icon of Object.values(manifest.icons)) expect(existsSync(join(dir, icon))).toBe(true);
  const shipped = files(dir);
  for (const phoneFile of PHONE_FILES) expect(shipped.filter((file) => file.endsWith(phoneFile))).toEqual([]);
  expect(shipped.filter((file) => file.startsWith('phone') || file.endsWith('.webmanifest'))).toEqual([]);
  return manifest;
}

test('release and development builds: permissions, no phone files; the release build runs', async ({ dappServer }) => {
  const development = checkShipped(EXTENSION_DIST_DIR);
  expect(development.host_permissions).toEqual(['http://127.0.0.1/*', 'http://localhost/*']);

  const outDir = mkdtempSync(join(tmpdir(), 'duet-release-'));
  try {
    await build({ configFile: resolve('vite.config.ts'), mode: 'release', logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    const release = checkShipped(outDir);
    expect(release.host_permissions ?? []).toEqual([]);

    const browser = await launchExtensionBrowser({ headless: true, extensionDir: outDir });
    try {
      const page = await browser.context.newPage();
      await page.goto(`${dappServer.url}/index.html`);
      expect(await dappRequest(page, 'eth_chainId')).toEqual({ result: '0x7a69' });
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

test("the phone app's release build carries no development hook (fixture Paillier keys); the development build does", async () => {
  const hook = '__duetTestPaillierKeys';
  const scripts = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && entry.name.endsWith('.js')).map((entry) => join(entry.parentPath, entry.name));
  const bundled = (dir: string) => scripts(dir).some((path) => readFileSync(path, 'utf8').includes(hook));
  expect(bundled(resolve('dist-phone'))).toBe(true);
  const outDir = mkdtempSync(join(tmpdir(), 'duet-phone-release-'));
  try {
    await build({ configFile: resolve('vite.phone.config.ts'), mode: 'release', logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    expect(scripts(outDir).length).toBeGreaterThan(0);
    expect(bundled(outDir)).toBe(false);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
