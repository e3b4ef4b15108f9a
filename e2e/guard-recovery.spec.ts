/**
 * A lost phone replaced with the Duet Guard as the second dealer, end to end (issue 15,
 * docs/guard.md "Recovery"): the built extension in Chromium, the phone app pages, the relay, anvil,
 * and a real Guard in its own process on PGlite. The wallet is {browser, phone, Guard}; the phone
 * is lost. "Replace" on its row: a new phone (its own browser context) pairs with the browser and
 * links to the Guard by the Guard link the Devices page shows; a wrong authenticator code is
 * refused and opens nothing; the right one opens the recovery ("Recovery ready at …", "Finish"
 * disabled).
 *
 * The security period passes by the Guard's clock: the Guard is killed and started again on the
 * same data folder with `clockOffset` 49 h ahead. Its clock is the only one that moves, so the
 * browser learns it from the Guard (`status` → now; "Check with the Guard"); TOTP codes are
 * computed at the Guard's time (here: before it moves); the new phone links to the Guard before
 * the clock moves (an enrolment offer made by the phone carries the phone's expiry); and the first
 * signature afterwards is the new phone's with the browser (a request to the Guard 49 h ahead would
 * be refused as stale_request, ±15 min).
 *
 * The Guard refuses an early proposal: the browser read the Guard's clock at +49 h, the Guard is
 * started again at +0 (its clock went back) — "Finish" sends the proposal and the Guard refuses it
 * (shown; nothing changes). Started again at +49 h: "Finish" → the new phone joins, same address,
 * and co-signs a transaction with the browser, mined on anvil.
 *
 * Then a lost browser: a fresh profile pairs with the phone ("I already have a Duet wallet"), links to
 * the Guard by the Guard link the phone shows; the phone opens the recovery with the code and, once
 * the Guard's clock passed the period, finishes it; the new browser shows the same address and sends
 * a transfer the phone co-signs.
 */
import { JsonRpcProvider, Wallet, parseEther } from 'ethers';
import type { Browser, Page } from '@playwright/test';
import { ANVIL_DEV_PRIVATE_KEY } from '../src/devstack/anvil.ts';
import { connectDapp, decodeRenderedQr, localStackUrls, onboardAndPair, showPairingCode } from '../src/devstack/demo-flow.ts';
import { launchExtensionBrowser } from '../src/devstack/extension-browser.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay-server.ts';
import { generateOtp } from '../test/guard/support/totp.ts';
import { expect, test } from './fixtures.ts';
import { addGuardFromDevices, linkPhoneToGuard, startE2eGuard, type E2eGuard } from './support/guard.ts';
import { fixtureKeys, givePhoneKeys, launchPhones, openDevices, pairForRecovery, phoneInOwnContext, scanAndConfirm, sendEth, sendFromPopup, showRecoveryCode } from './support/members.ts';

const RECIPIENT = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const LONG = { timeout: 90_000 };
const HOUR = 3_600_000;

let relay: RunningRelay;
let guard: E2eGuard;
let phones: Browser;
const guardOrigins: string[] = [];

test.beforeAll(async () => {
  relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined, phoneGuardOrigins: () => guardOrigins });
  guard = await startE2eGuard(relay, guardOrigins);
  phones = await launchPhones();
});
test.afterAll(async () => {
  await phones?.close();
  await guard?.close();
  await relay?.close();
});

/** "Check with the Guard" until it answers (its process may be starting) and the card is at `step`. */
async function checkWithGuard(popup: Page, step: string): Promise<void> {
  const card = popup.getByTestId('guard-recovery');
  const refresh = popup.getByTestId('guard-recovery-refresh');
  await expect(async () => {
    await refresh.click();
    // The check is done (the Guard answered, or did not in time) before the step is read.
    await expect(refresh).toBeEnabled({ timeout: 40_000 });
    await expect(card).toHaveAttribute('data-step', step, { timeout: 1_000 });
  }).toPass({ timeout: 150_000 });
}

