/**
 * The end-to-end encrypted channel between the extension and the phone, over any frame
 * transport (the relay client, or a WebRTC data channel). It runs pairing (SAS confirmed by both
 * users, identities pinned), a fresh authenticated key exchange on every connection, and carries
 * the application's messages as JSON without interpreting them.
 *
 * Frames on the transport: one kind byte, then
 *   PAIR_HELLO      phone → extension   phone's ephemeral X25519 key (32)
 *   SESSION_INIT    initiator → responder   e_I (32)
 *   SESSION_REPLY   responder → initiator   e_I (32) ‖ e_R (32) ‖ Ed25519 signature (64)
 *   SESSION_CONFIRM initiator → responder   e_R (32) ‖ Ed25519 signature (64)
 *   SEALED          either              key id (4) ‖ session-cipher frame
 * Sealed contents: {k:"identity", key, relay, sig} | {k:"confirm"} | {k:"session-ok"} | {k:"app", m} | {k:"early", m} | {k:"path", m}.
 * "early" carries an application message sent before the pairing code is confirmed (the phone's
 * Paillier key and its proof, checked during the SAS); it reaches onEarlyMessage handlers only,
 * and the receiver must not act on it until the pairing completes. "path" carries the direct
 * path's signalling (direct-path.ts) between paired devices; it reaches onPathMessage handlers only.
 *
 *   initiator                         responder
 *   SESSION_INIT e_I        ───────▶  derive K', keep it as `responding` (stored first)
 *                           ◀───────  SESSION_REPLY e_I, e_R, Sig_R
 *   verify, keep K' as `confirming` (stored first)
 *   SESSION_CONFIRM e_R, Sig_I ─────▶  verify; switch to K' (nothing under K follows the confirm)
 *   switch sending to K'; keep         ◀───────  SEALED(K') {k:"session-ok"}
 *   K's receive key until the first
 *   frame under K' arrives, then forget K
 *
 * Either device may start an exchange (each does when its transport connects, and when its
 * session is older than a day). The device that started one holds its application messages
 * until the exchange completes and sends them under the new keys: nothing it sends after it
 * reconnected is under keys that existed before. The other device keeps sending under the keys
 * it has until the confirmation arrives (one round trip). When both start at once the extension
 * ignores the phone's exchange; the phone answers the extension's and keeps its own open, and
 * whichever completes first wins, so a forged SESSION_INIT cannot hold the phone back. A device
 * answers up to RESPONDING_SLOTS exchanges at a time (a forged one does not push out the real
 * one). Frames that fail authentication, arrive under unknown keys, or carry a bad handshake
 * signature are dropped and reported (`error` event), never fatal after pairing: an injected or
 * dropped frame can delay a new session but never stops the channel.
 *
 * Durable channels (the apps, which store the state): a device stores the keys of an exchange
 * before it sends the frame that lets its peer use them (the reply, the confirm): `save-needed`
 * asks the owner to store the state; `confirmSaved` with a stored state holding those keys
 * releases the frame. A device restarted from any stored state therefore still has every key its
 * peer may send under, and re-sends the pending reply or confirm.
 *
 * Saved state and nonces. The AEAD nonce is the send sequence number, so a channel restored from
 * a saved state must never send under a number an earlier run already used (a restarted service
 * worker, a reloaded phone page). `save()` therefore records a send floor SEND_SEQ_RESERVE above
 * the numbers used so far, for the current keys and for keys about to be switched to; a restored
 * channel continues above that floor (the peer sees a gap, which it accepts). The running channel
 * sends only up to the floor of the last save the caller confirmed as stored (`confirmSaved`), or
 * before any save was confirmed, up to the floor of the first save (a fresh channel) or of the
 * state it was restored from, so it cannot send at all until a new state is stored: otherwise
 * `save_required`. Whatever state is restored later, every number sent before is at or below its
 * floor.
 */
