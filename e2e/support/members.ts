/**
 * Steps of the devices flows through the real UI, shared by e2e/devices.spec.ts: phones in their
 * own browser contexts (their own storage, each with a screen lock), fixture Paillier keys handed
 * to the phone app through its development hook (src/phone/dev-hooks.ts) so adding a member does
 * not spend seconds of key generation per pair, adding a phone from the extension's Devices page
 * with the code compared on the dealer and the new phone, and a co-signed transfer.
 */
import { readFileSync } from 'node:fs';
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { chromium } from 'playwright-core';
import { findChromium } from '../../src/devstack/chromium.ts';
import { approvalWindow, createVault, decodeRenderedQr, dappRequest, newPhonePage, openPopup, protectPhone, type DappResult, type StackUrls } from '../../src/devstack/demo-flow.ts';

const LONG_MS = 90_000;

interface InjectedKey {
  readonly p: string;
  readonly q: string;
  readonly proof: unknown;
}

const fixtures = JSON.parse(readFileSync('test/fixtures/paillier-keys.json', 'utf8')) as { keys: { p: string; q: string }[] };
const proofs = (JSON.parse(readFileSync('test/fixtures/paillier-modulus-proofs.json', 'utf8')) as { proofs: unknown[] }).proofs;

/** Fixture keys [first, first + count), with their modulus proofs. */
export function fixtureKeys(first: number, count: number): InjectedKey[] {
  return fixtures.keys.slice(first, first + count).map((key, k) => ({ p: key.p, q: key.q, proof: proofs[first + k] }));
}

/** Every phone page of `context` gets these keys (one counter per origin: each key is used once). */
export async function givePhoneKeys(context: BrowserContext, keys: readonly InjectedKey[]): Promise<void> {
  await context.addInitScript((injected) => {
    (globalThis as { __duetTestPaillierKeys?: unknown }).__duetTestPaillierKeys = injected;
  }, keys);
}

/** A browser for the phones other than the first (each in a context of its own). */
export function launchPhones(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), headless: true, args: ['--disable-background-networking', '--no-first-run', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])] }) as unknown as Promise<Browser>;
}

export async function phoneInOwnContext(browser: Browser, keys: readonly InjectedKey[]): Promise<Page> {
  const context = await browser.newContext({ isMobile: true, hasTouch: true, viewport: { width: 390, height: 844 } });
  await givePhoneKeys(context, keys);
  return newPhonePage(context);
}

export async function openDevices(popup: Page): Promise<void> {
  await popup.getByTestId('nav-devices').click();
  await expect(popup.getByTestId('devices')).toBeVisible();
}

export async function epochOf(popup: Page): Promise<number> {
  return Number(await popup.getByTestId('epoch').textContent());
}

/** The dealer's screen and the new device's show a code: the same one; both users approve. */
export async function compareCodes(dealer: Page, newcomer: Page, newcomerDecision = 'decision-dealer-code', dealerDecision = 'decision-candidate'): Promise<string> {
  const onDealer = dealer.getByTestId(dealerDecision);
  const onNewcomer = newcomer.getByTestId(newcomerDecision);
  await expect(onDealer).toBeVisible({ timeout: LONG_MS });
  await expect(onNewcomer).toBeVisible({ timeout: LONG_MS });
  const code = ((await onDealer.getByTestId('decision-sas').textContent()) ?? '').trim();
  expect(code).toMatch(/^\d{6}$/);
  await expect(onNewcomer.getByTestId('decision-sas')).toHaveText(code);
  await onDealer.getByTestId('decision-approve').click();
  await onNewcomer.getByTestId('decision-approve').click();
  return code;
}

/** The phone decision on a phone page is 'decision-dealer' (its card's test id). */
export const PHONE_DEALER_CODE = 'decision-dealer';

/** Devices page → "Add a device": the link the QR code holds. */
export async function showAddDeviceCode(popup: Page): Promise<string> {
  await openDevices(popup);
  await popup.getByTestId('add-device').click();
  const link = await decodeRenderedQr(popup.getByTestId('pairing-qr'));
  expect(link).toBe(await popup.getByTestId('pairing-link').inputValue());
  return link;
}

/** The new phone opens the code, both users confirm the pairing code. */
export async function scanAndConfirm(popup: Page, newcomer: Page, link: string, firstRun = true): Promise<void> {
  await newcomer.goto(link);
  if (firstRun) await protectPhone(newcomer);
  const sas = ((await newcomer.getByTestId('phone-sas').textContent({ timeout: LONG_MS })) ?? '').trim();
  await expect(popup.getByTestId('pairing-sas')).toHaveText(sas);
  await newcomer.getByTestId('phone-sas-match').click();
  await popup.getByTestId('sas-match').click();
}

