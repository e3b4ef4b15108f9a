/**
 * The relay's store in the relay's own memory (relay-store.ts): the default, for one instance.
 * With a state directory it keeps the retired channels in `retired.log` (appended and fsynced
 * before a RETIRE takes effect) and, on a graceful stop, every mailbox in `mailboxes.bin`
 * (relay-state-file.ts); a crash loses the mailboxes.
 */
import type { RelayRoster } from '../channel/relay-credential.ts';
import { ROLES, otherRole, type Role } from '../channel/relay-protocol.ts';
import { Mailbox, type StoredFrame } from './mailbox.ts';
import { appendRetired, loadRetired, saveMailboxes, takeMailboxes, type ChannelSnapshot } from './relay-state-file.ts';
import {
  FRAME_OVERHEAD_BYTES,
  newInstanceId,
  type ClaimRequest,
  type ClaimResult,
  type FramesRead,
  type RelayStore,
  type StoreFrameRequest,
  type StoreFrameResult,
  type StoreHealth,
  type StoreLimits,
  type StoreStats,
  type SweepReport,
} from './relay-store.ts';

interface MemoryChannel {
  readonly roster: RelayRoster;
  /** The address key that opened it (counted against its channel cap). */
  readonly creator: string;
  /** The connection holding each role, if any. */
  readonly holders: Record<Role, string | null>;
  /** Frames sent by each role, waiting for the other. */
  readonly outboxes: Record<Role, Mailbox>;
  lastActivity: number;
}

interface AddressUsage {
  channels: number;
  mailboxBytes: number;
}

const DRAIN_POLL_MS = 20;

export class MemoryStore implements RelayStore {
  readonly kind = 'memory';
  readonly instance = newInstanceId();
  private readonly channels = new Map<string, MemoryChannel>();
  private readonly addresses = new Map<string, AddressUsage>();
  private mailboxBytes = 0;

  private constructor(
    private readonly limits: StoreLimits,
    private readonly stateDir: string | null,
    private readonly retired: Map<string, number>,
    private readonly log: (line: string) => void,
  ) {}

  /** Opens the store, reloading what a graceful stop saved in `stateDir` (then deleted there). */
  static async open(limits: StoreLimits, stateDir: string | null, log: (line: string) => void): Promise<MemoryStore> {
    const now = Date.now();
    const retired = stateDir ? await loadRetired(stateDir, now, limits.maxRetired) : new Map<string, number>();
    const store = new MemoryStore(limits, stateDir, retired, log);
    if (stateDir) for (const saved of await takeMailboxes(stateDir)) store.restore(saved, now);
    if (store.channels.size > 0) log(`restored ${store.channels.size} channels with queued frames`);
    return store;
  }

  private restore(saved: ChannelSnapshot, now: number): void {
    if (this.isRetired(saved.name, now)) return;
    const channel = this.newChannel(saved.name, saved.roster, saved.creator, now);
    for (const role of ROLES) {
      const snapshot = saved.outboxes[role];
      const fresh = snapshot.frames.filter((frame) => now - frame.storedAt < this.limits.mailboxTtlMs);
      channel.outboxes[role] = new Mailbox(this.limits.maxMailboxFrames, this.limits.maxMailboxBytes, { ...snapshot, frames: fresh });
      for (const frame of fresh) this.account(frame.owner, frame.payload.length + FRAME_OVERHEAD_BYTES);
    }
  }

  private usage(address: string): AddressUsage {
    let usage = this.addresses.get(address);
    if (!usage) {
      usage = { channels: 0, mailboxBytes: 0 };
      this.addresses.set(address, usage);
    }
    return usage;
  }

  private settle(address: string, usage: AddressUsage): void {
    if (usage.channels === 0 && usage.mailboxBytes === 0) this.addresses.delete(address);
  }

  private account(owner: string, bytes: number): void {
    const usage = this.usage(owner);
    usage.mailboxBytes += bytes;
    this.mailboxBytes += bytes;
    this.settle(owner, usage);
  }

  private released(frames: readonly StoredFrame[]): void {
    for (const frame of frames) this.account(frame.owner, -(frame.payload.length + FRAME_OVERHEAD_BYTES));
  }

  private newChannel(name: string, roster: RelayRoster, creator: string, now: number): MemoryChannel {
    const mailbox = () => new Mailbox(this.limits.maxMailboxFrames, this.limits.maxMailboxBytes);
    const channel: MemoryChannel = { roster, creator, holders: { extension: null, phone: null }, outboxes: { extension: mailbox(), phone: mailbox() }, lastActivity: now };
    this.channels.set(name, channel);
    this.usage(creator).channels++;
    return channel;
  }

  private deleteChannel(name: string, channel: MemoryChannel): void {
    this.channels.delete(name);
    const usage = this.usage(channel.creator);
    usage.channels--;
    this.settle(channel.creator, usage);
  }

  private isRetired(name: string, now: number): boolean {
    const expiresAt = this.retired.get(name);
    return expiresAt !== undefined && expiresAt > now;
  }

  async admit(_address: string, count: number): Promise<boolean> {
    return count <= this.limits.maxConnectionsPerAddress;
  }

