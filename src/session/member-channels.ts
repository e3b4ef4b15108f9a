/**
 * A device's channels to the other members of its wallet: one PeerLink (src/channel) per member,
 * named by the member's identity key, each stored in its own record once paired. The same code in
 * the extension's service worker, the phone app and Node test devices.
 *
 * - A channel made by a QR code and a code compared by both users is handed in with `adopt`.
 * - Channels between members that already know each other's identity (a newcomer and the members
 *   the coordinator introduced it to) are made from an offer passed on by the coordinator: the
 *   newcomer `offer`s, the member `answer`s. Nobody compares a code for these: each side confirms
 *   the pairing by itself and keeps the channel only if the peer proved the identity key it
 *   expects (the channel's identity message is signed over the pairing transcript, so a device in
 *   the middle cannot pass another's identity on); otherwise the channel is dropped unstored.
 *   Whether the newcomer is who the user thinks is settled by the introduction code (introduction.ts).
 *   By the relay's convention a pair's P2 makes the offer (it takes the `extension` slot).
 * - `send` never throws. A channel restored from storage sends nothing until a fresh key exchange
 *   with its peer completed (the channel's forward secrecy: nothing sent after a restart goes under
 *   keys that existed before it); until then messages wait here, in order (a bounded number).
 * - Every channel opens a direct WebRTC path beside the relay where this device has WebRTC
 *   (`direct`, peer-link.ts); `refreshDirectPath` reopens each one after the settings changed.
 *   What a channel receives is stored by the link once it is quiet (peer-link.ts, `storeSoon`).
 */
import { ChannelError } from '../channel/channel-error.ts';
import type { DirectPathOptions } from '../channel/direct-path.ts';
import type { Identity } from '../channel/handshake.ts';
import { createPairingOffer, decodePairingLink, encodePairingLink, type PairingOffer } from '../channel/pairing-offer.ts';
import { LinkResumeError, PeerLink, type PeerLinkOptions } from '../channel/peer-link.ts';
import type { LinkPath } from '../channel/path-switch.ts';
import type { RelayStatus, WebSocketConstructor } from '../channel/relay-client.ts';
import type { LinkState } from '../channel/stored-link-state.ts';
import { hexFromBytes } from '../mpc/wire.ts';
import type { MemberCard } from './member-messages.ts';
import type { MemberLinks } from './wallet-member.ts';

/** The link an offer travels in: only its fragment matters (no app is opened with it). */
const OFFER_BASE = 'https://duet.invalid/';
/** Messages kept for a restored channel until its fresh session (more are dropped: they are retried by their senders). */
const MAX_WAITING = 256;
/** An unanswered member offer is dropped after this long. */
const OFFER_TTL_MS = 5 * 60_000;

export interface ChannelStore {
  /** Stores the state of the channel with `peer` (encrypted, in its own record). */
  write(peer: string, state: LinkState): Promise<void>;
  remove(peer: string): Promise<void>;
}

export interface MemberChannelsOptions {
  readonly identity: Identity;
  /** The relay this device's offers name (the one its first channel uses). */
  readonly relayUrl: () => string;
  readonly store: ChannelStore;
  readonly now: () => number;
  readonly WebSocket?: WebSocketConstructor;
  readonly timings?: Pick<PeerLinkOptions, 'keepaliveMs' | 'backoff'>;
  /** WebRTC for a direct path on every channel (none: the relay only). */
  readonly direct?: DirectPathOptions;
  /** A message from `peer`, in order per channel. */
  readonly onMessage: (peer: string, message: unknown) => void;
  /** A fresh session with `peer` started (it is online now): time to send what it may have missed. */
  readonly onSession: (peer: string) => void;
  /** A channel's connection changed, or a channel came or went. */
  readonly onStatus: () => void;
  /** A channel made from an offer is paired with the expected member. */
  readonly onLinked?: (peer: string) => void;
}

