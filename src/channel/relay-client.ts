/**
 * The relay transport both devices use: one WebSocket to the relay, the role taken with the
 * device's relay credential (relay-credential.ts), frames numbered and kept until the relay
 * stores them, incoming frames delivered once and in order and acknowledged, reconnection with
 * exponential backoff and jitter, a keepalive every ≤ 20 s while connected (MV3 service workers
 * stop after ~30 s idle), and a saveable state so a restarted service worker resumes without loss
 * or duplicates. Payloads are opaque (AEAD ciphertexts).
 *
 * Refusals: a refusal that waiting cannot cure (4001 other protocol, 4003 not a member, 4007 the
 * same device connected again elsewhere, 4010 the channel was retired) ends the client with a
 * `failed` status; limits of the relay or of the client's address (1013, 4005, 4008, …) are
 * retried with a longer backoff, and the `offline` status carries the relay's reason.
 * `describeRelayStatus` says each in words for the apps.
 */
import { decodeBase64Url, encodeBase64Url } from './base64url.ts';
import { decodeRelayCredential, encodeRelayCredential, relayChannelNameOf, signRelayChallenge, type RelayCredential, type RelayCredentialJson } from './relay-credential.ts';
import {
  CloseCode,
  FrameType,
  RELAY_PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  parseRelayText,
  type GapReason,
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
const FATAL_CLOSE_CODES = new Set<number>([CloseCode.unsupportedVersion, CloseCode.unauthorized, CloseCode.replaced, CloseCode.retired]);
/** Limits that take time to lift: retried, but no sooner than this. */
const CAPACITY_CLOSE_CODES = new Set<number>([CloseCode.tryAgainLater, CloseCode.addressLimit, CloseCode.mailboxFull, CloseCode.rateLimited]);
const CAPACITY_BACKOFF_MS = 2_000;
export const RELAY_STATE_VERSION = 2;

export interface RelayClientState {
  readonly v: typeof RELAY_STATE_VERSION;
  readonly relayUrl: string;
  readonly credential: RelayCredentialJson;
  readonly lastSent: number;
  readonly unstored: readonly { readonly seq: number; readonly payload: string }[];
  readonly lastReceived: number;
}

/** Frames the relay no longer had for this client, and why (the relay's gap notice). */
export interface RelayGap {
  readonly missed: number;
  readonly reason: GapReason;
  readonly message: string;
}

export class RelayStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayStateError';
  }
}

export interface RelayClientOptions {
  readonly relayUrl: string;
  /** The role and the key to take it with; ignored when `state` is given (it holds its own). */
  readonly credential?: RelayCredential;
  readonly WebSocket?: WebSocketConstructor;
  readonly keepaliveMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Resume from a saved state (same relay, credential, channel and role). */
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

/** What a refusal means for the user, by close code. */
const REFUSAL_SENTENCES: Partial<Record<number, string>> = {
  [CloseCode.retired]: 'The other device ended this pairing. Pair again to use it.',
  [CloseCode.unauthorized]: "The relay did not accept this device's pairing credentials. Pair again.",
  [CloseCode.replaced]: 'This device connected again from another window or tab; this one stopped.',
  [CloseCode.unsupportedVersion]: 'The relay speaks another protocol version. Update Duet, or use another relay.',
  [CloseCode.tryAgainLater]: 'The relay is at capacity. Duet keeps trying.',
  [CloseCode.addressLimit]: 'The relay is limiting connections from your network address (shared networks can hit this). Duet keeps trying.',
  [CloseCode.mailboxFull]: 'The relay is holding too much for the other device. Duet retries when it has been delivered.',
};

/** The sentence an app shows for a relay status, or null when there is nothing to say. */
export function describeRelayStatus(status: RelayStatus): string | null {
  if (status.kind === 'online' || status.kind === 'connecting') return null;
  return REFUSAL_SENTENCES[status.code] ?? (status.kind === 'failed' ? `The relay refused the connection (${status.code}: ${status.reason}).` : null);
}

const GAP_MESSAGES: Record<GapReason, (missed: number) => string> = {
  expired: (missed) => `${missed} message(s) from the other device expired in the relay's mailbox before this device came online.`,
  'relay-restarted': (missed) => `${missed} message(s) from the other device were lost: the relay restarted without saving its mailboxes.`,
};

export class RelayClient {
  private readonly options: RelayClientOptions;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly credential: RelayCredential;
  private readonly channelName: string;
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
  private gapHandlers: ((gap: RelayGap) => void)[] = [];
  private storedWaiters: (() => void)[] = [];
  private lastStatus: RelayStatus = { kind: 'offline', code: CloseCode.normal, reason: 'not connected yet' };
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
    const state = options.state;
    if (state && state.v !== RELAY_STATE_VERSION) throw new RelayStateError('this pairing was saved by an older version of Duet');
    const credential = state ? decodeRelayCredential(state.credential) : options.credential;
    if (!credential) throw new RelayStateError('the saved relay credential is damaged');
    this.credential = credential;
    this.channelName = relayChannelNameOf(credential.roster);
    const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!impl) throw new Error('no WebSocket implementation available');
    this.WebSocketImpl = impl;
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

