/**
 * The taint window through the real phone stack: PhoneController with its vault (fake-indexeddb), a
 * real relay on loopback and a malicious extension peer that crafts c3 and asks again at once. The
 * vault's queued writes (the full state the phone stores after every frame) are slowed to 3 s, as a
 * busy phone's storage can be; the taint record must not wait behind them. Exactly one signature
 * fails; then the phone answers only "tainted", also after a relock, and with its first taint writes
 * failing; and it opens to the Tainted screen however its vault is unlocked (passphrase, screen
 * lock, an old PIN vault once re-keyed).
 */
import 'fake-indexeddb/auto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { generateIdentity } from '../../src/channel/handshake.ts';
import { createPairingOffer, encodePairingLink } from '../../src/channel/pairing-offer.ts';
import { PeerLink } from '../../src/channel/peer-link.ts';
import type { WebSocketConstructor } from '../../src/channel/relay-client.ts';
import { accountAddress } from '../../src/mpc/derivation.ts';
import { encodeInteger } from '../../src/mpc/wire.ts';
import { PHONE_VAULT, type PhoneController } from '../../src/phone/phone-controller.ts';
import type { NewKeyChoice } from '../../src/phone/phone-vault-key.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { CoSigningFailed, ExtensionCoSigner, firstPairShare } from '../../src/session/extension-cosigner.ts';
import type { AppMessage } from '../../src/session/messages.ts';
import { UnlockedVault, unlockVault } from '../../src/vault/vault.ts';
import { newSigningRequestId, type SigningRequest } from '../../src/wallet/signing-request.ts';
import { loadPreparedPaillierFixture } from '../mpc/fixtures.ts';
import { waitFor } from '../relay/relay-support.ts';
import { FAST_KEYS, TEST_PASSPHRASE, freshPhone, openPhone, rawVault } from './phone-support.ts';
import { SoftwareDeviceKey } from './software-device-key.ts';

const BY_PASSPHRASE: NewKeyChoice = { kind: 'passphrase', passphrase: TEST_PASSPHRASE, confirmation: TEST_PASSPHRASE };
const SLOW_WRITE_MS = 3_000;

let relay: RunningRelay;
beforeAll(async () => {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  relay = await startRelay({ port: 0, staticDir: null, log: () => undefined });
});
afterAll(() => relay.close());
afterEach(() => vi.restoreAllMocks());

/** A paired phone (its vault keyed by `key`) and an extension peer that adds Enc(1) to c3 once `crafting` is on. */
async function pairedWithMaliciousExtension(key: NewKeyChoice = BY_PASSPHRASE, deviceKey = new SoftwareDeviceKey()) {
  let phone: PhoneController = await freshPhone({ deviceKey, paillierKeys: async () => loadPreparedPaillierFixture(1) });
  await phone.chooseKey(key);
  const { offer, ephemeralSecret } = createPairingOffer(relay.wsUrl, Date.now());
  const identity = generateIdentity();
  const link = PeerLink.pairing({ role: 'extension', identity, write: async () => undefined, WebSocket: WebSocket as unknown as WebSocketConstructor }, offer, relay.wsUrl);
  const channel = link.channel;
  const received: AppMessage[] = [];
  let crafting = false;
  let paillierN = 0n;
  const tamper = (message: AppMessage): AppMessage => {
    if (!crafting || message.t !== 'sign' || (message.body as { type?: string }).type !== 'sign/4') return message;
    const body = message.body as { c3: string };
    return { ...message, body: { ...body, c3: encodeInteger((BigInt(`0x${body.c3}`) * (1n + paillierN)) % (paillierN * paillierN)) } };
  };
  let afterSend: ((message: AppMessage) => void) | null = null;
  const newCosigner = (keyShare?: ExtensionCoSigner['share']) =>
    new ExtensionCoSigner({
      send: (message) => {
        channel.send(tamper(message));
        afterSend?.(message);
      },
      onKeyShare: async (share) => firstPairShare(share, { phone: channel.peerIdentity as Uint8Array, extension: identity.publicKey }),
      ...(keyShare ? { keyShare } : {}),
    });
  let extension = newCosigner();
  channel.onEarlyMessage((message) => void extension.handleEarly(message));
  channel.onMessage((message) => {
    received.push(message as AppMessage);
    void extension.handle(message);
  });
  channel.awaitPhone(offer, ephemeralSecret);
  await link.connect();
  await phone.pair(encodePairingLink(offer, 'https://duet.example/'));
  await waitFor(() => phone.view().screen === 'confirm-sas' && channel.currentPhase === 'awaiting-sas');
  channel.confirmSas();
  phone.confirmSas(true);
  await waitFor(() => extension.share !== null && phone.view().address !== null, 60_000);
  const share = extension.share!;
  paillierN = share.paillierN;
  const address = accountAddress(share.publicKey, share.chainCode, 0);
  return {
    get phone() {
      return phone;
    },
    /** The app closed and opened again (same storage, same authenticator), at its unlock screen. */
    async reopen() {
      if (phone.unlocked) phone.lock();
      phone = await openPhone({ deviceKey, paillierKeys: async () => loadPreparedPaillierFixture(1) });
      return phone;
    },
    received,
    address,
    get extension() {
      return extension;
    },
    /** From now on c3 is crafted; with `then`, right after sending it the worker "restarts" and calls it. */
    craft(then?: (restarted: ExtensionCoSigner) => void) {
      crafting = true;
      if (!then) return;
      afterSend = (message) => {
        if (message.t !== 'sign' || (message.body as { type?: string }).type !== 'sign/4') return;
        afterSend = null;
        extension = newCosigner(share);
        then(extension);
      };
    },
    close: () => link.close(),
  };
}