import { decodeBase64Url, encodeBase64Url } from './base64url.ts';
import { ChannelError } from './channel-error.ts';
import {
  derivePairingKeys,
  deriveSessionKeys,
  generateEphemeral,
  signTranscript,
  verifyTranscriptSignature,
  type DeviceRole,
  type Identity,
} from './handshake.ts';
import { markStep, messageLabel } from './latency-marks.ts';
import type { PairingOffer } from './pairing-offer.ts';
import { pairedRelayKey, type RelayCredential } from './relay-credential.ts';
import { createSession, open, restoreSession, saveSession, seal, type SessionState, type SessionStateJson } from './session-cipher.ts';

export interface FrameTransport {
  send(frame: Uint8Array): void;
  onMessage(handler: (frame: Uint8Array) => void): () => void;
}

/** Send sequence numbers reserved by each save: the frames a channel may send between saves. */
export const SEND_SEQ_RESERVE = 1024;
/** A session older than this is replaced by a fresh exchange before the next message. */
export const MAX_SESSION_AGE_MS = 24 * 3600_000;
export const CHANNEL_STATE_VERSION = 2;
/** Exchanges a device answers at the same time; a newer one pushes out the oldest. */
export const RESPONDING_SLOTS = 4;

const FrameKind = { pairHello: 1, sessionInit: 2, sessionReply: 3, sessionConfirm: 4, sealed: 5 } as const;
const KEY_ID_BYTES = 4;
const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

export type ChannelPhase = 'awaiting-peer' | 'awaiting-sas' | 'paired' | 'closed';

export type ChannelEvent =
  | { readonly kind: 'sas'; readonly sas: string }
  | { readonly kind: 'paired'; readonly peerIdentity: Uint8Array; readonly relayCredential: RelayCredential }
  | { readonly kind: 'session' }
  | { readonly kind: 'save-needed' }
  | { readonly kind: 'gap'; readonly missed: number }
  | { readonly kind: 'error'; readonly error: ChannelError };

interface KeyedSessionJson {
  readonly id: string;
  readonly session: SessionStateJson;
  readonly startedAt: number;
  /** The initiator's ephemeral key of the exchange that made these keys (null for pairing keys). */
  readonly origin: string | null;
}

export interface SecureChannelState {
  readonly v: typeof CHANNEL_STATE_VERSION;
  readonly role: DeviceRole;
  readonly channelId: string;
  readonly phase: ChannelPhase;
  readonly pinnedPeer: string | null;
  readonly session: KeyedSessionJson | null;
  readonly previousReceive: KeyedSessionJson | null;
  readonly responding: readonly { readonly responderKey: string; readonly transcriptHash: string; readonly session: KeyedSessionJson; readonly reply: string }[];
  readonly confirming: { readonly responderKey: string; readonly session: KeyedSessionJson; readonly confirm: string } | null;
  /** Application messages held until this device's exchange completes. */
  readonly held: readonly unknown[];
}

/** Session keys with the id that sealed frames carry, so a receiver knows which keys to use. */
interface KeyedSession {
  readonly id: Uint8Array;
  state: SessionState;
  readonly startedAt: number;
  readonly origin: Uint8Array | null;
  /** Came from a stored state: numbers up to its `sent` may have been used by an earlier run. */
  readonly restored: boolean;
  /** Pending keys: the floor of the first save that held them (a restart may resume from that save). */
  firstSavedFloor: number | null;
}

interface Responding {
  readonly responderKey: Uint8Array;
  readonly transcriptHash: Uint8Array;
  readonly session: KeyedSession;
  readonly reply: Uint8Array;
  /** Sent in this run (memory only: a restored reply is sent again). */
  sent: boolean;
}

interface Confirming {
  readonly responderKey: Uint8Array;
  readonly session: KeyedSession;
  readonly confirm: Uint8Array;
}

