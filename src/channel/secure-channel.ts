/**
 * The end-to-end encrypted channel between the extension and the phone, over any frame
 * transport (the relay client, or a WebRTC data channel). It runs pairing (SAS confirmed by both
 * users, identities pinned), later authenticated sessions, and carries the application's
 * messages as JSON without interpreting them.
 *
 * Frames on the transport: one kind byte, then
 *   PAIR_HELLO      phone → extension   phone's ephemeral X25519 key (32)
 *   SESSION_INIT    extension → phone   e_I (32)
 *   SESSION_REPLY   phone → extension   e_R (32) ‖ Ed25519 signature (64)
 *   SESSION_CONFIRM extension → phone   Ed25519 signature (64)
 *   SEALED          either              session-cipher frame
 * Sealed contents: {k:"identity", key, sig} | {k:"confirm"} | {k:"app", m} | {k:"early", m}.
 * "early" carries an application message sent before the pairing code is confirmed (the phone's
 * Paillier key and its proof, checked during the SAS); it reaches onEarlyMessage handlers only,
 * and the receiver must not act on it until the pairing completes.
 *
 * Saved state and nonces. The AEAD nonce is the send sequence number, so a channel restored from
 * a saved state must never send under a number an earlier run already used (a restarted service
 * worker, a reloaded phone page). `save()` therefore records a send floor SEND_SEQ_RESERVE above
 * the numbers used so far; a restored channel continues above that floor (the peer sees a gap,
 * which it accepts). The running channel sends only up to the floor of the last save the caller
 * confirmed as stored (`confirmSaved`), or before any save was confirmed, up to the floor of the
 * first save (a fresh channel) or of the state it was restored from, so it cannot send at all until
 * a new state is stored: otherwise `save_required`. Whatever state is restored later, every
 * number sent before is at or below its floor.
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
import type { PairingOffer } from './pairing-offer.ts';
import { createSession, open, restoreSession, saveSession, seal, type SessionState, type SessionStateJson } from './session-cipher.ts';

export interface FrameTransport {
  send(frame: Uint8Array): void;
  onMessage(handler: (frame: Uint8Array) => void): () => void;
}

/** Send sequence numbers reserved by each save: the frames a channel may send between saves. */
export const SEND_SEQ_RESERVE = 1024;

const FrameKind = { pairHello: 1, sessionInit: 2, sessionReply: 3, sessionConfirm: 4, sealed: 5 } as const;

export type ChannelPhase = 'awaiting-peer' | 'awaiting-sas' | 'paired' | 'session-pending' | 'closed';

export type ChannelEvent =
  | { readonly kind: 'sas'; readonly sas: string }
  | { readonly kind: 'paired'; readonly peerIdentity: Uint8Array }
  | { readonly kind: 'session' }
  | { readonly kind: 'gap'; readonly missed: number }
  | { readonly kind: 'error'; readonly error: ChannelError };

export interface SecureChannelState {
  readonly role: DeviceRole;
  readonly channelId: string;
  readonly phase: ChannelPhase;
  readonly pinnedPeer: string | null;
  readonly session: SessionStateJson | null;
}

interface PendingPairing {
  readonly transcriptHash: Uint8Array;
  readonly sas: string;
  peerIdentity: Uint8Array | null;
  localConfirmed: boolean;
  peerConfirmed: boolean;
}

interface PendingSession {
  readonly ephemeralSecret: Uint8Array;
  readonly ephemeralPublic: Uint8Array;
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

export class SecureChannel {
  private readonly transport: FrameTransport;
  private readonly role: DeviceRole;
  private readonly channelId: Uint8Array;
  private readonly identity: Identity;
  private phase: ChannelPhase;
  private pinnedPeer: Uint8Array | null;
  private session: SessionState | null;
  /** The highest send sequence number this run may use (see the header: saved state and nonces). */
  private sendLimit: number;
  private pairing: PendingPairing | null = null;
  private pairingSecret: { secretKey: Uint8Array; offer: PairingOffer } | null = null;
  private pendingSession: PendingSession | null = null;
  private nextSession: SessionState | null = null;
  private nextTranscript: Uint8Array | null = null;
  private messageHandlers: ((message: unknown) => void)[] = [];
  private earlyHandlers: ((message: unknown) => void)[] = [];
  private eventHandlers: ((event: ChannelEvent) => void)[] = [];

