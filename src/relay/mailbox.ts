/**
 * One direction of a channel: the frames one member sent that the other has not acknowledged.
 * Frames are numbered by the sender; they leave the mailbox when the receiver acknowledges them
 * or when they are older than the TTL. Each frame remembers the address that stored it, so the
 * relay can count mailbox memory per address.
 */
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
  expiredUpTo = 0;
  /** The highest sequence number the receiver acknowledged. */
  acknowledgedUpTo = 0;

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

  /** The index of the first frame numbered `seq` or later. */
  private indexOf(seq: number): number {
    let low = 0;
    let high = this.frames.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.frames[middle] as StoredFrame).seq < seq) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** The frames from `seq` on, at most `maxBytes` of payload (at least one frame). */
  readFrom(seq: number, maxBytes: number): StoredFrame[] {
    const out: StoredFrame[] = [];
    let bytes = 0;
    let index = this.indexOf(seq);
    while (index < this.frames.length) {
      const frame = this.frames[index++] as StoredFrame;
      if (out.length > 0 && bytes + frame.payload.length > maxBytes) break;
      out.push(frame);
      bytes += frame.payload.length;
    }
    return out;
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
