/** The token bucket of the relay and the Guard: a clock that steps back (NTP) refills nothing and locks nobody out. */
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/relay/token-bucket.ts';

describe('TokenBucket', () => {
  it('gives its burst, then its rate', () => {
    const bucket = new TokenBucket(2, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
    expect(bucket.take(500)).toBe(true);
    expect(bucket.take(500)).toBe(false);
  });

  it('a clock that steps back two days neither refills nor drains it', () => {
    const bucket = new TokenBucket(2, 3, 2 * 86_400_000);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.take(0)).toBe(false);
    expect(bucket.take(500)).toBe(true);
  });
});
