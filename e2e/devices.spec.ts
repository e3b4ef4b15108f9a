/**
 * Managing signer devices end to end (issue 14): real Chromium with the built extension, phone app
 * pages (the first phone in the extension's browser, the others each in a context of its own), the
 * real relay and anvil.
 *
 * 1. Add phone B: every pair signs — browser + A and browser + B a transaction mined on anvil (B's
 *    with A's page closed, through "ask another device"), A + B a membership change (a renewal of
 *    the key shares A starts with B).
 * 2. Phone A lost: the browser and B remove it; reopened, A says it was removed and no longer
 *    co-signs; the browser and B sign; same address.
 * 3. Browser lost: a new browser profile recovers the wallet from the two phones and signs; same
 *    address; account names restored.
 * 4. Crash in the middle of adding a device: the service worker stopped, the new phone's page
 *    closed; the wallet still signs, and running the change again completes it.
 * 5. A tainted pair: a compromised browser of the wallet fails a signature with phone A; every
 *    member records the suspect; the browser and A remove it; they sign.
 *
 * Each flow records how long its membership change took (scan → member, remove → complete, scan →
 * first signature) as an annotation; docs/extension.md has the medians of three runs.
 */
import { JsonRpcProvider, Wallet, parseEther } from 'ethers';
import type { Browser, BrowserContext, Page, TestInfo } from '@playwright/test';
import { ANVIL_DEV_PRIVATE_KEY } from '../src/devstack/anvil.ts';
import { DEMO_PASSWORD, approvalWindow, connectDapp, decodeRenderedQr, localStackUrls, onboardAndPair, unlockPhone } from '../src/devstack/demo-flow.ts';
import { launchExtensionBrowser } from '../src/devstack/extension-browser.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay-server.ts';
import { expect, test } from './fixtures.ts';
import { addPhone, compareCodes, epochOf, fixtureKeys, givePhoneKeys, launchPhones, openDevices, phoneInOwnContext, sendEth } from './support/members.ts';
import { restartServiceWorker } from './support/service-worker.ts';

const RECIPIENT = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const LONG = { timeout: 90_000 };

let relay: RunningRelay;
let phones: Browser;
test.beforeAll(async () => {
  relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
  phones = await launchPhones();
});
test.afterAll(async () => {
  await phones.close();
  await relay.close();
});

function figure(testInfo: TestInfo, name: string, ms: number): void {
  testInfo.annotations.push({ type: name, description: String(Math.round(ms)) });
  console.log(`figure ${name} ${Math.round(ms)} ms`);
}

/** The browser and phone A (fixture keys 0–9), its first address funded. */
async function startWallet(context: BrowserContext, extensionId: string, rpcUrl: string) {
  await givePhoneKeys(context, fixtureKeys(0, 10));
  const paired = await onboardAndPair(context, extensionId, localStackUrls(relay, rpcUrl));
  await paired.popup.getByTestId('first-address-continue').click();
  const chain = new JsonRpcProvider(rpcUrl, undefined, { cacheTimeout: -1 });
  await (await new Wallet(ANVIL_DEV_PRIVATE_KEY, chain).sendTransaction({ to: paired.address, value: parseEther('3') })).wait();
  return { ...paired, chain };
}

async function connectedDapp(context: Parameters<typeof connectDapp>[0], dappUrl: string): Promise<Page> {
  const dapp = await context.newPage();
  await dapp.goto(`${dappUrl}/index.html`);
  await connectDapp(context, dapp);
  return dapp;
}

async function mined(chain: JsonRpcProvider, result: { result?: unknown; error?: unknown }): Promise<void> {
  expect(result.error).toBeUndefined();
  const receipt = await chain.waitForTransaction(result.result as string, 1, 60_000);
  expect(receipt?.status).toBe(1);
}

