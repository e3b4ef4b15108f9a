/** The relay's other limits and notices, each with its cap lowered. */
import { afterEach, describe, expect, it } from 'vitest';
import { describeRelayStatus, type RelayGap } from '../../src/channel/relay-client.ts';
import { CloseCode, FrameType, MAX_HELLO_BYTES } from '../../src/channel/relay-protocol.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { rawWebSocket } from './raw-websocket.ts';
import { binaryFrame, client, newChannelId, rawMember, sleep, text, untext, waitFor } from './relay-support.ts';
import { STORES, storeBackend } from './relay-stores.ts';

describe.each(STORES)('%s store', (kind) => {
  const backend = storeBackend(kind);

  let cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  async function relayWith(options: Record<string, unknown>): Promise<RunningRelay> {
    const relay = await startRelay({ ...backend.options(), port: 0, staticDir: null, log: () => undefined, ...options });
    cleanup.push(() => relay.close());
    return relay;
  }

  describe('slow readers', () => {
    it('a reader that takes nothing of what it is owed is closed (4011); the mailbox keeps the frames for its next connection', async () => {
      const relay = await relayWith({ slowReaderTimeoutMs: 400, socketWindowBytes: 64 * 1024, maxFrameBytes: 60 * 1024 });
      const secret = newChannelId();
      const reader = await rawMember(relay.port, secret, 'phone', { localAddress: '127.0.0.21' });
      await sleep(100);
      reader.stopReading();
      const writer = await rawMember(relay.port, secret, 'extension', { localAddress: '127.0.0.21' });
      for (let seq = 1; seq <= 200; seq++) writer.sendBinary(binaryFrame(FrameType.data, seq, new Uint8Array(50 * 1024)));
      await waitFor(() => writer.stored() === 200);
      // The relay dropped the reader (the paused reader itself does not notice until it reads).
      await waitFor(async () => (await relay.stats()).connections === 1, 5_000);
      expect((await relay.stats()).framesQueued).toBe(200);
      expect((await relay.stats()).bufferedBytes).toBe(0);
    });

    it('what all sockets hold that their readers have not taken stays under the total cap', async () => {
      const relay = await relayWith({ maxBufferedBytesTotal: 256 * 1024, socketWindowBytes: 200 * 1024, maxFrameBytes: 60 * 1024 });
      let peak = 0;
      const sampler = setInterval(() => void relay.stats().then((stats) => (peak = Math.max(peak, stats.bufferedBytes))), 1);
      cleanup.push(() => clearInterval(sampler));
      for (let pair = 0; pair < 4; pair++) {
        const secret = newChannelId();
        const reader = await rawMember(relay.port, secret, 'phone', { localAddress: '127.0.0.22' });
        cleanup.push(() => void reader.socket.destroy());
        await sleep(50);
        reader.stopReading();
        const writer = await rawMember(relay.port, secret, 'extension', { localAddress: '127.0.0.22' });
        cleanup.push(() => void writer.socket.destroy());
        for (let seq = 1; seq <= 200; seq++) writer.sendBinary(binaryFrame(FrameType.data, seq, new Uint8Array(50 * 1024)));
      }
      await sleep(1500);
      // Four readers each owed up to 200 KiB: without the total cap they would hold ~800 KiB.
      expect(peak).toBeGreaterThan(128 * 1024);
      expect(peak).toBeLessThanOrEqual(256 * 1024);
    });
  });

  describe('mailbox accounting', () => {
    it('tiny frames count what each one costs, not only their payload', async () => {
      const relay = await relayWith({ maxMailboxBytesPerAddress: 64 * 1024, frameBurst: 2000 });
      const writer = await rawMember(relay.port, newChannelId(), 'extension', { localAddress: '127.0.0.23' });
      for (let seq = 1; seq <= 1000; seq++) writer.sendBinary(binaryFrame(FrameType.data, seq, new Uint8Array(1)));
      expect(await writer.closed).toBe(CloseCode.mailboxFull);
      // 1-byte payloads: with only payloads counted, all 1,000 would have fit in 64 KiB.
      expect((await relay.stats()).framesQueued).toBeLessThan(600);
      expect((await relay.stats()).mailboxBytes).toBeLessThanOrEqual(64 * 1024);
    });
  });

  describe('hello size', () => {
    it('refuses a hello one byte over the cap (1009); a real hello is far below it', async () => {
      const relay = await relayWith({});
      const raw = await rawWebSocket({ port: relay.port });
      raw.sendText(' '.repeat(MAX_HELLO_BYTES + 1));
      expect(await raw.closed).toBe(CloseCode.tooLarge);
      const member = await rawMember(relay.port, newChannelId(), 'phone');
      await waitFor(() => member.texts.some((t) => t.includes('welcome')));
      member.socket.destroy();
    });
  });

  describe('gap notices', () => {
    it('frames that expired before the receiver came: it is told how many and why', async () => {
      const relay = await relayWith({ mailboxTtlMs: 200 });
      const secret = newChannelId();
      const extension = client(relay.wsUrl, secret, 'extension');
      cleanup.push(() => extension.close());
      await extension.connect();
      for (let i = 0; i < 3; i++) extension.send(text(`stale-${i}`));
      await waitFor(async () => (await relay.stats()).framesQueued === 3);
      await waitFor(async () => (await relay.stats()).framesQueued === 0, 3_000);
      extension.send(text('fresh'));
      const phone = client(relay.wsUrl, secret, 'phone');
      cleanup.push(() => phone.close());
      const gaps: RelayGap[] = [];
      const got: string[] = [];
      phone.onGap((gap) => gaps.push(gap));
      phone.onMessage((payload) => got.push(untext(payload)));
      await phone.connect();
      await waitFor(() => got.length === 1);
      expect(got).toEqual(['fresh']);
      expect(gaps).toEqual([{ missed: 3, reason: 'expired', message: expect.stringMatching(/expired in the relay's mailbox/) }]);
    });
  });

  describe('refusals as the client reports them', () => {
    it('a refusal that waiting cannot cure ends the client with a sentence; a capacity refusal is retried', async () => {
      expect(describeRelayStatus({ kind: 'failed', code: CloseCode.unauthorized, reason: 'not a member of this channel' })).toMatch(/Pair again/);
      expect(describeRelayStatus({ kind: 'failed', code: CloseCode.replaced, reason: '' })).toMatch(/another window/);
      expect(describeRelayStatus({ kind: 'offline', code: CloseCode.tryAgainLater, reason: '' })).toMatch(/keeps trying/);
      expect(describeRelayStatus({ kind: 'offline', code: CloseCode.addressLimit, reason: '' })).toMatch(/network address/);
      expect(describeRelayStatus({ kind: 'offline', code: CloseCode.goingAway, reason: '' })).toBeNull();
      expect(describeRelayStatus({ kind: 'online' })).toBeNull();
    });
  });
});