function transfer(address: string): SigningRequest {
  return {
    kind: 'transaction',
    id: newSigningRequestId(),
    origin: 'https://dapp.example',
    chainId: 31337,
    account: { index: 0, address },
    createdAt: Date.now(),
    tx: { to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: 10n ** 18n, data: '0x', nonce: 0, gas: 21000n, maxFeePerGas: 2n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n, chainId: 31337 },
  };
}

const reason = (error: unknown) => (error as CoSigningFailed).reason;
const signRounds = (messages: readonly AppMessage[], from: number) => messages.slice(from).filter((m) => m.t === 'sign' && (m.body as { type?: string }).type === 'sign/1');

/** Every queued vault write waits `ms` first (the taint record goes through putFirst, not the queue). */
function slowQueuedWrites(ms: number): void {
  const putMany = UnlockedVault.prototype.putMany;
  vi.spyOn(UnlockedVault.prototype, 'putMany').mockImplementation(function (this: UnlockedVault, records) {
    return new Promise<void>((resolve, reject) => setTimeout(() => putMany.call(this, records).then(resolve, reject), ms));
  });
}

describe('the phone, attacked in the taint window', () => {
  it('asked again right after a crafted c3, with queued vault writes slowed to 3 s: exactly one failure, then only "tainted"', async () => {
    const devices = await pairedWithMaliciousExtension();
    const request = transfer(devices.address);
    // The worker that asks first is replaced ("restarted") before any answer reaches it.
    void devices.extension.requestSignature(request).catch(() => undefined);
    await waitFor(() => devices.phone.view().requests.length === 1);
    slowQueuedWrites(SLOW_WRITE_MS);
    let askedAgain: Promise<unknown> = Promise.resolve();
    const flood: Promise<unknown>[] = [];
    const before = devices.received.length;
    devices.craft((restarted) => {
      askedAgain = restarted.requestSignature(request).catch((error: unknown) => error);
      for (let i = 0; i < 10; i++) flood.push(restarted.requestSignature(transfer(devices.address)).catch((error: unknown) => error));
    });
    devices.phone.approve(request.id);
    await waitFor(() => devices.phone.view().screen === 'tainted');
    expect(reason(await askedAgain)).toBe('tainted');
    for (const refused of await Promise.all(flood)) expect(reason(refused)).toBe('tainted');
    // One attempt only: the phone opened no second signing after its first sign/1.
    expect(signRounds(devices.received, before)).toHaveLength(1);
    expect(devices.phone.view().requests).toHaveLength(0);

    // Locked and unlocked again (the slow full-state writes may not have landed): still tainted.
    vi.restoreAllMocks();
    await waitFor(() => devices.phone.view().taint?.stored === true);
    devices.phone.lock();
    await devices.phone.unlock(TEST_PASSPHRASE);
    expect(devices.phone.view().screen).toBe('tainted');
    devices.phone.lock();
    devices.close();
  });

  it('the first three taint writes fail: the tainted screen shows at once, the record is stored when a write succeeds, a lock waits for it', async () => {
    const devices = await pairedWithMaliciousExtension();
    const putFirst = UnlockedVault.prototype.putFirst;
    let attempts = 0;
    vi.spyOn(UnlockedVault.prototype, 'putFirst').mockImplementation(function (this: UnlockedVault, records) {
      attempts += 1;
      return attempts <= 3 ? Promise.reject(new Error('QuotaExceededError')) : putFirst.call(this, records);
    });
    const request = transfer(devices.address);
    const first = devices.extension.requestSignature(request).catch((error: unknown) => error);
    await waitFor(() => devices.phone.view().requests.length === 1);
    devices.craft();
    devices.phone.approve(request.id);
    await waitFor(() => devices.phone.view().screen === 'tainted');
    expect(devices.phone.view().taint?.stored).toBe(false);
    devices.phone.lock();
    expect(devices.phone.unlocked).toBe(true);
    expect(reason(await first)).toBe('tainted');
    await waitFor(() => !devices.phone.unlocked, 20_000);
    expect(attempts).toBe(4);
    await devices.phone.unlock(TEST_PASSPHRASE);
    expect(devices.phone.view()).toMatchObject({ screen: 'tainted', taint: { stored: true } });
    const later = await devices.extension.requestSignature(transfer(devices.address)).catch((error: unknown) => error);
    expect(reason(later)).toBe('tainted');
    devices.phone.lock();
    devices.close();
  });

  it('opens to the Tainted screen however it is unlocked (an old PIN vault once re-keyed, then the screen lock); unpairing keeps the taint record', async () => {
    const devices = await pairedWithMaliciousExtension();
    const request = transfer(devices.address);
    const first = devices.extension.requestSignature(request).catch((error: unknown) => error);
    await waitFor(() => devices.phone.view().requests.length === 1);
    devices.craft();
    devices.phone.approve(request.id);
    expect(reason(await first)).toBe('tainted');
    await waitFor(() => devices.phone.view().taint?.stored === true);
    // Closed for good (its last write stored) before another app version rewrites the vault.
    await devices.phone.lock();
    // The same records under a PIN key, as an older app version kept them.
    const vault = await unlockVault(PHONE_VAULT, TEST_PASSPHRASE, FAST_KEYS);
    await vault.rekey({ kdf: 'PBKDF2-SHA256', password: '246810', iterations: 1_000 }, FAST_KEYS);
    vault.lock();

    let phone = await devices.reopen();
    expect(phone.view()).toMatchObject({ screen: 'unlock', unlockMethod: 'pin' });
    await phone.unlock('246810');
    expect(phone.view().screen).toBe('upgrade-key');
    await phone.chooseKey({ kind: 'device' });
    expect(phone.view()).toMatchObject({ screen: 'tainted', unlockMethod: 'device', taint: { stored: true }, error: null });

    phone = await devices.reopen();
    expect(phone.view()).toMatchObject({ screen: 'unlock', unlockMethod: 'device' });
    await phone.unlock();
    expect(phone.view()).toMatchObject({ screen: 'tainted', taint: { stored: true } });
    const later = await devices.extension.requestSignature(transfer(devices.address)).catch((error: unknown) => error);
    expect(reason(later)).toBe('tainted');

    // Unpairing deletes the share, never the taint record: a taint is never cleared.
    await phone.unpair();
    const { records } = await rawVault();
    expect(records).not.toHaveProperty('keyShare');
    expect(records).toHaveProperty('taint');
    phone.lock();
    devices.close();
  });
});
