/**
 * Keeps one enrolment code for a new wallet on the operator's screen: shows one at start, and a
 * new one once it was used, expired or exhausted (checked every few seconds).
 */
import type { GuardService } from './guard-service.ts';

const CHECK_MS = 5_000;

export function startCodePrinter(guard: GuardService, show: (code: string, link: string) => Promise<void> | void): { stop(): void } {
  let current: string | null = null;
  let stopped = false;
  const refresh = async () => {
    if (stopped) return;
    try {
      if (current === null || !(await guard.store.codeOpen(current.slice(0, 4)))) {
        const issued = await guard.issueEnrolmentCode();
        current = issued.code;
        await show(issued.code, issued.link);
      }
    } catch {
      // The next check tries again.
    }
  };
  void refresh();
  const timer = setInterval(() => void refresh(), CHECK_MS);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
