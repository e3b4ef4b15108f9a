/**
 * The phone scans the pairing QR with its camera: a second Chromium (the phone) whose fake camera
 * shows the QR code rendered from the extension's pairing link; the app decodes it and pairs.
 */
import { chromium } from 'playwright-core';
import { findChromium } from '../src/devstack/chromium.ts';
import { localStackUrls, newPhonePage, protectPhone, showPairingCode, unlockPhone } from '../src/devstack/demo-flow.ts';
import { startRelay } from '../src/relay/relay-server.ts';
import { expect, test } from './fixtures.ts';
import { writeQrVideo } from './y4m.ts';

test('the phone pairs by scanning the QR code with its camera, and locks itself after 5 idle minutes', async ({ extension, anvil }, testInfo) => {
  const relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
  const urls = localStackUrls(relay, anvil.rpcUrl);
  const { popup, link } = await showPairingCode(extension.context, extension.extensionId, urls);

  const video = testInfo.outputPath('pairing-qr.y4m');
  writeQrVideo(video, link);
  const phoneBrowser = await chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`, '--disable-background-networking', '--no-first-run', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
  });
  const phoneContext = await phoneBrowser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, permissions: ['camera'] });
  const phone = await newPhonePage(phoneContext);
  await phone.goto(urls.phoneAppUrl);
  await protectPhone(phone);
  await phone.getByTestId('scan').click();
  const sas = await phone.getByTestId('phone-sas').textContent({ timeout: 30_000 });
  await expect(popup.getByTestId('pairing-sas')).toHaveText(sas ?? 'missing');
  await phone.getByTestId('phone-sas-match').click();
  await popup.getByTestId('sas-match').click();
  await expect(popup.getByTestId('address')).toHaveText(/^0x[0-9a-fA-F]{40}$/, { timeout: 60_000 });
  await expect(phone.getByTestId('phone-address')).toHaveText((await popup.getByTestId('address').textContent()) ?? 'missing');
  const noHorizontalScroll = await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  expect(noHorizontalScroll).toBe(true);

  // Inactivity lock: a touch restarts the 5-minute countdown; five more idle minutes lock the app.
  await phone.clock.install();
  await phone.getByTestId('phone-address').tap();
  await phone.clock.fastForward('04:30');
  await expect(phone.getByTestId('phone-root')).toHaveAttribute('data-screen', 'home');
  await phone.clock.fastForward('00:31');
  await expect(phone.getByTestId('phone-root')).toHaveAttribute('data-screen', 'unlock');
  await unlockPhone(phone);
  await expect(phone.getByTestId('phone-address')).toHaveText((await popup.getByTestId('address').textContent()) ?? 'missing');

  // The offline shell: with the service worker active, the app still opens without a network.
  expect(await phone.evaluate(() => navigator.serviceWorker.ready.then(() => true))).toBe(true);
  await phone.reload();
  await phoneContext.setOffline(true);
  await phone.reload();
  await expect(phone.getByTestId('unlock-submit')).toBeVisible();
  await phoneBrowser.close();
  await relay.close();
});
