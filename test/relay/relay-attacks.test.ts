/**
 * Attacks on the relay's resources, each against a real relay with the cap under attack lowered
 * so the test runs in seconds. Attackers connect from other loopback addresses than the honest
 * clients (127.0.0.0/8 all reach the relay). Memory is measured on a relay in its own process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CloseCode, FrameType } from '../../src/channel/relay-protocol.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { rawTcp, rawWebSocket } from './raw-websocket.ts';
import { startRelayProcess, type RelayProcess } from './relay-process.ts';
import { binaryFrame, client, fromAddress, newChannelId, rawMember, sleep, text, untext, waitFor } from './relay-support.ts';
import { STORES, storeBackend } from './relay-stores.ts';

describe.each(STORES)('%s store', (kind) => {
  const backend = storeBackend(kind);

  const MiB = 1024 * 1024;
  const FRAME = 256 * 1024;

  let cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  async function relayProcess(options: Record<string, unknown>): Promise<RelayProcess> {
    const relay = await startRelayProcess({ ...backend.options(), ...options });
    cleanup.push(() => relay.stop('SIGKILL'));
    return relay;
  }

  async function relayInProcess(options: Record<string, unknown>): Promise<RunningRelay> {
    const relay = await startRelay({ ...backend.options(), port: 0, staticDir: null, log: () => undefined, ...options });
    cleanup.push(() => relay.close());
    return relay;
  }

  function track<T extends { socket: { destroy(): void } }>(raw: T): T {
    cleanup.push(() => raw.socket.destroy());
    return raw;
  }

  /** An honest pair from `address`: connects, then proves a message gets through. */
  async function honestExchange(wsUrl: string, address: string): Promise<void> {
    const channel = newChannelId();
    const WebSocketImpl = fromAddress(address);
    const extension = client(wsUrl, channel, 'extension', undefined, WebSocketImpl);
    const phone = client(wsUrl, channel, 'phone', undefined, WebSocketImpl);
    const got: string[] = [];
    phone.onMessage((payload) => got.push(untext(payload)));
    try {
      await Promise.all([extension.connect(), phone.connect()]);
      extension.send(text('still works'));
      await waitFor(() => got.length === 1, 10_000);
    } finally {
      extension.close();
      phone.close();
    }
  }

  /** A ws-library connection from `address`; resolves with it once open, or with the close code. */
  function wsFrom(wsUrl: string, address: string, headers: Record<string, string> = {}): Promise<{ socket: WebSocket; refused: number | null }> {
    return new Promise((resolve) => {
      const socket = new WebSocket(wsUrl, { localAddress: address, headers });
      cleanup.push(() => socket.terminate());
      socket.on('error', () => undefined);
      socket.once('open', () => resolve({ socket, refused: null }));
      socket.once('close', (code) => resolve({ socket, refused: code }));
    });
  }

  async function openAfter(sockets: { socket: WebSocket }[], ms: number): Promise<number> {
    await sleep(ms);
    return sockets.filter(({ socket }) => socket.readyState === WebSocket.OPEN).length;
  }

  describe('memory attacks (relay in its own process; RSS from /proc)', () => {
    it('a reader that never reads but acknowledges everything: relay RSS stays bounded and comes back down', async () => {
      // Mailbox caps above what a burst of this test can queue between two ACKs on a loaded machine:
      // the subject is the send window, not the mailbox cap (relay-limits.test.ts).
      const relay = await relayProcess({ framesPerSecond: 4000, frameBurst: 4000, maxFrameBytes: FRAME + 64, maxMailboxBytes: 48 * MiB, maxMailboxBytesPerAddress: 64 * MiB });
      const secret = newChannelId();
      const reader = track(await rawMember(relay.port, secret, 'phone', { localAddress: '127.0.0.2' }));
      await sleep(200);
      reader.stopReading();
      const writer = track(await rawMember(relay.port, secret, 'extension', { localAddress: '127.0.0.2' }));
      await sleep(300);
      const baseline = relay.rssMb();
      const ackAll = setInterval(() => reader.sendBinary(binaryFrame(FrameType.ack, 0xffffffff)), 10);
      const payload = new Uint8Array(FRAME);
      // 1,000 frames of 256 KiB: 250 MB through a relay whose reader takes nothing.
      for (let seq = 1; seq <= 1000; seq++) {
        writer.sendBinary(binaryFrame(FrameType.data, seq, payload));
        // In steps well under the mailbox cap (64 frames), each taken and acknowledged before the
        // next (masking a step blocks the timer above), so the relay takes all of it: the attack runs.
        if (seq % 16 === 0) {
          await waitFor(() => writer.stored() >= seq, 20_000);
          reader.sendBinary(binaryFrame(FrameType.ack, 0xffffffff));
        }
      }
      clearInterval(ackAll);
      const peak = relay.peakRssMb();
      reader.socket.destroy();
      writer.socket.destroy();
      await sleep(1500);
      console.log(`slow reader: RSS baseline ${baseline} MB, peak ${peak} MB, after ${relay.rssMb()} MB`);
      expect(peak).toBeLessThan(512);
      expect(peak - baseline).toBeLessThan(120);
      expect(relay.rssMb() - baseline).toBeLessThan(120);
    });

    it('hellos that replay a full mailbox to readers that never read: relay RSS stays bounded', async () => {
      const relay = await relayProcess({ maxFrameBytes: FRAME + 64 });
      const secret = newChannelId();
      const writer = track(await rawMember(relay.port, secret, 'extension', { localAddress: '127.0.0.3' }));
      await sleep(200);
      const payload = new Uint8Array(FRAME);
      // 16 MiB queued for the phone, which is offline.
      for (let seq = 1; seq <= 64; seq++) writer.sendBinary(binaryFrame(FrameType.data, seq, payload));
      await waitFor(() => writer.stored() === 64);
      const baseline = relay.rssMb();
      for (let i = 0; i < 24; i++) {
        const reader = track(await rawMember(relay.port, secret, 'phone', { localAddress: '127.0.0.3' }));
        reader.stopReading();
        await sleep(50);
      }
      await sleep(1500);
      const peak = relay.peakRssMb();
      console.log(`hello replay: RSS baseline ${baseline} MB, peak ${peak} MB`);
      expect(peak).toBeLessThan(512);
      expect(peak - baseline).toBeLessThan(120);
    });
  });

  describe('connection floods', () => {
    it('one address opening 300 connections gets at most its cap; a client from another address still connects', async () => {
      const relay = await relayInProcess({ maxConnectionsPerAddress: 40 });
      const flood = await Promise.all(Array.from({ length: 300 }, () => wsFrom(relay.wsUrl, '127.0.0.4')));
      expect(await openAfter(flood, 500)).toBeLessThanOrEqual(40);
      await honestExchange(relay.wsUrl, '127.0.0.5');
    });

    it('TCP connections that never upgrade are closed after the upgrade timeout; others still connect', async () => {
      const relay = await relayInProcess({ upgradeTimeoutMs: 500, maxConnectionsPerAddress: 40 });
      const idle = await Promise.all(Array.from({ length: 100 }, () => rawTcp({ port: relay.port, localAddress: '127.0.0.6' }).then(track)));
      await honestExchange(relay.wsUrl, '127.0.0.7');
      const allEnded = Promise.all(idle.map((socket) => socket.ended)).then(() => true);
      expect(await Promise.race([allEnded, sleep(3000).then(() => false)])).toBe(true);
    });

    it('at the global connection cap a new client is refused clearly (1013, with a reason) and /healthz still answers', async () => {
      const relay = await relayInProcess({ maxConnections: 30 });
      const held = await Promise.all(Array.from({ length: 30 }, (_, i) => wsFrom(relay.wsUrl, `127.0.1.${i + 1}`)));
      expect(held.every((h) => h.refused === null)).toBe(true);
      const late = client(relay.wsUrl, newChannelId(), 'phone', undefined, fromAddress('127.0.2.1'));
      cleanup.push(() => late.close());
      const refused = await new Promise<{ code: number; reason: string } | null>((resolve) => {
        late.onStatus((status) => {
          if (status.kind === 'offline' || status.kind === 'failed') resolve(status);
        });
        void late.connect().catch(() => undefined);
        setTimeout(() => resolve(null), 5_000);
      });
      expect(refused?.code).toBe(CloseCode.tryAgainLater);
      expect(refused?.reason).toMatch(/capacity/);
      expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    });
  });

  describe('mailbox memory', () => {
    it('one address cannot queue more than its share, and all addresses together no more than the total', async () => {
      const relay = await relayInProcess({ maxFrameBytes: FRAME + 64, maxMailboxBytesPerAddress: 4 * MiB, maxMailboxBytesTotal: 6 * MiB });
      const payload = new Uint8Array(FRAME);
      async function fill(address: string): Promise<number> {
        let stored = 0;
        for (let channel = 0; channel < 8; channel++) {
          const writer = track(await rawMember(relay.port, newChannelId(), 'extension', { localAddress: address }));
          for (let seq = 1; seq <= 16; seq++) writer.sendBinary(binaryFrame(FrameType.data, seq, payload));
          await Promise.race([writer.closed, sleep(300)]);
          stored = (await relay.stats()).mailboxBytes;
          if (writer.closeCode() === CloseCode.mailboxFull) break;
        }
        return stored;
      }
      const afterFirst = await fill('127.0.0.8');
      expect(afterFirst).toBeLessThanOrEqual(4 * MiB);
      expect(afterFirst).toBeGreaterThan(3 * MiB);
      await fill('127.0.0.9');
      await fill('127.0.0.10');
      expect((await relay.stats()).mailboxBytes).toBeLessThanOrEqual(6 * MiB);
    });
  });

  describe('rate limits', () => {
    /** Pongs answered to `pings` pings on each of `connections` connections. */
    async function pongs(relay: RunningRelay, connections: { secret: string }[], pings: number, address: string): Promise<number> {
      let answered = 0;
      for (const { secret } of connections) {
        const raw = track(await rawMember(relay.port, secret, 'phone', { localAddress: address }));
        raw.socket.on('data', (chunk: Buffer) => {
          for (let i = 0; i + 6 < chunk.length + 1; i++) if (chunk[i] === 0x82 && chunk[i + 1] === 5 && chunk[i + 2] === FrameType.pong) answered++;
        });
        for (let i = 0; i < pings; i++) raw.sendBinary(binaryFrame(FrameType.ping, 0));
        await sleep(60);
        raw.socket.destroy();
      }
      return answered;
    }

    it('reconnecting with the same credentials does not renew the per-channel allowance', async () => {
      const relay = await relayInProcess({ framesPerSecond: 5, frameBurst: 20 });
      const secret = newChannelId();
      const answered = await pongs(relay, Array.from({ length: 10 }, () => ({ secret })), 20, '127.0.0.11');
      expect(answered).toBeLessThanOrEqual(30);
    });

    it('many channels from one address share one per-address allowance', async () => {
      const relay = await relayInProcess({ framesPerSecond: 50, frameBurst: 20, addressFramesPerSecond: 5, addressFrameBurst: 50 });
      const answered = await pongs(relay, Array.from({ length: 10 }, () => ({ secret: newChannelId() })), 20, '127.0.0.12');
      expect(answered).toBeLessThanOrEqual(60);
    });
  });

  describe('hello size', () => {
    it('a hello larger than a hello needs is refused (1009) without being parsed', async () => {
      const relay = await relayInProcess({});
      const big = track(await rawWebSocket({ port: relay.port, localAddress: '127.0.0.13' }));
      big.sendText(JSON.stringify({ t: 'hello', pad: 'x'.repeat(512 * 1024) }));
      await Promise.race([big.closed, sleep(2000)]);
      expect(big.closeCode()).toBe(CloseCode.tooLarge);
    });
  });

  describe('--trust-proxy', () => {
    it('counts clients by the forwarded address from a trusted proxy only', async () => {
      const relay = await relayInProcess({ trustProxy: ['127.0.0.1'], maxConnectionsPerAddress: 5 });
      const viaProxy = (forwarded: string) => wsFrom(relay.wsUrl, '127.0.0.1', { 'x-forwarded-for': forwarded });
      const userA = await Promise.all(Array.from({ length: 8 }, () => viaProxy('203.0.113.1')));
      expect(await openAfter(userA, 300)).toBe(5);
      // Another user behind the same proxy is not locked out by the first.
      const userB = await Promise.all(Array.from({ length: 3 }, () => viaProxy('198.51.100.7, 203.0.113.250')));
      expect(await openAfter(userB, 300)).toBe(3);
      // A client that is not the proxy cannot choose its address with the header.
      const spoofer = await Promise.all(Array.from({ length: 8 }, (_, i) => wsFrom(relay.wsUrl, '127.0.0.14', { 'x-forwarded-for': `192.0.2.${i}` })));
      expect(await openAfter(spoofer, 300)).toBe(5);
    });

    it('a client refused for its address (4005) keeps retrying and gets in once there is room', async () => {
      const relay = await relayInProcess({ maxChannelsPerIp: 2, mailboxTtlMs: 400 });
      const WebSocketImpl = fromAddress('127.0.0.15');
      const first = client(relay.wsUrl, newChannelId(), 'phone', undefined, WebSocketImpl);
      const second = client(relay.wsUrl, newChannelId(), 'phone', undefined, WebSocketImpl);
      await Promise.all([first.connect(), second.connect()]);
      const third = client(relay.wsUrl, newChannelId(), 'phone', undefined, WebSocketImpl);
      cleanup.push(() => third.close());
      const statuses: string[] = [];
      third.onStatus((status) => statuses.push(`${status.kind}${'code' in status ? status.code : ''}`));
      void third.connect().catch(() => undefined);
      await waitFor(() => statuses.includes(`offline${CloseCode.addressLimit}`) || statuses.includes(`failed${CloseCode.addressLimit}`));
      first.close();
      second.close();
      await waitFor(() => third.isOnline, 10_000);
      expect(statuses).not.toContain(`failed${CloseCode.addressLimit}`);
    });
  });
});
