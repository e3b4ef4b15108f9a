/**
 * The user's steps through the real UI, shared by `npm start --headless` and the end-to-end
 * tests: onboarding and pairing (extension popup + phone page), connecting a dApp, and a
 * co-signed ETH transfer. Each step drives the pages as a person would and waits for the result.
 */
import jsQR from 'jsqr';
import type { BrowserContext, CDPSession, Locator, Page } from 'playwright-core';

export const DEMO_PASSWORD = 'correct horse battery';
/** For phones without a usable screen lock (WebKit here): above the phone's 60-bit minimum. */
export const DEMO_PASSPHRASE = 'violin orbit candle meadow fossil drift';
const LONG_WAIT_MS = 60_000;

export interface StackUrls {
  readonly relayWsUrl: string;
  readonly phoneAppUrl: string;
  readonly rpcUrl: string;
}

/**
 * The local stack's addresses as the browsers use them: the relay (which serves the phone app)
 * by the name `localhost`, where WebAuthn works (not on 127.0.0.1) and the app's CSP `'self'`
 * covers the relay's WebSocket too.
 */
export function localStackUrls(relay: { readonly port: number }, rpcUrl: string): StackUrls {
  return { relayWsUrl: `ws://localhost:${relay.port}`, phoneAppUrl: `http://localhost:${relay.port}/`, rpcUrl };
}

export interface PairedDevices {
  readonly popup: Page;
  readonly phone: Page;
  readonly address: string;
  readonly sas: string;
}

type Ethereum = { request(args: { method: string; params?: unknown[] }): Promise<unknown> };
export type DappResult = { result?: unknown; error?: { code: number; message: string } };

/** Reads a rendered QR code <img> back into pixels in the page and decodes it with jsQR. */
export async function decodeRenderedQr(image: Locator): Promise<string> {
  const pixels = await image.evaluate((element) => {
    const img = element as HTMLImageElement;
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d') as CanvasRenderingContext2D;
    context.drawImage(img, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height);
    // Base64 of the raw RGBA bytes: far cheaper to hand to Node than an array of numbers.
    let binary = '';
    for (let offset = 0; offset < data.data.length; offset += 0x8000) binary += String.fromCharCode(...data.data.subarray(offset, offset + 0x8000));
    return { width: data.width, height: data.height, rgba: btoa(binary) };
  });
  const decoded = jsQR(new Uint8ClampedArray(Buffer.from(pixels.rgba, 'base64')), pixels.width, pixels.height);
  if (!decoded) throw new Error('the QR code on the page could not be decoded');
  return decoded.data;
}

/** The popup of a browser without a wallet, at its first screen. */
export async function openPopup(context: BrowserContext, extensionId: string): Promise<Page> {
  const popup = await context.newPage();
  await popup.setViewportSize({ width: 360, height: 600 });
  await popup.goto(`chrome-extension://${extensionId}/extension/popup/index.html`);
  return popup;
}

/** Onboarding's first screen: the password and the local stack's URLs. */
export async function createVault(popup: Page, urls: StackUrls): Promise<void> {
  await popup.getByTestId('create-password').fill(DEMO_PASSWORD);
  await popup.getByTestId('create-confirm').fill(DEMO_PASSWORD);
  await popup.locator('details summary').click();
  await popup.getByTestId('create-relay').fill(urls.relayWsUrl);
  await popup.getByTestId('create-phone-app').fill(urls.phoneAppUrl);
  await popup.getByTestId('create-rpc').fill(urls.rpcUrl);
  await popup.getByTestId('create-submit').click();
}

/** Onboarding in the popup up to the pairing code: returns the popup and the link decoded from the rendered QR code. */
export async function showPairingCode(context: BrowserContext, extensionId: string, urls: StackUrls): Promise<{ popup: Page; link: string }> {
  const popup = await openPopup(context, extensionId);
  await createVault(popup, urls);
  await popup.getByTestId('start-pairing').click();
  await popup.getByTestId('pairing-qr').waitFor();
  const link = await decodeRenderedQr(popup.getByTestId('pairing-qr'));
  const shown = await popup.getByTestId('pairing-link').inputValue();
  if (link !== shown) throw new Error('the pairing QR code does not hold the link shown next to it');
  return { popup, link };
}

/** A phone page's virtual authenticator: the CDP session it lives in and its id. */
export interface PhoneAuthenticator {
  readonly cdp: CDPSession;
  readonly authenticatorId: string;
}

const authenticators = new WeakMap<Page, PhoneAuthenticator>();

/** The virtual authenticator of a page made by newPhonePage. */
export function phoneAuthenticator(phone: Page): PhoneAuthenticator {
  const authenticator = authenticators.get(phone);
  if (!authenticator) throw new Error('this page was not made by newPhonePage');
  return authenticator;
}

/**
 * A new page sized like a phone, with a screen lock: Chromium's virtual platform authenticator
 * (CDP WebAuthn: internal transport, user verification on, PRF) attached to it. The authenticator
 * lives with the tab: a reload or navigation keeps it (and the credential), a new tab has its own.
 * WebAuthn needs the phone app on http://localhost (not 127.0.0.1) or https.
 */
