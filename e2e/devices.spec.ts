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
 * 4. Crash in the middle of adding a device, twice: while the codes are compared, and the moment
 *    the new phone's user approved (the reshare under way) — each time the new phone's app closed
 *    and the service worker stopped. The Devices page says nothing changed, the browser and A sign
 *    a transaction, and running the change again completes it (the new phone then co-signs).
 * 5. A tainted pair: a compromised browser (Node, the extension's member links, tampering with its
 *    last signing message) joins the wallet and fails a signature with phone A; A refuses it from
 *    then on; this browser's Devices page names the suspect; this browser and A remove it; they
 *    sign a transaction; the removed browser co-signs with nobody.
 * 6. Replace a lost phone: "Replace" on A's row, phone C scans; one change removes A and adds C,
 *    dealt by the browser and B; the browser and C sign.
 *
 * Each flow records how long its membership change took (scan → member, remove → complete, scan →
 * first signature) as an annotation; docs/extension.md has the medians of three runs.
 */
import { JsonRpcProvider, Wallet, parseEther } from 'ethers';
import type { Browser, BrowserContext, Page, TestInfo } from '@playwright/test';
import { CoSignerFailedError } from '../src/background/co-signer.ts';
import { ANVIL_DEV_PRIVATE_KEY } from '../src/devstack/anvil.ts';
import { connectDapp, decodeRenderedQr, localStackUrls, onboardAndPair, protectPhone, showPairingCode, unlockPhone } from '../src/devstack/demo-flow.ts';
import { launchExtensionBrowser } from '../src/devstack/extension-browser.ts';
import { encodeInteger } from '../src/mpc/wire.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay-server.ts';
import type { AppMessage } from '../src/session/messages.ts';
import { expect, test } from './fixtures.ts';
import { PHONE_DEALER_CODE, addPhone, compareCodes, epochOf, fixtureKeys, givePhoneKeys, launchPhones, membershipState, openDevices, pairForRecovery, phoneInOwnContext, scanAndConfirm, sendEth, sendFromPopup, showAddDeviceCode, showRecoveryCode } from './support/members.ts';
import { nodeBrowserMember } from './support/node-browser-member.ts';
import { personalSignRequest } from './support/node-extension-peer.ts';
import { restartServiceWorker } from './support/service-worker.ts';

const RECIPIENT = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
// Several devices, several membership changes per flow, on a shared 2-core machine.
test.setTimeout(300_000);
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

/** A screenshot of the whole popup page: its screen (which scrolls inside the popup's 392 px) shown at full height. */
async function popupShot(popup: Page, path: string): Promise<void> {
  const style = await popup.addStyleTag({ content: '.screen { max-height: none !important; }' });
  await popup.screenshot({ path, fullPage: true });
  await style.evaluate((element) => (element as Element).remove());
}

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

