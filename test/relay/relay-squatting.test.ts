/**
 * Channels nobody can squat: whoever knows a channel (saw the QR, runs the relay, read its logs)
 * cannot take a role of a paired channel, after the channel was released or the relay restarted,
 * cannot read queued ciphertext, and cannot learn whether a channel exists.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FrameType } from '../../src/channel/relay-protocol.ts';
import type { RelayClient } from '../../src/channel/relay-client.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import type { RawWebSocket } from './raw-websocket.ts';
import { binaryFrame, client, newChannelId, sleep, squatterMember, text, untext, waitFor } from './relay-support.ts';
import { STORES, storeBackend } from './relay-stores.ts';

describe.each(STORES)('%s store', (kind) => {
  const backend = storeBackend(kind);

  let cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  /** Relays given the same `shared` name serve the same channels. */
  async function relayOn(port = 0, shared?: string): Promise<RunningRelay> {
    const relay = await startRelay({ ...backend.options(shared), port, staticDir: null, log: () => undefined, mailboxTtlMs: 300, drainTimeoutMs: 100 });
    return relay;
  }

  /** The squatter takes both roles and holds them with pings, as a squatter would. */
  async function squatBoth(port: number, secret: string): Promise<RawWebSocket[]> {
    const squatters = await Promise.all((['extension', 'phone'] as const).map((role) => squatterMember(port, secret, role)));
    for (const squatter of squatters) {
      cleanup.push(() => {
        squatter.socket.destroy();
      });
      const keepalive = setInterval(() => squatter.sendBinary(binaryFrame(FrameType.ping, 0)), 100);
      cleanup.push(() => clearInterval(keepalive));
    }
    await sleep(300);
    return squatters;
  }

  async function exchange(from: RelayClient, to: RelayClient): Promise<void> {
    const got: string[] = [];
    const off = to.onMessage((payload) => got.push(untext(payload)));
    from.send(text('hello again'));
    await waitFor(() => got.includes('hello again'));
    off();
  }

  /** A paired channel whose members both went offline; returns what they saved. */
  async function pairThenLeave(relay: RunningRelay, secret: string) {
    const extension = client(relay.wsUrl, secret, 'extension');
    const phone = client(relay.wsUrl, secret, 'phone');
    await Promise.all([extension.connect(), phone.connect()]);
    await exchange(extension, phone);
    const states = { extension: JSON.parse(JSON.stringify(extension.saveState())), phone: JSON.parse(JSON.stringify(phone.saveState())) };
    extension.close();
    phone.close();
    return states;
  }

  async function membersReturn(wsUrl: string, secret: string, states: Awaited<ReturnType<typeof pairThenLeave>>): Promise<void> {
    const extension = client(wsUrl, secret, 'extension', states.extension);
    const phone = client(wsUrl, secret, 'phone', states.phone);
    cleanup.push(() => (extension.close(), phone.close()));
    await Promise.all([extension.connect(), phone.connect()]);
    await exchange(extension, phone);
    await exchange(phone, extension);
  }

  describe('squatting a paired channel', () => {
    it('after the channel was released (both members offline): the squatter is refused, the members reconnect', async () => {
      const relay = await relayOn();
      cleanup.push(() => relay.close());
      const secret = newChannelId();
      const states = await pairThenLeave(relay, secret);
      await waitFor(async () => (await relay.stats()).channels === 0);
      const squatters = await squatBoth(relay.port, secret);
      await membersReturn(relay.wsUrl, secret, states);
      for (const squatter of squatters) await Promise.race([squatter.closed, sleep(2_000)]);
      expect(squatters.map((s) => s.socket.destroyed || s.closeCode() !== null)).toEqual([true, true]);
    });

    it('after a relay restart: the squatter who comes first is refused, the members reconnect', async () => {
      const first = await relayOn(0, 'restart');
      const secret = newChannelId();
      const states = await pairThenLeave(first, secret);
      const port = first.port;
      await first.close();
      const second = await relayOn(port, 'restart');
      cleanup.push(() => second.close());
      const squatters = await squatBoth(port, secret);
      await membersReturn(second.wsUrl, secret, states);
      for (const squatter of squatters) await Promise.race([squatter.closed, sleep(2_000)]);
      expect(squatters.map((s) => s.socket.destroyed || s.closeCode() !== null)).toEqual([true, true]);
    });
  });

  describe('a third party at pairing time', () => {
    it('gets no queued ciphertext, and the same refusal whether or not the channel exists', async () => {
      const relay = await relayOn();
      cleanup.push(() => relay.close());
      const secret = newChannelId();
      const extension = client(relay.wsUrl, secret, 'extension');
      cleanup.push(() => extension.close());
      await extension.connect();
      extension.send(text('for the phone only'));
      await waitFor(async () => (await relay.stats()).framesQueued === 1);

      const atExisting = await squatterMember(relay.port, secret, 'phone');
      const atNone = await squatterMember(relay.port, newChannelId(), 'phone');
      const atTakenRole = await squatterMember(relay.port, secret, 'extension');
      await Promise.all([atExisting, atNone, atTakenRole].map((raw) => Promise.race([raw.closed, sleep(1_000)])));
      const outcome = (raw: RawWebSocket) => ({ code: raw.closeCode(), welcomed: raw.texts.some((t) => t.includes('welcome')) });
      expect(outcome(atExisting).welcomed).toBe(false);
      expect(outcome(atExisting)).toEqual(outcome(atNone));
      expect(outcome(atTakenRole)).toEqual(outcome(atNone));
      // Nothing but the refusal reached the squatter: no data frame.
      expect(atExisting.socket.bytesRead).toBeLessThan(400);
    });
  });
});
