/**
 * The two devices' application protocol end to end in Node: real relay on loopback, pairing with
 * SAS confirmation, key generation, then signing requests approved, rejected, or attacked.
 */
import { modulusHash } from '../../src/mpc/pair-setup.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Transaction, Signature, toBeHex } from 'ethers';
import { generateIdentity } from '../../src/channel/handshake.ts';
import { createPairingOffer, relayChannelName } from '../../src/channel/pairing-offer.ts';
import { SecureChannel } from '../../src/channel/secure-channel.ts';
import { isTainted, type P1KeyShare, type P2KeyShare } from '../../src/mpc/key-share.ts';
import { encodeInteger } from '../../src/mpc/wire.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { CoSigningFailed, CoSigningRejected, ExtensionCoSigner } from '../../src/session/extension-cosigner.ts';
import { MAX_SIGN_ATTEMPTS, parseAppMessage, type AppMessage } from '../../src/session/messages.ts';
import { PhoneCoSigner, type PhoneEvent, type TaintRecord } from '../../src/session/phone-cosigner.ts';
import { encodeSigningRequest, newSigningRequestId, unsignedTransaction, type SigningRequest } from '../../src/wallet/signing-request.ts';
import { loadPreparedPaillierFixture } from '../mpc/fixtures.ts';
import { encodeBase64Url } from '../../src/channel/base64url.ts';
import { client, waitFor } from '../relay/relay-support.ts';

let relay: RunningRelay;
beforeAll(async () => {
  relay = await startRelay({ port: 0, staticDir: null, log: () => undefined });
});
afterAll(() => relay.close());

interface PhoneOptions {
  /** Replaces the phone's taint write (default: stored at once). */
  readonly saveTaint?: (record: TaintRecord) => Promise<void>;
  readonly taintRetryMs?: number;
}