/** A browser without a wallet: onboarding → "I already have a Duet wallet"; returns its popup and the recover link its QR code holds. */
export async function showRecoveryCode(context: BrowserContext, extensionId: string, urls: StackUrls, screenshotPath?: string): Promise<{ popup: Page; link: string }> {
  const popup = await openPopup(context, extensionId);
  await createVault(popup, urls);
  if (screenshotPath) await popup.screenshot({ path: screenshotPath });
  await popup.getByTestId('start-recovery').click();
  return { popup, link: await decodeRenderedQr(popup.getByTestId('pairing-qr')) };
}

/** A member phone whose app is open takes the recover link (only its fragment changes); both users confirm the pairing code. */
export async function pairForRecovery(popup: Page, phone: Page, link: string): Promise<void> {
  await phone.goto(link);
  const sas = ((await phone.getByTestId('phone-sas').textContent({ timeout: LONG_MS })) ?? '').trim();
  await expect(popup.getByTestId('pairing-sas')).toHaveText(sas);
  await phone.getByTestId('phone-sas-match').click();
  await popup.getByTestId('sas-match').click();
  await expect(phone.getByTestId('phone-recovering')).toBeVisible({ timeout: LONG_MS });
}

/** Adds `newcomer` from the extension's Devices page, `dealer` (a phone) dealing with the browser. Returns the new epoch. */
export async function addPhone(popup: Page, dealer: Page, newcomer: Page): Promise<number> {
  const before = await epochOfNow(popup);
  const link = await showAddDeviceCode(popup);
  await scanAndConfirm(popup, newcomer, link);
  await compareCodes(dealer, newcomer, PHONE_DEALER_CODE);
  await expect(popup.getByTestId('epoch'))
    .toHaveText(String(before + 1), { timeout: LONG_MS })
    .catch(async (error: unknown) => {
      console.log(`adding stalled: ${await membershipState(popup, [dealer, newcomer])}`);
      throw error;
    });
  await expect(newcomer.getByTestId('phone-address')).toBeVisible({ timeout: LONG_MS });
  return before + 1;
}

/** Where every device is in a membership change, for a failure's message. */
export async function membershipState(popup: Page, phones: readonly Page[]): Promise<string> {
  const change = await popup.getByTestId('member-change').getAttribute('data-step', { timeout: 1000 }).catch(() => 'none');
  const error = await popup.getByTestId('member-change-error').textContent({ timeout: 1000 }).catch(() => '');
  const steps = await Promise.all(phones.map(async (phone) => `${await phone.getByTestId('phone-root').getAttribute('data-screen').catch(() => '?')}/${await phone.locator('[data-step]').first().getAttribute('data-step', { timeout: 1000 }).catch(() => '-')}`));
  return JSON.stringify({ browser: { change, error }, phones: steps });
}

async function epochOfNow(popup: Page): Promise<number> {
  await openDevices(popup);
  return epochOf(popup);
}

/** eth_sendTransaction from the dApp approved in the window; `approve` does the co-signer's part. Returns the dApp's answer. */
export async function sendEth(context: BrowserContext, dapp: Page, from: string, to: string, valueWei: bigint, approve: (approval: Page) => Promise<void>): Promise<DappResult> {
  const sending = dappRequest(dapp, 'eth_sendTransaction', [{ from, to, value: `0x${valueWei.toString(16)}` }]);
  const approval = await approvalWindow(context);
  await approval.getByTestId('approve').click();
  await approve(approval);
  return sending;
}

/** A transfer from the popup's Send screen, approved in the window and co-signed on `phone`: "Signed by both devices and sent." */
export async function sendFromPopup(context: BrowserContext, popup: Page, phone: Page, to: string, amount: string): Promise<void> {
  await popup.getByTestId('open-send').click();
  await popup.getByTestId('send-to').fill(to);
  await popup.getByTestId('send-amount').fill(amount);
  await popup.getByTestId('send-review-button').click();
  await popup.getByTestId('send-confirm').click();
  const approval = await approvalWindow(context);
  await approval.getByTestId('approve').click();
  await phone.getByTestId('phone-approve').click();
  await expect(approval.getByTestId('approval-status')).toHaveText('Signed by both devices and sent.', { timeout: LONG_MS });
}
