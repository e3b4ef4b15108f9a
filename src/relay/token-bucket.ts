/** A token bucket: `ratePerSecond` sustained, `burst` at once. Time is passed in (no clock inside). */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    // A clock that stepped back (NTP, a moved server clock) refills nothing, and drains nothing either.
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.updatedAt) / 1000) * this.ratePerSecond);
    this.updatedAt = now;
  }

  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether the bucket is back to its full burst (nothing to remember about its owner). */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }
}
