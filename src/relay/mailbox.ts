/**
 * One direction of a channel: the frames one member sent that the other has not acknowledged.
 * Frames are numbered by the sender; they leave the mailbox when the receiver acknowledges them
 * or when they are older than the TTL. Each frame remembers the address that stored it, so the
 * relay can count mailbox memory per address.
 */
import type { GapReason } from '../channel/relay-protocol.ts';

export interface StoredFrame {
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly storedAt: number;
  /** The address key of the connection that stored it. */
  readonly owner: string;
}

export type StoreResult = 'stored' | 'duplicate' | 'full';

/** What a mailbox is saved and restored as (relay-state-file.ts). */
export interface MailboxSnapshot {
  readonly lastStored: number;
  readonly expiredUpTo: number;
  readonly acknowledgedUpTo: number;
  readonly frames: readonly StoredFrame[];
}

export class Mailbox {
  private frames: StoredFrame[] = [];
  private bytesHeld = 0;
  /** Highest sequence number stored (or already delivered and dropped). */
  lastStored = 0;
  /** Frames up to here left unread because they expired. */
  private expiredUpTo = 0;
  /** The highest sequence number the receiver acknowledged. */
  private acknowledgedUpTo = 0;

  constructor(
    private readonly maxFrames: number,
    private readonly maxBytes: number,
    snapshot?: MailboxSnapshot,
  ) {
    if (snapshot) {
      this.frames = [...snapshot.frames];
      this.bytesHeld = this.frames.reduce((sum, frame) => sum + frame.payload.length, 0);
      this.lastStored = snapshot.lastStored;
      this.expiredUpTo = snapshot.expiredUpTo;
      this.acknowledgedUpTo = snapshot.acknowledgedUpTo;
    }
  }

  /**
   * A sequence number past `lastStored + 1` is accepted: the frames in between were stored by a
   * relay run that lost them (killed without saving), and the receiver is told so (gapBefore).
   */
  store(seq: number, payload: Uint8Array, now: number, owner: string): StoreResult {
    if (seq <= this.lastStored) return 'duplicate';
    if (this.frames.length >= this.maxFrames || this.bytesHeld + payload.length > this.maxBytes) return 'full';
    this.frames.push({ seq, payload, storedAt: now, owner });
    this.bytesHeld += payload.length;
    this.lastStored = seq;
    return 'stored';
  }

  /** The receiver has every frame up to `seq`; returns the frames dropped. */
  acknowledge(seq: number): StoredFrame[] {
    const upTo = Math.min(seq, this.lastStored);
    this.acknowledgedUpTo = Math.max(this.acknowledgedUpTo, upTo);
    let drop = 0;
    while (drop < this.frames.length && (this.frames[drop] as StoredFrame).seq <= upTo) drop++;
    return this.remove(this.frames.slice(0, drop), this.frames.slice(drop));
  }

  /** Drops frames older than the TTL; returns them. */
  expire(now: number, ttlMs: number): StoredFrame[] {
    const expired = this.frames.filter((frame) => now - frame.storedAt >= ttlMs);
    if (expired.length === 0) return expired;
    this.expiredUpTo = Math.max(this.expiredUpTo, (expired[expired.length - 1] as StoredFrame).seq);
    return this.remove(
      expired,
      this.frames.filter((frame) => now - frame.storedAt < ttlMs),
    );
  }

  /** Drops everything (the channel was retired); returns what it held. */
  clear(): StoredFrame[] {
    return this.remove(this.frames, []);
  }

  private remove(dropped: StoredFrame[], kept: StoredFrame[]): StoredFrame[] {
    for (const frame of dropped) this.bytesHeld -= frame.payload.length;
    this.frames = kept;
    return dropped;
  }

  /** The first frame numbered `seq` or later. */
  firstFrom(seq: number): StoredFrame | undefined {
    let low = 0;
    let high = this.frames.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.frames[middle] as StoredFrame).seq < seq) low = middle + 1;
      else high = middle;
    }
    return this.frames[low];
  }

  /**
   * Why a receiver at `received` gets `next` as its next frame: null when nothing is missing (or
   * the receiver itself acknowledged what is), else how many frames are missing and why.
   */
  gapBefore(received: number, next: number): { missed: number; reason: GapReason } | null {
    const from = Math.max(received, this.acknowledgedUpTo);
    if (next <= from + 1) return null;
    return { missed: next - from - 1, reason: next - 1 <= this.expiredUpTo ? 'expired' : 'relay-restarted' };
  }

  get hadExpiry(): boolean {
    return this.expiredUpTo > 0;
  }

  snapshot(): MailboxSnapshot {
    return { lastStored: this.lastStored, expiredUpTo: this.expiredUpTo, acknowledgedUpTo: this.acknowledgedUpTo, frames: this.frames };
  }

  get size(): number {
    return this.frames.length;
  }

  get bytes(): number {
    return this.bytesHeld;
  }
}
