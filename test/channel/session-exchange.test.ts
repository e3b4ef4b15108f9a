/**
 * The key exchange every connection runs (secure-channel.ts): forward secrecy, who holds what
 * while it runs, crossing exchanges, the daily refresh, and devices stopped in the middle of one
 * (durable channels store before they send).
 */
import { describe, expect, it } from 'vitest';
import { generateEphemeral, generateIdentity, type Identity } from '../../src/channel/handshake.ts';
import { createPairingOffer } from '../../src/channel/pairing-offer.ts';
import { MAX_SESSION_AGE_MS, SEND_SEQ_RESERVE, SecureChannel, type FrameTransport, type SecureChannelState } from '../../src/channel/secure-channel.ts';
import { keysIn, openedBy } from './frame-keys.ts';
import { pipe, settle, type Interceptor } from './pipe.ts';

const FrameKind = { sessionInit: 2, sessionReply: 3, sessionConfirm: 4, sealed: 5 };

/** A transport end that can be cut off, as a stopped service worker or a closed page is. */
function endpoint(wire: FrameTransport): { transport: FrameTransport; stop(): void } {
  let active = true;
  return {
    transport: { send: (frame) => active && wire.send(frame), onMessage: (handler) => wire.onMessage((frame) => active && handler(frame)) },
    stop: () => (active = false),
  };
}

interface Device {
  channel: SecureChannel;
  readonly identity: Identity;
  readonly got: unknown[];
  /** What the device stored last (durable devices), as its storage would hold it. */
  stored: SecureChannelState | null;
  stop(): void;
}

/**
 * A paired extension and phone over one pipe. Durable devices store on `save-needed` (JSON, as
 * storage would) and confirm the save, unless `storing` is false for them.
 */
async function pairedDevices(options: { durable?: boolean; intercept?: Interceptor; now?: () => number } = {}) {
  const { offer, ephemeralSecret } = createPairingOffer('wss://relay.example/ws', Date.now());
  const wires = pipe(options.intercept);
  const storing = { extension: true, phone: true };
  const make = (role: 'extension' | 'phone', identity: Identity, state?: SecureChannelState): Device => {
    const end = endpoint(role === 'extension' ? wires.extension : wires.phone);
    const channel = new SecureChannel({ transport: end.transport, role, channelId: offer.channelId, identity, durable: options.durable ?? false, ...(options.now ? { now: options.now } : {}), ...(state ? { state } : {}) });
    const device: Device = { channel, identity, got: [], stored: null, stop: end.stop };
    channel.onMessage((message) => device.got.push(message));
    const store = () => {
      if (!storing[role]) return;
      const state = channel.save();
      device.stored = JSON.parse(JSON.stringify(state));
      channel.confirmSaved(state);
    };
    channel.onEvent((event) => event.kind === 'save-needed' && queueMicrotask(store));
    if (state) store();
    return device;
  };
  const devices = { extension: make('extension', generateIdentity()), phone: make('phone', generateIdentity()) };
  devices.extension.channel.awaitPhone(offer, ephemeralSecret);
  devices.phone.channel.answerOffer(offer);
  await settle();
  devices.extension.channel.confirmSas();
  devices.phone.channel.confirmSas();
  await settle();
  /** The device restarted from what it stored last (its old run is cut off). */
  const restart = (role: 'extension' | 'phone'): Device => {
    const old = devices[role];
    old.stop();
    devices[role] = make(role, old.identity, JSON.parse(JSON.stringify(old.stored ?? old.channel.save())));
    return devices[role];
  };
  return { devices, wires, storing, restart };
}

async function settled(): Promise<void> {
  for (let i = 0; i < 4; i++) await settle();
}

const sessionId = (device: Device) => device.channel.save().session?.id;

async function bothWays(devices: { extension: Device; phone: Device }, tag: string): Promise<void> {
  devices.extension.channel.send({ tag, to: 'phone' });
  devices.phone.channel.send({ tag, to: 'extension' });
  await settled();
  expect(devices.phone.got).toContainEqual({ tag, to: 'phone' });
  expect(devices.extension.got).toContainEqual({ tag, to: 'extension' });
}

