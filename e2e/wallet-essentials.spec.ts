/**
 * The wallet a user expects from the popup, in real Chromium with the built extension, the phone
 * app over the relay and anvil: receive (the QR decodes to the address), tokens added by address
 * and by a site (wallet_watchAsset), sending ETH and a token from the popup through the approval
 * window and the phone, a call that will fail flagged on both screens, and a pending transaction
 * followed across a service-worker restart and sped up (anvil with automine off, then mined).
 *
 * Steps run in order and share the paired wallet. Screenshots for docs/screenshots go to the
 * test's output folder.
 */
import type { BrowserContext, Page, TestInfo } from '@playwright/test';
import { JsonRpcProvider, NonceManager, Wallet, parseEther } from 'ethers';
import { deployDemoToken } from '../src/devstack/demo-token.ts';
import { launchExtensionBrowser, type ExtensionBrowser } from '../src/devstack/extension-browser.ts';
import { approvalWindow, connectDapp, dappRequest, decodeRenderedQr, localStackUrls, onboardAndPair } from '../src/devstack/demo-flow.ts';
import { encodeTokenTransfer } from '../src/wallet/token-call.ts';
import { restartServiceWorker } from './support/service-worker.ts';
import { expect, test } from './wallet-fixtures.ts';

/** anvil's second development key (public): funds the wallet and deploys the tokens. */
const HELPER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const RECIPIENT = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';

test.describe.configure({ mode: 'serial' });

let extension: ExtensionBrowser;
let popup: Page;
let phone: Page;
let address: string;
let chain: JsonRpcProvider;
let helper: NonceManager;
let tokenAddress: string;