export async function newPhonePage(context: BrowserContext): Promise<Page> {
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  const cdp = await context.newCDPSession(phone);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, hasPrf: true, automaticPresenceSimulation: true },
  });
  authenticators.set(phone, { cdp, authenticatorId });
  return phone;
}

/** First run on the phone: the vault is keyed by the phone's screen lock. */
export async function protectPhone(phone: Page): Promise<void> {
  await phone.getByTestId('key-device').click();
}

/** The phone's unlock screen, opened with its screen lock. */
export async function unlockPhone(phone: Page): Promise<void> {
  await phone.getByTestId('unlock-submit').click();
}

/**
 * Onboarding in the popup, then the phone opens the pairing link, both confirm the SAS, keygen
 * runs. The phone's page opens in `phoneContext` (another browser, as a phone is another device),
 * by default in the extension's browser.
 */
export async function onboardAndPair(context: BrowserContext, extensionId: string, urls: StackUrls, phoneContext: BrowserContext = context): Promise<PairedDevices> {
  const { popup, link } = await showPairingCode(context, extensionId, urls);
  const phone = await newPhonePage(phoneContext);
  await phone.goto(link);
  await protectPhone(phone);
  const sas = ((await phone.getByTestId('phone-sas').textContent()) ?? '').trim();
  await popup.getByTestId('pairing-sas').waitFor();
  const popupSas = ((await popup.getByTestId('pairing-sas').textContent()) ?? '').trim();
  if (popupSas !== sas) throw new Error(`the two screens show different codes (${popupSas} / ${sas})`);
  await phone.getByTestId('phone-sas-match').click();
  await popup.getByTestId('sas-match').click();
  await popup.getByTestId('address').waitFor({ timeout: LONG_WAIT_MS });
  const address = ((await popup.getByTestId('address').textContent()) ?? '').trim();
  await phone.getByTestId('phone-address').waitFor({ timeout: LONG_WAIT_MS });
  return { popup, phone, address, sas };
}

/** A provider request from the dApp page, not awaited by the page's own code. */
export function dappRequest(dapp: Page, method: string, params: unknown[] = []): Promise<DappResult> {
  return dapp.evaluate(
    async ({ method, params }) => {
      try {
        return { result: await (window as unknown as { ethereum: Ethereum }).ethereum.request({ method, params }) };
      } catch (error) {
        const e = error as { code: number; message: string };
        return { error: { code: e.code, message: e.message } };
      }
    },
    { method, params },
  );
}

const isApprovalWindow = (page: Page) => page.url().includes('/extension/approval/');

/** The approval window, once the extension has opened it (it is reused while open). */
export async function approvalWindow(context: BrowserContext): Promise<Page> {
  return context.pages().find(isApprovalWindow) ?? context.waitForEvent('page', { predicate: isApprovalWindow, timeout: LONG_WAIT_MS });
}

/** eth_requestAccounts, approved in the approval window; returns that window. */
export async function connectDapp(context: BrowserContext, dapp: Page): Promise<{ approval: Page; accounts: DappResult }> {
  const opened = context.pages().find(isApprovalWindow) ? null : context.waitForEvent('page', { predicate: isApprovalWindow, timeout: LONG_WAIT_MS });
  const connecting = dappRequest(dapp, 'eth_requestAccounts');
  const approval = opened ? await opened : await approvalWindow(context);
  await approval.getByTestId('approve').click();
  return { approval, accounts: await connecting };
}

/** eth_sendTransaction approved in the extension and then on the phone; resolves with the dApp's answer. */
export async function sendEthCoSigned(approval: Page, phone: Page, dapp: Page, from: string, to: string, valueWei: bigint): Promise<{ result: DappResult; phoneApprovedAt: number; signedAt: number }> {
  const sending = dappRequest(dapp, 'eth_sendTransaction', [{ from, to, value: `0x${valueWei.toString(16)}` }]);
  await approval.getByTestId('approve').click();
  await phone.getByTestId('phone-approve').click();
  const phoneApprovedAt = performance.now();
  const result = await sending;
  return { result, phoneApprovedAt, signedAt: performance.now() };
}

/** Settings › Advanced in the popup: the direct path on or off (ICE servers left as they are). */
export async function setDirectPath(popup: Page, enabled: boolean): Promise<void> {
  await popup.getByTestId('nav-settings').click();
  const details = popup.locator('details', { has: popup.getByTestId('direct-path-enabled') });
  if (!(await details.evaluate((element) => (element as HTMLDetailsElement).open))) await details.locator('summary').click();
  await popup.getByTestId('direct-path-enabled').setChecked(enabled);
  await popup.getByTestId('direct-path-save').click();
  await popup.getByTestId('direct-path-saved').waitFor();
}

/** Waits until the popup's Devices page shows `path` ("direct" or "via relay") for the phone. */
export async function waitForPhonePath(popup: Page, path: 'direct' | 'via relay', timeout = LONG_WAIT_MS): Promise<void> {
  await popup.getByTestId('nav-devices').click();
  await popup.getByTestId('device-path').filter({ hasText: new RegExp(`^${path}$`) }).waitFor({ timeout });
}
