/**
 * One direction of a channel: the frames one member sent that the other has not acknowledged.
 * Frames are numbered by the sender from 1 without gaps; they leave the mailbox when the
 * receiver acknowledges them or when they are older than the TTL.
 */
export interface StoredFrame {
  readonly seq: number;
  readonly payload: Uint8Array;
  readonly storedAt: number;
}

export type StoreResult = 'stored' | 'duplicate' | 'gap' | 'full';

export class Mailbox {
  private frames: StoredFrame[] = [];
  private bytes = 0;
  /** Highest sequence number stored (or already delivered and dropped). */
  lastStored = 0;

  constructor(
    private readonly maxFrames: number,
    private readonly maxBytes: number,
  ) {}

  store(seq: number, payload: Uint8Array, now: number): StoreResult {
    // A relay that restarted has empty mailboxes while its clients keep their numbering: the
    // first frame it sees for a direction sets the baseline.
    if (this.lastStored === 0 && this.frames.length === 0) this.lastStored = seq - 1;
    if (seq <= this.lastStored) return 'duplicate';
    if (seq !== this.lastStored + 1) return 'gap';
    if (this.frames.length >= this.maxFrames || this.bytes + payload.length > this.maxBytes) return 'full';
    this.frames.push({ seq, payload, storedAt: now });
    this.bytes += payload.length;
    this.lastStored = seq;
    return 'stored';
  }

  /** The receiver has every frame up to `seq`. */
  acknowledge(seq: number): void {
    const upTo = Math.min(seq, this.lastStored);
    let drop = 0;
    while (drop < this.frames.length && (this.frames[drop] as StoredFrame).seq <= upTo) {
      this.bytes -= (this.frames[drop] as StoredFrame).payload.length;
      drop++;
    }
    if (drop > 0) this.frames = this.frames.slice(drop);
  }

  /** Drops frames older than the TTL; returns how many. */
  expire(now: number, ttlMs: number): number {
    const before = this.frames.length;
    this.frames = this.frames.filter((frame) => {
      const keep = now - frame.storedAt < ttlMs;
      if (!keep) this.bytes -= frame.payload.length;
      return keep;
    });
    return before - this.frames.length;
  }

  pending(): readonly StoredFrame[] {
    return this.frames;
  }

  get size(): number {
    return this.frames.length;
  }
}