test('lost phone replaced with the Guard as dealer: wrong code refused, early proposal refused, after the period the new phone joins and signs', async ({ extension, dappServer, anvil }) => {
  test.setTimeout(300_000);
  const { context, extensionId } = extension;
  const urls = localStackUrls(relay, anvil.rpcUrl);
  await givePhoneKeys(context, fixtureKeys(0, 10));
  const { popup, phone, address } = await onboardAndPair(context, extensionId, urls);
  await popup.getByTestId('first-address-continue').click();
  const chain = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1 });
  await (await new Wallet(ANVIL_DEV_PRIVATE_KEY, chain).sendTransaction({ to: address, value: parseEther('2') })).wait();
  const secret = await addGuardFromDevices(popup, phone, guard.process);
  await expect(popup.getByTestId('epoch')).toHaveText('1', LONG);

  // The phone is lost. "Replace" on its row; a new phone scans the code; both compare the pairing code.
  await phone.goto('about:blank');
  await popup.locator('[data-role="phone"]').getByTestId('member-replace').click();
  const link = await decodeRenderedQr(popup.getByTestId('pairing-qr'));
  const newPhone = await phoneInOwnContext(phones, fixtureKeys(20, 10));
  await scanAndConfirm(popup, newPhone, link);

  // Only the Guard can deal with the browser now: the new phone links to the Guard first.
  const card = popup.getByTestId('guard-recovery');
  await expect(card).toHaveAttribute('data-step', 'link-device', LONG);
  await expect(popup.getByTestId('guard-recovery-qr')).toBeVisible(LONG);
  await expect(newPhone.getByTestId('phone-joining')).toBeVisible(LONG);
  await linkPhoneToGuard(newPhone, await popup.getByTestId('guard-recovery-device-link').inputValue());

  // A wrong code: the Guard's message, nothing opened.
  await popup.getByTestId('guard-recovery-code').fill(generateOtp(secret, Date.now() + 10 * 60_000));
  await popup.getByTestId('guard-recovery-open').click();
  await expect(popup.getByTestId('guard-recovery-error')).toContainText('Wrong code', LONG);
  await expect(card).toHaveAttribute('data-step', 'link-device');
  // The right code (the next step's: the enrolment's step may be the current one).
  await popup.getByTestId('guard-recovery-code').fill(generateOtp(secret, Date.now() + 30_000));
  await popup.getByTestId('guard-recovery-open').click();
  await expect(card).toHaveAttribute('data-step', 'waiting', LONG);
  await expect(popup.getByTestId('guard-recovery-ready-at')).not.toBeEmpty();
  await expect(popup.getByTestId('guard-recovery-finish')).toBeDisabled();
  await expect(popup.getByTestId('guard-recovery-finish')).toContainText('from');

  // The Guard's clock passes the period (killed, started again 49 h ahead): the browser asks it, "Finish" is enabled.
  await guard.restart(49 * HOUR);
  await checkWithGuard(popup, 'ready');
  // The Guard's clock goes back (started again at +0) before the browser asks again: its proposal is early, the Guard refuses.
  await guard.restart(0);
  await expect(popup.getByTestId('guard-recovery-finish')).toBeEnabled({ timeout: 5_000 }).catch(async (error: unknown) => {
    throw new Error(`Finish is disabled: ${await card.getAttribute('data-step')} ${await popup.getByTestId('guard-recovery-error').textContent({ timeout: 1000 }).catch(() => '')}`, { cause: error });
  });
  await popup.getByTestId('guard-recovery-finish').click();
  await expect(popup.getByTestId('guard-recovery-error')).toContainText('only after its security period', LONG);
  await expect(popup.getByTestId('epoch')).toHaveText('1');
  await expect(popup.getByTestId('member-list').locator('li')).toHaveCount(3);
  await checkWithGuard(popup, 'waiting');

  // 49 hours later by the Guard's clock, the popup opened again: the recovery finishes.
  await guard.restart(49 * HOUR);
  await popup.reload();
  await openDevices(popup);
  await checkWithGuard(popup, 'ready');
  await popup.getByTestId('guard-recovery-finish').click();
  await expect(popup.getByTestId('epoch')).toHaveText('2', LONG);
  await expect(popup.getByTestId('guard-recovery')).toHaveCount(0, LONG);
  await expect(popup.locator('[data-role="phone"]')).toHaveCount(1);
  await expect(newPhone.getByTestId('phone-address')).toHaveText(address, LONG);

  // The new phone co-signs a transaction with the browser (asked first), mined on anvil.
  const newRow = popup.locator('[data-role="phone"]');
  await expect(newRow.getByTestId('member-make-default')).toBeVisible(LONG);
  await newRow.getByTestId('member-make-default').click();
  const dapp = await context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  await connectDapp(context, dapp);
  const sent = await sendEth(context, dapp, address, RECIPIENT, parseEther('0.1'), async () => newPhone.getByTestId('phone-approve').click());
  expect(sent.error).toBeUndefined();
  const receipt = await chain.waitForTransaction(sent.result as string, 1, 60_000);
  expect(receipt?.status).toBe(1);
});

