/**
 * Named points of a co-signing on this device's own timeline (`performance.mark`, the W3C User
 * Timing API), so a test and `npm run bench:cosign` can break approve-on-phone → signature into
 * its parts: each device's compute, storage writes, network hops. Mark names start with `duet:`;
 * `startTimeline` drops this device's earlier ones, and no more than MAX_MARKS are kept between
 * two timelines, so the browser's buffer stays small in a long-running worker or page.
 */
export const MARK_PREFIX = 'duet:';
const MAX_MARKS = 256;

let count = 0;
const names = new Set<string>();

function clear(): void {
  for (const name of names) globalThis.performance?.clearMarks?.(name);
  names.clear();
  count = 0;
}

export function markStep(step: string): void {
  const performance = globalThis.performance;
  if (typeof performance?.mark !== 'function') return;
  if (count >= MAX_MARKS) clear();
  const name = `${MARK_PREFIX}${step}`;
  names.add(name);
  count += 1;
  performance.mark(name);
}

/** A new co-signing starts here on this device: earlier marks are dropped. */
export function startTimeline(step: string): void {
  clear();
  markStep(step);
}

/** A short name for an application message in a mark: its type, and its round for protocol messages. */
export function messageLabel(message: unknown): string {
  if (typeof message !== 'object' || message === null) return 'message';
  const { t, body } = message as { t?: unknown; body?: { type?: unknown } };
  const round = typeof body === 'object' && body !== null && typeof body.type === 'string' ? ` ${body.type}` : '';
  return typeof t === 'string' ? `${t}${round}` : 'message';
}