async function pairedDevices(tamper?: (message: AppMessage) => AppMessage, phoneOptions: PhoneOptions = {}) {
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

  const saved: P1KeyShare[] = [];
  const taintWrites: TaintRecord[] = [];
  const phoneEvents: PhoneEvent[] = [];
  const newExtension = (keyShare?: P2KeyShare) => new ExtensionCoSigner({ send: (m) => extensionChannel.send(tamper ? tamper(m) : m), onKeyShare: async () => undefined, ...(keyShare ? { keyShare } : {}) });
  // `extension` is the running service worker; restartExtension() replaces it as a restart does,
  // keeping only what the extension persists (its key share and the channel).
  let extension = newExtension();
  const toExtension: AppMessage[] = [];
  // While the extension is stopped, what the phone sends waits (as in the relay's mailbox).
  let stopsOn: ((message: AppMessage) => boolean) | null = null;
  let held: AppMessage[] | null = null;
  const phone = new PhoneCoSigner({
    send: (m) => phoneChannel.send(m),
    sendEarly: (m) => phoneChannel.sendEarly(m),
    saveKeyShare: async (share) => {
      saved.push(share);
    },
    saveTaint: async (record) => {
      await (phoneOptions.saveTaint ?? (async () => undefined))(record);
      taintWrites.push(record);
    },
    onEvent: (event) => phoneEvents.push(event),
    preparedKey: async () => loadPreparedPaillierFixture(2),
    ...(phoneOptions.taintRetryMs ? { taintRetryMs: phoneOptions.taintRetryMs } : {}),
  });
  extensionChannel.onEarlyMessage((m) => void extension.handleEarly(m));
  extensionChannel.onMessage((m) => {
    const message = m as AppMessage;
    toExtension.push(message);
    if (held === null && stopsOn?.(message)) held = [];
    if (held) held.push(message);
    else void extension.handle(message);
  });
  const detachPhone = phoneChannel.onMessage((m) => void phone.handle(m));
  // keygen/0 crosses while the users compare the codes; keygen/1 only after both confirmed.
  await phone.announceKey();
  extensionChannel.confirmSas();
  phoneChannel.confirmSas();
  await waitFor(() => extensionChannel.currentPhase === 'paired' && phoneChannel.currentPhase === 'paired');
  void phone.startKeygen(encodeBase64Url(phoneChannel.peerIdentity as Uint8Array));
  await waitFor(() => phoneEvents.some((e) => e.kind === 'paired'));
  const address = (phoneEvents.find((e) => e.kind === 'paired') as { address: string }).address;
  return {
    get extension() {
      return extension;
    },
    /** The worker stops when a message matching `predicate` arrives, before handling it. */
    stopExtensionOn: (predicate: (message: AppMessage) => boolean) => {
      stopsOn = predicate;
    },
    /** A new worker with the persisted key share; held messages reach it after it asked again. */
    restartExtension: () => {
      extension = newExtension(extension.share as P2KeyShare);
      const waiting = held ?? [];
      held = null;
      stopsOn = null;
      setTimeout(() => waiting.forEach((message) => void extension.handle(message)), 0);
      return extension;
    },
    toExtension,
    phoneChannel,
    detachPhone,
    phone,
    phoneEvents,
    saved,
    taintWrites,
    address,
    close: () => (extensionRelay.close(), phoneRelay.close()),
  };
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


describe('co-signing over the relay', () => {
  it('pairs, generates the key, and signs a transaction the user approved on the phone', async () => {
    const devices = await pairedDevices();
    expect(devices.extension.share).not.toBeNull();
    const request = transfer(devices.address, newSigningRequestId());
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
    const request = transfer(devices.address, newSigningRequestId());
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
    const first = transfer(devices.address, newSigningRequestId());
    const pending = devices.extension.requestSignature(first);
    await waitFor(() => devices.phone.list().length === 1);
    devices.phone.approve(first.id);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoSigningFailed);
    expect((error as CoSigningFailed).reason).toBe('tainted');
    expect(devices.taintWrites).toHaveLength(1);
    expect(devices.taintWrites[0]?.taints).toHaveLength(1);
    expect(isTainted(devices.saved.at(-1) as P1KeyShare)).toBe(true);
    expect(devices.phone.tainted).toBe(true);
    expect(devices.phoneEvents.some((e) => e.kind === 'tainted')).toBe(true);

    const second = devices.extension.requestSignature(transfer(devices.address, newSigningRequestId()));
    const refusal = await second.catch((e: unknown) => e);
    expect((refusal as CoSigningFailed).reason).toBe('tainted');
    devices.close();
  });
});

function expectSignsFor(request: SigningRequest, address: string, signature: { r: bigint; s: bigint; yParity: 0 | 1 }): void {
  const tx = unsignedTransaction(request as Extract<SigningRequest, { kind: 'transaction' }>);
  tx.signature = Signature.from({ r: toBeHex(signature.r, 32), s: toBeHex(signature.s, 32), yParity: signature.yParity });
  expect(Transaction.from(tx.serialized).from).toBe(address);
}

const roundsSeen = (messages: readonly AppMessage[], round: string) => messages.filter((m) => m.t === 'sign' && (m.body as { type?: string }).type === round);

