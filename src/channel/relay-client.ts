/**
 * The relay transport both devices use: one WebSocket to the relay, frames numbered and kept
 * until the relay stores them, incoming frames delivered once and in order and acknowledged,
 * reconnection with exponential backoff and jitter, a keepalive every ≤ 20 s while connected
 * (MV3 service workers stop after ~30 s idle), and a saveable state so a restarted service
 * worker resumes without loss or duplicates. Payloads are opaque (AEAD ciphertexts).
 */
import { decodeBase64Url, encodeBase64Url } from './base64url.ts';
import {
  CloseCode,
  FrameType,
  RELAY_PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  parseWelcome,
  type Role,
} from './relay-protocol.ts';

/** The parts of the WHATWG WebSocket the client uses (browsers' WebSocket and `ws` both fit). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export const MAX_KEEPALIVE_MS = 20_000;
const OPEN = 1;
/** Close codes after which reconnecting cannot help. */
const FATAL_CLOSE_CODES = new Set<number>([CloseCode.channelFull, CloseCode.unsupportedVersion, CloseCode.tooManyChannels, CloseCode.replaced]);

export interface RelayClientState {
  readonly relayUrl: string;
  readonly channelId: string;
  readonly role: Role;
  readonly token: string;
  readonly lastSent: number;
  readonly unstored: readonly { readonly seq: number; readonly payload: string }[];
  readonly lastReceived: number;
}

export interface RelayClientOptions {
  readonly relayUrl: string;
  readonly channelId: string;
  readonly role: Role;
  readonly WebSocket?: WebSocketConstructor;
  readonly keepaliveMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Resume from a saved state (same relay, channel and role). */
  readonly state?: RelayClientState;
  /**
   * Acknowledge received frames only once the owner stored a state that includes them
   * (`confirmSaved`), instead of on delivery: a run stopped before storing gets them again.
   */
  readonly ackWhenSaved?: boolean;
}

export type RelayStatus =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'online' }
  | { readonly kind: 'offline'; readonly code: number; readonly reason: string }
  | { readonly kind: 'failed'; readonly code: number; readonly reason: string };

export class RelayClient {
  private readonly options: RelayClientOptions;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly token: string;
  private socket: WebSocketLike | null = null;
  private online = false;
  private closed = false;
  private lastSent: number;
  private lastReceived: number;
  /** The highest sequence number acknowledged to the relay (it may drop frames up to it). */
  private lastAcked: number;
  private readonly unstored = new Map<number, Uint8Array>();
  private messageHandlers: ((payload: Uint8Array) => void)[] = [];
  private statusHandlers: ((status: RelayStatus) => void)[] = [];
  private keepaliveTimer: ReturnType<typeof setInterval> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  /**
   * Restored from a saved state: the first sequence number this run assigned. The state may be
   * older than what an earlier run sent (it was stopped before saving again); the relay's welcome
   * says how far it stored, and this run's frames are renumbered to follow (once, at that welcome).
   */
  private firstOwnSeq: number | null;

