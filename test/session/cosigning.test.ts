/**
 * The two devices' application protocol end to end in Node: real relay on loopback, pairing with
 * SAS confirmation, key generation, then signing requests approved, rejected, or attacked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Transaction, Signature, toBeHex } from 'ethers';
import { generateIdentity } from '../../src/channel/handshake.ts';
import { createPairingOffer, relayChannelName } from '../../src/channel/pairing-offer.ts';
import { SecureChannel } from '../../src/channel/secure-channel.ts';
import type { P1KeyShare } from '../../src/mpc/key-share.ts';
import { encodeInteger } from '../../src/mpc/wire.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { CoSigningFailed, CoSigningRejected, ExtensionCoSigner } from '../../src/session/extension-cosigner.ts';
import type { AppMessage } from '../../src/session/messages.ts';
import { PhoneCoSigner, type PhoneEvent } from '../../src/session/phone-cosigner.ts';
import { unsignedTransaction, type SigningRequest } from '../../src/wallet/signing-request.ts';
import { loadPaillierFixture } from '../mpc/fixtures.ts';
import { client, waitFor } from '../relay/relay-support.ts';

let relay: RunningRelay;
beforeAll(async () => {
  relay = await startRelay({ port: 0, staticDir: null, log: () => undefined });
});
afterAll(() => relay.close());

async function pairedDevices(tamper?: (message: AppMessage) => AppMessage) {
  const { offer, ephemeralSecret } = createPairingOffer(relay.wsUrl, Date.now());
  const name = relayChannelName(offer);
  const extensionRelay = client(relay.wsUrl, name, 'extension');
  const phoneRelay = client(relay.wsUrl, name, 'phone');
  await Promise.all([extensionRelay.connect(), phoneRelay.connect()]);
  const extensionChannel = new SecureChannel({ transport: extensionRelay, role: 'extension', channelId: offer.channelId, identity: generateIdentity() });
  const phoneChannel = new SecureChannel({ transport: phoneRelay, role: 'phone', channelId: offer.channelId, identity: generateIdentity() });
  extensionChannel.awaitPhone(offer, ephemeralSecret);
  phoneChannel.answerOffer(offer);
  await waitFor(() => extensionChannel.currentPhase === 'awaiting-sas' && phoneChannel.currentPhase === 'awaiting-sas');
  extensionChannel.confirmSas();
  phoneChannel.confirmSas();
  await waitFor(() => extensionChannel.currentPhase === 'paired' && phoneChannel.currentPhase === 'paired');

  const saved: P1KeyShare[] = [];
  const phoneEvents: PhoneEvent[] = [];
  const extension = new ExtensionCoSigner({ send: (m) => extensionChannel.send(tamper ? tamper(m) : m), onKeyShare: async () => undefined });
  const phone = new PhoneCoSigner({
    send: (m) => phoneChannel.send(m),
    saveKeyShare: async (share) => {
      saved.push(share);
    },
    onEvent: (event) => phoneEvents.push(event),
  });
  extensionChannel.onMessage((m) => void extension.handle(m));
  phoneChannel.onMessage((m) => void phone.handle(m, loadPaillierFixture(2)));
  phone.startKeygen();
  await waitFor(() => phoneEvents.some((e) => e.kind === 'paired'));
  const address = (phoneEvents.find((e) => e.kind === 'paired') as { address: string }).address;
  return { extension, phone, phoneEvents, saved, address, close: () => (extensionRelay.close(), phoneRelay.close()) };
}

function transfer(address: string, id: string): SigningRequest {
  return {
    kind: 'transaction',
    id,
    origin: 'http://localhost:5173',
    chainId: 31337,
    account: { index: 0, address },
    createdAt: Date.now(),
    tx: { to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 10n ** 18n, data: '0x', nonce: 0, gas: 21000n, maxFeePerGas: 2n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n, chainId: 31337 },
  };
}

const requestId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

describe('co-signing over the relay', () => {
  it('pairs, generates the key, and signs a transaction the user approved on the phone', async () => {
    const devices = await pairedDevices();
    expect(devices.extension.share).not.toBeNull();
    const request = transfer(devices.address, requestId());
    const pending = devices.extension.requestSignature(request);
    await waitFor(() => devices.phoneEvents.some((e) => e.kind === 'request'));
    const shown = devices.phone.list()[0];
    expect(shown?.display.title).toBe('Send ETH');
    expect(shown?.display.fields.find((f) => f.label === 'Amount')?.value).toBe('1.0 ETH');
    devices.phone.approve(request.id);
    const signature = await pending;
    const tx = unsignedTransaction(request as Extract<SigningRequest, { kind: 'transaction' }>);
    tx.signature = Signature.from({ r: toBeHex(signature.r, 32), s: toBeHex(signature.s, 32), yParity: signature.yParity });
    expect(Transaction.from(tx.serialized).from).toBe(devices.address);
    devices.close();
  });

  it('a rejection on the phone reaches the extension as a rejection', async () => {
    const devices = await pairedDevices();
    const request = transfer(devices.address, requestId());
    const pending = devices.extension.requestSignature(request);
    await waitFor(() => devices.phone.list().length === 1);
    devices.phone.reject(request.id);
    await expect(pending).rejects.toBeInstanceOf(CoSigningRejected);
    devices.close();
  });

  it('a crafted c3 taints the phone key: stored first, then every later request refused', async () => {
    let paillierN = 0n;
    // A compromised extension adds Enc(1) = (1 + N) to c3: a well-formed ciphertext, a wrong signature.
    const tamper = (message: AppMessage): AppMessage => {
      if (message.t === 'sign' && (message.body as { type?: string }).type === 'sign/4') {
        const body = message.body as { c3: string };
        const c3 = (BigInt(`0x${body.c3}`) * (1n + paillierN)) % (paillierN * paillierN);
        return { ...message, body: { ...body, c3: encodeInteger(c3) } };
      }
      return message;
    };
    const devices = await pairedDevices(tamper);
    paillierN = devices.extension.share?.paillierN ?? 0n;
    const first = transfer(devices.address, requestId());
    const pending = devices.extension.requestSignature(first);
    await waitFor(() => devices.phone.list().length === 1);
    devices.phone.approve(first.id);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoSigningFailed);
    expect((error as CoSigningFailed).reason).toBe('tainted');
    expect(devices.saved.at(-1)?.tainted).toBe(true);
    expect(devices.phone.tainted).toBe(true);
    expect(devices.phoneEvents.some((e) => e.kind === 'tainted')).toBe(true);

    const second = devices.extension.requestSignature(transfer(devices.address, requestId()));
    const refusal = await second.catch((e: unknown) => e);
    expect((refusal as CoSigningFailed).reason).toBe('tainted');
    devices.close();
  });
});
