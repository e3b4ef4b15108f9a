/**
 * A device's link to its paired peer, as both apps use it: the encrypted channel over the relay,
 * with what neither app should have to repeat.
 *
 * - Pairing runs on the offer's pairing channel (credentials from the QR); once both users
 *   confirmed the SAS the link moves to the paired channel, whose credentials come from the two
 *   paired identities (relay-credential.ts), and closes the pairing channel once the relay stored
 *   what was sent on it.
 * - Every time the paired channel comes online the link starts a fresh key exchange
 *   (secure-channel.ts): forward secrecy for every connection.
 * - State is stored through one queue (`store`), so writes land in the order they were taken
 *   (an older state never overwrites a newer one), and the channel's `save-needed` is answered;
 *   calls in a burst share one write, and frames received are stored once the link goes quiet
 *   (the apps store at their own commit points, not after every message).
 * - The relay's refusals and gap notices become sentences for the user (`problem`, `onNotice`).
 * - Frames travel through the relay or, once both devices opened one, a direct WebRTC data channel
 *   (direct-path.ts, signalled over the channel itself; path-switch.ts moves frames between the
 *   two without losing, repeating or reordering any). `path` says which this device sends on.
 */
import { decodeBase64Url } from './base64url.ts';
import { ChannelError } from './channel-error.ts';
import { DirectPath, type DirectPathOptions } from './direct-path.ts';
import type { DeviceRole, Identity } from './handshake.ts';
import { markStep } from './latency-marks.ts';
import type { PairingOffer } from './pairing-offer.ts';
import { PathStateError, PathSwitch, type LinkPath, type PathSwitchState } from './path-switch.ts';
import { describeRelayStatus, RelayClient, RelayStateError, type RelayStatus, type WebSocketConstructor } from './relay-client.ts';
import { pairingCredential, type RelayCredential } from './relay-credential.ts';
import { SecureChannel, type SecureChannelState } from './secure-channel.ts';
import { storeLinkState, type LinkState } from './stored-link-state.ts';

/** `storeSoon` stores once no frame has come for this long… */
export const QUIET_STORE_MS = 200;
/** …and no later than this after it was first asked. */
export const MAX_QUIET_WAIT_MS = 1_000;
/** How long the pairing channel is kept for what was sent on it to be stored by the relay. */
const PAIRING_CHANNEL_LINGER_MS = 30_000;

export interface PeerLinkOptions {
  readonly role: DeviceRole;
  readonly identity: Identity;
  /** Writes the link state (encrypted, by the caller) when the channel asks for it. */
  readonly write: (state: LinkState) => Promise<void>;
  readonly WebSocket?: WebSocketConstructor;
  readonly keepaliveMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** WebRTC for a direct path to the peer, where this device has it; without it, the relay only. */
  readonly direct?: DirectPathOptions;
}

/** A stored link that cannot be resumed (saved by an older version, or damaged): the user pairs again. */
export class LinkResumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkResumeError';
  }
}

export class PeerLink {
  readonly channel: SecureChannel;
  private readonly options: PeerLinkOptions;
  private relay: RelayClient;
  private pairingRelay: RelayClient | null = null;
  private readonly paths: PathSwitch;
  private readonly direct: DirectPath;
  private readonly statusHandlers = new Set<(status: RelayStatus) => void>();
  private readonly noticeHandlers = new Set<(message: string) => void>();
  private storing: Promise<void> = Promise.resolve();
  /** A default store queued that has not taken the state yet (see store). */
  private queuedStore: Promise<void> | null = null;
  private quietTimer: ReturnType<typeof setTimeout> | null = null;
  private quietSince = 0;
  private closed = false;

  private constructor(options: PeerLinkOptions, relay: RelayClient, channelId: Uint8Array, state?: SecureChannelState, pathState?: PathSwitchState) {
    this.options = options;
    this.relay = relay;
    this.paths = new PathSwitch(relay, pathState ? { state: pathState } : {});
    this.channel = new SecureChannel({
      transport: this.paths,
      role: options.role,
      channelId,
      identity: options.identity,
      durable: true,
      ...(state ? { state } : {}),
    });
    this.direct = new DirectPath({ role: options.role, direct: options.direct, signal: (message) => this.channel.sendPath(message), paths: this.paths });
    this.wire(relay);
    this.channel.onEvent((event) => {
      if (event.kind === 'paired') this.moveToPairedChannel(event.relayCredential);
      if (event.kind === 'save-needed') void this.store().catch(() => undefined);
      if (event.kind === 'session') this.direct.start();
    });
    this.channel.onPathMessage((message) => this.direct.receive(message));
    this.paths.onPathChange(() => this.emitStatus());
    this.paths.onMessage(() => this.storeSoon());
  }

  /**
   * A new pairing on the offer's pairing channel. The caller wires its handlers, then calls
   * `channel.awaitPhone` (extension) or `channel.answerOffer` (phone), and `connect`.
   */
  static pairing(options: PeerLinkOptions, offer: PairingOffer, relayUrl: string): PeerLink {
    // Not resumable, so frames are acknowledged on delivery.
    const relay = new RelayClient({ ...PeerLink.relayOptions(options), relayUrl, credential: pairingCredential(offer.channelId, options.role) });
    const link = new PeerLink(options, relay, offer.channelId);
    link.pairingRelay = relay;
    return link;
  }