/** After a crash: the Devices page (reloaded) says the change stopped and nothing changed; still two members of epoch 0. */
async function expectInterrupted(popup: Page): Promise<void> {
  await popup.reload();
  await openDevices(popup);
  await expect(popup.getByTestId('member-change')).toHaveAttribute('data-step', 'failed', LONG);
  await expect(popup.getByTestId('member-change-error')).toHaveText('Interrupted before it finished. Nothing changed: run it again.');
  expect(await epochOf(popup)).toBe(0);
  await expect(popup.getByTestId('member-list').locator('li')).toHaveCount(2);
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
  await popupShot(popup, testInfo.outputPath('popup-devices-three.png'));
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
  await popupShot(popup, testInfo.outputPath('popup-remove-confirm.png'));
  await rowA.getByTestId('member-remove-with').click();
  await expect(phoneB.getByTestId('decision-reshare')).toBeVisible(LONG);
  await phoneB.screenshot({ path: testInfo.outputPath('phone-approve-removal.png'), fullPage: true });
  await phoneB.getByTestId('decision-reshare').getByTestId('decision-approve').click();
  await expect(popup.getByTestId('removal-complete')).toBeVisible(LONG);
  figure(testInfo, 'remove-device-ms', performance.now() - removing);
  expect(await epochOf(popup)).toBe(2);
  await popupShot(popup, testInfo.outputPath('popup-removal-complete.png'));

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
  // Phone A lives apart from the browser that will be lost.
  const { popup, link: first } = await showPairingCode(context, extensionId, localStackUrls(relay, anvil.rpcUrl));
  const phoneA = await phoneInOwnContext(phones, fixtureKeys(0, 10));
  await scanAndConfirm(popup, phoneA, first);
  const address = ((await popup.getByTestId('address').textContent(LONG)) ?? '').trim();
  await popup.getByTestId('first-address-continue').click();
  const chain = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1 });
  await (await new Wallet(ANVIL_DEV_PRIVATE_KEY, chain).sendTransaction({ to: address, value: parseEther('3') })).wait();
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
    const { popup: newPopup, link } = await showRecoveryCode(fresh.context, fresh.extensionId, urls, testInfo.outputPath('popup-recovery-start.png'));

    const recovering = performance.now();
    await pairForRecovery(newPopup, phoneA, link);
    await phoneA.screenshot({ path: testInfo.outputPath('phone-recovering.png'), fullPage: true });
    await phoneA.getByTestId('recovery-start').filter({ hasText: 'Phone 2' }).click();
    await compareCodes(phoneB, newPopup, 'decision-dealer-code');
    await expect(newPopup.getByTestId('address')).toHaveText(address, LONG);
    await popupShot(newPopup, testInfo.outputPath('popup-recovered.png'));
    await newPopup.getByTestId('first-address-continue').click();
    await expect(newPopup.locator('[data-testid="account-select"] option').first()).toHaveText('Savings', LONG);

    // The first signature of the new browser: a transfer from its popup, co-signed by phone A.
    await sendFromPopup(fresh.context, newPopup, phoneA, RECIPIENT, '0.1');
    figure(testInfo, 'recover-browser-ms', performance.now() - recovering);
    expect(await chain.getBalance(address)).toBeLessThan(parseEther('3'));
    await openDevices(newPopup);
    await expect(newPopup.getByTestId('member-list').locator('li')).toHaveCount(3);
    await popupShot(newPopup, testInfo.outputPath('popup-devices-after-recovery.png'));
  } finally {
    await fresh.close();
  }
});

test('4. crash while adding a device: the new phone closed and the service worker stopped mid-change; the wallet still signs; run again, it completes', async ({ extension, dappServer, anvil }, testInfo) => {
  const { context, extensionId } = extension;
  const { popup, phone: phoneA, address, chain } = await startWallet(context, extensionId, anvil.rpcUrl);
  const dapp = await connectedDapp(context, dappServer.url);
  const phoneB = await phoneInOwnContext(phones, fixtureKeys(10, 10));

  const link = await showAddDeviceCode(popup);
  await scanAndConfirm(popup, phoneB, link);
  const adding = popup.getByTestId('member-change');
  await expect(adding).toHaveAttribute('data-step', 'verifying', LONG);
  await popupShot(popup, testInfo.outputPath('popup-add-verifying.png'));
  const phoneAppUrl = localStackUrls(relay, '').phoneAppUrl;

  /**
   * The new phone's app closed (the tab leaves it and keeps the phone's screen lock), the service
   * worker stopped as Chrome stops an idle one: the page says nothing changed, the browser and A
   * sign a transaction mined on anvil; then the new phone's app is opened again.
   */
  const crash = async (value: string): Promise<void> => {
    await phoneB.goto('about:blank');
    await restartServiceWorker(extension, popup);
    await expectInterrupted(popup);
    await mined(chain, await sendEth(context, dapp, address, RECIPIENT, parseEther(value), async () => phoneA.getByTestId('phone-approve').click()));
    await phoneB.goto(phoneAppUrl);
    await unlockPhone(phoneB);
  };

  // Crash 1, while the codes are compared. Run again, the dealer and the new phone compare a code again.
  await expect(phoneA.getByTestId('decision-candidate')).toBeVisible(LONG);
  await expect(phoneB.getByTestId(PHONE_DEALER_CODE)).toBeVisible(LONG);
  await crash('0.1');
  await popup.getByTestId('member-change-retry').click();

  // Crash 2, the moment the new phone's user approved the code (the reshare has just begun, and
  // needs the new phone's pair keys and signature to commit). Run again, it completes; same address.
  await compareCodes(phoneA, phoneB, PHONE_DEALER_CODE);
  await crash('0.15');
  const rerun = performance.now();
  await popup.getByTestId('member-change-retry').click();
  // Known, intermittent: the rerun can stall with every device at "joined" (a message of the round
  // lost while a channel re-keys after the restarts); the page's "Stuck? Run it again" completes it.
  await expect(popup.getByTestId('epoch'))
    .toHaveText('1', { timeout: 30_000 })
    .catch(async () => {
      console.log(`the rerun stalled, run once more: ${await membershipState(popup, [phoneA, phoneB])}`);
      await popup.getByTestId('member-change-retry').click();
      await expect(popup.getByTestId('epoch')).toHaveText('1', LONG);
    });
  figure(testInfo, 'add-device-rerun-ms', performance.now() - rerun);
  await expect(phoneB.getByTestId('phone-address')).toHaveText(address, LONG);
  await expect(popup.getByTestId('member-list').locator('li')).toHaveCount(3);
  await expect(popup.getByTestId('pair-list').locator('[data-can-sign="true"]')).toHaveCount(2, LONG);
  // The new member co-signs a transaction with this browser, A's app closed.
  await phoneA.goto('about:blank');
  await mined(chain, await sendEth(context, dapp, address, RECIPIENT, parseEther('0.2'), async (approval) => {
    await approval.getByTestId('ask-another-device').filter({ hasText: 'Phone 2' }).click();
    await phoneB.getByTestId('phone-approve').click();
  }));
});