interface PendingPairing {
  readonly transcriptHash: Uint8Array;
  readonly sas: string;
  readonly relayKey: { readonly secretKey: Uint8Array; readonly publicKey: Uint8Array };
  peer: { readonly identity: Uint8Array; readonly relayKey: Uint8Array } | null;
  localConfirmed: boolean;
  peerConfirmed: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function frame(kind: number, ...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(1 + parts.reduce((n, p) => n + p.length, 0));
  out[0] = kind;
  let offset = 1;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function sameBytes(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.every((byte, i) => byte === b[i]);
}

const peerOf = (role: DeviceRole): DeviceRole => (role === 'extension' ? 'phone' : 'extension');

function keyed(state: SessionState, transcriptHash: Uint8Array, startedAt: number, origin: Uint8Array | null): KeyedSession {
  return { id: transcriptHash.slice(0, KEY_ID_BYTES), state, startedAt, origin, restored: false, firstSavedFloor: null };
}

function saveKeyed(session: KeyedSession, reserve: number): KeyedSessionJson {
  return {
    id: encodeBase64Url(session.id),
    session: saveSession({ ...session.state, sent: session.state.sent + reserve }),
    startedAt: session.startedAt,
    origin: session.origin ? encodeBase64Url(session.origin) : null,
  };
}

function bytesOf(text: string, length?: number): Uint8Array {
  const bytes = decodeBase64Url(text);
  if (!bytes || (length !== undefined && bytes.length !== length)) throw new ChannelError('malformed_frame', 'saved channel state is damaged');
  return bytes;
}

function restoreKeyed(json: KeyedSessionJson): KeyedSession {
  return {
    id: bytesOf(json.id, KEY_ID_BYTES),
    state: restoreSession(json.session),
    startedAt: json.startedAt,
    origin: json.origin ? bytesOf(json.origin, KEY_BYTES) : null,
    restored: true,
    firstSavedFloor: null,
  };
}

export interface SecureChannelOptions {
  readonly transport: FrameTransport;
  readonly role: DeviceRole;
  readonly channelId: Uint8Array;
  readonly identity: Identity;
  readonly state?: SecureChannelState;
  /** The owner stores the state: exchange frames wait for a confirmed save (see the header). */
  readonly durable?: boolean;
  readonly now?: () => number;
}

export class SecureChannel {
  private readonly transport: FrameTransport;
  private readonly role: DeviceRole;
  private readonly channelId: Uint8Array;
  private readonly identity: Identity;
  private readonly durable: boolean;
  private readonly now: () => number;
  private phase: ChannelPhase;
  private pinnedPeer: Uint8Array | null;
  private current: KeyedSession | null;
  /** The keys the peer sent under before the latest switch, until it is seen using the new ones. */
  private previousReceive: KeyedSession | null;
  private responding: Responding[];
  private confirming: Confirming | null;
  private held: unknown[];
  /** This device's exchange in progress: the ephemeral secret lives in memory only. */
  private initiating: { readonly secretKey: Uint8Array; readonly publicKey: Uint8Array } | null = null;
  /** The highest send sequence number this run may use (see the header: saved state and nonces). */
  private sendLimit: number;
  private pairing: PendingPairing | null = null;
  private pairingSecret: { secretKey: Uint8Array; offer: PairingOffer } | null = null;
  private messageHandlers: ((message: unknown) => void)[] = [];
  private earlyHandlers: ((message: unknown) => void)[] = [];
  private pathHandlers: ((message: unknown) => void)[] = [];
  private eventHandlers: ((event: ChannelEvent) => void)[] = [];

  constructor(options: SecureChannelOptions) {
    this.transport = options.transport;
    this.role = options.role;
    this.channelId = options.channelId;
    this.identity = options.identity;
    this.durable = options.durable ?? false;
    this.now = options.now ?? Date.now;
    const state = options.state;
    if (state && state.v !== CHANNEL_STATE_VERSION) throw new ChannelError('unsupported_version', 'this pairing was saved by an older version of Duet');
    this.phase = state?.phase === 'paired' ? 'paired' : 'awaiting-peer';
    this.pinnedPeer = state?.pinnedPeer ? bytesOf(state.pinnedPeer, KEY_BYTES) : null;
    this.current = state?.session ? restoreKeyed(state.session) : null;
    this.previousReceive = state?.previousReceive ? restoreKeyed(state.previousReceive) : null;
    this.responding = (state?.responding ?? []).map((saved) => ({
      responderKey: bytesOf(saved.responderKey, KEY_BYTES),
      transcriptHash: bytesOf(saved.transcriptHash),
      session: restoreKeyed(saved.session),
      reply: bytesOf(saved.reply),
      sent: false,
    }));
    this.held = [...(state?.held ?? [])];
    this.confirming = state?.confirming ? { responderKey: bytesOf(state.confirming.responderKey, KEY_BYTES), session: restoreKeyed(state.confirming.session), confirm: bytesOf(state.confirming.confirm) } : null;
    this.sendLimit = this.current ? this.current.state.sent : Number.POSITIVE_INFINITY;
    this.transport.onMessage((bytes) => this.receive(bytes));
    // Frames a stopped run may have sent, or never got to send: sending them again is harmless.
    for (const responding of this.responding) this.sendReply(responding);
    this.finishConfirming();
  }

  onMessage(handler: (message: unknown) => void): () => void {
    this.messageHandlers.push(handler);
    return () => (this.messageHandlers = this.messageHandlers.filter((h) => h !== handler));
  }

  /** Messages the peer sent with sendEarly (see the header). */
  onEarlyMessage(handler: (message: unknown) => void): () => void {
    this.earlyHandlers.push(handler);
    return () => (this.earlyHandlers = this.earlyHandlers.filter((h) => h !== handler));
  }

  /** Direct-path signalling from the peer (see sendPath). */
  onPathMessage(handler: (message: unknown) => void): () => void {
    this.pathHandlers.push(handler);
    return () => (this.pathHandlers = this.pathHandlers.filter((h) => h !== handler));
  }

  onEvent(handler: (event: ChannelEvent) => void): () => void {
    this.eventHandlers.push(handler);
    return () => (this.eventHandlers = this.eventHandlers.filter((h) => h !== handler));
  }

  get currentPhase(): ChannelPhase {
    return this.phase;
  }

  get peerIdentity(): Uint8Array | null {
    return this.pinnedPeer;
  }

  /** Extension: wait for the phone that scanned `offer`; keep the ephemeral secret until then. */
  awaitPhone(offer: PairingOffer, ephemeralSecret: Uint8Array): void {
    if (this.role !== 'extension') throw new ChannelError('not_ready', 'only the extension shows a pairing offer');
    this.pairingSecret = { secretKey: ephemeralSecret, offer };
    this.phase = 'awaiting-peer';
  }

  /** Phone: answer the scanned offer. */
  answerOffer(offer: PairingOffer): void {
    if (this.role !== 'phone') throw new ChannelError('not_ready', 'only the phone answers a pairing offer');
    const ephemeral = generateEphemeral();
    const keys = derivePairingKeys(offer.channelId, offer.extensionEphemeralKey, ephemeral.publicKey, ephemeral.secretKey, 'phone');
    this.transport.send(frame(FrameKind.pairHello, ephemeral.publicKey));
    this.startPairing(keys.transcriptHash, keys.sas, createSession('phone', keys.keys));
  }

  /** The user confirmed that both screens show the same SAS. */
  confirmSas(): void {
    if (this.phase !== 'awaiting-sas' || !this.pairing) throw new ChannelError('not_ready', 'no pairing is waiting for confirmation');
    this.pairing.localConfirmed = true;
    this.sendSealed({ k: 'confirm' });
    this.completePairingIfReady();
  }

  /** The user saw different codes: abandon the pairing. */
  rejectSas(): void {
    this.phase = 'closed';
    this.pairing = null;
    this.current = null;
    this.emit({ kind: 'error', error: new ChannelError('sas_rejected', 'the codes did not match; pairing was cancelled') });
  }

  /** After pairing: a fresh key exchange authenticated by the pinned identities (see the header). */
  startSession(): void {
    if (this.phase !== 'paired' || !this.pinnedPeer) throw new ChannelError('not_ready', 'only a paired channel starts a session');
    if (this.confirming) return;
    this.initiating = generateEphemeral();
    this.transport.send(frame(FrameKind.sessionInit, this.initiating.publicKey));
  }

  send(message: unknown): void {
    if (this.phase !== 'paired') throw new ChannelError('not_ready', `cannot send application messages while ${this.phase}`);
    const current = this.current;
    if (current && !this.initiating && !this.confirming && this.now() - current.startedAt > MAX_SESSION_AGE_MS) this.startSession();
    // A durable channel past its send floor (restored keys just switched to, or SEND_SEQ_RESERVE
    // frames since the last store) holds the message until the next confirmed store.
    const pastFloor = this.durable && !!current && current.state.sent >= this.sendLimit;
    if (this.initiating || this.confirming || this.held.length > 0 || pastFloor) {
      this.held.push(message);
      if (pastFloor) this.emit({ kind: 'save-needed' });
      return;
    }
    markStep(`out ${messageLabel(message)}`);
    this.sendSealed({ k: 'app', m: message });
  }

  /** A message the peer may check before the pairing code is confirmed, but not act on (see the header). */
  sendEarly(message: unknown): void {
    if (this.phase !== 'awaiting-sas' && this.phase !== 'paired') throw new ChannelError('not_ready', `cannot send early messages while ${this.phase}`);
    this.sendSealed({ k: 'early', m: message });
  }

  /**
   * Direct-path signalling, sealed now under the current keys; false (nothing sent) while a key
   * exchange is in flight, messages are held, or a save is needed first. It is never held or
   * stored: a signal that cannot go now is stale by the time it could.
   */
  sendPath(message: unknown): boolean {
    const current = this.current;
    if (this.phase !== 'paired' || !current || this.initiating || this.confirming || this.held.length > 0 || current.state.sent >= this.sendLimit) return false;
    this.sendSealed({ k: 'path', m: message });
    return true;
  }

  /** The state to store; its sessions reserve the next SEND_SEQ_RESERVE send numbers. */
  save(): SecureChannelState {
    if (this.current && this.sendLimit === Number.POSITIVE_INFINITY) this.sendLimit = this.current.state.sent + SEND_SEQ_RESERVE;
    const confirming = this.confirming;
    for (const pending of [...this.responding.map((responding) => responding.session), ...(confirming ? [confirming.session] : [])]) {
      pending.firstSavedFloor ??= pending.state.sent + SEND_SEQ_RESERVE;
    }
    return {
      v: CHANNEL_STATE_VERSION,
      role: this.role,
      channelId: encodeBase64Url(this.channelId),
      phase: this.phase,
      pinnedPeer: this.pinnedPeer ? encodeBase64Url(this.pinnedPeer) : null,
      session: this.current ? saveKeyed(this.current, SEND_SEQ_RESERVE) : null,
      previousReceive: this.previousReceive ? saveKeyed(this.previousReceive, 0) : null,
      responding: this.responding.map((responding) => ({
        responderKey: encodeBase64Url(responding.responderKey),
        transcriptHash: encodeBase64Url(responding.transcriptHash),
        session: saveKeyed(responding.session, SEND_SEQ_RESERVE),
        reply: encodeBase64Url(responding.reply),
      })),
      confirming: confirming ? { responderKey: encodeBase64Url(confirming.responderKey), session: saveKeyed(confirming.session, SEND_SEQ_RESERVE), confirm: encodeBase64Url(confirming.confirm) } : null,
      held: [...this.held],
    };
  }

  /** The caller stored `state` (from save()): the channel may send up to its floor, and what waited for it. */
  confirmSaved(state: SecureChannelState): void {
    // A state of earlier keys bounds nothing sent under the current ones.
    if (state.session && this.current && state.session.id === encodeBase64Url(this.current.id)) this.sendLimit = Math.max(this.sendLimit, state.session.session.sent);
    const stored = new Set(state.responding.map((responding) => responding.responderKey));
    for (const responding of this.responding) if (stored.has(encodeBase64Url(responding.responderKey))) this.sendReply(responding);
    if (this.confirming && state.confirming?.responderKey === encodeBase64Url(this.confirming.responderKey)) this.finishConfirming();
    this.flushHeld();
  }

  private emit(event: ChannelEvent): void {
    for (const handler of [...this.eventHandlers]) handler(event);
  }

  private startPairing(transcriptHash: Uint8Array, sas: string, session: SessionState): void {
    this.useNewSession(keyed(session, transcriptHash, this.now(), null));
    const relayKey = pairedRelayKey(this.identity, transcriptHash, this.role);
    this.pairing = { transcriptHash, sas, relayKey, peer: null, localConfirmed: false, peerConfirmed: false };
    this.phase = 'awaiting-sas';
    const signature = signTranscript(this.identity, 'identity', this.role, new Uint8Array([...transcriptHash, ...relayKey.publicKey]));
    this.sendSealed({ k: 'identity', key: encodeBase64Url(this.identity.publicKey), relay: encodeBase64Url(relayKey.publicKey), sig: encodeBase64Url(signature) });
    this.emit({ kind: 'sas', sas });
  }

  private completePairingIfReady(): void {
    const pairing = this.pairing;
    if (!pairing || !pairing.localConfirmed || !pairing.peerConfirmed || !pairing.peer) return;
    this.pinnedPeer = pairing.peer.identity;
    this.pairing = null;
    this.phase = 'paired';
    const roster = this.role === 'extension' ? { extension: pairing.relayKey.publicKey, phone: pairing.peer.relayKey } : { extension: pairing.peer.relayKey, phone: pairing.relayKey.publicKey };
    this.emit({ kind: 'paired', peerIdentity: pairing.peer.identity, relayCredential: { role: this.role, roster, secretKey: pairing.relayKey.secretKey } });
  }

  /**
   * Switches to new keys. Restored keys send nothing until a new state is stored; keys a save of
   * this run held while pending send up to that save's floor; keys never saved, without bound
   * until the next save (no number was used under them).
   */
  private useNewSession(session: KeyedSession): void {
    this.current = session;
    this.sendLimit = session.restored ? session.state.sent : (session.firstSavedFloor ?? Number.POSITIVE_INFINITY);
  }

  /** Sends `exchangeFrame` now, or (durable) once a state holding its keys is stored. */
  private sendWhenStored(exchangeFrame: () => void): void {
    if (!this.durable) return exchangeFrame();
    this.emit({ kind: 'save-needed' });
  }

  private sendReply(responding: Responding): void {
    if (responding.sent) return;
    responding.sent = true;
    this.transport.send(responding.reply);
  }

  private finishConfirming(): void {
    const confirming = this.confirming;
    if (!confirming) return;
    this.transport.send(confirming.confirm);
    this.switchTo(confirming.session, this.current);
  }

  /** A completed exchange: its keys become current, every other exchange is dropped, held messages go. */
  private switchTo(session: KeyedSession, previousReceive: KeyedSession | null): void {
    this.responding = [];
    this.initiating = null;
    this.confirming = null;
    this.previousReceive = previousReceive;
    this.useNewSession(session);
    this.emit({ kind: 'session' });
    this.flushHeld();
    if (this.durable) this.emit({ kind: 'save-needed' });
  }

  /** Sends held messages while the send floor allows (else they wait for the next confirmed save). */
  private flushHeld(): void {
    if (this.initiating || this.confirming || !this.current) return;
    while (this.held.length > 0 && this.current.state.sent < this.sendLimit) this.sendSealed({ k: 'app', m: this.held.shift() });
    if (this.held.length > 0 && this.durable) this.emit({ kind: 'save-needed' });
  }

  private sendSealed(body: object): void {
    const current = this.current;
    if (!current) throw new ChannelError('not_ready', 'no session keys yet');
    if (current.state.sent >= this.sendLimit) throw new ChannelError('save_required', 'store the channel state (save, then confirmSaved) before sending more');
    const sealed = seal(current.state, encoder.encode(JSON.stringify(body)));
    current.state = sealed.state;
    this.transport.send(frame(FrameKind.sealed, current.id, sealed.frame));
  }

  private receive(bytes: Uint8Array): void {
    try {
      this.dispatch(bytes);
    } catch (error) {
      if (!(error instanceof ChannelError)) throw error;
      // Only a peer that holds the pairing keys can make pairing fail; after it, nothing is fatal.
      if (this.pairing && error.code === 'identity_mismatch') this.phase = 'closed';
      this.emit({ kind: 'error', error });
    }
  }

  private dispatch(bytes: Uint8Array): void {
    const kind = bytes[0];
    const body = bytes.subarray(1);
    if (this.phase === 'closed') return;
    switch (kind) {
      case FrameKind.pairHello:
        return this.onPairHello(body);
      case FrameKind.sessionInit:
        return this.onSessionInit(body);
      case FrameKind.sessionReply:
        return this.onSessionReply(body);
      case FrameKind.sessionConfirm:
        return this.onSessionConfirm(body);
      case FrameKind.sealed:
        return this.onSealed(body);
      default:
        throw new ChannelError('malformed_frame', 'unknown frame kind');
    }
  }

  private onPairHello(phoneKey: Uint8Array): void {
    if (this.role !== 'extension' || !this.pairingSecret || this.phase !== 'awaiting-peer') throw new ChannelError('malformed_frame', 'unexpected pairing hello');
    const { secretKey, offer } = this.pairingSecret;
    const keys = derivePairingKeys(offer.channelId, offer.extensionEphemeralKey, phoneKey, secretKey, 'extension');
    this.pairingSecret = null;
    this.startPairing(keys.transcriptHash, keys.sas, createSession('extension', keys.keys));
  }

  private onSessionInit(initiatorKey: Uint8Array): void {
    if (this.phase !== 'paired' || !this.pinnedPeer || initiatorKey.length !== KEY_BYTES) throw new ChannelError('malformed_frame', 'unexpected session request');
    // Delivered again (after a restart of either side): the answer is already on its way, or done.
    if (this.responding.some((responding) => sameBytes(initiatorKey, responding.session.origin)) || sameBytes(initiatorKey, this.current?.origin)) return;
    // Both started one: the extension's wins (the phone answers it and keeps its own open).
    if (this.initiating && this.role === 'extension') return;
    const ephemeral = generateEphemeral();
    const peer = peerOf(this.role);
    const derived = deriveSessionKeys(this.channelId, peer, initiatorKey, ephemeral.publicKey, ephemeral.secretKey, this.role);
    const reply = frame(FrameKind.sessionReply, initiatorKey, ephemeral.publicKey, signTranscript(this.identity, 'session', 'R', derived.transcriptHash));
    const session = keyed(createSession(this.role, derived.keys), derived.transcriptHash, this.now(), initiatorKey.slice());
    const responding: Responding = { responderKey: ephemeral.publicKey, transcriptHash: derived.transcriptHash, session, reply, sent: false };
    this.responding = [...this.responding, responding].slice(-RESPONDING_SLOTS);
    this.sendWhenStored(() => this.sendReply(responding));
  }

  private onSessionReply(body: Uint8Array): void {
    const initiating = this.initiating;
    if (body.length !== 2 * KEY_BYTES + SIGNATURE_BYTES || !this.pinnedPeer) throw new ChannelError('malformed_frame', 'malformed session reply');
    const initiatorKey = body.subarray(0, KEY_BYTES);
    const responderKey = body.subarray(KEY_BYTES, 2 * KEY_BYTES);
    // A reply to an exchange this device finished, replaced or forgot in a restart: nothing to do.
    if (!initiating || !sameBytes(initiatorKey, initiating.publicKey)) return;
    const derived = deriveSessionKeys(this.channelId, this.role, initiating.publicKey, responderKey, initiating.secretKey, this.role);
    verifyTranscriptSignature(this.pinnedPeer, body.subarray(2 * KEY_BYTES), 'session', 'R', derived.transcriptHash);
    this.initiating = null;
    const confirm = frame(FrameKind.sessionConfirm, responderKey, signTranscript(this.identity, 'session', 'I', derived.transcriptHash));
    this.confirming = { responderKey: responderKey.slice(), session: keyed(createSession(this.role, derived.keys), derived.transcriptHash, this.now(), initiating.publicKey), confirm };
    this.sendWhenStored(() => this.finishConfirming());
  }

  private onSessionConfirm(body: Uint8Array): void {
    if (body.length !== KEY_BYTES + SIGNATURE_BYTES || !this.pinnedPeer) throw new ChannelError('malformed_frame', 'malformed session confirmation');
    // A confirmation of an exchange this device finished or dropped: nothing to do.
    const responding = this.responding.find((candidate) => sameBytes(body.subarray(0, KEY_BYTES), candidate.responderKey));
    if (!responding) return;
    verifyTranscriptSignature(this.pinnedPeer, body.subarray(KEY_BYTES), 'session', 'I', responding.transcriptHash);
    // The initiator sends nothing under the old keys after its confirmation: forget them now.
    this.switchTo(responding.session, null);
    if (this.current && this.current.state.sent < this.sendLimit) this.sendSealed({ k: 'session-ok' });
  }

  private sessionFor(id: Uint8Array): KeyedSession {
    if (this.current && sameBytes(id, this.current.id)) return this.current;
    if (this.previousReceive && sameBytes(id, this.previousReceive.id)) return this.previousReceive;
    throw new ChannelError('tampered', 'a frame under keys this device does not have');
  }

  private onSealed(body: Uint8Array): void {
    if (body.length < KEY_ID_BYTES) throw new ChannelError('tampered', 'frame too short');
    const session = this.sessionFor(body.subarray(0, KEY_ID_BYTES));
    const opened = open(session.state, body.subarray(KEY_ID_BYTES));
    session.state = opened.state;
    // The peer sends under the new keys: nothing under the old ones follows.
    if (session === this.current) this.previousReceive = null;
    if (opened.outcome.kind === 'duplicate') return;
    if (opened.outcome.missed > 0) this.emit({ kind: 'gap', missed: opened.outcome.missed });
    let content: { k?: unknown; key?: unknown; relay?: unknown; sig?: unknown; m?: unknown };
    try {
      content = JSON.parse(decoder.decode(opened.outcome.plaintext)) as typeof content;
    } catch {
      throw new ChannelError('malformed_frame', 'sealed content is not JSON');
    }
    if (content.k === 'identity') return this.onPeerIdentity(content.key, content.relay, content.sig);
    if (content.k === 'confirm') {
      if (!this.pairing) throw new ChannelError('malformed_frame', 'unexpected confirmation');
      this.pairing.peerConfirmed = true;
      return this.completePairingIfReady();
    }
    if (content.k === 'early') {
      if (this.phase !== 'awaiting-sas' && this.phase !== 'paired') throw new ChannelError('not_ready', 'early message outside a pairing');
      for (const handler of [...this.earlyHandlers]) handler(content.m);
      return;
    }
    if (content.k === 'session-ok') return;
    if (content.k === 'path') {
      if (this.phase !== 'paired') throw new ChannelError('not_ready', 'direct-path signalling before pairing completed');
      for (const handler of [...this.pathHandlers]) handler(content.m);
      return;
    }
    if (content.k === 'app') {
      if (this.phase !== 'paired') throw new ChannelError('not_ready', 'application message before pairing completed');
      markStep(`in ${messageLabel(content.m)}`);
      for (const handler of [...this.messageHandlers]) handler(content.m);
      return;
    }
    throw new ChannelError('malformed_frame', 'unknown sealed content');
  }

  private onPeerIdentity(key: unknown, relay: unknown, sig: unknown): void {
    const pairing = this.pairing;
    const publicKey = typeof key === 'string' ? decodeBase64Url(key) : null;
    const relayKey = typeof relay === 'string' ? decodeBase64Url(relay) : null;
    const signature = typeof sig === 'string' ? decodeBase64Url(sig) : null;
    if (!pairing || publicKey?.length !== KEY_BYTES || relayKey?.length !== KEY_BYTES || !signature) throw new ChannelError('malformed_frame', 'unexpected identity');
    verifyTranscriptSignature(publicKey, signature, 'identity', peerOf(this.role), new Uint8Array([...pairing.transcriptHash, ...relayKey]));
    pairing.peer = { identity: publicKey, relayKey };
    this.completePairingIfReady();
  }
}
