/**
 * Several relay instances sharing one Redis (a real redis-server, AOF on): a channel's two ends on
 * different instances, behind a round-robin balancer with no sticky routing, one instance killed
 * mid-stream; and every guarantee that must hold across instances — one connection per role,
 * retired channels, squatting, and the per-address limits counted in the store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RelayClient, RelayStatus } from '../../src/channel/relay-client.ts';
import { CloseCode, FrameType } from '../../src/channel/relay-protocol.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { startBalancer } from './balancer.ts';
import { startRelayProcess } from './relay-process.ts';
import { binaryFrame, client, fromAddress, newChannelId, rawMember, sleep, squatterMember, text, untext, waitFor } from './relay-support.ts';
import { STORES, storeBackend } from './relay-stores.ts';

describe.skipIf(!STORES.includes('redis'))('relay instances sharing Redis', () => {
  const backend = storeBackend('redis');
  let cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  /** Two instances in this process that serve the same channels. */
  async function twoInstances(options: Record<string, unknown> = {}): Promise<[RunningRelay, RunningRelay]> {
    const shared = backend.options(newChannelId());
    const start = async () => {
      const relay = await startRelay({ ...shared, port: 0, staticDir: null, log: () => undefined, ...options });
      cleanup.push(() => relay.close());
      return relay;
    };
    return [await start(), await start()];
  }

  function member(wsUrl: string, secret: string, role: 'extension' | 'phone', address?: string): RelayClient {
    const relayClient = client(wsUrl, secret, role, undefined, address ? fromAddress(address) : undefined);
    cleanup.push(() => relayClient.close());
    return relayClient;
  }

  function received(relayClient: RelayClient): string[] {
    const got: string[] = [];
    relayClient.onMessage((payload) => got.push(untext(payload)));
    return got;
  }

  function failure(relayClient: RelayClient): Promise<RelayStatus> {
    return new Promise((resolve) => {
      if (relayClient.status.kind === 'failed') return resolve(relayClient.status);
      relayClient.onStatus((status) => status.kind === 'failed' && resolve(status));
    });
  }

  it('ends on different instances behind a balancer, one instance SIGKILLed mid-stream: every frame arrives once, in order, both ways', async () => {
    const shared = backend.options(newChannelId());
    const instances = await Promise.all([startRelayProcess(shared), startRelayProcess(shared)]);
    for (const instance of instances) cleanup.push(() => instance.stop('SIGKILL'));
    const balancer = await startBalancer(instances.map((instance) => instance.port));
    cleanup.push(() => balancer.close());
    const CHANNELS = 8;
    const MESSAGES = 300;
    const pairs: { extension: RelayClient; phone: RelayClient; atPhone: string[]; atExtension: string[] }[] = [];
    // One after the other: round robin puts every extension on the first instance, every phone on the second.
    for (let i = 0; i < CHANNELS; i++) {
      const secret = newChannelId();
      const extension = member(balancer.wsUrl, secret, 'extension');
      await extension.connect();
      const phone = member(balancer.wsUrl, secret, 'phone');
      await phone.connect();
      pairs.push({ extension, phone, atPhone: received(phone), atExtension: received(extension) });
    }
    expect([...balancer.placed.values()]).toEqual([CHANNELS, CHANNELS]);
    for (let m = 0; m < MESSAGES; m++) {
      for (const pair of pairs) {
        pair.extension.send(text(`e${m}`));
        pair.phone.send(text(`p${m}`));
      }
      if (m === MESSAGES / 3) await (instances[1] as (typeof instances)[number]).stop('SIGKILL');
      if (m % 10 === 0) await sleep(5);
    }
    await waitFor(() => pairs.every((pair) => pair.atPhone.length >= MESSAGES && pair.atExtension.length >= MESSAGES), 60_000);
    await sleep(200);
    for (const pair of pairs) {
      expect(pair.atPhone).toEqual(Array.from({ length: MESSAGES }, (_, m) => `e${m}`));
      expect(pair.atExtension).toEqual(Array.from({ length: MESSAGES }, (_, m) => `p${m}`));
    }
  });

  it('a squatter on another instance is refused; the members come back on either instance', async () => {
    const [a, b] = await twoInstances();
    const secret = newChannelId();
    const first = { extension: member(a.wsUrl, secret, 'extension'), phone: member(a.wsUrl, secret, 'phone') };
    const atPhone = received(first.phone);
    await Promise.all([first.extension.connect(), first.phone.connect()]);
    first.extension.send(text('paired'));
    await waitFor(() => atPhone.length === 1);
    const states = { extension: first.extension.saveState(), phone: first.phone.saveState() };
    first.extension.close();
    first.phone.close();

    const squatters = await Promise.all((['extension', 'phone'] as const).map((role) => squatterMember(b.port, secret, role)));
    for (const squatter of squatters) cleanup.push(() => void squatter.socket.destroy());
    expect(await Promise.all(squatters.map((squatter) => squatter.closed))).toEqual([CloseCode.unauthorized, CloseCode.unauthorized]);
    expect(squatters.some((squatter) => squatter.texts.some((t) => t.includes('welcome')))).toBe(false);

    const extension = client(b.wsUrl, secret, 'extension', JSON.parse(JSON.stringify(states.extension)));
    const phone = client(a.wsUrl, secret, 'phone', JSON.parse(JSON.stringify(states.phone)));
    cleanup.push(() => (extension.close(), phone.close()));
    const [atExtension, phoneGot] = [received(extension), received(phone)];
    await Promise.all([extension.connect(), phone.connect()]);
    extension.send(text('back on b'));
    phone.send(text('back on a'));
    await waitFor(() => phoneGot.length === 1 && atExtension.length === 1);
    expect([phoneGot, atExtension]).toEqual([['back on b'], ['back on a']]);
  });

  it('the same member connecting on another instance replaces its first connection (4007); frames keep flowing', async () => {
    const [a, b] = await twoInstances();
    const secret = newChannelId();
    const phone = member(a.wsUrl, secret, 'phone');
    const atPhone = received(phone);
    const old = member(a.wsUrl, secret, 'extension');
    await Promise.all([phone.connect(), old.connect()]);
    const replaced = failure(old);
    const fresh = member(b.wsUrl, secret, 'extension');
    await fresh.connect();
    expect(await replaced).toMatchObject({ kind: 'failed', code: CloseCode.replaced });
    fresh.send(text('from b'));
    await waitFor(() => atPhone.length === 1);
    expect(atPhone).toEqual(['from b']);
  });

  it('a RETIRE on one instance ends the channel on the other (4010), and both refuse it from then on', async () => {
    const [a, b] = await twoInstances();
    const secret = newChannelId();
    const extension = member(a.wsUrl, secret, 'extension');
    const phone = member(b.wsUrl, secret, 'phone');
    await Promise.all([extension.connect(), phone.connect()]);
    const ended = failure(phone);
    expect(await extension.retire()).toBe(true);
    expect(await ended).toMatchObject({ code: CloseCode.retired });
    for (const relay of [a, b]) await expect(member(relay.wsUrl, secret, 'phone').connect()).rejects.toThrow(/4010/);
    expect(await a.stats()).toMatchObject({ channels: 0, framesQueued: 0, mailboxBytes: 0 });
  });

  it('channels per address count on every instance together (4005)', async () => {
    const [a, b] = await twoInstances({ maxChannelsPerIp: 3 });
    const address = '127.0.0.31';
    for (const relay of [a, a, b]) await member(relay.wsUrl, newChannelId(), 'phone', address).connect();
    const fourth = member(b.wsUrl, newChannelId(), 'phone', address);
    const refused = new Promise<number | null>((resolve) => {
      fourth.onStatus((status) => status.kind === 'offline' && status.code !== CloseCode.normal && resolve(status.code));
      setTimeout(() => resolve(null), 5_000);
    });
    void fourth.connect().catch(() => undefined);
    expect(await refused).toBe(CloseCode.addressLimit);
  });

  it('WebSocket connections per address count on every instance together', async () => {
    const [a, b] = await twoInstances({ maxConnectionsPerAddress: 6 });
    const open = (url: string) =>
      new Promise<WebSocket>((resolve) => {
        const socket = new WebSocket(url, { localAddress: '127.0.0.32' });
        cleanup.push(() => socket.terminate());
        socket.on('error', () => undefined);
        socket.once('message', () => resolve(socket));
        socket.once('close', () => resolve(socket));
      });
    const sockets = await Promise.all([...Array.from({ length: 5 }, () => open(a.wsUrl)), ...Array.from({ length: 5 }, () => open(b.wsUrl))]);
    await sleep(200);
    expect(sockets.filter((socket) => socket.readyState === WebSocket.OPEN)).toHaveLength(6);
  });

  it("an address's mailbox bytes count on every instance together (4008)", async () => {
    const [a, b] = await twoInstances({ maxFrameBytes: 200 * 1024, maxMailboxBytesPerAddress: 1024 * 1024 });
    const payload = new Uint8Array(180 * 1024);
    const fill = async (relay: RunningRelay, frames: number) => {
      const writer = await rawMember(relay.port, newChannelId(), 'extension', { localAddress: '127.0.0.33' });
      cleanup.push(() => void writer.socket.destroy());
      for (let seq = 1; seq <= frames; seq++) writer.sendBinary(binaryFrame(FrameType.data, seq, payload));
      return writer;
    };
    const onA = await fill(a, 3);
    await waitFor(() => onA.stored() === 3);
    const onB = await fill(b, 3);
    expect(await onB.closed).toBe(CloseCode.mailboxFull);
    expect(onB.stored()).toBe(2);
    expect((await b.stats()).mailboxBytes).toBeLessThanOrEqual(1024 * 1024);
  });

  it('/healthz names the store and reports it down (503) while Redis is stopped; /metrics counts in Prometheus text', async () => {
    const [a] = await twoInstances();
    const health = async () => {
      const response = await fetch(`${a.url}/healthz`);
      return { status: response.status, body: (await response.json()) as { store: { kind: string; ok: boolean } } };
    };
    expect(await health()).toMatchObject({ status: 200, body: { ok: true, store: { kind: 'redis', ok: true } } });
    await backend.redis.stop('SIGTERM');
    expect(await health()).toMatchObject({ status: 503, body: { ok: false, store: { kind: 'redis', ok: false } } });
    await backend.redis.start();
    await waitFor(async () => (await health()).status === 200, 10_000);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/^duet_relay_store_up\{store="redis",instance="[0-9a-f]+"\} 1$/m);
  });
});
