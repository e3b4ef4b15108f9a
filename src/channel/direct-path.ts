/**
 * Opening the direct WebRTC path of a link and keeping it open (path-switch.ts decides what
 * each frame takes). Signalling is ordinary sealed content of the encrypted channel
 * (`{k:"path", m}`, secure-channel.ts): the relay carries it as ciphertext like everything else,
 * and only the paired peer can answer an offer.
 *
 *   offerer (the link's `extension` role)        answerer (`phone` role)
 *   {t:"offer", id, sdp, ice}          ───────▶  a session with the offer's ICE servers
 *   {t:"candidate", id, …}             ───────▶
 *                                      ◀───────  {t:"answer", id, sdp}, {t:"candidate", id, …}
 *   data channel open: PathSwitch.attach on both sides
 *   {t:"close", id}                    ◀──────▶  either side gave up on attempt `id`
 *                                      ◀───────  {t:"refuse", id}: no WebRTC here (or turned off)
 *
 * The offerer starts an attempt each time a key exchange completes (both devices are online and
 * the channel has fresh keys), and again after a failure with a backoff (1 s doubling to 60 s).
 * An attempt that has not opened within OPEN_TIMEOUT_MS is closed; frames go through the relay
 * all the while, so a slow or impossible direct path delays nothing. A new offer replaces the
 * answerer's previous session. Messages of another attempt id are ignored; malformed ones dropped.
 */
import { encodeBase64Url } from './base64url.ts';
import type { DeviceRole } from './handshake.ts';
import { parseIceServers } from './ice-servers.ts';
import type { DirectCarrier, PathSwitch } from './path-switch.ts';
import type { IceServerConfig, RtcSession, RtcSessionFactory, RtcSignal } from './rtc-session.ts';

export interface DirectSettings {
  /** Off: every frame goes through the relay, and offers are refused. */
  readonly enabled: boolean;
  /** The offerer's; the answerer uses the ones that come with the offer. */
  readonly iceServers: readonly IceServerConfig[];
}

export const DEFAULT_DIRECT_SETTINGS: DirectSettings = { enabled: true, iceServers: [] };

export interface DirectPathOptions {
  /** WebRTC where this device has it (a page; the extension's offscreen document). */
  readonly rtc: RtcSessionFactory;
  /** Read at every attempt (the popup's Advanced settings); default: on, host candidates only. */
  readonly settings?: () => DirectSettings;
}

export const OPEN_TIMEOUT_MS = 10_000;
export const RETRY_INITIAL_MS = 1_000;
export const RETRY_MAX_MS = 60_000;
const MAX_SDP_LENGTH = 16_384;
const MAX_CANDIDATE_LENGTH = 1_024;
const MAX_MID_LENGTH = 64;
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export type PathMessage =
  | { readonly t: 'offer'; readonly id: string; readonly sdp: string; readonly ice: readonly IceServerConfig[] }
  | { readonly t: 'answer'; readonly id: string; readonly sdp: string }
  | { readonly t: 'candidate'; readonly id: string; readonly candidate: string; readonly mid: string | null; readonly index: number | null }
  | { readonly t: 'close'; readonly id: string }
  | { readonly t: 'refuse'; readonly id: string };

const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;

/** The message if it has exactly its type's shape, else null. */
export function parsePathMessage(value: unknown): PathMessage | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const message = value as Record<string, unknown>;
  const keys = Object.keys(message).sort().join(',');
  if (typeof message.id !== 'string' || !ID_PATTERN.test(message.id)) return null;
  const id = message.id;
  switch (message.t) {
    case 'offer': {
      const ice = parseIceServers(message.ice);
      return keys === 'ice,id,sdp,t' && isText(message.sdp, MAX_SDP_LENGTH) && ice ? { t: 'offer', id, sdp: message.sdp, ice } : null;
    }
    case 'answer':
      return keys === 'id,sdp,t' && isText(message.sdp, MAX_SDP_LENGTH) ? { t: 'answer', id, sdp: message.sdp } : null;
    case 'candidate': {
      const { candidate, mid, index } = message;
      const midOk = mid === null || isText(mid, MAX_MID_LENGTH);
      const indexOk = index === null || (typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < 256);
      return keys === 'candidate,id,index,mid,t' && isText(candidate, MAX_CANDIDATE_LENGTH) && midOk && indexOk ? { t: 'candidate', id, candidate, mid: mid as string | null, index: index as number | null } : null;
    }
    case 'close':
    case 'refuse':
      return keys === 'id,t' ? { t: message.t, id } : null;
    default:
      return null;
  }
}

interface Attempt {
  readonly id: string;
  readonly session: RtcSession;
  carrier: DirectCarrier | null;
  receive: ((bytes: Uint8Array) => void) | null;
  openTimer: ReturnType<typeof setTimeout> | null;
}

export interface DirectPathParts {
  readonly role: DeviceRole;
  readonly direct: DirectPathOptions | undefined;
  /** Sends signalling over the encrypted channel; false when it cannot now (a key exchange is in flight). */
  readonly signal: (message: PathMessage) => boolean;
  readonly paths: PathSwitch;
}

export class DirectPath {
  private readonly parts: DirectPathParts;
  private attempt: Attempt | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryMs = RETRY_INITIAL_MS;
  /** The peer refused: no more offers until the next key exchange. */
  private refused = false;
  private stopped = false;

