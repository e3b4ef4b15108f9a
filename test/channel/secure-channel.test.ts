import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelError } from '../../src/channel/channel-error.ts';
import { generateEphemeral, generateIdentity } from '../../src/channel/handshake.ts';
import { createPairingOffer, decodePairingLink, encodePairingLink, relayChannelName, type PairingOffer } from '../../src/channel/pairing-offer.ts';
import { SEND_SEQ_RESERVE, SecureChannel, type ChannelEvent, type FrameTransport } from '../../src/channel/secure-channel.ts';

/** The frame kind byte of sealed frames (secure-channel.ts). */
const SEALED_FRAME = 5;
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { client, waitFor } from '../relay/relay-support.ts';
import { pipe, settle, type Interceptor } from './pipe.ts';

const NOW = Date.now();

function devices(transports: { extension: FrameTransport; phone: FrameTransport }, offer: PairingOffer, secret: Uint8Array) {
  const extensionIdentity = generateIdentity();
  const phoneIdentity = generateIdentity();
  const extension = new SecureChannel({ transport: transports.extension, role: 'extension', channelId: offer.channelId, identity: extensionIdentity });
  const phone = new SecureChannel({ transport: transports.phone, role: 'phone', channelId: offer.channelId, identity: phoneIdentity });
  const events = { extension: [] as ChannelEvent[], phone: [] as ChannelEvent[] };
  extension.onEvent((e) => events.extension.push(e));
  phone.onEvent((e) => events.phone.push(e));
  extension.awaitPhone(offer, secret);
  return { extension, phone, events, extensionIdentity, phoneIdentity };
}

const sasOf = (events: ChannelEvent[]) => events.find((e): e is Extract<ChannelEvent, { kind: 'sas' }> => e.kind === 'sas')?.sas;

async function pairOverPipe(intercept?: Interceptor) {
  const { offer, ephemeralSecret } = createPairingOffer('wss://relay.example/ws', NOW);
  const wires = pipe(intercept);
  const setup = devices(wires, offer, ephemeralSecret);
  setup.phone.answerOffer(decodePairingLink(encodePairingLink(offer, 'https://phone.example/'), NOW));
  await settle();
  return { ...setup, wires, offer };
}

describe('pairing', () => {
  it('both devices show the same SAS, and pair only after both users confirm', async () => {
    const { extension, phone, events, extensionIdentity, phoneIdentity } = await pairOverPipe();
    const sas = sasOf(events.extension);
    expect(sas).toMatch(/^\d{6}$/);
    expect(sasOf(events.phone)).toBe(sas);
    expect(() => extension.send({ too: 'early' })).toThrowError(ChannelError);
    extension.confirmSas();
    await settle();
    expect(extension.currentPhase).toBe('awaiting-sas');
    phone.confirmSas();
    await settle();
    expect(extension.currentPhase).toBe('paired');
    expect(phone.currentPhase).toBe('paired');
    expect(extension.peerIdentity).toEqual(phoneIdentity.publicKey);
    expect(phone.peerIdentity).toEqual(extensionIdentity.publicKey);

    const got: unknown[] = [];
    phone.onMessage((m) => got.push(m));
    extension.send({ type: 'hello', n: 1 });
    await settle();
    expect(got).toEqual([{ type: 'hello', n: 1 }]);
  });

  it('a man in the middle at the relay who swaps keys makes the SAS differ and pairing fails', async () => {
    const attacker = generateEphemeral();
    const swap: Interceptor = (frame, direction) => {
      if (direction === 'toExtension' && frame[0] === 1) return new Uint8Array([1, ...attacker.publicKey]);
      return frame;
    };
    const { extension, phone, events } = await pairOverPipe(swap);
    const extensionSas = sasOf(events.extension);
    const phoneSas = sasOf(events.phone);
    expect(extensionSas).toBeDefined();
    expect(phoneSas).toBeDefined();
    expect(extensionSas).not.toBe(phoneSas);
    // The phone cannot even read the extension's frames: they were sealed for the attacker's key.
    expect(events.phone.some((e) => e.kind === 'error' && e.error.code === 'tampered')).toBe(true);
    // The users compare codes, see a difference, and cancel.
    extension.rejectSas();
    expect(extension.currentPhase).toBe('closed');
    expect(phone.currentPhase).not.toBe('paired');
  });
});

