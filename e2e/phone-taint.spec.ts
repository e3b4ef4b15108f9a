/**
 * The phone against a compromised extension: a Node-side extension peer (real channel, real relay,
 * real P2 code) that tampers with its final signing message. The phone must taint its key, show the
 * warning, keep refusing after a reload, and tell the extension why.
 */
import { chromium } from 'playwright-core';
import { WebSocket } from 'ws';
import { generateIdentity } from '../src/channel/handshake.ts';
import { createPairingOffer, encodePairingLink, relayChannelName } from '../src/channel/pairing-offer.ts';
import { RelayClient, type WebSocketConstructor } from '../src/channel/relay-client.ts';
import { SecureChannel } from '../src/channel/secure-channel.ts';
import { findChromium } from '../src/devstack/chromium.ts';
import { DEMO_PIN } from '../src/devstack/demo-flow.ts';
import { encodeInteger } from '../src/mpc/wire.ts';
import { startRelay } from '../src/relay/relay-server.ts';
import { CoSigningFailed, ExtensionCoSigner } from '../src/session/extension-cosigner.ts';
import type { AppMessage } from '../src/session/messages.ts';
import { accountAddress } from '../src/mpc/derivation.ts';
import { expect, test } from './fixtures.ts';

const requestId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

test('a crafted c3 taints the phone key: warning shown, kept after reload, later requests refused', async ({}, testInfo) => {
  const relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
  const { offer, ephemeralSecret } = createPairingOffer(relay.wsUrl, Date.now());
  const transport = new RelayClient({ relayUrl: relay.wsUrl, channelId: relayChannelName(offer), role: 'extension', WebSocket: WebSocket as unknown as WebSocketConstructor });
  await transport.connect();
  const channel = new SecureChannel({ transport, role: 'extension', channelId: offer.channelId, identity: generateIdentity() });
  channel.awaitPhone(offer, ephemeralSecret);
  let paillierN = 0n;
  const tamper = (message: AppMessage): AppMessage => {
    if (message.t !== 'sign' || (message.body as { type?: string }).type !== 'sign/4') return message;
    const body = message.body as { c3: string };
    return { ...message, body: { ...body, c3: encodeInteger((BigInt(`0x${body.c3}`) * (1n + paillierN)) % (paillierN * paillierN)) } };
  };
  const extension = new ExtensionCoSigner({ send: (m) => channel.send(tamper(m)), onKeyShare: async () => undefined });
  channel.onMessage((m) => void extension.handle(m));
  let sas = '';
  channel.onEvent((event) => {
    if (event.kind === 'sas') sas = event.sas;
  });

  const browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: ['--disable-background-networking', '--no-first-run', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])] });
  const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const phone = await phoneContext.newPage();
  await phone.goto(encodePairingLink(offer, `${relay.url}/`));
  await phone.getByTestId('pin').fill(DEMO_PIN);
  await phone.getByTestId('pin-confirm').fill(DEMO_PIN);
  await phone.getByTestId('pin-submit').click();
  await expect(phone.getByTestId('phone-sas')).toHaveText(/\d{6}/);
  const phoneSas = await phone.getByTestId('phone-sas').textContent();
  await expect.poll(() => sas).toBe(phoneSas);
  channel.confirmSas();
  await phone.getByTestId('phone-sas-match').click();
  await expect(phone.getByTestId('phone-address')).toBeVisible({ timeout: 60_000 });
  const share = extension.share;
  if (!share) throw new Error('keygen did not finish');
  paillierN = share.paillierN;
  const address = accountAddress(share.publicKey, share.chainCode, 0);
  await expect(phone.getByTestId('phone-address')).toHaveText(address);

  const request = (id: string) => ({
    kind: 'personal_sign' as const,
    id,
    origin: 'https://dapp.example',
    chainId: 31337,
    account: { index: 0, address },
    createdAt: Date.now(),
    message: '0x48656c6c6f',
  });
  const first = extension.requestSignature(request(requestId()));
  await expect(phone.getByTestId('phone-field-Message')).toHaveText('Hello');
  await phone.getByTestId('phone-approve').click();
  const failure = await first.catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(CoSigningFailed);
  expect((failure as CoSigningFailed).reason).toBe('tainted');
  await expect(phone.getByTestId('phone-tainted')).toBeVisible();
  await phone.screenshot({ path: testInfo.outputPath('phone-tainted.png') });

  await phone.reload();
  await phone.getByTestId('pin').fill(DEMO_PIN);
  await phone.getByTestId('pin-submit').click();
  await expect(phone.getByTestId('phone-tainted')).toBeVisible();
  const second = await extension.requestSignature(request(requestId())).catch((error: unknown) => error);
  expect((second as CoSigningFailed).reason).toBe('tainted');

  transport.close();
  await browser.close();
  await relay.close();
});