describe('resuming after the extension restarts (service worker stopped)', () => {
  it('stopped after the phone opened R1 (sign/3 in flight): asked again, the phone restarts as attempt 2 and the signature is valid', async () => {
    const devices = await pairedDevices();
    const request = transfer(devices.address, newSigningRequestId());
    const lost = devices.extension.requestSignature(request);
    await waitFor(() => devices.phone.list().length === 1);
    devices.stopExtensionOn((message) => message.t === 'sign' && (message.body as { type?: string }).type === 'sign/3');
    devices.phone.approve(request.id);
    await waitFor(() => roundsSeen(devices.toExtension, 'sign/3').length === 1);
    // The worker stopped before answering sign/3; the new one knows only the key share and the request.
    const restarted = devices.restartExtension();
    void lost.catch(() => undefined);
    const signature = await restarted.requestSignature(request);
    expectSignsFor(request, devices.address, signature);
    expect(devices.phone.list()[0]).toMatchObject({ status: 'signed', attempt: 2 });
    expect(devices.phone.tainted).toBe(false);
    devices.close();
  });

  it('stopped after the phone answered: asked again, the phone sends the same signature again without signing anew', async () => {
    const devices = await pairedDevices();
    const request = transfer(devices.address, newSigningRequestId());
    const first = devices.extension.requestSignature(request);
    await waitFor(() => devices.phone.list().length === 1);
    devices.phone.approve(request.id);
    const signature = await first;
    const restarted = devices.restartExtension();
    expect(await restarted.requestSignature(request)).toEqual(signature);
    expect(devices.phone.list()[0]).toMatchObject({ status: 'signed', attempt: 1 });
    expect(roundsSeen(devices.toExtension, 'sign/1')).toHaveLength(1);
    devices.close();
  });

  it('a rejected request asked again is rejected again; a request still waiting for the user is not asked twice', async () => {
    const devices = await pairedDevices();
    const rejected = transfer(devices.address, newSigningRequestId());
    const first = devices.extension.requestSignature(rejected);
    await waitFor(() => devices.phone.list().length === 1);
    devices.phone.reject(rejected.id);
    await expect(first).rejects.toBeInstanceOf(CoSigningRejected);
    await expect(devices.restartExtension().requestSignature(rejected)).rejects.toBeInstanceOf(CoSigningRejected);

    const waiting = transfer(devices.address, newSigningRequestId());
    void devices.extension.requestSignature(waiting).catch(() => undefined);
    await waitFor(() => devices.phone.list().length === 2);
    const again = devices.restartExtension().requestSignature(waiting);
    await waitFor(() => devices.toExtension.length > 0 && devices.phone.list().length === 2);
    expect(devices.phoneEvents.filter((e) => e.kind === 'request')).toHaveLength(2);
    devices.phone.approve(waiting.id);
    expectSignsFor(waiting, devices.address, await again);
    devices.close();
  });

  it('another request under a known id is dropped, not shown', async () => {
    const devices = await pairedDevices();
    const request = transfer(devices.address, newSigningRequestId());
    void devices.extension.requestSignature(request).catch(() => undefined);
    await waitFor(() => devices.phone.list().length === 1);
    const swapped = { ...request, tx: { ...(request as Extract<SigningRequest, { kind: 'transaction' }>).tx, value: 10n ** 20n } } as SigningRequest;
    await devices.phone.handle({ t: 'sign-request', request: encodeSigningRequest(swapped) });
    expect(devices.phone.list()).toHaveLength(1);
    expect(devices.phone.list()[0]).toMatchObject({ request, status: 'pending' });
    expect(devices.phoneEvents.filter((e) => e.kind === 'request')).toHaveLength(1);
    devices.close();
  });

  it('rounds of an abandoned attempt are dropped by the phone', async () => {
    const devices = await pairedDevices();
    const request = transfer(devices.address, newSigningRequestId());
    void devices.extension.requestSignature(request).catch(() => undefined);
    await waitFor(() => devices.phone.list().length === 1);
    devices.phone.approve(request.id);
    await waitFor(() => devices.phone.list()[0]?.status === 'signed');
    const before = devices.phone.list()[0];
    await devices.phone.handle({ t: 'sign', id: request.id, attempt: 1, body: { type: 'sign/2' } });
    await devices.phone.handle({ t: 'sign', id: request.id, attempt: 7, body: { type: 'sign/4' } });
    expect(devices.phone.list()[0]).toEqual(before);
    devices.close();
  });
});