describe('sessions after pairing', () => {
  async function paired() {
    const setup = await pairOverPipe();
    setup.extension.confirmSas();
    setup.phone.confirmSas();
    await settle();
    return setup;
  }

  it('runs a fresh key exchange authenticated by the pinned identities', async () => {
    const { extension, phone, events } = await paired();
    const before = extension.save().session?.session.sendKey;
    extension.startSession();
    await settle();
    await settle();
    expect(events.extension.some((e) => e.kind === 'session')).toBe(true);
    expect(events.phone.some((e) => e.kind === 'session')).toBe(true);
    expect(extension.save().session?.session.sendKey).not.toBe(before);
    const got: unknown[] = [];
    extension.onMessage((m) => got.push(m));
    phone.send({ ok: true });
    await settle();
    expect(got).toEqual([{ ok: true }]);
  });

  it('refuses a peer that cannot prove the pinned key, in either direction: reported, old keys kept, nothing closed', async () => {
    const { extension, phone, offer, extensionIdentity, phoneIdentity } = await paired();
    const wires = pipe();
    const restoredExtension = new SecureChannel({ transport: wires.extension, role: 'extension', channelId: offer.channelId, identity: extensionIdentity, state: extension.save() });
    const impostorPhone = new SecureChannel({ transport: wires.phone, role: 'phone', channelId: offer.channelId, identity: generateIdentity(), state: phone.save() });
    const errors: string[] = [];
    const sessions: string[] = [];
    restoredExtension.onEvent((e) => (e.kind === 'error' ? errors.push(e.error.code) : e.kind === 'session' && sessions.push('extension')));
    impostorPhone.onEvent((e) => e.kind === 'session' && sessions.push('impostor'));
    const keysBefore = restoredExtension.save().session?.id;
    restoredExtension.startSession();
    await settle();
    await settle();
    expect(errors).toContain('identity_mismatch');
    expect(sessions).toEqual([]);
    expect(restoredExtension.currentPhase).toBe('paired');
    expect(restoredExtension.save().session?.id).toBe(keysBefore);

    const wiresBack = pipe();
    const impostorExtension = new SecureChannel({ transport: wiresBack.extension, role: 'extension', channelId: offer.channelId, identity: generateIdentity(), state: extension.save() });
    const restoredPhone = new SecureChannel({ transport: wiresBack.phone, role: 'phone', channelId: offer.channelId, identity: phoneIdentity, state: phone.save() });
    const phoneErrors: string[] = [];
    restoredPhone.onEvent((e) => e.kind === 'error' && phoneErrors.push(e.error.code));
    const phoneKeysBefore = restoredPhone.save().session?.id;
    impostorExtension.startSession();
    await settle();
    await settle();
    expect(phoneErrors).toContain('identity_mismatch');
    expect(restoredPhone.currentPhase).toBe('paired');
    expect(restoredPhone.save().session?.id).toBe(phoneKeysBefore);
  });

  it('a restored channel sends only after a fresh state is stored, above the saved floor (the peer accepts the gap)', async () => {
    const { extension, phone, wires, offer, extensionIdentity, events } = await paired();
    const saved = JSON.parse(JSON.stringify(extension.save()));
    const restored = new SecureChannel({ transport: wires.extension, role: 'extension', channelId: offer.channelId, identity: extensionIdentity, state: saved });
    const got: unknown[] = [];
    phone.onMessage((m) => got.push(m));
    expect(() => restored.send({ too: 'early' })).toThrow(expect.objectContaining({ code: 'save_required' }));
    const stored = restored.save();
    restored.confirmSaved(stored);
    restored.send({ after: 'restart' });
    await settle();
    expect(got).toEqual([{ after: 'restart' }]);
    expect(events.phone).toContainEqual({ kind: 'gap', missed: SEND_SEQ_RESERVE });
  });

  it('never seals two frames under one nonce, whatever saved state a restart finds', async () => {
    const toPhone: number[] = [];
    const record: Interceptor = (frame, direction) => {
      // kind ‖ key id (4) ‖ seq (8) ‖ ciphertext
      if (direction === 'toPhone' && frame[0] === SEALED_FRAME) toPhone.push(Number(new DataView(frame.buffer, frame.byteOffset + 5, 8).getBigUint64(0)));
      return frame;
    };
    const { extension, offer, extensionIdentity } = await paired();
    const wires = pipe(record);
    const run = (state: unknown) => new SecureChannel({ transport: wires.extension, role: 'extension', channelId: offer.channelId, identity: extensionIdentity, state: JSON.parse(JSON.stringify(state)) });
    // Run 1 stores a state, sends, and is stopped before storing again.
    const durable = extension.save();
    extension.confirmSaved(durable);
    const first = run(durable);
    const firstStored = first.save();
    first.confirmSaved(firstStored);
    for (let i = 0; i < 3; i++) first.send({ i });
    // Run 2 starts from `firstStored`, stores a state it never gets confirmed (stopped mid-write).
    const second = run(firstStored);
    second.save();
    expect(() => second.send({ lost: true })).toThrow(expect.objectContaining({ code: 'save_required' }));
    // Run 3 also starts from `firstStored`: its numbers are above everything run 1 used.
    const third = run(firstStored);
    third.confirmSaved(third.save());
    for (let i = 0; i < 3; i++) third.send({ i });
    expect(toPhone).toHaveLength(6);
    expect(new Set(toPhone).size).toBe(6);
    expect(Math.min(...toPhone.slice(3))).toBeGreaterThan(Math.max(...toPhone.slice(0, 3)));
  });

  it('a running channel sends at most SEND_SEQ_RESERVE frames past its last confirmed save', async () => {
    const { extension } = await paired();
    const unconfirmed = extension.save();
    for (let i = 0; i < SEND_SEQ_RESERVE; i++) extension.send({ i });
    expect(() => extension.send({ one: 'more' })).toThrow(expect.objectContaining({ code: 'save_required' }));
    extension.confirmSaved(unconfirmed);
    expect(() => extension.send({ one: 'more' })).toThrow(expect.objectContaining({ code: 'save_required' }));
    extension.confirmSaved(extension.save());
    extension.send({ one: 'more' });
  });
});