  constructor(options: { transport: FrameTransport; role: DeviceRole; channelId: Uint8Array; identity: Identity; state?: SecureChannelState }) {
    this.transport = options.transport;
    this.role = options.role;
    this.channelId = options.channelId;
    this.identity = options.identity;
    const state = options.state;
    this.phase = state?.phase === 'paired' || state?.phase === 'session-pending' ? 'paired' : 'awaiting-peer';
    this.pinnedPeer = state?.pinnedPeer ? decodeBase64Url(state.pinnedPeer) : null;
    this.session = state?.session ? restoreSession(state.session) : null;
    this.sendLimit = this.session ? this.session.sent : Number.POSITIVE_INFINITY;
    this.transport.onMessage((bytes) => this.receive(bytes));
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
    this.session = null;
    this.emit({ kind: 'error', error: new ChannelError('sas_rejected', 'the codes did not match; pairing was cancelled') });
  }

  /** Extension, after pairing: a fresh key exchange authenticated by the pinned identities. */
  startSession(): void {
    if (this.role !== 'extension' || !this.pinnedPeer) throw new ChannelError('not_ready', 'only a paired extension starts a session');
    const ephemeral = generateEphemeral();
    this.pendingSession = { ephemeralSecret: ephemeral.secretKey, ephemeralPublic: ephemeral.publicKey };
    this.phase = 'session-pending';
    this.transport.send(frame(FrameKind.sessionInit, ephemeral.publicKey));
  }

  send(message: unknown): void {
    if (this.phase !== 'paired') throw new ChannelError('not_ready', `cannot send application messages while ${this.phase}`);
    this.sendSealed({ k: 'app', m: message });
  }

  /** A message the peer may check before the pairing code is confirmed, but not act on (see the header). */
  sendEarly(message: unknown): void {
    if (this.phase !== 'awaiting-sas' && this.phase !== 'paired') throw new ChannelError('not_ready', `cannot send early messages while ${this.phase}`);
    this.sendSealed({ k: 'early', m: message });
  }

  /** The state to store; its session reserves the next SEND_SEQ_RESERVE send numbers. */
  save(): SecureChannelState {
    const session = this.session ? { ...this.session, sent: this.session.sent + SEND_SEQ_RESERVE } : null;
    if (session && this.sendLimit === Number.POSITIVE_INFINITY) this.sendLimit = session.sent;
    return {
      role: this.role,
      channelId: encodeBase64Url(this.channelId),
      phase: this.phase,
      pinnedPeer: this.pinnedPeer ? encodeBase64Url(this.pinnedPeer) : null,
      session: session ? saveSession(session) : null,
    };
  }

  /** The caller stored `state` (from save()): the channel may send up to its floor. */
  confirmSaved(state: SecureChannelState): void {
    // A state of earlier keys bounds nothing sent under the current ones.
    if (state.session && this.session && state.session.sendKey === encodeBase64Url(this.session.sendKey)) this.sendLimit = Math.max(this.sendLimit, state.session.sent);
  }

  private emit(event: ChannelEvent): void {
    for (const handler of [...this.eventHandlers]) handler(event);
  }

  private fail(error: ChannelError): void {
    this.emit({ kind: 'error', error });
  }

  private startPairing(transcriptHash: Uint8Array, sas: string, session: SessionState): void {
    this.useNewSession(session);
    this.pairing = { transcriptHash, sas, peerIdentity: null, localConfirmed: false, peerConfirmed: false };
    this.phase = 'awaiting-sas';
    this.sendSealed({ k: 'identity', key: encodeBase64Url(this.identity.publicKey), sig: encodeBase64Url(signTranscript(this.identity, 'identity', this.role, transcriptHash)) });
    this.emit({ kind: 'sas', sas });
  }

  private completePairingIfReady(): void {
    const pairing = this.pairing;
    if (!pairing || !pairing.localConfirmed || !pairing.peerConfirmed || !pairing.peerIdentity) return;
    this.pinnedPeer = pairing.peerIdentity;
    this.pairing = null;
    this.phase = 'paired';
    this.emit({ kind: 'paired', peerIdentity: pairing.peerIdentity });
  }

  /** New keys: no number was used under them, so no save bounds them yet. */
  private useNewSession(session: SessionState): void {
    this.session = session;
    this.sendLimit = Number.POSITIVE_INFINITY;
  }

  private sendSealed(body: object): void {
    if (!this.session) throw new ChannelError('not_ready', 'no session keys yet');
    if (this.session.sent >= this.sendLimit) throw new ChannelError('save_required', 'store the channel state (save, then confirmSaved) before sending more');
    const sealed = seal(this.session, encoder.encode(JSON.stringify(body)));
    this.session = sealed.state;
    this.transport.send(frame(FrameKind.sealed, sealed.frame));
  }