test('5. a tainted pair: a compromised browser fails a signature with phone A; the browser and A remove it; they sign', async ({ extension, dappServer, anvil }, testInfo) => {
  const { context, extensionId } = extension;
  const urls = localStackUrls(relay, anvil.rpcUrl);
  // The compromised browser (Node, the extension's member links) adds Enc(1) = (1 + N) to c3 once
  // `paillierN` is set: a well-formed ciphertext, a wrong signature (CVE-2023-33242's probe).
  let paillierN = 0n;
  const tamper = (message: AppMessage): AppMessage => {
    if (paillierN === 0n || message.t !== 'sign' || (message.body as { type?: string }).type !== 'sign/4') return message;
    const body = message.body as { c3: string };
    return { ...message, body: { ...body, c3: encodeInteger((BigInt(`0x${body.c3}`) * (1n + paillierN)) % (paillierN * paillierN)) } };
  };
  const compromised = nodeBrowserMember(urls.relayWsUrl, urls.phoneAppUrl, 20, tamper);
  try {
    // The compromised browser and phone A make the wallet.
    const phoneA = await phoneInOwnContext(phones, fixtureKeys(0, 10));
    await compromised.link.pairing.start('new-wallet');
    await phoneA.goto(compromised.link.pairing.progress().link as string);
    await protectPhone(phoneA);
    await expect.poll(() => compromised.link.pairing.progress().sas, LONG).toMatch(/^\d{6}$/);
    await expect(phoneA.getByTestId('phone-sas')).toHaveText(compromised.link.pairing.progress().sas as string);
    compromised.link.pairing.confirmSas(true);
    await phoneA.getByTestId('phone-sas-match').click();
    await expect(phoneA.getByTestId('phone-address')).toBeVisible(LONG);
    const address = ((await phoneA.getByTestId('phone-address').textContent()) ?? '').trim();

    // This browser joins the wallet from phone A with the compromised browser as the second dealer (kept).
    const { popup, link } = await showRecoveryCode(context, extensionId, urls);
    await pairForRecovery(popup, phoneA, link);
    await phoneA.getByTestId('recovery-remove').uncheck();
    await phoneA.getByTestId('recovery-start').click();
    await expect.poll(() => compromised.decisions().find((decision) => decision.kind === 'candidate')?.id ?? '', LONG).not.toBe('');
    const candidate = compromised.decisions().find((decision) => decision.kind === 'candidate') as { id: string; sas: string };
    await expect(popup.getByTestId('decision-dealer-code').getByTestId('decision-sas')).toHaveText(candidate.sas, LONG);
    compromised.decide(candidate.id, true);
    await popup.getByTestId('decision-dealer-code').getByTestId('decision-approve').click();
    await expect(popup.getByTestId('address')).toHaveText(address, LONG);
    await popup.getByTestId('first-address-continue').click();
    const chain = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1 });
    await (await new Wallet(ANVIL_DEV_PRIVATE_KEY, chain).sendTransaction({ to: address, value: parseEther('3') })).wait();

    // The compromised browser's signature with A fails A's check: A records it as the suspect.
    const memberA = compromised.view()?.members.find((member) => member.role === 'phone');
    expect(memberA).toBeDefined();
    paillierN = await compromised.pairModulus(memberA?.index as number);
    const probe = compromised.sign(personalSignRequest(address, '0x48656c6c6f'), memberA?.key).catch((error: unknown) => error);
    await phoneA.getByTestId('phone-approve').click();
    const failure = await probe;
    expect(failure).toBeInstanceOf(CoSignerFailedError);
    expect((failure as CoSignerFailedError).code).toBe('tainted');
    // A refuses it from now on, without asking its user.
    const again = await compromised.sign(personalSignRequest(address, '0x48656c6c6f'), memberA?.key).catch((error: unknown) => error);
    expect((again as CoSignerFailedError).code).toBe('tainted');

    // Every member knows the suspect: this browser's Devices page names it and offers its removal.
    await openDevices(popup);
    const suspectRow = popup.getByTestId('member-list').locator('li').filter({ has: popup.getByTestId('member-suspect') });
    await expect(suspectRow).toHaveCount(1, LONG);
    await expect(suspectRow.getByTestId('member-remove')).toHaveClass(/danger/);
    await popupShot(popup, testInfo.outputPath('popup-suspect.png'));
    const epoch = await epochOf(popup);
    await suspectRow.getByTestId('member-remove').click();
    await suspectRow.getByTestId('member-remove-with').click();
    await expect(phoneA.getByTestId('decision-reshare')).toBeVisible(LONG);
    await phoneA.getByTestId('decision-reshare').getByTestId('decision-approve').click();
    await expect(popup.getByTestId('removal-complete')).toBeVisible(LONG);
    expect(await epochOf(popup)).toBe(epoch + 1);
    await expect(popup.getByTestId('member-list').locator('li')).toHaveCount(2, LONG);
    await expect(popup.getByTestId('member-suspect')).toHaveCount(0);

    // The remaining pair signs a transaction mined on anvil; same address.
    const dapp = await connectedDapp(context, dappServer.url);
    await mined(chain, await sendEth(context, dapp, address, RECIPIENT, parseEther('0.1'), async () => phoneA.getByTestId('phone-approve').click()));
    await expect(phoneA.getByTestId('phone-address')).toHaveText(address);
    // The removed browser co-signs with nobody.
    const removed = await compromised.sign(personalSignRequest(address, '0x48656c6c6f'), memberA?.key).catch((error: unknown) => error);
    expect(removed).toBeInstanceOf(CoSignerFailedError);
  } finally {
    compromised.close();
  }
});