describe('the key exchange', () => {
  it('keys captured before an exchange open no frame sent after it, in either direction', async () => {
    const frames: Uint8Array[] = [];
    let recording = false;
    const { devices } = await pairedDevices({ intercept: (frame) => (recording && frames.push(frame), frame) });
    await bothWays(devices, 'before');
    const captured = [...keysIn(devices.extension.channel.save()), ...keysIn(devices.phone.channel.save())];
    recording = true;
    devices.extension.channel.startSession();
    await settled();
    await bothWays(devices, 'after');
    expect(frames.filter((frame) => frame[0] === FrameKind.sealed).length).toBeGreaterThanOrEqual(3);
    expect(openedBy(frames, captured)).toEqual([]);
  });

  it('the device that started it holds its messages until it completes, then sends them under the new keys', async () => {
    const sealedToPhone: Uint8Array[] = [];
    const { devices } = await pairedDevices({ intercept: (frame, direction) => (direction === 'toPhone' && frame[0] === FrameKind.sealed && sealedToPhone.push(frame), frame) });
    const before = sessionId(devices.extension);
    devices.extension.channel.startSession();
    devices.extension.channel.send({ n: 1 });
    devices.extension.channel.send({ n: 2 });
    await settled();
    expect(devices.phone.got).toEqual([{ n: 1 }, { n: 2 }]);
    const after = sessionId(devices.extension);
    expect(after).not.toBe(before);
    expect(sessionId(devices.phone)).toBe(after);
    // Both went out under the new keys (their key id), none under the old ones.
    const ids = sealedToPhone.map((frame) => Buffer.from(frame.subarray(1, 5)).toString('base64url'));
    expect(ids.slice(-2)).toEqual([after, after]);
  });

  it('both devices start one at once: they agree on one session and messages flow', async () => {
    const { devices } = await pairedDevices();
    devices.extension.channel.startSession();
    devices.phone.channel.startSession();
    await settled();
    expect(sessionId(devices.phone)).toBe(sessionId(devices.extension));
    await bothWays(devices, 'crossed');
  });

  it('a forged session start injected while the phone starts its own does not hold the phone back', async () => {
    const { devices, wires } = await pairedDevices();
    const before = sessionId(devices.phone);
    devices.phone.channel.startSession();
    devices.phone.channel.send({ held: true });
    wires.extension.send(new Uint8Array([FrameKind.sessionInit, ...generateEphemeral().publicKey]));
    await settled();
    expect(sessionId(devices.phone)).not.toBe(before);
    expect(sessionId(devices.phone)).toBe(sessionId(devices.extension));
    expect(devices.extension.got).toEqual([{ held: true }]);
    await bothWays(devices, 'after the forgery');
  });

  it("a forged session start does not push out the real one the phone is answering", async () => {
    const held: Uint8Array[] = [];
    let holdConfirm = true;
    const { devices, wires } = await pairedDevices({ intercept: (frame, direction) => (direction === 'toPhone' && frame[0] === FrameKind.sessionConfirm && holdConfirm ? (held.push(frame), null) : frame) });
    devices.extension.channel.startSession();
    await settled();
    wires.extension.send(new Uint8Array([FrameKind.sessionInit, ...generateEphemeral().publicKey]));
    await settled();
    holdConfirm = false;
    for (const frame of held) wires.extension.send(frame);
    await settled();
    expect(sessionId(devices.phone)).toBe(sessionId(devices.extension));
    await bothWays(devices, 'after');
  });

  it('a session older than a day is replaced before the next message', async () => {
    let now = Date.now();
    const { devices } = await pairedDevices({ now: () => now });
    await bothWays(devices, 'young');
    const before = sessionId(devices.extension);
    now += MAX_SESSION_AGE_MS + 60_000;
    devices.extension.channel.send({ old: 'session' });
    await settled();
    expect(sessionId(devices.extension)).not.toBe(before);
    expect(sessionId(devices.phone)).toBe(sessionId(devices.extension));
    expect(devices.phone.got).toContainEqual({ old: 'session' });
  });
});

