/** A clock whose time moves only when a test says so; timers fire when their time is reached. */
import type { Clock } from '../../src/background/wallet-service.ts';

export class TestClock implements Clock {
  private time: number;
  private timers: { at: number; task: () => void; cancelled: boolean }[] = [];

  constructor(start = 1_800_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  after(ms: number, task: () => void): () => void {
    const timer = { at: this.time + ms, task, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((timer) => !timer.cancelled && timer.at <= this.time);
    this.timers = this.timers.filter((timer) => !due.includes(timer));
    for (const timer of due) timer.task();
  }
}