  /** A paired link from its stored state; throws LinkResumeError when it cannot be used any more. */
  static resume(options: PeerLinkOptions, state: LinkState): PeerLink {
    try {
      const channelId = decodeBase64Url(state.channel.channelId);
      if (!channelId) throw new ChannelError('malformed_frame', 'the saved channel state is damaged');
      return new PeerLink(options, new RelayClient({ ...PeerLink.relayOptions(options), relayUrl: state.relay.relayUrl, state: state.relay, ackWhenSaved: true }), channelId, state.channel, state.path);
    } catch (error) {
      if (error instanceof RelayStateError || error instanceof ChannelError || error instanceof PathStateError) throw new LinkResumeError(`${error.message}.`);
      throw error;
    }
  }

  private static relayOptions(options: PeerLinkOptions) {
    return {
      ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
      ...(options.keepaliveMs ? { keepaliveMs: options.keepaliveMs } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
    };
  }

  private wire(relay: RelayClient): void {
    relay.onStatus((status) => {
      if (relay !== this.relay) return;
      if (status.kind === 'online' && relay !== this.pairingRelay && this.channel.currentPhase === 'paired') this.channel.startSession();
      this.emitStatus();
    });
    relay.onGap((gap) => {
      for (const handler of [...this.noticeHandlers]) handler(gap.message);
    });
  }

  private moveToPairedChannel(credential: RelayCredential): void {
    const pairing = this.relay;
    const paired = new RelayClient({ ...PeerLink.relayOptions(this.options), relayUrl: pairing.saveState().relayUrl, credential, ackWhenSaved: true });
    this.relay = paired;
    this.paths.useRelay(paired);
    this.wire(paired);
    pairing.closeWhenStored(PAIRING_CHANNEL_LINGER_MS);
    if (!this.closed) this.goOnline();
  }

  /** Connects (and keeps reconnecting); resolves once online, rejects if the relay refuses for good. */
  connect(): Promise<void> {
    this.closed = false;
    return this.relay.connect();
  }

  private goOnline(): void {
    void this.relay.connect().catch(() => undefined);
  }

  /**
   * Takes the state, has `write` store it, then lets the channel, relay client and path switch
   * rely on it; one write at a time, in order. A call with the default write while another such
   * store is queued and has not taken the state yet joins it: that store takes the state later,
   * which covers this call, so a burst of calls costs one write.
   */
  store(write?: (state: LinkState) => Promise<void>): Promise<void> {
    if (!write && this.queuedStore) return this.queuedStore;
    const task = this.storing.then(async () => {
      if (this.queuedStore === task) this.queuedStore = null;
      markStep('store');
      await storeLinkState(this.channel, this.relay, this.paths, write ?? this.options.write);
      markStep('stored');
    });
    if (!write) this.queuedStore = task;
    this.storing = task.catch(() => undefined);
    return task;
  }

  /**
   * Stores once the link is quiet: no frame for QUIET_STORE_MS (never later than MAX_QUIET_WAIT_MS
   * after the first call). Every frame received asks for it, so the relay and the peer may drop
   * what this device has; the apps ask for it at commit points that may wait until a burst (a
   * co-signing) is over, since a storage write in the middle of one delays its messages.
   */
  storeSoon(): void {
    const now = Date.now();
    if (this.quietTimer) {
      if (now - this.quietSince >= MAX_QUIET_WAIT_MS) return;
      clearTimeout(this.quietTimer);
    } else {
      this.quietSince = now;
    }
    this.quietTimer = setTimeout(() => {
      this.quietTimer = null;
      void this.store().catch(() => undefined);
    }, QUIET_STORE_MS);
  }

  /**
   * Stores now, with `write`, what `storeSoon` would have stored later; resolves once every store
   * queued before it is done too. For an app about to close the link and its vault (a lock).
   */
  flush(write?: (state: LinkState) => Promise<void>): Promise<void> {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = null;
    return this.store(write);
  }

  /** The peer can be reached: the relay is connected, or a direct path is open. */
  get online(): boolean {
    return this.relay.isOnline || this.paths.directOpen;
  }

  /** How this device's frames leave: through the relay, or directly. */
  get path(): LinkPath {
    return this.paths.path;
  }

  /** The direct path's settings changed (read again at the next attempt): the path is reopened. */
  refreshDirectPath(): void {
    this.direct.restart();
  }

  private emitStatus(): void {
    const status = this.relay.status;
    for (const handler of [...this.statusHandlers]) handler(status);
  }

  get status(): RelayStatus {
    return this.relay.status;
  }

  /** What the user should know about the connection, or null. */
  get problem(): string | null {
    return describeRelayStatus(this.relay.status);
  }

  /** The relay's status changed, or the path did (`path`, `online`). */
  onStatus(handler: (status: RelayStatus) => void): () => void {
    this.statusHandlers.add(handler);
    return () => this.statusHandlers.delete(handler);
  }

  /** Sentences worth showing once (messages the relay no longer had, and why). */
  onNotice(handler: (message: string) => void): () => void {
    this.noticeHandlers.add(handler);
    return () => this.noticeHandlers.delete(handler);
  }

  /** Ends the pairing at the relay for both devices (the other one sees 4010); see RelayClient.retire. */
  retire(): Promise<boolean> {
    this.direct.stop();
    this.pairingRelay?.close();
    return this.relay.retire();
  }

  close(): void {
    this.closed = true;
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = null;
    this.direct.stop();
    this.paths.close();
    this.relay.close();
    this.pairingRelay?.close();
  }
}