describe('over the real relay', () => {
  let relay: RunningRelay;
  const routed: Uint8Array[] = [];
  beforeAll(async () => {
    relay = await startRelay({ port: 0, staticDir: null, log: () => undefined, onRoutedFrame: (_c, _f, payload) => routed.push(payload) });
  });
  afterAll(() => relay.close());

  it('pairs two devices and carries messages; the relay never sees a plaintext field', async () => {
    const { offer, ephemeralSecret } = createPairingOffer(relay.wsUrl, Date.now());
    const name = relayChannelName(offer);
    const extensionRelay = client(relay.wsUrl, name, 'extension');
    const phoneRelay = client(relay.wsUrl, name, 'phone');
    await Promise.all([extensionRelay.connect(), phoneRelay.connect()]);
    const setup = devices({ extension: extensionRelay, phone: phoneRelay }, offer, ephemeralSecret);
    setup.phone.answerOffer(offer);
    await waitFor(() => setup.extension.currentPhase === 'awaiting-sas' && setup.phone.currentPhase === 'awaiting-sas');
    setup.extension.confirmSas();
    setup.phone.confirmSas();
    await waitFor(() => setup.extension.currentPhase === 'paired' && setup.phone.currentPhase === 'paired');

    const secretFields = ['0xdeadbeefcafef00d1234567890abcdef12345678', 'approve-transfer-of-1.5-ETH', 'personal_sign'];
    const got: unknown[] = [];
    setup.phone.onMessage((m) => got.push(m));
    setup.extension.send({ to: secretFields[0], note: secretFields[1], method: secretFields[2] });
    await waitFor(() => got.length === 1);
    expect(got[0]).toEqual({ to: secretFields[0], note: secretFields[1], method: secretFields[2] });

    const everything = routed.map((bytes) => Buffer.from(bytes).toString('latin1')).join('\n');
    for (const field of [...secretFields, setup.extensionIdentity.publicKey, setup.phoneIdentity.publicKey].map((f) => (typeof f === 'string' ? f : Buffer.from(f).toString('latin1')))) {
      expect(everything.includes(field)).toBe(false);
    }
    extensionRelay.close();
    phoneRelay.close();
  });
});