  async forget(): Promise<void> {}

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const now = Date.now();
    if (this.isRetired(request.channel, now)) return { kind: 'retired' };
    let channel = this.channels.get(request.channel);
    if (!channel) {
      if ((this.addresses.get(request.address)?.channels ?? 0) >= this.limits.maxChannelsPerAddress) return { kind: 'address-limit' };
      channel = this.newChannel(request.channel, request.roster, request.address, now);
    }
    const previous = channel.holders[request.role];
    channel.holders[request.role] = request.connection;
    channel.lastActivity = now;
    const inbox = channel.outboxes[otherRole(request.role)];
    this.released(inbox.acknowledge(request.received));
    return { kind: 'claimed', stored: channel.outboxes[request.role].lastStored, queued: inbox.size, replaced: previous !== request.connection ? previous : null };
  }

  async release(name: string, role: Role, connection: string): Promise<void> {
    const channel = this.channels.get(name);
    if (channel?.holders[role] !== connection) return;
    channel.holders[role] = null;
    channel.lastActivity = Date.now();
  }

  async store(request: StoreFrameRequest): Promise<StoreFrameResult> {
    const channel = this.channels.get(request.channel);
    const holder = channel?.holders[request.role] ?? null;
    const now = Date.now();
    if (!channel || holder === null) return { kind: this.isRetired(request.channel, now) ? 'retired' : 'unclaimed' };
    if (holder !== request.connection) return { kind: 'replaced' };
    channel.lastActivity = now;
    const outbox = channel.outboxes[request.role];
    if (request.previous > 0 && outbox.lastStored < request.previous) return { kind: 'out-of-order' };
    const cost = request.payload.length + FRAME_OVERHEAD_BYTES;
    if (request.seq > outbox.lastStored) {
      if ((this.addresses.get(request.owner)?.mailboxBytes ?? 0) + cost > this.limits.maxMailboxBytesPerAddress) return { kind: 'address-full' };
      if (this.mailboxBytes + cost > this.limits.maxMailboxBytesTotal) return { kind: 'total-full' };
    }
    // A copy: the received buffer may be a slice of a larger one that it would keep alive.
    const result = outbox.store(request.seq, request.payload.slice(), now, request.owner);
    if (result === 'full') return { kind: 'full' };
    if (result === 'stored') this.account(request.owner, cost);
    return { kind: result, lastStored: outbox.lastStored };
  }

  async read(name: string, from: Role, fromSeq: number, maxBytes: number): Promise<FramesRead> {
    const outbox = this.channels.get(name)?.outboxes[from];
    if (!outbox) return { frames: [], acknowledgedUpTo: 0, expiredUpTo: 0, lastStored: 0 };
    return { frames: outbox.readFrom(fromSeq, maxBytes), acknowledgedUpTo: outbox.acknowledgedUpTo, expiredUpTo: outbox.expiredUpTo, lastStored: outbox.lastStored };
  }

  async acknowledge(name: string, receiver: Role, seq: number): Promise<void> {
    const channel = this.channels.get(name);
    if (channel) this.released(channel.outboxes[otherRole(receiver)].acknowledge(seq));
  }

  async retire(name: string): Promise<void> {
    const expiresAt = Date.now() + this.limits.retiredTtlMs;
    this.retired.delete(name);
    this.retired.set(name, expiresAt);
    if (this.retired.size > this.limits.maxRetired) this.retired.delete(this.retired.keys().next().value as string);
    if (this.stateDir) appendRetired(this.stateDir, name, expiresAt);
    const channel = this.channels.get(name);
    if (!channel) return;
    for (const role of ROLES) this.released(channel.outboxes[role].clear());
    this.deleteChannel(name, channel);
  }

  async sweep(): Promise<SweepReport> {
    const now = Date.now();
    const ttl = this.limits.mailboxTtlMs;
    const expiredReport: { channel: string; frames: number }[] = [];
    for (const [name, channel] of this.channels) {
      const expired = [...channel.outboxes.extension.expire(now, ttl), ...channel.outboxes.phone.expire(now, ttl)];
      this.released(expired);
      if (expired.length > 0) expiredReport.push({ channel: name, frames: expired.length });
      const anyoneConnected = channel.holders.extension !== null || channel.holders.phone !== null;
      const empty = channel.outboxes.extension.size === 0 && channel.outboxes.phone.size === 0;
      // A channel whose frames expired is kept for a TTL, so a member that comes back is told why.
      const expiryToReport = channel.outboxes.extension.hadExpiry || channel.outboxes.phone.hadExpiry;
      if (!anyoneConnected && empty && (!expiryToReport || now - channel.lastActivity > ttl)) this.deleteChannel(name, channel);
    }
    for (const [name, expiresAt] of this.retired) if (expiresAt <= now) this.retired.delete(name);
    return { expired: expiredReport };
  }

  private undelivered(): number {
    let count = 0;
    for (const channel of this.channels.values()) {
      for (const role of ROLES) if (channel.holders[otherRole(role)] !== null) count += channel.outboxes[role].size;
    }
    return count;
  }

  async drain(deadline: number): Promise<void> {
    while (this.undelivered() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }

  async stats(): Promise<StoreStats> {
    let framesQueued = 0;
    for (const channel of this.channels.values()) framesQueued += channel.outboxes.extension.size + channel.outboxes.phone.size;
    return { channels: this.channels.size, framesQueued, mailboxBytes: this.mailboxBytes };
  }

  async health(): Promise<StoreHealth> {
    return { kind: 'memory', ok: true };
  }

  onEvent(): void {}

  /** Saves every channel that still holds frames to the state directory (graceful stop). */
  async close(): Promise<void> {
    if (!this.stateDir) return;
    const saved: ChannelSnapshot[] = [...this.channels]
      .filter(([, channel]) => channel.outboxes.extension.size + channel.outboxes.phone.size > 0)
      .map(([name, channel]) => ({ name, roster: channel.roster, creator: channel.creator, outboxes: { extension: channel.outboxes.extension.snapshot(), phone: channel.outboxes.phone.snapshot() } }));
    await saveMailboxes(this.stateDir, saved);
    if (saved.length > 0) this.log(`saved ${saved.length} channels with queued frames`);
  }
}
