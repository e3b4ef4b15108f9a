import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { CloseCode } from '../../src/channel/relay-protocol.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { RelayClient, type RelayClientState } from '../../src/channel/relay-client.ts';
import { rawWebSocket, type RawWebSocket } from './raw-websocket.ts';
import { binaryFrame, client, credentialFor, newChannelId, NodeWebSocket, rawMember, sleep, squatterMember, text, untext, waitFor } from './relay-support.ts';
import { STORES, storeBackend } from './relay-stores.ts';

describe.each(STORES)('%s store', (kind) => {
  const backend = storeBackend(kind);

  const MESSAGES = 1000;

  /** Connects `relayClient` and collects, as text, what it receives. */
  async function collecting(relayClient: RelayClient): Promise<string[]> {
    const received: string[] = [];
    relayClient.onMessage((payload) => received.push(untext(payload)));
    await relayClient.connect();
    return received;
  }

  describe('relay routing', () => {
    let relay: RunningRelay;
    const routed: { channel: string; payload: Uint8Array }[] = [];

    beforeAll(async () => {
      relay = await startRelay({ ...backend.options(), port: 0, staticDir: null, log: () => undefined, framesPerSecond: 10_000, frameBurst: 10_000, onRoutedFrame: (channel, _from, payload) => routed.push({ channel, payload }) });
    });
    afterAll(() => relay.close());

    it('delivers 1,000 messages in order, none lost or duplicated, across repeated reconnects of one side', async () => {
      const channelId = newChannelId();
      const extension = client(relay.wsUrl, channelId, 'extension');
      const phone = client(relay.wsUrl, channelId, 'phone');
      const received: string[] = [];
      phone.onMessage((payload) => received.push(untext(payload)));
      await Promise.all([extension.connect(), phone.connect()]);
      for (let i = 0; i < MESSAGES; i++) {
        extension.send(text(`m${i}`));
        if (i % 150 === 75) phone.interrupt();
        if (i % 200 === 100) extension.interrupt();
        if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await waitFor(() => received.length >= MESSAGES);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual(Array.from({ length: MESSAGES }, (_, i) => `m${i}`));
      extension.close();
      phone.close();
    });

    it('keeps frames in the mailbox while the peer is offline and delivers them once it connects', async () => {
      const channelId = newChannelId();
      const extension = client(relay.wsUrl, channelId, 'extension');
      await extension.connect();
      for (let i = 0; i < 20; i++) extension.send(text(`queued-${i}`));
      await waitFor(() => extension.saveState().unstored.length === 0);
      expect((await relay.stats()).framesQueued).toBeGreaterThanOrEqual(20);
      const phone = client(relay.wsUrl, channelId, 'phone');
      const received: string[] = [];
      phone.onMessage((payload) => received.push(untext(payload)));
      await phone.connect();
      await waitFor(() => received.length === 20);
      expect(received[0]).toBe('queued-0');
      expect(received[19]).toBe('queued-19');
      extension.close();
      phone.close();
    });

    it('forwards payload bytes unmodified and never needs to read them', async () => {
      const channelId = newChannelId();
      const extension = client(relay.wsUrl, channelId, 'extension');
      const phone = client(relay.wsUrl, channelId, 'phone');
      await Promise.all([extension.connect(), phone.connect()]);
      const payload = crypto.getRandomValues(new Uint8Array(4096));
      const got: Uint8Array[] = [];
      phone.onMessage((bytes) => got.push(bytes));
      extension.send(payload);
      await waitFor(() => got.length === 1);
      expect(got[0]).toEqual(payload);
      expect(routed.filter((r) => r.channel === extension.channel).map((r) => r.payload)).toEqual([payload]);
      extension.close();
      phone.close();
    });

    it('resumes a client from saved state without loss or duplicates (service-worker restart)', async () => {
      const channelId = newChannelId();
      const phone = client(relay.wsUrl, channelId, 'phone');
      const received = await collecting(phone);
      const first = client(relay.wsUrl, channelId, 'extension');
      await first.connect();
      for (let i = 0; i < 30; i++) first.send(text(`a${i}`));
      const saved = first.saveState();
      first.close();
      const restarted = client(relay.wsUrl, channelId, 'extension', JSON.parse(JSON.stringify(saved)));
      await restarted.connect();
      for (let i = 30; i < 60; i++) restarted.send(text(`a${i}`));
      await waitFor(() => received.length >= 60);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual(Array.from({ length: 60 }, (_, i) => `a${i}`));

      // The phone side restarts too, after receiving: nothing is delivered twice.
      const phoneState = phone.saveState();
      phone.close();
      const phoneAgain = client(relay.wsUrl, channelId, 'phone', phoneState);
      const again = await collecting(phoneAgain);
      restarted.send(text('after'));
      await waitFor(() => again.length === 1);
      expect(again).toEqual(['after']);
      restarted.close();
      phoneAgain.close();
    });
  });

  describe('restoring an older saved state', () => {
    let relay: RunningRelay;
    beforeEach(async () => {
      relay = await startRelay({ ...backend.options(), port: 0, staticDir: null, log: () => undefined });
    });
    afterEach(() => relay.close());

    it('frames sent after restoring a state older than what the relay stored are renumbered, not dropped as duplicates', async () => {
      const channelId = newChannelId();
      const phone = client(relay.wsUrl, channelId, 'phone');
      const received = await collecting(phone);
      const first = client(relay.wsUrl, channelId, 'extension');
      await first.connect();
      for (let i = 0; i < 5; i++) first.send(text(`a${i}`));
      const stale = JSON.parse(JSON.stringify(first.saveState()));
      // Sent and stored, but the worker stops before saving its state again.
      for (let i = 5; i < 10; i++) first.send(text(`a${i}`));
      await waitFor(() => first.saveState().unstored.length === 0);
      first.close();
      const restarted = client(relay.wsUrl, channelId, 'extension', stale);
      for (let i = 10; i < 13; i++) restarted.send(text(`a${i}`));
      await restarted.connect();
      await waitFor(() => received.length >= 13);
      expect(received).toEqual(Array.from({ length: 13 }, (_, i) => `a${i}`));
      expect(restarted.saveState().lastSent).toBe(13);
      restarted.close();
      phone.close();
    });

    it('with ackWhenSaved, frames received after the last stored state come again after a restart; stored ones do not', async () => {
      const channelId = newChannelId();
      const extension = client(relay.wsUrl, channelId, 'extension');
      await extension.connect();
      const phoneWith = (state?: RelayClientState) => new RelayClient({ relayUrl: relay.wsUrl, credential: credentialFor(channelId, 'phone'), WebSocket: NodeWebSocket, ackWhenSaved: true, ...(state ? { state } : {}) });
      const first = phoneWith();
      const firstGot = await collecting(first);
      for (let i = 0; i < 3; i++) extension.send(text(`a${i}`));
      await waitFor(() => firstGot.length === 3);
      const stored = first.saveState();
      first.confirmSaved(stored);
      for (let i = 3; i < 6; i++) extension.send(text(`a${i}`));
      await waitFor(() => firstGot.length === 6);
      // Stopped before storing again: a3..a5 were delivered but never stored.
      first.close();
      const second = phoneWith(JSON.parse(JSON.stringify(stored)));
      const secondGot = await collecting(second);
      await waitFor(() => secondGot.length === 3);
      expect(secondGot).toEqual(['a3', 'a4', 'a5']);
      second.confirmSaved(second.saveState());
      await waitFor(async () => (await relay.stats()).framesQueued === 0);
      second.close();
      extension.close();
    });
  });

  describe('relay mailbox TTL', () => {
    it('drops frames older than the TTL', async () => {
      const relay = await startRelay({ ...backend.options(), port: 0, staticDir: null, log: () => undefined, mailboxTtlMs: 200 });
      const channelId = newChannelId();
      const extension = client(relay.wsUrl, channelId, 'extension');
      await extension.connect();
      extension.send(text('stale'));
      await waitFor(async () => (await relay.stats()).framesQueued === 1);
      await waitFor(async () => (await relay.stats()).framesQueued === 0, 3_000);
      const phone = client(relay.wsUrl, channelId, 'phone');
      const received: string[] = [];
      phone.onMessage((payload) => received.push(untext(payload)));
      await phone.connect();
      extension.send(text('fresh'));
      await waitFor(() => received.length === 1);
      expect(received).toEqual(['fresh']);
      extension.close();
      phone.close();
      await relay.close();
    });
  });

  /** The close code a raw socket got, once it is closed (or null after 5 s). */
  async function closedWith(raw: RawWebSocket): Promise<number | null> {
    return Promise.race([raw.closed, sleep(5_000).then(() => null)]);
  }

  describe('relay abuse handling', () => {
    let relay: RunningRelay;
    let healthy: { send(): void; received: () => number; close(): void };

    beforeAll(async () => {
      relay = await startRelay({ ...backend.options(), port: 0, staticDir: null, log: () => undefined, maxFrameBytes: 300 * 1024, framesPerSecond: 50, frameBurst: 100, maxChannelsPerIp: 16, idleTimeoutMs: 600, helloTimeoutMs: 500 });
      const channelId = newChannelId();
      const a = client(relay.wsUrl, channelId, 'extension');
      const b = client(relay.wsUrl, channelId, 'phone');
      let count = 0;
      b.onMessage(() => count++);
      await Promise.all([a.connect(), b.connect()]);
      healthy = { send: () => a.send(text('ok')), received: () => count, close: () => (a.close(), b.close()) };
    });
    afterAll(async () => {
      healthy.close();
      await relay.close();
    });

    async function expectHealthy(): Promise<void> {
      const before = healthy.received();
      healthy.send();
      await waitFor(() => healthy.received() === before + 1);
    }

    it('allows a 256 KiB frame and refuses an oversized one (1009)', async () => {
      const channelId = newChannelId();
      const sender = client(relay.wsUrl, channelId, 'extension');
      const receiver = client(relay.wsUrl, channelId, 'phone');
      const got: number[] = [];
      receiver.onMessage((payload) => got.push(payload.length));
      await Promise.all([sender.connect(), receiver.connect()]);
      sender.send(new Uint8Array(256 * 1024));
      await waitFor(() => got.length === 1);
      sender.close();
      receiver.close();

      const raw = await rawMember(relay.port, newChannelId(), 'extension');
      raw.sendBinary(new Uint8Array(400 * 1024));
      expect(await closedWith(raw)).toBe(CloseCode.tooLarge);
      await expectHealthy();
    });

    it('closes a flooding connection (4004)', async () => {
      const raw = await rawMember(relay.port, newChannelId(), 'extension');
      const ping = binaryFrame(4, 0);
      for (let i = 0; i < 300; i++) raw.sendBinary(ping);
      expect(await closedWith(raw)).toBe(CloseCode.rateLimited);
      await expectHealthy();
    });

    it("refuses a hello not signed with the role's key (4003); the member keeps its connection", async () => {
      const channelId = newChannelId();
      const first = client(relay.wsUrl, channelId, 'extension');
      await first.connect();
      const intruder = await squatterMember(relay.port, channelId, 'extension');
      expect(await closedWith(intruder)).toBe(CloseCode.unauthorized);
      expect(first.isOnline).toBe(true);
      first.close();
      await expectHealthy();
    });

    it('refuses garbage: malformed hello, binary before hello, malformed frames (4000), another version (4001)', async () => {
      for (const bad of ['not json', JSON.stringify({ t: 'hello', v: 2, channel: 'short', role: 'phone', keys: {}, proof: 'x', received: 0 })]) {
        const raw = await rawWebSocket({ port: relay.port });
        raw.sendText(bad);
        expect(await closedWith(raw)).toBe(CloseCode.malformed);
      }
      const binaryFirst = await rawWebSocket({ port: relay.port });
      binaryFirst.sendBinary(new Uint8Array([1, 2, 3]));
      expect(await closedWith(binaryFirst)).toBe(CloseCode.malformed);
      const badFrame = await rawMember(relay.port, newChannelId(), 'phone');
      badFrame.sendBinary(new Uint8Array([9, 0]));
      expect(await closedWith(badFrame)).toBe(CloseCode.malformed);
      const oldVersion = await rawWebSocket({ port: relay.port });
      oldVersion.sendText(JSON.stringify({ t: 'hello', v: 1, channel: newChannelId(), role: 'phone', token: 'x'.repeat(43), received: 0 }));
      expect(await closedWith(oldVersion)).toBe(CloseCode.unsupportedVersion);
      await expectHealthy();
    });

    it('closes half-open sockets: no hello (4009), then silence (4006)', async () => {
      const silent = await rawWebSocket({ port: relay.port });
      expect(await closedWith(silent)).toBe(CloseCode.helloTimeout);
      const quiet = await rawMember(relay.port, newChannelId(), 'phone');
      expect(await closedWith(quiet)).toBe(CloseCode.idleTimeout);
      await expectHealthy();
    });

    it('limits channels per address (4005)', async () => {
      const sockets: RawWebSocket[] = [];
      let refused: number | null = null;
      for (let i = 0; i < 24 && refused === null; i++) {
        const raw = await rawMember(relay.port, newChannelId(), 'phone');
        await Promise.race([raw.closed, sleep(100)]);
        if (raw.closeCode() === CloseCode.addressLimit) refused = CloseCode.addressLimit;
        sockets.push(raw);
      }
      expect(refused).toBe(CloseCode.addressLimit);
      for (const raw of sockets) raw.socket.destroy();
      await expectHealthy();
    });
  });

  describe('relay HTTP', () => {
    it('serves /healthz and the phone app files, refusing traversal', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'duet-static-'));
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>phone</title>');
      writeFileSync(join(dir, 'app.js'), 'console.log(1)');
      const relay = await startRelay({ ...backend.options(), port: 0, staticDir: dir, log: () => undefined });
      const health = await fetch(`${relay.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ ok: true, store: { kind, ok: true }, channels: 0, connections: 0 });
      expect(await (await fetch(`${relay.url}/`)).text()).toContain('phone');
      expect((await fetch(`${relay.url}/app.js`)).headers.get('content-type')).toContain('javascript');
      expect((await fetch(`${relay.url}/pair`)).status).toBe(200);
      expect((await fetch(`${relay.url}/missing.js`)).status).toBe(404);
      writeFileSync(join(dir, '..', 'duet-secret.txt'), 'secret-outside-root');
      for (const path of ['/../duet-secret.txt', '/%2e%2e/duet-secret.txt', '/..%2fduet-secret.txt']) {
        const body = await rawGet(relay.port, path);
        expect(body).not.toContain('secret-outside-root');
      }
      expect((await fetch(`${relay.url}/`, { method: 'POST' })).status).toBe(405);
      await relay.close();
    });

    it('counts in Prometheus text at /metrics: connections, channels, frames, mailbox depth, refusals by reason, buffered bytes', async () => {
      const relay = await startRelay({ ...backend.options(), port: 0, staticDir: null, log: () => undefined });
      const secret = newChannelId();
      const extension = client(relay.wsUrl, secret, 'extension');
      await extension.connect();
      for (let i = 0; i < 3; i++) extension.send(text(`queued-${i}`));
      await waitFor(() => extension.saveState().unstored.length === 0);
      const squatter = await squatterMember(relay.port, secret, 'phone');
      await squatter.closed;
      squatter.socket.destroy();
      await waitFor(async () => (await relay.stats()).connections === 1);
      const response = await fetch(`${relay.url}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const metrics = await response.text();
      const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
      expect(value('duet_relay_connections')).toBe(1);
      expect(value('duet_relay_channels')).toBe(1);
      expect(value('duet_relay_mailbox_frames')).toBe(3);
      expect(value('duet_relay_mailbox_bytes')).toBeGreaterThan(3 * 128);
      expect(value('duet_relay_buffered_bytes')).toBe(0);
      expect(value('duet_relay_store_up')).toBe(1);
      expect(metrics).toMatch(new RegExp(`^duet_relay_frames_total\\{event="stored",store="${kind}",instance="[0-9a-f]+"\\} 3$`, 'm'));
      expect(metrics).toMatch(/^duet_relay_refusals_total\{reason="unauthorized",[^}]*\} 1$/m);
      expect(metrics).toMatch(/^duet_relay_process_resident_memory_bytes/m);
      expect(metrics).not.toContain(secret);
      expect(metrics).not.toContain(extension.channel);
      extension.close();
      await relay.close();
    });
  });

  /** GET with the path sent exactly as written (fetch would normalise it). */
  function rawGet(port: number, path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      req.on('error', reject);
      req.end();
    });
  }

  describe('relay restart', () => {
    it('clients resume through a restarted relay: frames sent while it was down arrive once, in order', async () => {
      const first = await startRelay({ ...backend.options('restart'), port: 0, staticDir: null, log: () => undefined, drainTimeoutMs: 500 });
      const port = first.port;
      const channelId = newChannelId();
      const extension = client(first.wsUrl, channelId, 'extension');
      const phone = client(first.wsUrl, channelId, 'phone');
      const received: string[] = [];
      phone.onMessage((payload) => received.push(untext(payload)));
      await Promise.all([extension.connect(), phone.connect()]);
      for (let i = 0; i < 10; i++) extension.send(text(`before-${i}`));
      await waitFor(() => received.length === 10);
      await first.close();
      for (let i = 0; i < 10; i++) extension.send(text(`during-${i}`));
      const second = await startRelay({ ...backend.options('restart'), port, staticDir: null, log: () => undefined });
      await waitFor(() => received.length === 20, 15_000);
      expect(received.slice(10)).toEqual(Array.from({ length: 10 }, (_, i) => `during-${i}`));
      extension.close();
      phone.close();
      await second.close();
    });
  });
});