async function shot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`) });
}


async function window(context: BrowserContext): Promise<Page> {
  const page = await approvalWindow(context);
  await page.setViewportSize({ width: 400, height: 760 });
  return page;
}

async function nav(screen: string): Promise<void> {
  await popup.getByTestId(`nav-${screen}`).click();
}

/** The first (newest) activity entry. */
const newest = () => popup.getByTestId('activity-entry').first();

test('setup: paired wallet with ETH and 1000 DEMO', async ({ relay, anvil }) => {
  // Its own profile: worker fixtures such as sharedExtension are shared with other spec files.
  extension = await launchExtensionBrowser({ headless: process.env.HEADED !== '1' });
  ({ popup, phone, address } = await onboardAndPair(extension.context, extension.extensionId, localStackUrls(relay, anvil.rpcUrl)));
  await popup.getByTestId('first-address-continue').click();
  chain = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1 });
  helper = new NonceManager(new Wallet(HELPER_KEY, chain));
  await (await helper.sendTransaction({ to: address, value: parseEther('5') })).wait();
  tokenAddress = await deployDemoToken(helper, address, 1000n * 10n ** 18n);
  await expect(popup.getByTestId('balance')).toHaveText('5.0000 ETH', { timeout: 15_000 });
});

test('receive: the QR code decodes to the address; the network is named; copy', async ({}, testInfo) => {
  await popup.getByTestId('open-receive').click();
  await expect(popup.getByTestId('receive-address')).toHaveText(address);
  await expect(popup.getByTestId('receive-network')).toContainText('Local (anvil) (chain 31337)');
  expect(await decodeRenderedQr(popup.getByTestId('receive-qr'))).toBe(address);
  await popup.getByTestId('receive-copy').click();
  await expect(popup.getByTestId('receive-copy')).toHaveText('Copied');
  await shot(popup, testInfo, 'popup-receive');
  await popup.getByTestId('receive-back').click();
});

test('tokens: added by contract address, symbol, decimals and balance from the chain', async () => {
  await nav('tokens');
  await popup.getByTestId('token-address').fill(RECIPIENT);
  await popup.getByTestId('token-add').click();
  await expect(popup.getByTestId('token-error')).toHaveText(`${RECIPIENT} is not a contract on this network.`);
  await popup.getByTestId('token-address').fill(tokenAddress);
  await popup.getByTestId('token-add').click();
  await expect(popup.getByTestId('token-symbol')).toHaveText('DEMO');
  await expect(popup.getByTestId('token-balance')).toHaveText('1000.0000 DEMO');
});

test('send ETH from the popup: checks, review, the approval window, the phone; mined; balance and activity updated', async ({}, testInfo) => {
  await nav('home');
  await popup.getByTestId('open-send').click();
  await popup.getByTestId('send-to').fill(RECIPIENT.replace('90F7', '90f7'));
  await expect(popup.getByTestId('send-quote-error')).toContainText('wrong checksum');
  await popup.getByTestId('send-to').fill(RECIPIENT);
  await expect(popup.getByTestId('send-fee-max')).toContainText('ETH');
  await popup.getByTestId('send-amount').fill('6');
  await popup.getByTestId('send-review-button').click();
  await popup.getByTestId('send-confirm').click();
  await expect(popup.getByTestId('send-error')).toContainText('Insufficient funds');
  await popup.getByTestId('send-max').click();
  const max = Number(await popup.getByTestId('send-amount').inputValue());
  expect(max).toBeGreaterThan(4.99);
  expect(max).toBeLessThan(5);
  await popup.getByTestId('send-amount').fill('0.5');
  await popup.getByTestId('send-review-button').click();
  await expect(popup.getByTestId('send-review-amount')).toHaveText('0.5 ETH');
  await shot(popup, testInfo, 'popup-send');
  await popup.getByTestId('send-confirm').click();
  const approval = await window(extension.context);
  await expect(approval.getByTestId('request-title')).toHaveText('Send ETH');
  await expect(approval.getByTestId('approval-origin')).toHaveText('Duet (you, from the popup)');
  await expect(approval.getByTestId('field-Balance change: ETH')).toContainText('−0.5 ETH');
  await expect(approval.getByTestId('request-warning')).toHaveText([`First interaction with ${RECIPIENT}: this account has no earlier transaction with it in Duet's activity. Check the address.`]);
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-request-warning')).toHaveText([`First interaction with ${RECIPIENT}: this account has no earlier transaction with it in Duet's activity. Check the address.`]);
  await phone.getByTestId('phone-approve').click();
  await expect(popup.getByTestId('send-queued')).toBeVisible();
  await popup.getByTestId('send-done').click();
  await expect(newest()).toHaveAttribute('data-status', 'confirmed', { timeout: 30_000 });
  await expect(newest().getByTestId('activity-summary')).toContainText(/0\.5 ETH · to 0x90F7…b906 · nonce 0 · block \d+/);
  expect(await chain.getBalance(RECIPIENT)).toBeGreaterThanOrEqual(parseEther('10000.5'));
  await nav('home');
  await expect(popup.getByTestId('balance')).toHaveText('4.4999 ETH', { timeout: 15_000 });
});

test('send a token from the popup: amounts in token units; mined; token balance and activity updated', async () => {
  await popup.getByTestId('open-send').click();
  await popup.getByTestId('send-asset').selectOption(tokenAddress);
  await expect(popup.getByTestId('send-balance')).toHaveText('Available: 1000.0000 DEMO');
  await popup.getByTestId('send-to').fill(RECIPIENT);
  await popup.getByTestId('send-amount').fill('100');
  await popup.getByTestId('send-review-button').click();
  await popup.getByTestId('send-confirm').click();
  const approval = await window(extension.context);
  await expect(approval.getByTestId('request-title')).toHaveText('Send tokens (ERC-20 transfer)');
  await expect(approval.getByTestId('field-Balance change: DEMO token')).toHaveText('−100.0 DEMO');
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-field-Balance change: DEMO token')).toHaveText('−100.0 DEMO');
  await phone.getByTestId('phone-approve').click();
  await popup.getByTestId('send-done').click();
  await expect(newest()).toHaveAttribute('data-status', 'confirmed', { timeout: 30_000 });
  await expect(newest().getByTestId('activity-title')).toHaveText('Send tokens (ERC-20 transfer)');
  await expect(newest().getByTestId('activity-summary')).toContainText('100.0 DEMO · to 0x90F7…b906');
  await nav('tokens');
  await expect(popup.getByTestId('token-balance')).toHaveText('900.0000 DEMO');
});

test('a call that will fail: "This transaction will fail: <reason>" in the window and on the phone; refused on the phone', async ({ dappServer }, testInfo) => {
  const dapp = await extension.context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  await connectDapp(extension.context, dapp);
  const sending = dappRequest(dapp, 'eth_sendTransaction', [{ from: address, to: tokenAddress, data: encodeTokenTransfer(RECIPIENT, 10n ** 30n) }]);
  const approval = await window(extension.context);
  await expect(approval.getByTestId('request-warning').first()).toHaveText('This transaction will fail: balance');
  await expect(approval.getByTestId('field-Simulation')).toContainText('fails on block');
  await shot(approval, testInfo, 'approval-will-fail');
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-request-warning').first()).toHaveText('This transaction will fail: balance');
  await shot(phone, testInfo, 'phone-will-fail');
  await phone.getByTestId('phone-reject').click();
  expect((await sending).error?.code).toBe(4001);
  await nav('activity');
  await expect(newest()).toHaveAttribute('data-status', 'refused');
  await dapp.close();
});

test('wallet_watchAsset from a site: approved in the window, the token joins the list', async ({ dappServer }) => {
  const second = await deployDemoToken(helper, address, 42n * 10n ** 18n);
  const dapp = await extension.context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  const watching = dappRequest(dapp, 'wallet_watchAsset', [{ type: 'ERC20', options: { address: second, symbol: 'DEMO', decimals: 18 } }]);
  const approval = await window(extension.context);
  await expect(approval.getByTestId('request-title')).toHaveText('Add a token (ERC-20)');
  await expect(approval.getByTestId('field-Token contract')).toHaveText(second);
  await approval.getByTestId('approve').click();
  expect((await watching).result).toBe(true);
  await nav('tokens');
  await expect(popup.locator(`[data-testid="token-entry"][data-address="${second}"]`).getByTestId('token-balance')).toHaveText('42.0000 DEMO');
  await dapp.close();
});

test('speed up: a pending transaction (automine off) is followed across a service-worker restart and replaced; then mined', async ({}, testInfo) => {
  await chain.send('evm_setAutomine', [false]);
  try {
    await nav('home');
    await popup.getByTestId('open-send').click();
    await popup.getByTestId('send-to').fill(RECIPIENT);
    await popup.getByTestId('send-amount').fill('0.1');
    await popup.getByTestId('send-review-button').click();
    await popup.getByTestId('send-confirm').click();
    const approval = await window(extension.context);
    await approval.getByTestId('approve').click();
    await phone.getByTestId('phone-approve').click();
    await popup.getByTestId('send-done').click();
    await expect(newest()).toHaveAttribute('data-status', 'pending', { timeout: 30_000 });
    const originalId = await newest().getAttribute('data-id');

    await restartServiceWorker(extension, popup);
    await expect(newest()).toHaveAttribute('data-status', 'pending', { timeout: 30_000 });
    await newest().getByTestId('activity-speed-up').click();
    const speedUpWindow = await window(extension.context);
    await expect(speedUpWindow.getByTestId('request-title')).toHaveText('Speed up: Send ETH');
    await expect(speedUpWindow.getByTestId('field-Replaces')).toContainText('whichever is mined first');
    await speedUpWindow.getByTestId('approve').click();
    await expect(phone.getByTestId('phone-request-title').last()).toHaveText('Speed up: Send ETH');
    await phone.getByTestId('phone-approve').click();
    await expect(newest().getByTestId('activity-title')).toHaveText('Speed up: Send ETH');
    await chain.send('evm_mine', []);
    await expect(newest()).toHaveAttribute('data-status', 'confirmed', { timeout: 30_000 });
    const original = popup.locator(`[data-testid="activity-entry"][data-id="${originalId}"]`);
    await expect(original).toHaveAttribute('data-status', 'replaced', { timeout: 30_000 });
    await expect(original.getByTestId('activity-detail')).toContainText('Sped up');
    await shot(popup, testInfo, 'popup-activity');
  } finally {
    await chain.send('evm_setAutomine', [true]);
  }
});

test.afterAll(async () => {
  chain?.destroy();
  await extension?.close();
});
