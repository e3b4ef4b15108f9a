/**
 * Reads the co-signing marks (src/channel/latency-marks.ts) of the phone page and the extension's
 * service worker, and puts them on one time axis: each mark at `performance.timeOrigin +
 * startTime`, both pages' clocks read from the same machine's clock (High Resolution Time §5.1,
 * "time origin"; measured skew between two Chromium processes here: well under 0.1 ms).
 */
import type { Page, Worker } from 'playwright-core';

export interface TimelineMark {
  readonly device: 'phone' | 'extension';
  readonly name: string;
  /** Unix ms with sub-ms precision. */
  readonly at: number;
}

type Evaluator = Pick<Page, 'evaluate'> | Pick<Worker, 'evaluate'>;

async function marksOf(target: Evaluator, device: TimelineMark['device']): Promise<TimelineMark[]> {
  const marks = await (target as Page).evaluate(() =>
    performance
      .getEntriesByType('mark')
      .filter((entry) => entry.name.startsWith('duet:'))
      .map((entry) => ({ name: entry.name.slice('duet:'.length), at: performance.timeOrigin + entry.startTime })),
  );
  return marks.map((mark) => ({ device, ...mark }));
}

/** Both devices' marks of the latest co-signing, in time order. */
export async function cosignTimeline(phone: Page, worker: Worker): Promise<TimelineMark[]> {
  const marks = [...(await marksOf(phone, 'phone')), ...(await marksOf(worker, 'extension'))];
  return marks.sort((a, b) => a.at - b.at);
}

/** The time of the first mark named `name` on `device` (throws if it is missing). */
export function markAt(timeline: readonly TimelineMark[], device: TimelineMark['device'], name: string): number {
  const mark = timeline.find((entry) => entry.device === device && entry.name === name);
  if (!mark) throw new Error(`no mark "${name}" on the ${device}: ${timeline.map((entry) => `${entry.device}:${entry.name}`).join(', ')}`);
  return mark.at;
}

/** Approve on the phone → the extension holds the verified signature, in ms. */
export function approveToSignatureMs(timeline: readonly TimelineMark[]): number {
  return markAt(timeline, 'extension', 'signature') - markAt(timeline, 'phone', 'approve');
}

/** The timeline as lines of text: offset from the phone's approval, device, mark. */
export function describeTimeline(timeline: readonly TimelineMark[]): string {
  const start = markAt(timeline, 'phone', 'approve');
  return timeline.map((mark) => `${(mark.at - start).toFixed(2).padStart(8)} ms  ${mark.device.padEnd(9)} ${mark.name}`).join('\n');
}