describe('the phone request queue', () => {
  it('a request approved while another is being co-signed waits, then signs', async () => {
    const devices = await pairedDevices();
    const first = transfer(devices.address, newSigningRequestId());
    const second = transfer(devices.address, newSigningRequestId());
    const pendingFirst = devices.extension.requestSignature(first);
    const pendingSecond = devices.extension.requestSignature(second);
    await waitFor(() => devices.phone.list().length === 2);
    devices.phone.approve(first.id);
    devices.phone.approve(second.id);
    expect(devices.phone.list().map((entry) => entry.status)).toEqual(['signing', 'approved']);
    expectSignsFor(first, devices.address, await pendingFirst);
    expectSignsFor(second, devices.address, await pendingSecond);
    devices.close();
  });

  it('a request the extension stops waiting for is dropped on the phone, also mid-signing; the next approved one then signs', async () => {
    const devices = await pairedDevices();
    const waiting = transfer(devices.address, newSigningRequestId());
    const signing = transfer(devices.address, newSigningRequestId());
    const queued = transfer(devices.address, newSigningRequestId());
    void devices.extension.requestSignature(waiting).catch(() => undefined);
    const stopped = devices.extension.requestSignature(signing);
    const pendingQueued = devices.extension.requestSignature(queued);
    await waitFor(() => devices.phone.list().length === 3);
    devices.extension.cancel(waiting.id, new Error('cancelled'));
    await waitFor(() => devices.phone.list()[0]?.status === 'cancelled');
    devices.phone.approve(signing.id);
    devices.phone.approve(queued.id);
    expect(devices.phone.list().map((entry) => entry.status)).toEqual(['cancelled', 'signing', 'approved']);
    // The extension stops waiting while the phone's first round is on its way: it never answers it.
    devices.extension.cancel(signing.id, new Error('timed out'));
    await expect(stopped).rejects.toThrow('timed out');
    expectSignsFor(queued, devices.address, await pendingQueued);
    expect(devices.phone.list().map((entry) => entry.status)).toEqual(['cancelled', 'cancelled', 'signed']);
    devices.close();
  });

  it('a request the phone cannot read is answered bad_request naming the field, and nothing is shown', async () => {
    const devices = await pairedDevices();
    const request = transfer(devices.address, newSigningRequestId());
    await devices.phone.handle({ t: 'sign-request', request: { ...encodeSigningRequest(request), origin: 'not an origin' }, pair: modulusHash(devices.phone.share!.paillier.publicKey.n) });
    await waitFor(() => devices.toExtension.some((m) => m.t === 'sign-failed'));
    expect(devices.toExtension.find((m) => m.t === 'sign-failed')).toMatchObject({ id: request.id, reason: 'bad_request', message: expect.stringContaining('request.origin') });
    expect(devices.phone.list()).toHaveLength(0);
    devices.close();
  });

  it('after a reload the phone shows what was waiting and finishes what the user had approved', async () => {
    const devices = await pairedDevices();
    const waiting = transfer(devices.address, newSigningRequestId());
    const approved = transfer(devices.address, newSigningRequestId());
    void devices.extension.requestSignature(waiting).catch(() => undefined);
    const pendingApproved = devices.extension.requestSignature(approved);
    await waitFor(() => devices.phone.list().length === 2);
    devices.phone.approve(approved.id);
    const saved = devices.phone.saved();
    expect(saved.map((entry) => entry.status)).toEqual(['pending', 'approved']);
    expect(JSON.stringify(saved)).not.toMatch(/k1|opening/);
    // The page reloads: the old co-signer is gone, a new one starts from what was saved.
    devices.detachPhone();
    const share = devices.phone.share as P1KeyShare;
    const events: PhoneEvent[] = [];
    const reloaded = new PhoneCoSigner({ send: (m) => devices.phoneChannel.send(m), saveKeyShare: async () => undefined, saveTaint: async () => undefined, onEvent: (e) => events.push(e), keyShare: share, savedRequests: saved });
    devices.phoneChannel.onMessage((m) => void reloaded.handle(m));
    reloaded.resume();
    expect(reloaded.list().map((entry) => [entry.request.id, entry.status])).toEqual([
      [waiting.id, 'pending'],
      [approved.id, 'signing'],
    ]);
    expectSignsFor(approved, devices.address, await pendingApproved);
    devices.close();
  });
});

