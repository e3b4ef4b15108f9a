/**
 * The extension's WebRTC behind its offscreen document (src/background/offscreen-rtc.ts and
 * offscreen-host.ts' port protocol, src/channel/rtc-over-port.ts), with Node's MessageChannel as
 * the port and memory-rtc.ts as the document's peer connections: sessions run over the port; the
 * document is created on first use, found again when it exists, re-created when it vanished; a
 * new port closes the sessions of the old one; the document is closed once idle.
 */
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { offscreenRtc, type OffscreenDocumentApi } from '../../src/background/offscreen-rtc.ts';
import { serveRtcSessions, type MessagePortLike, type RtcHost } from '../../src/channel/rtc-over-port.ts';
import type { RtcSessionEvents } from '../../src/channel/rtc-session.ts';
import { MemoryRtcNetwork } from '../channel/memory-rtc.ts';

/** A document that exists or not, serving each port it hands out with the network's sessions. */
class FakeDocument implements OffscreenDocumentApi {
  alive = false;
  created = 0;
  closed = 0;
  host: RtcHost | null = null;
  readonly ports: MessagePortLike[] = [];

  constructor(private readonly network: MemoryRtcNetwork) {}

  async exists(): Promise<boolean> {
    return this.alive;
  }

  async create(): Promise<void> {
    this.alive = true;
    this.created++;
  }

  async close(): Promise<void> {
    this.alive = false;
    this.closed++;
    this.host?.close();
  }

  async connect(): Promise<MessagePortLike> {
    this.host?.close();
    const channel = new MessageChannel();
    this.host = serveRtcSessions(channel.port1 as unknown as MessagePortLike, this.network.factory);
    this.ports.push(channel.port2 as unknown as MessagePortLike);
    return channel.port2 as unknown as MessagePortLike;
  }
}

function recorder() {
  const log: string[] = [];
  const events: RtcSessionEvents = {
    onSignal: (signal) => log.push(`signal ${signal.kind}`),
    onOpen: () => log.push('open'),
    onMessage: (bytes) => log.push(`message ${new TextDecoder().decode(bytes)}`),
    onClose: (reason) => log.push(`close ${reason}`),
  };
  return { log, events };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

afterEach(() => vi.useRealTimers());

describe("the extension's WebRTC in its offscreen document", () => {
  it('creates the document on first use and runs sessions over the port: signals out, frames both ways', async () => {
    const network = new MemoryRtcNetwork();
    const document = new FakeDocument(network);
    const factory = offscreenRtc(document).sessions;
    const offerer = recorder();
    const answerer = recorder();
    const offer = factory({ role: 'offer', iceServers: [] }, { ...offerer.events, onSignal: (signal) => answer.signal(signal) });
    const answer = network.factory({ role: 'answer', iceServers: [] }, { ...answerer.events, onSignal: (signal) => offer.signal(signal) });
    await settle();
    expect(document.created).toBe(1);
    expect(offerer.log).toContain('open');
    offer.send(new TextEncoder().encode('to the phone'));
    answer.send(new TextEncoder().encode('to the extension'));
    await settle();
    expect(answerer.log).toContain('message to the phone');
    expect(offerer.log).toContain('message to the extension');
    offer.close();
    await settle();
    expect(answerer.log.at(-1)).toBe('close closed');
    for (const port of document.ports) port.close();
  });

  it('a document that vanished (closed by the browser) is created again with a new port; the old port’s sessions are closed', async () => {
    const network = new MemoryRtcNetwork();
    const document = new FakeDocument(network);
    const factory = offscreenRtc(document).sessions;
    const first = recorder();
    factory({ role: 'offer', iceServers: [] }, first.events);
    await settle();
    document.alive = false;
    const second = recorder();
    factory({ role: 'offer', iceServers: [] }, second.events);
    await settle();
    expect(document.created).toBe(2);
    expect(document.ports).toHaveLength(2);
    expect(second.log).toContain('signal description');
    expect(first.log.at(-1)).toBe('close WebRTC host closed');
    for (const port of document.ports) port.close();
  });

  it('is closed once no session has been open for the idle time, and made again for the next one', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const network = new MemoryRtcNetwork();
    const document = new FakeDocument(network);
    const factory = offscreenRtc(document, 30_000).sessions;
    const session = factory({ role: 'offer', iceServers: [] }, recorder().events);
    await vi.advanceTimersByTimeAsync(10);
    session.close();
    await vi.advanceTimersByTimeAsync(29_000);
    expect(document.closed).toBe(0);
    await vi.advanceTimersByTimeAsync(1_001);
    expect(document.closed).toBe(1);
    factory({ role: 'offer', iceServers: [] }, recorder().events);
    await vi.advanceTimersByTimeAsync(10);
    expect(document.created).toBe(2);
    for (const port of document.ports) port.close();
  });

  it("a new worker takes over the document the stopped one left: that worker's sessions end at once; unused, it is closed when idle", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const network = new MemoryRtcNetwork();
    const document = new FakeDocument(network);
    const before = offscreenRtc(document, 30_000);
    const old = recorder();
    before.sessions({ role: 'offer', iceServers: [] }, old.events);
    await vi.advanceTimersByTimeAsync(10);
    expect(document.host?.size).toBe(1);
    // The worker stops; a new one starts and claims the document.
    await offscreenRtc(document, 30_000).claim();
    await vi.advanceTimersByTimeAsync(10);
    expect(document.ports).toHaveLength(2);
    expect(document.created).toBe(1);
    expect(document.host?.size).toBe(0);
    await vi.advanceTimersByTimeAsync(30_001);
    expect(document.closed).toBe(1);
    for (const port of document.ports) port.close();
  });

  it('when the document cannot be had, the session closes at once (the link stays on the relay)', async () => {
    const factory = offscreenRtc({
      exists: async () => false,
      create: async () => {
        throw new Error('offscreen documents are not supported here');
      },
      close: async () => undefined,
      connect: async () => {
        throw new Error('unreachable');
      },
    }).sessions;
    const session = recorder();
    factory({ role: 'offer', iceServers: [] }, session.events);
    await settle();
    expect(session.log).toEqual(['close WebRTC is not available here']);
  });
});