describe('durable devices stopped in the middle of an exchange', () => {
  it('a durable device sends its reply and its confirmation only after storing the keys they commit to', async () => {
    const order: string[] = [];
    const { devices } = await pairedDevices({ durable: true, intercept: (frame) => (frame[0] === FrameKind.sessionReply || frame[0] === FrameKind.sessionConfirm ? order.push(`frame ${frame[0]}`) : undefined, frame) });
    for (const role of ['extension', 'phone'] as const) devices[role].channel.onEvent((event) => event.kind === 'save-needed' && order.push(`store ${role}`));
    devices.extension.channel.startSession();
    await settled();
    expect(order.indexOf('store phone')).toBeLessThan(order.indexOf(`frame ${FrameKind.sessionReply}`));
    expect(order.indexOf('store extension')).toBeLessThan(order.indexOf(`frame ${FrameKind.sessionConfirm}`));
    expect(sessionId(devices.phone)).toBe(sessionId(devices.extension));
  });

  it('keys stored while pending are bounded by that store once in use: no more than SEND_SEQ_RESERVE frames before the next one, the rest held until it', async () => {
    const { devices, storing } = await pairedDevices({ durable: true });
    devices.phone.channel.onEvent((event) => {
      if (event.kind === 'session') storing.phone = false;
    });
    devices.extension.channel.startSession();
    await settled();
    expect(sessionId(devices.phone)).toBe(sessionId(devices.extension));
    // The phone stored the new keys (with a floor) before replying; it has not stored since the switch.
    const restorable = devices.phone.stored as SecureChannelState;
    expect(restorable.responding).toHaveLength(1);
    for (let i = 1; i < SEND_SEQ_RESERVE; i++) devices.phone.channel.send({ i });
    // Past the floor a durable channel seals nothing more: the message waits for the next store.
    devices.phone.channel.send({ one: 'too many' });
    await settled();
    expect(devices.extension.got.at(-1)).toEqual({ i: SEND_SEQ_RESERVE - 1 });
    expect(devices.phone.channel.save().held).toEqual([{ one: 'too many' }]);
    storing.phone = true;
    devices.phone.channel.send({ after: 'the store' });
    await settled();
    expect(devices.extension.got.slice(-2)).toEqual([{ one: 'too many' }, { after: 'the store' }]);
  });

  it('the phone stops after storing its reply: restarted from storage it takes the confirmation and the messages under the new keys', async () => {
    let phoneDown = false;
    const waiting: Uint8Array[] = [];
    const { devices, wires, restart } = await pairedDevices({ durable: true, intercept: (frame, direction) => (direction === 'toPhone' && phoneDown ? (waiting.push(frame), null) : frame) });
    await bothWays(devices, 'before');
    devices.phone.channel.onEvent((event) => {
      if (event.kind === 'save-needed') queueMicrotask(() => queueMicrotask(() => (phoneDown = true)));
    });
    devices.extension.channel.startSession();
    devices.extension.channel.send({ during: 'the exchange' });
    await settled();
    expect(phoneDown).toBe(true);
    const phone = restart('phone');
    phoneDown = false;
    // What waited in the relay's mailbox reaches the restarted page.
    for (const frame of waiting.splice(0)) wires.extension.send(frame);
    await settled();
    expect(phone.got).toContainEqual({ during: 'the exchange' });
    expect(sessionId(phone)).toBe(sessionId(devices.extension));
    await bothWays(devices, 'after');
  });

  it('the phone restarted with its stored reply takes the confirmation and switches to the restored keys: a message it sends before its next store is held, not refused, and goes out after it', async () => {
    let phoneDown = false;
    const waiting: Uint8Array[] = [];
    const { devices, wires, storing, restart } = await pairedDevices({ durable: true, intercept: (frame, direction) => (direction === 'toPhone' && phoneDown ? (waiting.push(frame), null) : frame) });
    await bothWays(devices, 'before');
    devices.phone.channel.onEvent((event) => {
      if (event.kind === 'save-needed') queueMicrotask(() => queueMicrotask(() => (phoneDown = true)));
    });
    devices.extension.channel.startSession();
    await settled();
    const phone = restart('phone');
    phoneDown = false;
    // The restored keys may not send before a new store: that store is slow to come.
    storing.phone = false;
    for (const frame of waiting.splice(0)) wires.extension.send(frame);
    await settled();
    expect(sessionId(phone)).toBe(sessionId(devices.extension));
    expect(() => phone.channel.send({ right: 'after the switch' })).not.toThrow();
    await settled();
    expect(devices.extension.got).not.toContainEqual({ right: 'after the switch' });
    expect(phone.channel.save().held).toEqual([{ right: 'after the switch' }]);
    storing.phone = true;
    phone.channel.send({ and: 'the next one' });
    await settled();
    expect(devices.extension.got.slice(-2)).toEqual([{ right: 'after the switch' }, { and: 'the next one' }]);
  });

  it('the extension stops after storing the keys it will confirm: restarted, it confirms, and its held messages go under the new keys', async () => {
    const { devices, storing, restart } = await pairedDevices({ durable: true });
    await bothWays(devices, 'before');
    // Stored, then stopped before it could act on the stored state.
    devices.extension.channel.onEvent((event) => {
      if (event.kind === 'save-needed' && devices.extension.channel.save().confirming) {
        devices.extension.stored = JSON.parse(JSON.stringify(devices.extension.channel.save()));
        storing.extension = false;
      }
    });
    devices.extension.channel.startSession();
    devices.extension.channel.send({ held: 'across the restart' });
    await settled();
    expect(devices.extension.stored?.confirming).not.toBeNull();
    expect(devices.phone.got).not.toContainEqual({ held: 'across the restart' });
    storing.extension = true;
    const extension = restart('extension');
    await settled();
    expect(devices.phone.got).toContainEqual({ held: 'across the restart' });
    expect(sessionId(devices.phone)).toBe(sessionId(extension));
    await bothWays(devices, 'after');
  });
});