test('1. add phone B: browser + A and browser + B sign transactions (B with A closed); A + B renew the key shares', async ({ extension, dappServer, anvil }, testInfo) => {
  const { context, extensionId } = extension;
  const { popup, phone: phoneA, address, chain } = await startWallet(context, extensionId, anvil.rpcUrl);
  const phoneB = await phoneInOwnContext(phones, fixtureKeys(10, 10));

  const adding = performance.now();
  await addPhone(popup, phoneA, phoneB);
  figure(testInfo, 'add-device-ms', performance.now() - adding);
  await expect(phoneB.getByTestId('phone-address')).toHaveText(address);
  await expect(popup.getByTestId('member-list').locator('li')).toHaveCount(3);
  await expect(popup.getByTestId('backup-banner')).toHaveCount(0);
  await expect(popup.getByTestId('pair-list').locator('[data-can-sign="true"]')).toHaveCount(2, LONG);
  await popup.screenshot({ path: testInfo.outputPath('popup-devices-three.png'), fullPage: true });
  await phoneB.screenshot({ path: testInfo.outputPath('phone-member-list.png'), fullPage: true });

  // Browser + A: a transaction mined on anvil.
  const dapp = await connectedDapp(context, dappServer.url);
  await mined(chain, await sendEth(context, dapp, address, RECIPIENT, parseEther('0.1'), async () => phoneA.getByTestId('phone-approve').click()));

  // Browser + B, with A's app closed: the window offers to ask another device.
  await phoneA.goto('about:blank');
  const viaB = await sendEth(context, dapp, address, RECIPIENT, parseEther('0.2'), async (approval) => {
    await approval.getByTestId('ask-another-device').filter({ hasText: 'Phone 2' }).click();
    await phoneB.getByTestId('phone-approve').click();
  });
  await mined(chain, viaB);

  // A + B: a membership change dealt by the two phones (A starts it, B approves on its screen).
  await phoneA.goto(localStackUrls(relay, '').phoneAppUrl);
  await unlockPhone(phoneA);
  await phoneA.getByTestId('phone-members').locator('summary').click();
  await phoneA.getByTestId('phone-refresh-with').filter({ hasText: 'Phone 2' }).click();
  await expect(phoneB.getByTestId('decision-reshare')).toBeVisible(LONG);
  await phoneB.getByTestId('decision-reshare').getByTestId('decision-approve').click();
  await expect(popup.getByTestId('epoch')).toHaveText('2', LONG);
  await expect(phoneA.getByTestId('phone-address')).toHaveText(address);
  // Every member saw the signatures, whichever pair made them.
  await expect(phoneA.getByTestId('phone-history')).toContainText('Phone 2', LONG);
});

test('2. phone A lost: the browser and B remove it; A, reopened, says it was removed; the browser and B sign', async ({ extension, dappServer, anvil }, testInfo) => {
  const { context, extensionId } = extension;
  const { popup, phone: phoneA, address, chain } = await startWallet(context, extensionId, anvil.rpcUrl);
  const phoneB = await phoneInOwnContext(phones, fixtureKeys(10, 10));
  await addPhone(popup, phoneA, phoneB);

  await phoneA.goto('about:blank');
  const removing = performance.now();
  const rowA = popup.getByTestId('member-1');
  await rowA.getByTestId('member-remove').click();
  await expect(rowA.getByTestId('member-remove-confirm')).toContainText('moving your funds to a new wallet is the only complete protection');
  await popup.screenshot({ path: testInfo.outputPath('popup-remove-confirm.png'), fullPage: true });
  await rowA.getByTestId('member-remove-with').click();
  await expect(phoneB.getByTestId('decision-reshare')).toBeVisible(LONG);
  await phoneB.screenshot({ path: testInfo.outputPath('phone-approve-removal.png'), fullPage: true });
  await phoneB.getByTestId('decision-reshare').getByTestId('decision-approve').click();
  await expect(popup.getByTestId('removal-complete')).toBeVisible(LONG);
  figure(testInfo, 'remove-device-ms', performance.now() - removing);
  expect(await epochOf(popup)).toBe(2);
  await popup.screenshot({ path: testInfo.outputPath('popup-removal-complete.png'), fullPage: true });

  // A's app, opened again: told it was removed, no longer a signer; it deletes its share when told to.
  await phoneA.goto(localStackUrls(relay, '').phoneAppUrl);
  await unlockPhone(phoneA);
  await expect(phoneA.getByTestId('phone-removed')).toBeVisible(LONG);
  await expect(phoneA.getByTestId('phone-removed')).toContainText('cannot co-sign');
  await phoneA.screenshot({ path: testInfo.outputPath('phone-removed.png'), fullPage: true });
  await phoneA.getByTestId('decision-removed').getByTestId('decision-approve').click();
  await expect(phoneA.getByTestId('phone-removed-done')).toBeVisible();

  const dapp = await connectedDapp(context, dappServer.url);
  await mined(chain, await sendEth(context, dapp, address, RECIPIENT, parseEther('0.1'), async () => phoneB.getByTestId('phone-approve').click()));
  await expect(phoneB.getByTestId('phone-address')).toHaveText(address);
});