  private receive(bytes: Uint8Array): void {
    try {
      this.dispatch(bytes);
    } catch (error) {
      if (!(error instanceof ChannelError)) throw error;
      if (error.code === 'tampered' || error.code === 'identity_mismatch') this.phase = 'closed';
      this.fail(error);
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
    this.pairingSecret = null;
    const keys = derivePairingKeys(offer.channelId, offer.extensionEphemeralKey, phoneKey, secretKey, 'extension');
    this.startPairing(keys.transcriptHash, keys.sas, createSession('extension', keys.keys));
  }

  private onSessionInit(initiatorKey: Uint8Array): void {
    if (this.role !== 'phone' || !this.pinnedPeer) throw new ChannelError('malformed_frame', 'unexpected session request');
    const ephemeral = generateEphemeral();
    const derived = deriveSessionKeys(this.channelId, initiatorKey, ephemeral.publicKey, ephemeral.secretKey, 'phone');
    this.nextSession = createSession('phone', derived.keys);
    this.nextTranscript = derived.transcriptHash;
    this.phase = 'session-pending';
    this.transport.send(frame(FrameKind.sessionReply, ephemeral.publicKey, signTranscript(this.identity, 'session', 'R', derived.transcriptHash)));
  }

  private onSessionReply(body: Uint8Array): void {
    const pending = this.pendingSession;
    if (this.role !== 'extension' || !pending || !this.pinnedPeer || body.length !== 96) throw new ChannelError('malformed_frame', 'unexpected session reply');
    const responderKey = body.subarray(0, 32);
    const derived = deriveSessionKeys(this.channelId, pending.ephemeralPublic, responderKey, pending.ephemeralSecret, 'extension');
    verifyTranscriptSignature(this.pinnedPeer, body.subarray(32), 'session', 'R', derived.transcriptHash);
    this.pendingSession = null;
    this.transport.send(frame(FrameKind.sessionConfirm, signTranscript(this.identity, 'session', 'I', derived.transcriptHash)));
    this.useNewSession(createSession('extension', derived.keys));
    this.phase = 'paired';
    this.emit({ kind: 'session' });
  }

  private onSessionConfirm(signature: Uint8Array): void {
    if (this.role !== 'phone' || !this.nextSession || !this.nextTranscript || !this.pinnedPeer) throw new ChannelError('malformed_frame', 'unexpected session confirmation');
    verifyTranscriptSignature(this.pinnedPeer, signature, 'session', 'I', this.nextTranscript);
    this.useNewSession(this.nextSession);
    this.nextSession = null;
    this.nextTranscript = null;
    this.phase = 'paired';
    this.emit({ kind: 'session' });
  }

  private onSealed(body: Uint8Array): void {
    if (!this.session) throw new ChannelError('not_ready', 'encrypted frame before any key exchange');
    const opened = open(this.session, body);
    this.session = opened.state;
    if (opened.outcome.kind === 'duplicate') return;
    if (opened.outcome.missed > 0) this.emit({ kind: 'gap', missed: opened.outcome.missed });
    let content: { k?: unknown; key?: unknown; sig?: unknown; m?: unknown };
    try {
      content = JSON.parse(decoder.decode(opened.outcome.plaintext)) as typeof content;
    } catch {
      throw new ChannelError('malformed_frame', 'sealed content is not JSON');
    }
    if (content.k === 'identity') return this.onPeerIdentity(content.key, content.sig);
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
    if (content.k === 'app') {
      if (this.phase !== 'paired') throw new ChannelError('not_ready', 'application message before pairing completed');
      for (const handler of [...this.messageHandlers]) handler(content.m);
      return;
    }
    throw new ChannelError('malformed_frame', 'unknown sealed content');
  }

  private onPeerIdentity(key: unknown, sig: unknown): void {
    const pairing = this.pairing;
    const publicKey = typeof key === 'string' ? decodeBase64Url(key) : null;
    const signature = typeof sig === 'string' ? decodeBase64Url(sig) : null;
    if (!pairing || !publicKey || publicKey.length !== 32 || !signature) throw new ChannelError('malformed_frame', 'unexpected identity');
    const peerRole = this.role === 'extension' ? 'phone' : 'extension';
    verifyTranscriptSignature(publicKey, signature, 'identity', peerRole, pairing.transcriptHash);
    pairing.peerIdentity = publicKey;
    this.completePairingIfReady();
  }
}