  /** Frames the relay no longer had (expired, or lost in a relay restart), reported before the next one. */
  onGap(handler: (gap: RelayGap) => void): () => void {
    this.gapHandlers.push(handler);
    return () => {
      this.gapHandlers = this.gapHandlers.filter((h) => h !== handler);
    };
  }

  /** The latest status (what `onStatus` last reported). */
  get status(): RelayStatus {
    return this.lastStatus;
  }

  /** The channel's name on the relay (derived from its roster). */
  get channel(): string {
    return this.channelName;
  }

  /**
   * Ends the channel for both members: the relay drops its mailboxes and refuses both roles from
   * then on (4010). Resolves true once the relay confirmed it, false if it could not be reached
   * within `timeoutMs` (the caller goes on: the other device then learns it at the next retire,
   * or never needs to).
   */
  retire(timeoutMs = 5_000): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (confirmed: boolean) => {
        clearTimeout(timer);
        off();
        if (!confirmed) this.close();
        resolve(confirmed);
      };
      const sendRetire = () => this.socket?.send(encodeFrame(FrameType.retire, 0));
      const off = this.onStatus((status) => {
        if (status.kind === 'online') sendRetire();
        if (status.kind === 'failed') finish(status.code === CloseCode.retired);
      });
      if (this.online) sendRetire();
      else if (!this.socket) {
        this.closed = false;
        this.stopTimers();
        this.open();
      }
    });
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

  /** The sequence number of the last frame queued for the peer. */
  get sentSeq(): number {
    return this.lastSent;
  }

  /** The sequence number of the last frame delivered from the peer. */
  get receivedSeq(): number {
    return this.lastReceived;
  }

  /** Drops the current connection as a network failure would; the client reconnects by itself. */
  interrupt(): void {
    this.socket?.close(CloseCode.goingAway, 'interrupted');
  }

  saveState(): RelayClientState {
    return {
      v: RELAY_STATE_VERSION,
      relayUrl: this.options.relayUrl,
      credential: encodeRelayCredential(this.credential),
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
    this.lastStatus = status;
    for (const handler of [...this.statusHandlers]) handler(status);
  }

  private open(): void {
    if (this.closed) return;
    this.emitStatus({ kind: 'connecting' });
    const socket = new this.WebSocketImpl(this.options.relayUrl);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onmessage = (event) => this.receive(socket, event.data);
    socket.onerror = () => undefined;
    socket.onclose = (event) => this.handleClose(socket, event.code, event.reason);
  }

  private receive(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    if (typeof data === 'string') {
      const text = parseRelayText(data);
      if (!text) return socket.close(CloseCode.malformed, 'malformed relay message');
      if (text.t === 'challenge') return this.answerChallenge(socket, text.nonce);
      if (text.t === 'gap') {
        const gap = { missed: text.missed, reason: text.reason, message: GAP_MESSAGES[text.reason](text.missed) };
        for (const handler of [...this.gapHandlers]) handler(gap);
        return;
      }
      const welcome = text;
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

  private answerChallenge(socket: WebSocketLike, nonce: string): void {
    const nonceBytes = decodeBase64Url(nonce);
    if (!nonceBytes) return socket.close(CloseCode.malformed, 'malformed challenge');
    const { roster, role } = this.credential;
    socket.send(
      JSON.stringify({
        t: 'hello',
        v: RELAY_PROTOCOL_VERSION,
        channel: this.channelName,
        role,
        keys: { extension: encodeBase64Url(roster.extension), phone: encodeBase64Url(roster.phone) },
        proof: encodeBase64Url(signRelayChallenge(this.credential, nonceBytes)),
        received: this.lastAcked,
      }),
    );
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
    if (this.unstored.size === 0) for (const resolve of this.storedWaiters.splice(0)) resolve();
  }

  /** Closes once the relay has stored everything sent so far (or after `timeoutMs` regardless). */
  closeWhenStored(timeoutMs: number): void {
    if (this.unstored.size === 0) return this.close();
    const timer = setTimeout(() => this.close(), timeoutMs);
    this.storedWaiters.push(() => {
      clearTimeout(timer);
      this.close();
    });
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
    const floor = CAPACITY_CLOSE_CODES.has(code) ? Math.min(CAPACITY_BACKOFF_MS, maxMs) : 0;
    const base = Math.max(floor, Math.min(maxMs, initialMs * 2 ** this.attempt++));
    const jitter = (crypto.getRandomValues(new Uint32Array(1))[0] as number) / 0xffffffff;
    this.reconnectTimer = setTimeout(() => this.open(), base / 2 + (base / 2) * jitter);
  }
}
