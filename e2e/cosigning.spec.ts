/**
 * The whole flow with every real part: the built extension in Chromium, the phone app served by the
 * relay in a phone-sized page, the relay on loopback, and anvil.
 */
import type { Page } from '@playwright/test';
import { JsonRpcProvider, Wallet, parseEther, verifyMessage } from 'ethers';
import { ANVIL_DEV_PRIVATE_KEY } from '../src/devstack/anvil.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay-server.ts';
import { connectDapp, dappRequest, localStackUrls, onboardAndPair } from '../src/devstack/demo-flow.ts';
import { expect, test } from './fixtures.ts';

const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

let relay: RunningRelay;
test.beforeAll(async () => {
  relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
});
test.afterAll(() => relay.close());

test.describe.configure({ mode: 'serial' });

test('pair, connect a dApp, send ETH, sign a message, and reject — extension and phone co-sign', async ({ extension, dappServer, anvil }, testInfo) => {
  const { context, extensionId } = extension;
  const shot = async (page: Page, name: string) => page.screenshot({ path: testInfo.outputPath(`${name}.png`) });

  // 1–3. Onboarding, pairing through the link the QR code holds, matching SAS, key generation.
  const { popup, phone, address, sas } = await onboardAndPair(context, extensionId, localStackUrls(relay, anvil.rpcUrl));
  expect(sas).toMatch(/^\d{6}$/);
  expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
  await expect(phone.getByTestId('phone-address')).toHaveText(address);
  await shot(popup, 'popup-home');
  await shot(phone, 'phone-home');

  // Fund the new address from anvil's dev account.
  const chain = new JsonRpcProvider(anvil.rpcUrl);
  const funder = new Wallet(ANVIL_DEV_PRIVATE_KEY, chain);
  await (await funder.sendTransaction({ to: address, value: parseEther('2') })).wait();

  // 4. A dApp connects; the user approves in the approval window.
  const dapp = await context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  const { approval, accounts } = await connectDapp(context, dapp);
  expect(accounts.result).toEqual([address.toLowerCase()]);
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