export interface ChannelStatus {
  readonly online: boolean;
  readonly problem: string | null;
  readonly lastSeen: number | null;
  /** How this device's frames to the member leave now: directly, or through the relay. */
  readonly path: LinkPath;
}

export class MemberChannels implements MemberLinks {
  private readonly options: MemberChannelsOptions;
  private readonly links = new Map<string, PeerLink>();
  private readonly pending = new Set<PeerLink>();
  private readonly seen = new Map<string, number>();
  /** Restored channels whose fresh session has not started yet, with what waits for it. */
  private readonly waiting = new Map<string, unknown[]>();
  /** Whose record a pairing link writes to, once its peer is known (nothing of an unfinished pairing is kept). */
  private readonly owners = new WeakMap<PeerLink, { peer: string | null }>();
  private closed = false;

  constructor(options: MemberChannelsOptions) {
    this.options = options;
  }

  private linkOptions(write: (state: LinkState) => Promise<void>, role: PeerLinkOptions['role']): PeerLinkOptions {
    return {
      role,
      identity: this.options.identity,
      write,
      ...(this.options.WebSocket ? { WebSocket: this.options.WebSocket } : {}),
      ...(this.options.direct ? { direct: this.options.direct } : {}),
      ...this.options.timings,
    };
  }

  /** Every stored channel, at unlock; a channel that cannot be resumed is reported in `problems`. */
  resume(stored: ReadonlyMap<string, LinkState>): { problems: Map<string, string> } {
    const problems = new Map<string, string>();
    for (const [peer, state] of stored) {
      try {
        const link = PeerLink.resume(this.linkOptions((next) => this.options.store.write(peer, next), state.channel.role), state);
        this.waiting.set(peer, []);
        this.attach(peer, link);
        // A restored channel sends nothing until a fresh state is stored (no AEAD nonce is reused).
        void link.store().then(() => this.goOnline(link)).catch(() => this.goOnline(link));
      } catch (error) {
        if (!(error instanceof LinkResumeError)) throw error;
        problems.set(peer, error.message);
      }
    }
    return { problems };
  }

  private goOnline(link: PeerLink): void {
    if (!this.closed) void link.connect().catch(() => this.options.onStatus());
  }

  private attach(peer: string, link: PeerLink): void {
    this.links.get(peer)?.close();
    this.links.set(peer, link);
    link.channel.onMessage((message) => {
      this.seen.set(peer, this.options.now());
      this.options.onMessage(peer, message);
    });
    link.channel.onEvent((event) => {
      if (event.kind === 'session') {
        this.seen.set(peer, this.options.now());
        const waiting = this.waiting.get(peer) ?? [];
        this.waiting.delete(peer);
        for (const message of waiting) this.send(peer, message);
        this.options.onSession(peer);
      }
    });
    link.onStatus(() => this.options.onStatus());
    this.options.onStatus();
  }

  /**
   * A link for a new pairing (a QR code shown or scanned by the app, or an offer between members):
   * it stores nothing until `adopt` names its member.
   */
  pairingLink(offer: PairingOffer, role: PeerLinkOptions['role']): PeerLink {
    const owner: { peer: string | null } = { peer: null };
    const link = PeerLink.pairing(
      this.linkOptions(async (state) => {
        if (owner.peer) await this.options.store.write(owner.peer, state);
      }, role),
      offer,
      offer.relayUrl,
    );
    this.owners.set(link, owner);
    return link;
  }

  /** A paired channel (by a code both users compared, or an offer with the expected identity) becomes the member's channel. */
  async adopt(link: PeerLink): Promise<string> {
    const peer = link.channel.peerIdentity;
    const owner = this.owners.get(link);
    if (!peer || !owner) throw new ChannelError('not_ready', 'the channel is not paired');
    const key = hexFromBytes(peer);
    owner.peer = key;
    // Its messages are the member's from now on; what it sends waits for the stored state.
    this.attach(key, link);
    await link.store();
    this.options.onSession(key);
    return key;
  }

  linked(peer: string): boolean {
    return this.links.has(peer);
  }

