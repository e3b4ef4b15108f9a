/**
 * Locks the app after a period without user activity. Time is read from the clock, not counted
 * by the timer: a phone that slept, or a background tab whose timers were throttled, is locked as
 * soon as it runs again (`check()` when the page becomes visible), not later.
 */
export interface LockScheduler {
  readonly now: () => number;
  /** Runs `callback` after about `ms`; returns a function that cancels it. */
  readonly after: (ms: number, callback: () => void) => () => void;
}

/** setTimeout and Date.now, for the browser. */
export const browserLockScheduler: LockScheduler = {
  now: () => Date.now(),
  after: (ms, callback) => {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
};

export class InactivityLock {
  private readonly scheduler: LockScheduler;
  private readonly timeoutMs: number;
  private readonly onLock: () => void;
  private lastActivity: number;
  private cancel: (() => void) | null = null;

  constructor(scheduler: LockScheduler, timeoutMs: number, onLock: () => void) {
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new RangeError('the inactivity timeout must be a positive number of milliseconds');
    this.scheduler = scheduler;
    this.timeoutMs = timeoutMs;
    this.onLock = onLock;
    this.lastActivity = scheduler.now();
    this.arm(timeoutMs);
  }

  /** A touch or key press: the countdown starts again. */
  activity(): void {
    this.lastActivity = this.scheduler.now();
    this.arm(this.timeoutMs);
  }

  /** Locks now if the time without activity has run out; otherwise waits for the rest. */
  check(): void {
    const idle = this.scheduler.now() - this.lastActivity;
    if (idle >= this.timeoutMs) {
      this.stop();
      this.onLock();
    } else {
      this.arm(this.timeoutMs - idle);
    }
  }

  stop(): void {
    this.cancel?.();
    this.cancel = null;
  }

  private arm(delay: number): void {
    this.stop();
    this.cancel = this.scheduler.after(delay, () => this.check());
  }
}
