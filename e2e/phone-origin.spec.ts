/**
 * Who serves the phone app (issue 11, point 5), in a Chromium of its own: the app refuses plain
 * http off loopback, cannot be framed and runs under a CSP that forbids inline script; the service worker
 * pins the release it first ran, so when the server changes the bundle the app keeps running the
 * old code and shows the new version and bundle hash before anything else; a replaced service
 * worker stops the app.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { findChromium } from '../src/devstack/chromium.ts';
import { localStackUrls, newPhonePage, protectPhone, unlockPhone } from '../src/devstack/demo-flow.ts';
import { releaseManifest, sha256Sums } from '../src/phone/release-manifest.ts';
import { startRelay } from '../src/relay/relay-server.ts';
import { expect, test } from './fixtures.ts';

/** Rewrites release.json and SHA256SUMS for the files now in `dir`, as a new release would. */
function republish(dir: string, version: string): string {
  const files = new Map<string, Uint8Array>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'), readFileSync(join(entry.parentPath, entry.name)));
  }
  const release = releaseManifest(version, files);
  writeFileSync(join(dir, 'SHA256SUMS'), sha256Sums(release.files));
  writeFileSync(join(dir, 'release.json'), JSON.stringify(release));
  return release.bundleHash;
}

/** The server swaps in its own code, as a new build would name it: a new entry script that marks the page. */
function tamperEntryScript(dir: string): void {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const entry = /src="\.\/(assets\/index-[^"]+\.js)"/.exec(html)?.[1] as string;
  writeFileSync(join(dir, 'assets/index-tampered.js'), `${readFileSync(join(dir, entry), 'utf8')}\ndocument.documentElement.dataset.tampered = 'yes';\n`);
  rmSync(join(dir, entry));
  writeFileSync(join(dir, 'index.html'), html.replace(entry, 'assets/index-tampered.js'));
}

const tamperedCodeRuns = (page: Page) => page.evaluate(() => document.documentElement.dataset.tampered === 'yes');

async function launchPhoneBrowser() {
  return chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: ['--host-resolver-rules=MAP phone.duet.test 127.0.0.1', '--disable-background-networking', '--no-first-run', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
  });
}

const released = JSON.parse(readFileSync('dist-phone/release.json', 'utf8')) as { version: string; bundleHash: string };

test('plain http off loopback is refused; the app cannot be framed; its CSP forbids inline script', async ({ dappServer }) => {
  const relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
  const browser = await launchPhoneBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`http://phone.duet.test:${relay.port}/`);
    await expect(page.getByTestId('app-refused-reason')).toContainText('only over https');
    await expect(page.getByTestId('key-choice')).toHaveCount(0);
    expect(await page.evaluate(() => navigator.serviceWorker?.getRegistrations().then((r) => r.length) ?? 0)).toBe(0);

    const { phoneAppUrl } = localStackUrls(relay, '');
    await page.goto(phoneAppUrl);
    await expect(page.getByTestId('key-choice')).toBeVisible();
    const inlineRan = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.head.append(script);
      return (window as unknown as { inlineRan?: boolean }).inlineRan === true;
    });
    expect(inlineRan).toBe(false);

    const framing = await browser.newPage();
    await framing.goto(`${dappServer.url}/index.html`);
    await framing.evaluate((src) => new Promise<void>((resolve) => {
      const frame = document.createElement('iframe');
      frame.src = src;
      frame.onload = () => resolve();
      document.body.append(frame);
    }), phoneAppUrl);
    const child = framing.frames().find((frame) => frame !== framing.mainFrame());
    expect(child).toBeDefined();
    expect(await child?.locator('[data-testid="phone-root"], [data-testid="key-choice"]').count().catch(() => 0)).toBe(0);
  } finally {
    await browser.close();
    await relay.close();
  }
});

test('a changed bundle is shown with its version and hash before use; kept or accepted; a replaced service worker stops the app', async ({}, testInfo) => {
  const dir = mkdtempSync(join(tmpdir(), 'duet-phone-release-'));
  cpSync('dist-phone', dir, { recursive: true });
  const relay = await startRelay({ port: 0, staticDir: dir, log: () => undefined });
  const browser = await launchPhoneBrowser();
  try {
    const context = await browser.newContext();
    const phone: Page = await newPhonePage(context);
    const { phoneAppUrl } = localStackUrls(relay, '');
    await phone.goto(phoneAppUrl);
    await protectPhone(phone);
    await expect(phone.getByTestId('app-release')).toHaveText(`Phone app ${released.version} · bundle ${released.bundleHash}`);
    await phone.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));

    // The server ships other code under a new release description.
    tamperEntryScript(dir);
    const tamperedHash = republish(dir, '0.1.1');
    await phone.reload();
    await expect(phone.getByTestId('release-changed')).toBeVisible();
    await expect(phone.getByTestId('release-old-hash')).toHaveText(released.bundleHash);
    await expect(phone.getByTestId('release-new-version')).toHaveText('0.1.1');
    await expect(phone.getByTestId('release-new-hash')).toHaveText(tamperedHash);
    await expect(phone.getByTestId('unlock-submit')).toHaveCount(0);
    await phone.screenshot({ path: testInfo.outputPath('phone-release-changed.png') });
    expect(await tamperedCodeRuns(phone)).toBe(false);

    // Kept: the pinned old code runs and unlocks; the question comes back at the next start.
    await phone.getByTestId('release-keep').click();
    await unlockPhone(phone);
    await expect(phone.getByTestId('app-release')).toContainText(released.bundleHash);
    expect(await tamperedCodeRuns(phone)).toBe(false);
    await phone.reload();
    await expect(phone.getByTestId('release-changed')).toBeVisible();

    // Accepted: the service worker checks and pins the new files; the new code runs from then on.
    await phone.getByTestId('release-accept').click();
    await expect(phone.getByTestId('app-release')).toContainText(tamperedHash);
    expect(await tamperedCodeRuns(phone)).toBe(true);
    await unlockPhone(phone);
    await expect(phone.getByTestId('phone-root')).toHaveAttribute('data-screen', 'home');

    // The server replaces the service worker itself: the running app notices and stops.
    writeFileSync(join(dir, 'phone-sw.js'), `${readFileSync(join(dir, 'phone-sw.js'), 'utf8')}\n// replaced by the server\n`);
    republish(dir, '0.1.2');
    await phone.reload();
    await expect(phone.getByTestId('app-replaced')).toBeVisible();
  } finally {
    await browser.close();
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