  constructor(parts: DirectPathParts) {
    this.parts = parts;
  }

  private get offerer(): boolean {
    return this.parts.role === 'extension';
  }

  private settings(): DirectSettings {
    return this.parts.direct?.settings?.() ?? DEFAULT_DIRECT_SETTINGS;
  }

  /** A key exchange completed: the offerer opens a path now unless one is open or opening. */
  start(): void {
    this.refused = false;
    this.retryMs = RETRY_INITIAL_MS;
    if (!this.attempt) this.offer();
  }

  /** The settings changed: the current path (if any) is closed, and a new one offered if on. */
  restart(): void {
    this.closeAttempt(true);
    this.retryMs = RETRY_INITIAL_MS;
    this.offer();
  }

  stop(): void {
    this.stopped = true;
    this.clearRetry();
    this.closeAttempt(true);
  }

  receive(raw: unknown): void {
    const message = parsePathMessage(raw);
    if (!message || this.stopped) return;
    const current = this.attempt && this.attempt.id === message.id ? this.attempt : null;
    switch (message.t) {
      case 'offer':
        return this.answer(message);
      case 'answer':
        if (current && this.offerer) current.session.signal({ kind: 'description', type: 'answer', sdp: message.sdp });
        return;
      case 'candidate':
        current?.session.signal({ kind: 'candidate', candidate: message.candidate, sdpMid: message.mid, sdpMLineIndex: message.index });
        return;
      case 'close':
        if (current) this.closeAttempt(false);
        return;
      case 'refuse':
        if (current && this.offerer) {
          this.refused = true;
          this.closeAttempt(false);
        }
        return;
    }
  }

  private offer(): void {
    const { direct } = this.parts;
    if (!this.offerer || !direct || this.stopped || this.refused || !this.settings().enabled) return;
    this.clearRetry();
    const settings = this.settings();
    const id = newAttemptId();
    this.attempt = this.open(id, direct.rtc, { role: 'offer', iceServers: settings.iceServers }, (signal) =>
      signal.kind === 'description' ? { t: 'offer', id, sdp: signal.sdp, ice: settings.iceServers } : null,
    );
  }

  private answer(offer: Extract<PathMessage, { t: 'offer' }>): void {
    if (this.offerer) return;
    const { direct } = this.parts;
    if (!direct || !this.settings().enabled) {
      this.parts.signal({ t: 'refuse', id: offer.id });
      return;
    }
    this.closeAttempt(true);
    this.attempt = this.open(offer.id, direct.rtc, { role: 'answer', iceServers: offer.ice }, (signal) => (signal.kind === 'description' ? { t: 'answer', id: offer.id, sdp: signal.sdp } : null));
    this.attempt.session.signal({ kind: 'description', type: 'offer', sdp: offer.sdp });
  }

  /** A session for attempt `id`; `describe` turns its local description into the message to send. */
  private open(id: string, rtc: RtcSessionFactory, options: Parameters<RtcSessionFactory>[0], describe: (signal: RtcSignal) => PathMessage | null): Attempt {
    let attempt: Attempt | null = null;
    const mine = () => attempt !== null && this.attempt === attempt;
    const session = rtc(options, {
      onSignal: (signal) => {
        if (!mine()) return;
        const message = describe(signal) ?? (signal.kind === 'candidate' ? { t: 'candidate' as const, id, candidate: signal.candidate, mid: signal.sdpMid, index: signal.sdpMLineIndex } : null);
        if (message && !this.parts.signal(message)) this.closeAttempt(false);
      },
      onOpen: () => {
        if (!attempt || !mine() || attempt.carrier) return;
        this.clearOpenTimer(attempt);
        attempt.carrier = { send: (bytes) => session.send(bytes), close: () => session.close() };
        attempt.receive = this.parts.paths.attach(attempt.carrier);
        this.retryMs = RETRY_INITIAL_MS;
      },
      onMessage: (bytes) => {
        if (attempt && mine()) attempt.receive?.(bytes);
      },
      onClose: () => {
        if (!attempt || !mine()) return;
        this.attempt = null;
        this.clearOpenTimer(attempt);
        if (attempt.carrier) this.parts.paths.detach(attempt.carrier);
        this.scheduleRetry();
      },
    });
    const opened: Attempt = { id, session, carrier: null, receive: null, openTimer: null };
    opened.openTimer = setTimeout(() => {
      if (this.attempt === opened && !opened.carrier) this.closeAttempt(true);
    }, OPEN_TIMEOUT_MS);
    attempt = opened;
    return opened;
  }

  /** Ends the current attempt; `tellPeer` sends `close` so the peer frees its session too. */
  private closeAttempt(tellPeer: boolean): void {
    const attempt = this.attempt;
    if (!attempt) return;
    this.attempt = null;
    this.clearOpenTimer(attempt);
    if (attempt.carrier) this.parts.paths.detach(attempt.carrier);
    if (tellPeer) this.parts.signal({ t: 'close', id: attempt.id });
    attempt.session.close();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (!this.offerer || this.stopped || this.refused || this.retryTimer || !this.settings().enabled) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.attempt) this.offer();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private clearOpenTimer(attempt: Attempt): void {
    if (attempt.openTimer) clearTimeout(attempt.openTimer);
    attempt.openTimer = null;
  }
}

function newAttemptId(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}