describe('application messages', () => {
  const id = 'a'.repeat(32);
  it('accepts exactly the shape of each type', () => {
    expect(parseAppMessage({ t: 'sign', id, attempt: 1, body: {} })).not.toBeNull();
    expect(parseAppMessage({ t: 'sign-result', id, r: '0x1', s: '0x2', yParity: 1 })).not.toBeNull();
    expect(parseAppMessage({ t: 'sign-request', request: encodeSigningRequest(transfer('0x70997970C51812dc3A010C7d01b50e0d17dc79C8', id)) })).not.toBeNull();
  });

  it.each([
    ['an unknown type', { t: 'sign-now', id }],
    ['a missing attempt', { t: 'sign', id, body: {} }],
    ['attempt 0', { t: 'sign', id, attempt: 0, body: {} }],
    ['an attempt above the cap', { t: 'sign', id, attempt: MAX_SIGN_ATTEMPTS + 1, body: {} }],
    ['a fractional attempt', { t: 'sign', id, attempt: 1.5, body: {} }],
    ['an extra key', { t: 'sign', id, attempt: 1, body: {}, extra: true }],
    ['a non-hex r', { t: 'sign-result', id, r: '12', s: '0x2', yParity: 0 }],
    ['yParity 2', { t: 'sign-result', id, r: '0x1', s: '0x2', yParity: 2 }],
    ['an unknown failure reason', { t: 'sign-failed', id, reason: 'oops', message: '' }],
    ['an array', [{ t: 'keygen', body: {} }]],
  ])('drops %s', (_label, message) => {
    expect(parseAppMessage(message)).toBeNull();
  });
});

/** A promise the test settles by hand: a slow or failing storage write. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => undefined as void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/** A compromised extension: adds Enc(1) to every c3 (well-formed, wrong signature). */
function craftedC3(devicesRef: { paillierN: bigint }) {
  return (message: AppMessage): AppMessage => {
    if (message.t === 'sign' && (message.body as { type?: string }).type === 'sign/4') {
      const body = message.body as { c3: string };
      const n = devicesRef.paillierN;
      return { ...message, body: { ...body, c3: encodeInteger((BigInt(`0x${body.c3}`) * (1n + n)) % (n * n)) } };
    }
    return message;
  };
}

const failuresSent = (messages: readonly AppMessage[]) => messages.filter((m) => m.t === 'sign-failed');
const phoneRoundsAfter = (messages: readonly AppMessage[], start: number) => messages.slice(start).filter((m) => m.t === 'sign');

