/**
 * The phone's vault key in a real browser (issue 11, point 4): Chromium's virtual platform
 * authenticator with PRF and user verification keys the vault and opens it again after a reload;
 * without the user verified nothing opens and nothing changes. Without an authenticator the app
 * offers only a passphrase, refuses a 6-digit PIN, and takes the suggested words (scrypt, 128 MiB).
 */
import { chromium, type Page } from 'playwright-core';
import { findChromium } from '../src/devstack/chromium.ts';
import { localStackUrls, newPhonePage, phoneAuthenticator, protectPhone, unlockPhone } from '../src/devstack/demo-flow.ts';
import { startRelay } from '../src/relay/relay-server.ts';
import { expect, test } from './fixtures.ts';

/** The vault header's KDF as stored in the page's IndexedDB (public). */
function storedKdf(page: Page): Promise<{ algorithm: string; hasOutput: boolean }> {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const opening = indexedDB.open('duet-phone');
        opening.onerror = () => reject(opening.error);
        opening.onsuccess = () => {
          const reading = opening.result.transaction('meta').objectStore('meta').get('vault');
          reading.onsuccess = () => {
            const kdf = (reading.result as { kdf: Record<string, unknown> }).kdf;
            resolve({ algorithm: String(kdf.algorithm), hasOutput: Object.keys(kdf).some((key) => /output|secret|key$/i.test(key) && key !== 'credentialId') });
          };
        };
      }),
  );
}

test('the screen lock keys the vault; unverified, nothing opens; without a screen lock, a strong passphrase', async ({}, testInfo) => {
  const relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
  const { phoneAppUrl } = localStackUrls(relay, '');
  const browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: ['--disable-background-networking', '--no-first-run', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])] });
  try {
    const phone = await newPhonePage(await browser.newContext());
    const { cdp, authenticatorId } = phoneAuthenticator(phone);
    await phone.goto(phoneAppUrl);
    await protectPhone(phone);
    await expect(phone.getByTestId('phone-root')).toHaveAttribute('data-screen', 'home');
    expect(await storedKdf(phone)).toEqual({ algorithm: 'WebAuthn-PRF', hasOutput: false });

    await phone.reload();
    await unlockPhone(phone);
    await expect(phone.getByTestId('phone-root')).toHaveAttribute('data-screen', 'home');

    // The user is not verified (a wrong finger): nothing opens, nothing changes. (Chromium's
    // virtual authenticator then stays blocked, as a real one does after too many failures.)
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
    await phone.reload();
    await unlockPhone(phone);
    await expect(phone.getByTestId('phone-error')).toContainText('did not verify you');
    await expect(phone.getByTestId('phone-root')).toHaveAttribute('data-screen', 'unlock');
    await expect(phone.getByTestId('phone-address')).toHaveCount(0);
    expect(await storedKdf(phone)).toEqual({ algorithm: 'WebAuthn-PRF', hasOutput: false });

    // A browser without a platform authenticator: only a passphrase, and not a PIN.
    const bare = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await bare.goto(phoneAppUrl);
    await expect(bare.getByTestId('key-device')).toHaveCount(0);
    await bare.getByTestId('passphrase').fill('246810');
    await bare.getByTestId('passphrase-confirm').fill('246810');
    await bare.getByTestId('passphrase-submit').click();
    await expect(bare.getByTestId('phone-error')).toContainText('too easy to guess');
    const suggested = (await bare.getByTestId('suggested-passphrase').textContent()) ?? '';
    expect(suggested.split(' ')).toHaveLength(6);
    await bare.getByTestId('use-suggested').click();
    await bare.getByTestId('passphrase-submit').click();
    await expect(bare.getByTestId('phone-root')).toHaveAttribute('data-screen', 'home');
    expect(await storedKdf(bare)).toEqual({ algorithm: 'scrypt', hasOutput: false });
    await bare.screenshot({ path: testInfo.outputPath('phone-passphrase-home.png') });
  } finally {
    await browser.close();
    await relay.close();
  }
});