  peers(): string[] {
    return [...this.links.keys()];
  }

  status(peer: string): ChannelStatus {
    const link = this.links.get(peer);
    return { online: link?.online ?? false, problem: link?.problem ?? null, lastSeen: this.seen.get(peer) ?? null, path: link?.path ?? 'relay' };
  }

  /** Stores the channel with `peer` once it is quiet (peer-link.ts, `storeSoon`). */
  storeSoon(peer: string): void {
    this.links.get(peer)?.storeSoon();
  }

  /**
   * Stores every member's channel now with `write` (what `storeSoon` would have stored later, and
   * any write under way first): for a device about to close its channels and its vault (a lock).
   */
  flush(write: (peer: string, state: LinkState) => Promise<void>): Promise<void> {
    return Promise.all([...this.links].map(([peer, link]) => link.flush((state) => write(peer, state)))).then(() => undefined);
  }

  /** The direct path's settings changed: every channel reopens its direct path with them. */
  refreshDirectPath(): void {
    for (const link of this.links.values()) link.refreshDirectPath();
  }

  relayStatus(peer: string): RelayStatus | null {
    return this.links.get(peer)?.status ?? null;
  }

  send(peer: string, message: unknown): boolean {
    const link = this.links.get(peer);
    if (!link) return false;
    const waiting = this.waiting.get(peer);
    if (waiting) {
      if (waiting.length < MAX_WAITING) waiting.push(message);
      return true;
    }
    try {
      link.channel.send(message);
    } catch (error) {
      if (!(error instanceof ChannelError) || error.code !== 'save_required') return false;
      // The channel may send again once its state is stored.
      void link.store().then(() => link.channel.send(message)).catch(() => undefined);
    }
    return true;
  }

  /** A newcomer's channel with an existing member: the offer to pass on; kept once that member is paired. */
  async offer(peer: MemberCard): Promise<string> {
    const { offer, ephemeralSecret } = createPairingOffer(this.options.relayUrl(), this.options.now(), OFFER_TTL_MS, 'add-member');
    const link = this.pairingLink(offer, 'extension');
    link.channel.awaitPhone(offer, ephemeralSecret);
    this.expect(link, peer);
    this.goOnline(link);
    return encodePairingLink(offer, OFFER_BASE);
  }

  /** Answers a newcomer's offer (passed on by the coordinator); kept once the newcomer proved its identity. */
  async answer(text: string, expected: MemberCard): Promise<void> {
    const offer = decodePairingLink(text, this.options.now());
    const link = this.pairingLink(offer, 'phone');
    this.expect(link, expected);
    this.goOnline(link);
    link.channel.answerOffer(offer);
  }

  /** Confirms the pairing on this side at once; keeps the channel only if the peer is `expected`. */
  private expect(link: PeerLink, expected: MemberCard): void {
    this.pending.add(link);
    link.channel.onEvent((event) => {
      if (event.kind === 'sas') link.channel.confirmSas();
      if (event.kind !== 'paired') return;
      this.pending.delete(link);
      if (hexFromBytes(event.peerIdentity) !== expected.identityKey || this.closed) {
        link.close();
        return;
      }
      void this.adopt(link).then((peer) => this.options.onLinked?.(peer)).catch(() => link.close());
    });
    setTimeout(() => {
      if (this.pending.delete(link)) link.close();
    }, OFFER_TTL_MS).unref?.();
  }

  /** Ends the channel with `peer` for good (RETIRE at the relay) and deletes its record. */
  async retire(peer: string): Promise<void> {
    const link = this.links.get(peer);
    this.links.delete(peer);
    this.waiting.delete(peer);
    if (link) {
      await link.retire().catch(() => false);
      link.close();
    }
    await this.options.store.remove(peer);
    this.options.onStatus();
  }

  close(): void {
    this.closed = true;
    for (const link of [...this.links.values(), ...this.pending]) link.close();
    this.links.clear();
    this.pending.clear();
  }
}
