/**
 * Acceptance flows beyond the first transfer: typed data, two accounts from one pairing, and what a
 * new user runs into (wrong password, an expired pairing code, the relay down while signing).
 */
import type { Page } from '@playwright/test';
import { JsonRpcProvider, Wallet, parseEther, verifyTypedData } from 'ethers';
import { ANVIL_DEV_PRIVATE_KEY } from '../src/devstack/anvil.ts';
import { DEMO_PASSWORD, connectDapp, dappRequest, localStackUrls, newPhonePage, onboardAndPair, protectPhone, showPairingCode } from '../src/devstack/demo-flow.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay-server.ts';
import { expect, test } from './fixtures.ts';

const RECIPIENT = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

function mailTypedData(chainId: number) {
  return {
    domain: { name: 'Duet Mail', version: '1', chainId, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'version', type: 'string' },
        { name: 'chainId', type: 'uint256' },
        { name: 'verifyingContract', type: 'address' },
      ],
      Person: [
        { name: 'name', type: 'string' },
        { name: 'wallet', type: 'address' },
      ],
      Mail: [
        { name: 'from', type: 'Person' },
        { name: 'to', type: 'Person' },
        { name: 'contents', type: 'string' },
      ],
    },
    primaryType: 'Mail',
    message: { from: { name: 'Alice', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' }, to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' }, contents: 'Hello, Bob!' },
  };
}

async function fund(rpcUrl: string, address: string): Promise<JsonRpcProvider> {
  const chain = new JsonRpcProvider(rpcUrl);
  await (await new Wallet(ANVIL_DEV_PRIVATE_KEY, chain).sendTransaction({ to: address, value: parseEther('1') })).wait();
  return chain;
}

async function approveBoth(approval: Page, phone: Page): Promise<void> {
  await approval.getByTestId('approve').click();
  await phone.getByTestId('phone-approve').click();
}

test('typed data, two accounts, wrong password, relay down while signing', async ({ extension, dappServer, anvil }, testInfo) => {
  let relay: RunningRelay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined, drainTimeoutMs: 200 });
  const relayPort = relay.port;
  const { context, extensionId } = extension;
  const { popup, phone, address } = await onboardAndPair(context, extensionId, localStackUrls(relay, anvil.rpcUrl));
  const chain = await fund(anvil.rpcUrl, address);
  const dapp = await context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  const { approval } = await connectDapp(context, dapp);

  // Flow 5: eth_signTypedData_v4 shows the domain and message, and the signature verifies.
  const typed = mailTypedData(31337);
  const signingTyped = dappRequest(dapp, 'eth_signTypedData_v4', [address, JSON.stringify(typed)]);
  await expect(approval.getByTestId('request-title')).toHaveText('Sign typed data (Mail)');
  await expect(approval.getByTestId('field-Mail.contents')).toHaveText('Hello, Bob!');
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-field-domain.name')).toHaveText('Duet Mail');
  await phone.getByTestId('phone-approve').click();
  const typedSignature = (await signingTyped).result as string;
  const { EIP712Domain: _domain, ...types } = typed.types;
  expect(verifyTypedData(typed.domain, types, typed.message, typedSignature)).toBe(address);
  // A domain for another chain is refused before anything is shown.
  const wrongChain = await dappRequest(dapp, 'eth_signTypedData_v4', [address, JSON.stringify(mailTypedData(1))]);
  expect(wrongChain.error?.code).toBe(-32602);

  // Flow 8: a second account from the same pairing signs a transaction anvil accepts.
  await popup.getByTestId('first-address-continue').click();
  await popup.getByTestId('nav-accounts').click();
  await popup.getByTestId('add-account').click();
  await expect(popup.locator('[data-testid=account-select] option')).toHaveCount(2);
  await popup.getByTestId('account-select').selectOption('1');
  await popup.getByTestId('nav-home').click();
  await expect(popup.getByTestId('address')).not.toHaveText(address);
  const second = ((await popup.getByTestId('address').textContent()) ?? '').trim();
  await fund(anvil.rpcUrl, second);
  await popup.getByTestId('nav-sites').click();
  await popup.getByTestId('site-disconnect').click();
  await popup.getByTestId('nav-home').click();
  const reconnect = await connectDapp(context, dapp);
  expect(reconnect.accounts.result).toEqual([second.toLowerCase()]);
  const sending = dappRequest(dapp, 'eth_sendTransaction', [{ from: second, to: RECIPIENT, value: '0x2386f26fc10000' }]);
  await approveBoth(reconnect.approval, phone);
  const sent = await sending;
  expect((await chain.waitForTransaction(sent.result as string))?.status).toBe(1);
  expect((await chain.getTransaction(sent.result as string))?.from).toBe(second);

  // Flow 9: the relay is down when the user approves; the request waits and completes once it is back.
  await relay.close();
  const waiting = dappRequest(dapp, 'personal_sign', ['0x6f66666c696e65', second]);
  await reconnect.approval.getByTestId('approve').click();
  await expect(reconnect.approval.getByTestId('approval-status')).toContainText('Waiting for your phone');
  relay = await startRelay({ port: relayPort, staticDir: 'dist-phone', log: () => undefined });
  await phone.getByTestId('phone-approve').click({ timeout: 60_000 });
  expect((await waiting).result).toMatch(/^0x[0-9a-f]{130}$/);
  await reconnect.approval.screenshot({ path: testInfo.outputPath('approval-after-relay-restart.png') });

  // Flow 9: lock, a wrong password gives a clear message and changes nothing, the right one unlocks.
  await popup.getByTestId('lock').click();
  await popup.getByTestId('unlock-password').fill('not the password');
  await popup.getByTestId('unlock-submit').click();
  await expect(popup.getByTestId('error')).toContainText(/wrong password/i);
  await popup.getByTestId('unlock-password').fill(DEMO_PASSWORD);
  await popup.getByTestId('unlock-submit').click();
  await expect(popup.getByTestId('address')).toHaveText(second);
  await relay.close();
});

test('an expired pairing code gives a clear message on the phone', async ({ extension, anvil }) => {
  const relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
  const { popup, link } = await showPairingCode(extension.context, extension.extensionId, localStackUrls(relay, anvil.rpcUrl));

  const phone = await newPhonePage(extension.context);
  await phone.clock.install({ time: Date.now() + 6 * 60_000 });
  await phone.goto(link);
  await protectPhone(phone);
  await expect(phone.getByTestId('phone-error')).toContainText('expired');
  await expect(popup.getByTestId('pairing-qr')).toBeVisible();
  await relay.close();
});
