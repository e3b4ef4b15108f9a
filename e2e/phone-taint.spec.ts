/**
 * The phone against a compromised extension: a Node-side extension peer (real channel, real relay,
 * real P2 code) that tampers with its final signing message. The phone must taint its key, show the
 * warning, keep refusing after a reload, and tell the extension why; then, with a rescue address
 * typed on the phone, co-sign a transfer there and nothing else.
 */
import { chromium } from 'playwright-core';
import { findChromium } from '../src/devstack/chromium.ts';
import { localStackUrls, newPhonePage, protectPhone, unlockPhone } from '../src/devstack/demo-flow.ts';
import { encodeInteger } from '../src/mpc/wire.ts';
import { startRelay } from '../src/relay/relay-server.ts';
import { CoSigningFailed } from '../src/session/extension-cosigner.ts';
import type { AppMessage } from '../src/session/messages.ts';
import { assembleSignedTransaction, newSigningRequestId, type TransactionRequest } from '../src/wallet/signing-request.ts';
import { expect, test } from './fixtures.ts';
import { peerAddress, personalSignRequest, startNodeExtensionPeer } from './support/node-extension-peer.ts';

const RESCUE_ADDRESS = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

function ethTransfer(from: string, to: string): TransactionRequest {
  return {
    kind: 'transaction',
    id: newSigningRequestId(),
    origin: 'https://dapp.example',
    chainId: 31337,
    account: { index: 0, address: from },
    createdAt: Date.now(),
    tx: { to, value: 10n ** 17n, data: '0x', nonce: 0, gas: 21000n, maxFeePerGas: 2n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n, chainId: 31337 },
  };
}

test('a crafted c3 taints the phone key: warning shown, kept after reload, later requests refused', async ({}, testInfo) => {
  const relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
  let paillierN = 0n;
  let crafting = true;
  // The compromised extension adds Enc(1) = (1 + N) to c3: a well-formed ciphertext, a wrong signature.
  const tamper = (message: AppMessage): AppMessage => {
    if (!crafting || message.t !== 'sign' || (message.body as { type?: string }).type !== 'sign/4') return message;
    const body = message.body as { c3: string };
    return { ...message, body: { ...body, c3: encodeInteger((BigInt(`0x${body.c3}`) * (1n + paillierN)) % (paillierN * paillierN)) } };
  };
  const urls = localStackUrls(relay, '');
  const peer = await startNodeExtensionPeer(urls.relayWsUrl, urls.phoneAppUrl, tamper);

  const browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: ['--disable-background-networking', '--no-first-run', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])] });
  const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const phone = await newPhonePage(phoneContext);
  await phone.goto(peer.link);
  await protectPhone(phone);
  await expect(phone.getByTestId('phone-sas')).toHaveText(/\d{6}/);
  const phoneSas = await phone.getByTestId('phone-sas').textContent();
  await expect.poll(() => peer.sas()).toBe(phoneSas);
  peer.channel.confirmSas();
  await phone.getByTestId('phone-sas-match').click();
  await expect(phone.getByTestId('phone-address')).toBeVisible({ timeout: 60_000 });
  paillierN = peer.share().paillierN;
  const address = peerAddress(peer);
  await expect(phone.getByTestId('phone-address')).toHaveText(address);

  // Caught at once: the refusal may come back before the click's own promise settles.
  const first = peer.cosigner.requestSignature(personalSignRequest(address, '0x48656c6c6f')).catch((error: unknown) => error);
  await expect(phone.getByTestId('phone-field-Message')).toHaveText('Hello');
  await phone.getByTestId('phone-approve').click();
  const failure = await first;
  expect(failure).toBeInstanceOf(CoSigningFailed);
  expect((failure as CoSigningFailed).reason).toBe('tainted');
  await expect(phone.getByTestId('phone-tainted')).toBeVisible();
  await phone.screenshot({ path: testInfo.outputPath('phone-tainted.png') });

  await phone.reload();
  await unlockPhone(phone);
  await expect(phone.getByTestId('phone-tainted')).toBeVisible();
  const second = await peer.cosigner.requestSignature(personalSignRequest(address, '0x48656c6c6f')).catch((error: unknown) => error);
  expect((second as CoSigningFailed).reason).toBe('tainted');

  // Rescue: the user types the new wallet's address on the phone; only a transfer there is co-signed.
  await phone.getByTestId('phone-rescue-input').fill('0x1234');
  await phone.getByTestId('phone-rescue-submit').click();
  await expect(phone.getByTestId('phone-error')).toContainText('not an Ethereum address');
  await phone.getByTestId('phone-rescue-input').fill(RESCUE_ADDRESS.toLowerCase());
  await phone.getByTestId('phone-rescue-submit').click();
  await expect(phone.getByTestId('phone-rescue-address')).toHaveText(RESCUE_ADDRESS);
  crafting = false;
  const elsewhere = await peer.cosigner.requestSignature(ethTransfer(address, '0x70997970C51812dc3A010C7d01b50e0d17dc79C8')).catch((error: unknown) => error);
  expect((elsewhere as CoSigningFailed).reason).toBe('tainted');
  const rescue = ethTransfer(address, RESCUE_ADDRESS);
  const rescued = peer.cosigner.requestSignature(rescue);
  await expect(phone.getByTestId('phone-request-title')).toHaveText('Send ETH');
  await phone.getByTestId('phone-approve').click();
  expect(assembleSignedTransaction(rescue, await rescued)).toMatch(/^0x02/);

  peer.close();
  await browser.close();
  await relay.close();
});