test('6. replace a lost phone: one change removes A and adds C (dealt by the browser and B); the browser and C sign', async ({ extension, dappServer, anvil }) => {
  const { context, extensionId } = extension;
  const { popup, phone: phoneA, address, chain } = await startWallet(context, extensionId, anvil.rpcUrl);
  const phoneB = await phoneInOwnContext(phones, fixtureKeys(10, 10));
  await addPhone(popup, phoneA, phoneB);
  await phoneA.goto('about:blank');

  // Phone A's row → "Replace": an add-device code whose change also removes A.
  await popup.getByTestId('member-1').getByTestId('member-replace').click();
  const link = await decodeRenderedQr(popup.getByTestId('pairing-qr'));
  const phoneC = await phoneInOwnContext(phones, fixtureKeys(20, 10));
  await scanAndConfirm(popup, phoneC, link);
  await compareCodes(phoneB, phoneC, PHONE_DEALER_CODE);
  await expect(popup.getByTestId('epoch')).toHaveText('2', LONG);
  await expect(popup.getByTestId('member-list').locator('li')).toHaveCount(3);
  await expect(popup.getByTestId('member-1')).toHaveCount(0);
  await expect(popup.getByTestId('removal-status')).toBeVisible();
  await expect(phoneC.getByTestId('phone-address')).toHaveText(address, LONG);

  const dapp = await connectedDapp(context, dappServer.url);
  await mined(chain, await sendEth(context, dapp, address, RECIPIENT, parseEther('0.1'), async (approval) => {
    await approval.getByTestId('ask-another-device').filter({ hasText: 'Phone 3' }).click();
    await phoneC.getByTestId('phone-approve').click();
  }));
});
