/**
 * The whole flow with every real part: the built extension in Chromium, the phone app served by the
 * relay in a phone-sized page, the relay on loopback, and anvil.
 */
import type { Page } from '@playwright/test';
import { JsonRpcProvider, Wallet, parseEther, verifyMessage } from 'ethers';
import { ANVIL_DEV_PRIVATE_KEY } from '../src/devstack/anvil.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay-server.ts';
import { expect, test } from './fixtures.ts';

const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const PASSWORD = 'correct horse battery';
const PIN = '246810';

let relay: RunningRelay;
test.beforeAll(async () => {
  relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
});
test.afterAll(() => relay.close());

type Ethereum = { request(args: { method: string; params?: unknown[] }): Promise<unknown> };

/** Runs a provider request in the dApp page without awaiting it (the test clicks approvals meanwhile). */
function dappRequest(dapp: Page, method: string, params: unknown[] = []): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
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

test.describe.configure({ mode: 'serial' });

test('pair, connect a dApp, send ETH, sign a message, and reject — extension and phone co-sign', async ({ extension, dappServer, anvil }, testInfo) => {
  const { context, extensionId } = extension;
  const shot = async (page: Page, name: string) => page.screenshot({ path: testInfo.outputPath(`${name}.png`) });

  // 1. Onboarding in the popup.
  const popup = await context.newPage();
  await popup.setViewportSize({ width: 360, height: 600 });
  await popup.goto(`chrome-extension://${extensionId}/extension/popup/index.html`);
  await popup.getByTestId('create-password').fill(PASSWORD);
  await popup.getByTestId('create-confirm').fill(PASSWORD);
  await popup.locator('details summary').click();
  await popup.getByTestId('create-relay').fill(relay.wsUrl);
  await popup.getByTestId('create-phone-app').fill(`${relay.url}/`);
  await popup.getByTestId('create-rpc').fill(anvil.rpcUrl);
  await popup.getByTestId('create-submit').click();
  await popup.getByTestId('start-pairing').click();
  await expect(popup.getByTestId('pairing-qr')).toBeVisible();
  const link = await popup.getByTestId('pairing-link').inputValue();
  expect(link.startsWith(`${relay.url}/#p=`)).toBe(true);
  await shot(popup, 'popup-pairing-qr');

  // 2. The phone opens the link, sets a PIN, and both show the same SAS.
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(link);
  await phone.getByTestId('pin').fill(PIN);
  await phone.getByTestId('pin-confirm').fill(PIN);
  await phone.getByTestId('pin-submit').click();
  const phoneSas = await phone.getByTestId('phone-sas').textContent();
  await expect(popup.getByTestId('pairing-sas')).toHaveText(phoneSas ?? 'missing');
  await shot(phone, 'phone-sas');
  await phone.getByTestId('phone-sas-match').click();
  await popup.getByTestId('sas-match').click();

  // 3. Key generation completes and both show the same address.
  await expect(popup.getByTestId('address')).toHaveText(/^0x[0-9a-fA-F]{40}$/, { timeout: 60_000 });
  const address = (await popup.getByTestId('address').textContent()) as string;
  await expect(phone.getByTestId('phone-address')).toHaveText(address);
  await shot(popup, 'popup-home');

  // Fund the new address from anvil's dev account.
  const chain = new JsonRpcProvider(anvil.rpcUrl);
  const funder = new Wallet(ANVIL_DEV_PRIVATE_KEY, chain);
  await (await funder.sendTransaction({ to: address, value: parseEther('2') })).wait();

  // 4. A dApp connects; the user approves in the approval window.
  const dapp = await context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  const approvalOpened = context.waitForEvent('page', (page) => page.url().includes('/extension/approval/'));
  const connecting = dappRequest(dapp, 'eth_requestAccounts');
  const approval = await approvalOpened;
  await expect(approval.getByTestId('request-title')).toHaveText('Connect to this site');
  await approval.getByTestId('approve').click();
  expect((await connecting).result).toEqual([address]);
  expect((await dappRequest(dapp, 'eth_chainId')).result).toBe('0x7a69');

  // 5. Send ETH: approve in the extension, then on the phone; anvil mines it.
  const before = await chain.getBalance(RECIPIENT);
  const sending = dappRequest(dapp, 'eth_sendTransaction', [{ from: address, to: RECIPIENT, value: `0x${parseEther('0.5').toString(16)}` }]);
  await expect(approval.getByTestId('request-title')).toHaveText('Send ETH');
  await expect(approval.getByTestId('field-Amount')).toHaveText('0.5 ETH');
  const code = await approval.getByTestId('approval-code').textContent();
  await shot(approval, 'approval-send-eth');
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-request-title')).toHaveText('Send ETH');
  await expect(phone.getByTestId('phone-field-Amount')).toHaveText('0.5 ETH');
  await expect(phone.getByTestId('phone-request-code')).toHaveText(code ?? 'missing');
  await shot(phone, 'phone-request');
  await phone.getByTestId('phone-approve').click();
  const sent = await sending;
  expect(sent.error).toBeUndefined();
  const receipt = await chain.waitForTransaction(sent.result as string);
  expect(receipt?.status).toBe(1);
  expect((await chain.getBalance(RECIPIENT)) - before).toBe(parseEther('0.5'));

  // 6. personal_sign verifies against the account.
  const signing = dappRequest(dapp, 'personal_sign', ['0x48656c6c6f2044756574', address]);
  await expect(approval.getByTestId('field-Message')).toHaveText('Hello Duet');
  await approval.getByTestId('approve').click();
  await phone.getByTestId('phone-approve').click();
  const signed = await signing;
  expect(verifyMessage('Hello Duet', signed.result as string)).toBe(address);

  // 7. Rejecting on the phone gives the dApp 4001; rejecting in the extension too.
  const rejectedOnPhone = dappRequest(dapp, 'personal_sign', ['0x6e6f', address]);
  await approval.getByTestId('approve').click();
  await phone.getByTestId('phone-reject').click();
  expect((await rejectedOnPhone).error?.code).toBe(4001);
  const rejectedInExtension = dappRequest(dapp, 'personal_sign', ['0x6e6f', address]);
  await expect(approval.getByTestId('reject')).toBeVisible();
  await approval.getByTestId('reject').click();
  expect((await rejectedInExtension).error?.code).toBe(4001);
  await expect(phone.getByTestId('phone-history')).toContainText('rejected');
});
