/**
 * Where the relay keeps what must hold for a channel wherever its two members are connected: the
 * mailboxes (one per direction), who holds each role now (one connection per role), the retired
 * channels, and the limits that are counted across instances (channels and mailbox bytes per
 * address, mailbox bytes in all, WebSocket connections per address).
 *
 * Two implementations: `MemoryStore` (memory-store.ts, one process, the default) and `RedisStore`
 * (redis-store.ts, shared by several relay instances). The relay server (relay-server.ts) talks
 * only to this interface; what it keeps itself is per connection or per instance (sockets, send
 * windows, rate buckets).
 *
 * Every connection has an id unique across instances, `<instance id>/<counter>`: a claim records it
 * for its role, and a store of a frame from any other connection of that role is refused
 * ('replaced'), so a role has one connection at a time on every instance at once.
 */
import type { RelayRoster } from '../channel/relay-credential.ts';
import type { GapReason, Role } from '../channel/relay-protocol.ts';

export type StoreKind = 'memory' | 'redis';

/** The caps the store enforces (relay-options.ts has their defaults and flags). */
export interface StoreLimits {
  readonly maxMailboxFrames: number;
  readonly maxMailboxBytes: number;
  readonly maxMailboxBytesPerAddress: number;
  readonly maxMailboxBytesTotal: number;
  readonly maxChannelsPerAddress: number;
  readonly maxConnectionsPerAddress: number;
  readonly mailboxTtlMs: number;
  readonly retiredTtlMs: number;
  readonly maxRetired: number;
}

/** What a stored frame costs besides its payload (object, array slot), counted against the mailbox caps. */
export const FRAME_OVERHEAD_BYTES = 128;

export interface ClaimRequest {
  readonly channel: string;
  readonly roster: RelayRoster;
  readonly role: Role;
  readonly connection: string;
  /** The address key of the connection (counted against the channel cap if it opens the channel). */
  readonly address: string;
  /** The hello's `received`: the peer's frames up to it can be dropped. */
  readonly received: number;
}

export type ClaimResult =
  | {
      readonly kind: 'claimed';
      /** The last frame of this role the store holds (the welcome's `stored`). */
      readonly stored: number;
      /** Frames of the peer waiting for this member. */
      readonly queued: number;
      /** The connection that held the role before, if another one did. */
      readonly replaced: string | null;
    }
  | { readonly kind: 'retired' }
  | { readonly kind: 'address-limit' };

export interface StoreFrameRequest {
  readonly channel: string;
  /** The sender's role. */
  readonly role: Role;
  readonly connection: string;
  readonly seq: number;
  /**
   * The sequence number of the frame this connection stored before (0 for its first): if the store
   * does not hold it (refused), later frames are refused too, so no frame is skipped silently.
   */
  readonly previous: number;
  readonly payload: Uint8Array;
  /** The sender's address key (counted against its mailbox bytes). */
  readonly owner: string;
}

export type StoreFrameResult =
  /** Stored, or already held (a resent frame): the store holds every frame of this role up to `lastStored`. */
  | { readonly kind: 'stored' | 'duplicate'; readonly lastStored: number }
  /** Over a mailbox cap: this mailbox's, the owner's address's, or all mailboxes'. */
  | { readonly kind: 'full' | 'address-full' | 'total-full' }
  /** Another connection took this role. */
  | { readonly kind: 'replaced' }
  /** The role is held by nobody (the store lost its state): the connection must say hello again. */
  | { readonly kind: 'unclaimed' }
  /** A member retired the channel. */
  | { readonly kind: 'retired' }
  /** The previous frame of this connection was not stored. */
  | { readonly kind: 'out-of-order' };

export interface QueuedFrame {
  readonly seq: number;
  readonly payload: Uint8Array;
}

export interface FramesRead {
  readonly frames: readonly QueuedFrame[];
  /** The highest sequence number the receiver acknowledged, and the one up to which frames expired unread. */
  readonly acknowledgedUpTo: number;
  readonly expiredUpTo: number;
  /** The last frame the sender stored. */
  readonly lastStored: number;
}

/** Something another instance did that concerns this instance's connections (Redis only). */
export type StoreEvent =
  /** A frame from `from` was stored; its peer's connection is on this instance. */
  | { readonly kind: 'frame'; readonly channel: string; readonly from: Role; readonly frame: QueuedFrame }
  /** A newer connection took the role `connection` held. */
  | { readonly kind: 'replaced'; readonly connection: string }
  | { readonly kind: 'retired'; readonly channel: string }
  /** The store was unreachable and is back: what this instance holds about connections may be stale. */
  | { readonly kind: 'reconnected' };

export interface StoreStats {
  readonly channels: number;
  readonly framesQueued: number;
  readonly mailboxBytes: number;
}

export interface StoreHealth {
  readonly kind: StoreKind;
  readonly ok: boolean;
  readonly latencyMs?: number;
  readonly error?: string;
}

export interface SweepReport {
  /** Frames dropped because they outlived the TTL, per channel that had some. */
  readonly expired: readonly { readonly channel: string; readonly frames: number }[];
}

export interface RelayStore {
  readonly kind: StoreKind;
  /** The id that prefixes this instance's connection ids. */
  readonly instance: string;
  /** Whether a `count`-th WebSocket connection from `address` on this instance keeps the address within its cap (all instances). */
  admit(address: string, count: number): Promise<boolean>;
  /** This instance now holds `count` connections from `address`. */
  forget(address: string, count: number): Promise<void>;
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** The connection left; its role is free unless another connection took it since. */
  release(channel: string, role: Role, connection: string): Promise<void>;
  store(request: StoreFrameRequest): Promise<StoreFrameResult>;
  /** The frames `from` sent, from `fromSeq` on, at most `maxBytes` of payload (at least one frame). */
  read(channel: string, from: Role, fromSeq: number, maxBytes: number): Promise<FramesRead>;
  /** The member `receiver` received every frame of its peer up to `seq`. */
  acknowledge(channel: string, receiver: Role, seq: number): Promise<void>;
  /** Ends the channel for good: drops its mailboxes, refuses it from then on. */
  retire(channel: string): Promise<void>;
  /** Drops expired frames and forgets channels nobody uses. */
  sweep(): Promise<SweepReport>;
  /** Resolves once no frame waits for a connected member, or at `deadline` (graceful stop). */
  drain(deadline: number): Promise<void>;
  stats(): Promise<StoreStats>;
  health(): Promise<StoreHealth>;
  onEvent(listener: (event: StoreEvent) => void): void;
  close(): Promise<void>;
}

/**
 * Why a receiver at `received` gets `next` as its next frame: null when nothing is missing (or the
 * receiver itself acknowledged what is), else how many frames are missing and why.
 */
export function gapBefore(received: number, next: number, read: Pick<FramesRead, 'acknowledgedUpTo' | 'expiredUpTo'>): { missed: number; reason: GapReason } | null {
  const from = Math.max(received, read.acknowledgedUpTo);
  if (next <= from + 1) return null;
  return { missed: next - from - 1, reason: next - 1 <= read.expiredUpTo ? 'expired' : 'relay-restarted' };
}

/** The store cannot be used (Redis unreachable at start); the message names it without its password. */
export class RelayStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayStoreError';
  }
}

/** A fresh id for a relay instance (prefix of its connection ids). */
export function newInstanceId(): string {
  return crypto.getRandomValues(new Uint8Array(9)).reduce((text, byte) => text + byte.toString(16).padStart(2, '0'), '');
}