test('lost browser recovered in a new profile with the phone and the Guard as dealers: opened on the phone with the code, finished after the period; same address, the new browser signs', async ({ extension, anvil }) => {
  test.setTimeout(300_000);
  // The Guard's clock back with the browsers' (a new wallet's enrolment offer carries the browser's expiry).
  await guard.restart(0);
  const { context, extensionId } = extension;
  const urls = localStackUrls(relay, anvil.rpcUrl);
  // The phone lives apart from the browser that will be lost.
  const { popup, link: first } = await showPairingCode(context, extensionId, urls);
  const phone = await phoneInOwnContext(phones, fixtureKeys(0, 10));
  await scanAndConfirm(popup, phone, first);
  const address = ((await popup.getByTestId('address').textContent(LONG)) ?? '').trim();
  await popup.getByTestId('first-address-continue').click();
  const chain = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1 });
  await (await new Wallet(ANVIL_DEV_PRIVATE_KEY, chain).sendTransaction({ to: address, value: parseEther('1') })).wait();
  const secret = await addGuardFromDevices(popup, phone, guard.process);

  // The laptop is gone: a fresh profile recovers; the phone coordinates with the Guard as second dealer.
  await context.close();
  const fresh = await launchExtensionBrowser({ headless: process.env.HEADED !== '1' });
  try {
    const { popup: newPopup, link } = await showRecoveryCode(fresh.context, fresh.extensionId, urls);
    await pairForRecovery(newPopup, phone, link);
    await phone.getByTestId('recovery-start').filter({ hasText: 'Duet Guard' }).click();
    const card = phone.getByTestId('phone-guard-recovery');
    await expect(card).toHaveAttribute('data-step', 'link-device', LONG);
    const guardLink = phone.getByTestId('phone-guard-recovery-link');
    await expect(guardLink).toHaveValue(/#guard=/, LONG);

    // The new browser links to the Guard by the phone's Guard link and compares the Guard's code.
    await newPopup.getByTestId('joining-guard-link').locator('summary').click();
    await newPopup.getByTestId('joining-guard-link-input').fill(await guardLink.inputValue());
    await newPopup.getByTestId('joining-guard-link-submit').click();
    await expect(newPopup.getByTestId('guard-sas')).toHaveText(/^\d{6}$/, LONG);
    await newPopup.getByTestId('guard-sas-match').click();
    await expect(newPopup.getByTestId('joining-guard-linked')).toBeVisible(LONG);

    // The phone opens the recovery with the code; the period passes by the Guard's clock; the phone finishes it.
    await phone.getByTestId('phone-guard-recovery-code').fill(generateOtp(secret, Date.now() + 30_000));
    await phone.getByTestId('phone-guard-recovery-open').click();
    await expect(card).toHaveAttribute('data-step', 'waiting', LONG);
    await expect(phone.getByTestId('phone-guard-recovery-finish')).toBeDisabled();
    await guard.restart(49 * HOUR);
    await expect(async () => {
      await phone.getByTestId('phone-guard-recovery-refresh').click();
      await expect(card).toHaveAttribute('data-step', 'ready', { timeout: 3_000 });
    }).toPass({ timeout: 150_000 });
    await phone.getByTestId('phone-guard-recovery-finish').click();
    await expect(newPopup.getByTestId('address')).toHaveText(address, LONG).catch(async (error: unknown) => {
      const text = async (page: Page, id: string) => page.getByTestId(id).first().textContent({ timeout: 1000 }).catch(() => '-');
      throw new Error(`not recovered: phone ${await card.getAttribute('data-step', { timeout: 1000 }).catch(() => 'gone')} ${await text(phone, 'phone-recovering')} | browser ${await text(newPopup, 'recovery-joining')}`, { cause: error });
    });
    await newPopup.getByTestId('first-address-continue').click();

    // The new browser's first signature: a transfer co-signed by the phone, mined.
    await sendFromPopup(fresh.context, newPopup, phone, RECIPIENT, '0.1');
  } finally {
    await fresh.close();
  }
});