describe('the taint window (CVE-2023-33242): exactly one failed signature', () => {
  it('a request asked again right after the crafted c3, while the taint write is slow, is not signed again: one failure, then only "tainted"', async () => {
    const ref = { paillierN: 0n };
    const slowWrite = deferred();
    const devices = await pairedDevices(craftedC3(ref), { saveTaint: () => slowWrite.promise });
    ref.paillierN = devices.extension.share?.paillierN ?? 0n;
    const request = transfer(devices.address, newSigningRequestId());
    void devices.extension.requestSignature(request).catch(() => undefined);
    await waitFor(() => devices.phone.list().length === 1);
    // The worker "restarts" the moment its crafted c3 is out, and asks again for the same request.
    devices.stopExtensionOn(() => false);
    devices.phone.approve(request.id);
    await waitFor(() => devices.phone.tainted);
    const seen = devices.toExtension.length;
    const asked = devices.restartExtension().requestSignature(request);
    const flood = Array.from({ length: 20 }, () => devices.extension.requestSignature(transfer(devices.address, newSigningRequestId())).catch((e: unknown) => e));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Nothing left the phone while the taint was not stored: no new attempt, no answer.
    expect(devices.toExtension.length).toBe(seen);
    expect(devices.phone.list().filter((entry) => entry.status === 'signing')).toHaveLength(0);
    expect(devices.phoneEvents.filter((e) => e.kind === 'request')).toHaveLength(1);
    slowWrite.resolve();
    expect(((await asked.catch((e: unknown) => e)) as CoSigningFailed).reason).toBe('tainted');
    for (const refused of await Promise.all(flood)) expect((refused as CoSigningFailed).reason).toBe('tainted');
    expect(phoneRoundsAfter(devices.toExtension, seen)).toHaveLength(0);
    expect(devices.phone.share?.taints).toHaveLength(1);
    expect(devices.taintWrites).toHaveLength(1);
    devices.close();
  });

  it('the first three taint writes fail: still one failure, the tainted state shows at once, and the record is stored when a write succeeds', async () => {
    const ref = { paillierN: 0n };
    let attempts = 0;
    const devices = await pairedDevices(craftedC3(ref), {
      taintRetryMs: 20,
      saveTaint: async () => {
        attempts += 1;
        if (attempts <= 3) throw new Error('QuotaExceededError');
      },
    });
    ref.paillierN = devices.extension.share?.paillierN ?? 0n;
    const first = transfer(devices.address, newSigningRequestId());
    const second = transfer(devices.address, newSigningRequestId());
    const pendingFirst = devices.extension.requestSignature(first).catch((e: unknown) => e);
    const pendingSecond = devices.extension.requestSignature(second).catch((e: unknown) => e);
    await waitFor(() => devices.phone.list().length === 2);
    devices.phone.approve(first.id);
    devices.phone.approve(second.id);
    await waitFor(() => devices.phone.tainted);
    expect(devices.phoneEvents.find((e) => e.kind === 'tainted')).toEqual({ kind: 'tainted', stored: false });
    // The second approved request is refused, never started with the tainted share.
    expect(devices.phone.list().map((entry) => entry.status)).toEqual(['failed', 'failed']);
    expect(((await pendingFirst) as CoSigningFailed).reason).toBe('tainted');
    expect(((await pendingSecond) as CoSigningFailed).reason).toBe('tainted');
    expect(attempts).toBe(4);
    expect(devices.taintWrites).toHaveLength(1);
    expect(devices.phoneEvents.filter((e) => e.kind === 'tainted').at(-1)).toEqual({ kind: 'tainted', stored: true });
    expect(roundsSeen(devices.toExtension, 'sign/1')).toHaveLength(1);
    devices.close();
  });

  it('after the taint only a transfer to the rescue address typed on the phone is co-signed', async () => {
    const ref = { paillierN: 0n };
    let honest = false;
    const tamper = craftedC3(ref);
    const devices = await pairedDevices((message) => (honest ? message : tamper(message)));
    ref.paillierN = devices.extension.share?.paillierN ?? 0n;
    const first = transfer(devices.address, newSigningRequestId());
    const pending = devices.extension.requestSignature(first).catch((e: unknown) => e);
    await waitFor(() => devices.phone.list().length === 1);
    devices.phone.approve(first.id);
    expect(((await pending) as CoSigningFailed).reason).toBe('tainted');

    const rescueAddress = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
    devices.phone.setRescueAddress(rescueAddress);
    honest = true;
    const elsewhere = transfer(devices.address, newSigningRequestId());
    expect((((await devices.extension.requestSignature(elsewhere).catch((e: unknown) => e)) as CoSigningFailed).reason)).toBe('tainted');
    const rescue = { ...transfer(devices.address, newSigningRequestId()), tx: { ...(first as Extract<SigningRequest, { kind: 'transaction' }>).tx, to: rescueAddress } } as SigningRequest;
    const rescued = devices.extension.requestSignature(rescue);
    await waitFor(() => devices.phone.list().some((entry) => entry.request.id === rescue.id && entry.status === 'pending'));
    devices.phone.approve(rescue.id);
    expectSignsFor(rescue, devices.address, await rescued);
    devices.close();
  });
});