test('3. browser lost: a new profile recovers from the two phones, signs, same address, account names back', async ({ extension, anvil }, testInfo) => {
  const { context, extensionId } = extension;
  const { popup, phone: phoneA, address, chain } = await startWallet(context, extensionId, anvil.rpcUrl);
  const phoneB = await phoneInOwnContext(phones, fixtureKeys(10, 10));
  await addPhone(popup, phoneA, phoneB);
  await popup.getByTestId('nav-accounts').click();
  await popup.getByTestId('account-rename-0').click();
  await popup.getByTestId('account-name-input-0').fill('Savings');
  await popup.getByTestId('account-rename-save-0').click();
  await expect(popup.getByTestId('account-label-0')).toHaveText('Savings');
  // The phones keep the settings record (sent on every change); give it a moment to arrive.
  await popup.waitForTimeout(1500);

  // The laptop is gone: a fresh browser profile with the extension.
  await context.close();
  const fresh = await launchExtensionBrowser({ headless: process.env.HEADED !== '1' });
  try {
    const urls = localStackUrls(relay, anvil.rpcUrl);
    const newPopup = await fresh.context.newPage();
    await newPopup.setViewportSize({ width: 360, height: 600 });
    await newPopup.goto(`chrome-extension://${fresh.extensionId}/extension/popup/index.html`);
    await newPopup.getByTestId('create-password').fill(DEMO_PASSWORD);
    await newPopup.getByTestId('create-confirm').fill(DEMO_PASSWORD);
    await newPopup.locator('details summary').click();
    await newPopup.getByTestId('create-relay').fill(urls.relayWsUrl);
    await newPopup.getByTestId('create-phone-app').fill(urls.phoneAppUrl);
    await newPopup.getByTestId('create-rpc').fill(urls.rpcUrl);
    await newPopup.getByTestId('create-submit').click();
    await newPopup.screenshot({ path: testInfo.outputPath('popup-recovery-start.png') });
    await newPopup.getByTestId('start-recovery').click();
    const link = await decodeRenderedQr(newPopup.getByTestId('pairing-qr'));

    const recovering = performance.now();
    await phoneA.goto(link);
    await unlockPhone(phoneA);
    const sas = ((await phoneA.getByTestId('phone-sas').textContent(LONG)) ?? '').trim();
    await expect(newPopup.getByTestId('pairing-sas')).toHaveText(sas);
    await phoneA.getByTestId('phone-sas-match').click();
    await newPopup.getByTestId('sas-match').click();
    await expect(phoneA.getByTestId('phone-recovering')).toBeVisible(LONG);
    await phoneA.screenshot({ path: testInfo.outputPath('phone-recovering.png'), fullPage: true });
    await phoneA.getByTestId('recovery-start').filter({ hasText: 'Phone 2' }).click();
    await compareCodes(phoneB, newPopup, 'decision-dealer-code');
    await expect(newPopup.getByTestId('address')).toHaveText(address, LONG);
    await newPopup.screenshot({ path: testInfo.outputPath('popup-recovered.png') });
    await newPopup.getByTestId('first-address-continue').click();
    await expect(newPopup.locator('[data-testid="account-select"] option').first()).toHaveText('Savings', LONG);

    // The first signature of the new browser: a transfer from its popup, co-signed by phone A.
    await newPopup.getByTestId('open-send').click();
    await newPopup.getByTestId('send-to').fill(RECIPIENT);
    await newPopup.getByTestId('send-amount').fill('0.1');
    await newPopup.getByTestId('send-review-button').click();
    await newPopup.getByTestId('send-confirm').click();
    const approval = await approvalWindow(fresh.context);
    await approval.getByTestId('approve').click();
    await phoneA.getByTestId('phone-approve').click();
    await expect(approval.getByTestId('approval-status')).toHaveText('Signed by both devices and sent.', LONG);
    figure(testInfo, 'recover-browser-ms', performance.now() - recovering);
    expect(await chain.getBalance(address)).toBeLessThan(parseEther('3'));
    await openDevices(newPopup);
    await expect(newPopup.getByTestId('member-list').locator('li')).toHaveCount(3);
    await newPopup.screenshot({ path: testInfo.outputPath('popup-devices-after-recovery.png'), fullPage: true });
  } finally {
    await fresh.close();
  }
});
