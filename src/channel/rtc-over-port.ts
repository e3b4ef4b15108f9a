/**
 * RTC sessions (rtc-session.ts) that live in another context, driven over a message port: the
 * extension's service worker has no RTCPeerConnection, so its sessions run in the offscreen
 * document (src/background/offscreen-rtc.ts). A MessageChannel port between the two costs
 * ~0.1 ms per message here, against ~0.5–0.8 ms for chrome.runtime messaging (docs/channel.md).
 *
 *   client → host  {op:"open", id, options} | {op:"signal", id, signal} | {op:"send", id, bytes} | {op:"close", id}
 *   host → client  {ev:"signal", id, signal} | {ev:"open", id} | {ev:"message", id, bytes} | {ev:"close", id, reason}
 *
 * A host serves one port at a time; whoever serves a new port closes the sessions of the old one.
 */
import type { RtcSession, RtcSessionEvents, RtcSessionFactory, RtcSessionOptions, RtcSignal } from './rtc-session.ts';

export interface MessagePortLike {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
}

type Request =
  | { readonly op: 'open'; readonly id: number; readonly options: RtcSessionOptions }
  | { readonly op: 'signal'; readonly id: number; readonly signal: RtcSignal }
  | { readonly op: 'send'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly op: 'close'; readonly id: number };

type Event =
  | { readonly ev: 'signal'; readonly id: number; readonly signal: RtcSignal }
  | { readonly ev: 'open'; readonly id: number }
  | { readonly ev: 'message'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly ev: 'close'; readonly id: number; readonly reason: string };

export interface RtcHost {
  /** Sessions open on this port. */
  readonly size: number;
  /** Closes every session of this port. */
  close(): void;
}

/** The host's side: runs the sessions `factory` makes, for whoever holds the other end of `port`. */
export function serveRtcSessions(port: MessagePortLike, factory: RtcSessionFactory, onSize?: (size: number) => void): RtcHost {
  const sessions = new Map<number, RtcSession>();
  const post = (event: Event) => port.postMessage(event);
  const changed = () => onSize?.(sessions.size);
  port.onmessage = (message) => {
    const request = message.data as Request;
    if (request.op === 'open') {
      if (sessions.has(request.id)) return;
      const { id } = request;
      sessions.set(
        id,
        factory(request.options, {
          onSignal: (signal) => post({ ev: 'signal', id, signal }),
          onOpen: () => post({ ev: 'open', id }),
          onMessage: (bytes) => post({ ev: 'message', id, bytes }),
          onClose: (reason) => {
            if (!sessions.delete(id)) return;
            post({ ev: 'close', id, reason });
            changed();
          },
        }),
      );
      changed();
    } else if (request.op === 'signal') sessions.get(request.id)?.signal(request.signal);
    else if (request.op === 'send') sessions.get(request.id)?.send(request.bytes);
    else if (request.op === 'close') sessions.get(request.id)?.close();
  };
  return {
    get size() {
      return sessions.size;
    },
    close: () => {
      port.onmessage = null;
      const open = [...sessions.values()];
      sessions.clear();
      for (const session of open) session.close();
      changed();
      port.close();
    },
  };
}

/**
 * The client's side: sessions whose peer connection runs behind a port. `connect` gives the port
 * (made when the first session opens); `alive` says whether the host behind the current port
 * still exists, checked before each new session (a host that vanished took its sessions with it:
 * they end, and a new port is made). A session whose port cannot be had closes at once.
 */
export class RtcPortClient {
  private readonly connect: () => Promise<MessagePortLike>;
  private readonly alive: () => Promise<boolean>;
  private port: Promise<MessagePortLike> | null = null;
  private readonly sessions = new Map<number, RtcSessionEvents>();
  private nextId = 1;
  /** Called when the last open session closed. */
  onIdle: (() => void) | null = null;

  constructor(connect: () => Promise<MessagePortLike>, alive: () => Promise<boolean> = async () => true) {
    this.connect = connect;
    this.alive = alive;
  }

  get size(): number {
    return this.sessions.size;
  }

  readonly factory: RtcSessionFactory = (options, events) => {
    const id = this.nextId++;
    this.sessions.set(id, events);
    const port = this.portFor(id);
    const request = (message: Request) => void port.then((opened) => opened.postMessage(message), () => undefined);
    port.catch(() => this.closed(id, 'WebRTC is not available here'));
    request({ op: 'open', id, options });
    return {
      signal: (signal) => request({ op: 'signal', id, signal }),
      send: (bytes) => request({ op: 'send', id, bytes }),
      close: () => {
        request({ op: 'close', id });
        this.closed(id, 'closed');
      },
    };
  };

  private portFor(id: number): Promise<MessagePortLike> {
    const current = this.port;
    if (!current) return this.open();
    const checked = current.then(async (opened) => {
      if (await this.alive()) return opened;
      opened.close();
      for (const other of [...this.sessions.keys()]) if (other !== id) this.closed(other, 'WebRTC host closed');
      return this.open();
    });
    this.port = checked;
    return checked;
  }

  /** Makes the port now, before any session (a new worker takes over the host: see offscreen-rtc.ts). */
  prepare(): void {
    if (!this.port) void this.open().catch(() => undefined);
  }

  /** The port's other end is gone (its document closed): the next session asks for a new one. */
  forget(): void {
    const port = this.port;
    this.port = null;
    void port?.then((opened) => opened.close(), () => undefined);
    for (const id of [...this.sessions.keys()]) this.closed(id, 'WebRTC host closed');
  }

  private open(): Promise<MessagePortLike> {
    const port = this.connect().then((opened) => {
      opened.onmessage = (message) => this.receive(message.data as Event);
      return opened;
    });
    this.port = port;
    port.catch(() => {
      if (this.port === port) this.port = null;
    });
    return port;
  }

  private receive(event: Event): void {
    const events = this.sessions.get(event.id);
    if (!events) return;
    if (event.ev === 'signal') events.onSignal(event.signal);
    else if (event.ev === 'open') events.onOpen();
    else if (event.ev === 'message') events.onMessage(event.bytes);
    else this.closed(event.id, event.reason);
  }

  private closed(id: number, reason: string): void {
    const events = this.sessions.get(id);
    if (!events) return;
    this.sessions.delete(id);
    events.onClose(reason);
    if (this.sessions.size === 0) this.onIdle?.();
  }
}
