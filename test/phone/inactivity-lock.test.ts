import { describe, expect, it } from 'vitest';
import { InactivityLock, type LockScheduler } from '../../src/phone/inactivity-lock.ts';
import { AUTO_LOCK_MS } from '../../src/phone/phone-controller.ts';

/** A clock and timers the test moves by hand. */
function manualTime() {
  let now = 0;
  let timers: { at: number; callback: () => void }[] = [];
  const scheduler: LockScheduler = {
    now: () => now,
    after: (ms, callback) => {
      const timer = { at: now + ms, callback };
      timers.push(timer);
      return () => (timers = timers.filter((t) => t !== timer));
    },
  };
  return {
    scheduler,
    /** Moves the clock; timers that fall due run (as a throttled tab would run them: late is fine). */
    advance(ms: number, runTimers = true) {
      now += ms;
      if (!runTimers) return;
      for (const timer of timers.filter((t) => t.at <= now)) {
        timers = timers.filter((t) => t !== timer);
        timer.callback();
      }
    },
    pending: () => timers.length,
  };
}

describe('inactivity lock', () => {
  it('locks after 5 minutes without activity (the app setting)', () => {
    expect(AUTO_LOCK_MS).toBe(300_000);
    const time = manualTime();
    let locks = 0;
    new InactivityLock(time.scheduler, AUTO_LOCK_MS, () => locks++);
    time.advance(299_999);
    expect(locks).toBe(0);
    time.advance(1);
    expect(locks).toBe(1);
    expect(time.pending()).toBe(0);
  });

  it('activity restarts the countdown', () => {
    const time = manualTime();
    let locks = 0;
    const lock = new InactivityLock(time.scheduler, 60_000, () => locks++);
    time.advance(50_000);
    lock.activity();
    time.advance(50_000);
    expect(locks).toBe(0);
    time.advance(10_000);
    expect(locks).toBe(1);
  });

  it('a phone that slept (timers did not run) locks as soon as it is visible again', () => {
    const time = manualTime();
    let locks = 0;
    const lock = new InactivityLock(time.scheduler, 60_000, () => locks++);
    time.advance(10 * 60_000, false);
    lock.check();
    expect(locks).toBe(1);
  });

  it('check before the time is up does not lock', () => {
    const time = manualTime();
    let locks = 0;
    const lock = new InactivityLock(time.scheduler, 60_000, () => locks++);
    time.advance(30_000, false);
    lock.check();
    expect(locks).toBe(0);
    time.advance(30_000);
    expect(locks).toBe(1);
  });

  it('stop cancels the countdown', () => {
    const time = manualTime();
    let locks = 0;
    const lock = new InactivityLock(time.scheduler, 60_000, () => locks++);
    lock.stop();
    time.advance(120_000);
    expect(locks).toBe(0);
  });

  it('refuses a timeout that is not a positive number of milliseconds', () => {
    const time = manualTime();
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new InactivityLock(time.scheduler, bad, () => undefined)).toThrow(RangeError);
    }
    expect(time.pending()).toBe(0);
  });
});