  constructor(options: RelayClientOptions) {
    const keepalive = options.keepaliveMs ?? 15_000;
    if (keepalive > MAX_KEEPALIVE_MS) throw new RangeError(`keepalive must be at most ${MAX_KEEPALIVE_MS} ms`);
    this.options = options;
    const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!impl) throw new Error('no WebSocket implementation available');
    this.WebSocketImpl = impl;
    const state = options.state;
    this.token = state?.token ?? encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    this.lastSent = state?.lastSent ?? 0;
    this.lastReceived = state?.lastReceived ?? 0;
    this.lastAcked = this.lastReceived;
    this.firstOwnSeq = state ? this.lastSent + 1 : null;
    for (const frame of state?.unstored ?? []) {
      const payload = decodeBase64Url(frame.payload);
      if (payload) this.unstored.set(frame.seq, payload);
    }
  }

  /** Resolves when the relay welcomed this client; rejects if the first attempt fails fatally. */
  connect(): Promise<void> {
    this.closed = false;
    return new Promise((resolve, reject) => {
      const off = this.onStatus((status) => {
        if (status.kind === 'online') {
          off();
          resolve();
        } else if (status.kind === 'failed') {
          off();
          reject(new Error(`relay refused the connection (${status.code}: ${status.reason})`));
        }
      });
      this.open();
    });
  }

  /** Queues a payload; it is sent now if online, else on reconnection, until the relay stores it. */
  send(payload: Uint8Array): void {
    const seq = ++this.lastSent;
    this.unstored.set(seq, payload);
    if (this.online) this.socket?.send(encodeFrame(FrameType.data, seq, payload));
  }

  onMessage(handler: (payload: Uint8Array) => void): () => void {
    this.messageHandlers.push(handler);
    return () => {
      this.messageHandlers = this.messageHandlers.filter((h) => h !== handler);
    };
  }

  onStatus(handler: (status: RelayStatus) => void): () => void {
    this.statusHandlers.push(handler);
    return () => {
      this.statusHandlers = this.statusHandlers.filter((h) => h !== handler);
    };
  }

  /** Incoming payloads as an async stream (ends when the client is closed). */
  async *messages(): AsyncGenerator<Uint8Array> {
    const queue: Uint8Array[] = [];
    let wake: (() => void) | null = null;
    const offMessage = this.onMessage((payload) => {
      queue.push(payload);
      wake?.();
    });
    const offStatus = this.onStatus(() => wake?.());
    try {
      while (!this.closed || queue.length > 0) {
        const next = queue.shift();
        if (next) yield next;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      offMessage();
      offStatus();
    }
  }

  get isOnline(): boolean {
    return this.online;
  }

  /** Drops the current connection as a network failure would; the client reconnects by itself. */
  interrupt(): void {
    this.socket?.close(CloseCode.goingAway, 'interrupted');
  }

  saveState(): RelayClientState {
    return {
      relayUrl: this.options.relayUrl,
      channelId: this.options.channelId,
      role: this.options.role,
      token: this.token,
      lastSent: this.lastSent,
      unstored: [...this.unstored].map(([seq, payload]) => ({ seq, payload: encodeBase64Url(payload) })),
      lastReceived: this.lastReceived,
    };
  }

  close(): void {
    this.closed = true;
    this.stopTimers();
    this.socket?.close(CloseCode.normal, 'client closed');
    this.socket = null;
    this.online = false;
    this.emitStatus({ kind: 'offline', code: CloseCode.normal, reason: 'client closed' });
  }

  private emitStatus(status: RelayStatus): void {
    for (const handler of [...this.statusHandlers]) handler(status);
  }

  private open(): void {
    if (this.closed) return;
    this.emitStatus({ kind: 'connecting' });
    const socket = new this.WebSocketImpl(this.options.relayUrl);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      socket.send(
        JSON.stringify({ t: 'hello', v: RELAY_PROTOCOL_VERSION, channel: this.options.channelId, role: this.options.role, token: this.token, received: this.lastAcked }),
      );
    };
    socket.onmessage = (event) => this.receive(socket, event.data);
    socket.onerror = () => undefined;
    socket.onclose = (event) => this.handleClose(socket, event.code, event.reason);
  }

  private receive(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    if (typeof data === 'string') {
      const welcome = parseWelcome(data);
      if (!welcome) return socket.close(CloseCode.malformed, 'malformed welcome');
      this.followStored(welcome.stored);
      this.dropStored(welcome.stored);
      this.online = true;
      this.attempt = 0;
      for (const [seq, payload] of [...this.unstored].sort(([a], [b]) => a - b)) socket.send(encodeFrame(FrameType.data, seq, payload));
      this.startKeepalive(socket);
      this.emitStatus({ kind: 'online' });
      return;
    }
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : null;
    const frame = bytes ? decodeFrame(bytes) : null;
    if (!frame) return;
    if (frame.type === FrameType.stored) this.dropStored(frame.seq);
    else if (frame.type === FrameType.data) this.deliver(socket, frame.seq, frame.payload);
  }

  private deliver(socket: WebSocketLike, seq: number, payload: Uint8Array): void {
    // The relay delivers in order; a jump means frames expired in its mailbox, which the session
    // layer's own sequence numbers report as a gap.
    if (seq > this.lastReceived) {
      this.lastReceived = seq;
      const copy = payload.slice();
      for (const handler of [...this.messageHandlers]) handler(copy);
    }
    if (!this.options.ackWhenSaved) this.lastAcked = this.lastReceived;
    // Duplicates are acknowledged again.
    if (socket.readyState === OPEN) socket.send(encodeFrame(FrameType.ack, this.lastAcked));
  }

  /** With ackWhenSaved: the owner stored `state`; the relay may drop the frames it had received. */
  confirmSaved(state: RelayClientState): void {
    if (state.lastReceived <= this.lastAcked) return;
    this.lastAcked = state.lastReceived;
    if (this.online && this.socket?.readyState === OPEN) this.socket.send(encodeFrame(FrameType.ack, this.lastAcked));
  }

  private followStored(stored: number): void {
    const firstOwn = this.firstOwnSeq;
    this.firstOwnSeq = null;
    if (firstOwn === null || stored < firstOwn) return;
    const shift = stored + 1 - firstOwn;
    const own = [...this.unstored].filter(([seq]) => seq >= firstOwn);
    for (const [seq] of own) this.unstored.delete(seq);
    for (const [seq, payload] of own) this.unstored.set(seq + shift, payload);
    this.lastSent += shift;
  }

  private dropStored(upTo: number): void {
    for (const seq of [...this.unstored.keys()]) if (seq <= upTo) this.unstored.delete(seq);
  }

  private startKeepalive(socket: WebSocketLike): void {
    this.stopTimers();
    this.keepaliveTimer = setInterval(() => {
      if (socket.readyState === OPEN) socket.send(encodeFrame(FrameType.ping, 0));
    }, this.options.keepaliveMs ?? 15_000);
  }

  private stopTimers(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.keepaliveTimer = null;
    this.reconnectTimer = null;
  }

  private handleClose(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.online = false;
    this.socket = null;
    this.stopTimers();
    if (this.closed) return;
    if (FATAL_CLOSE_CODES.has(code)) {
      this.closed = true;
      this.emitStatus({ kind: 'failed', code, reason });
      return;
    }
    this.emitStatus({ kind: 'offline', code, reason });
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 250, maxMs: 15_000 };
    const base = Math.min(maxMs, initialMs * 2 ** this.attempt++);
    const jitter = (crypto.getRandomValues(new Uint32Array(1))[0] as number) / 0xffffffff;
    this.reconnectTimer = setTimeout(() => this.open(), base / 2 + (base / 2) * jitter);
  }
}
