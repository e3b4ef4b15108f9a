/**
 * An in-memory chrome.storage-like area for tests. Values go through JSON like chrome.storage,
 * so anything that would not survive the real storage (bigints, class instances) fails here too.
 * With a quota, a write that would exceed it fails and stores nothing, as chrome.storage does.
 */
import type { KeyValueStore } from '../../src/background/storage.ts';

export class QuotaExceededError extends Error {
  constructor() {
    super('Resource::kQuotaBytes quota exceeded');
    this.name = 'QuotaExceededError';
  }
}

export class MemoryStore implements KeyValueStore {
  readonly data = new Map<string, string>();
  /** Bytes the store accepts in total (chrome.storage.session: 10 MiB); Infinity by default. */
  quotaBytes: number;
  /** Number of writes (set / setMany) so far. */
  writes = 0;

  constructor(quotaBytes = Number.POSITIVE_INFINITY) {
    this.quotaBytes = quotaBytes;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const raw = this.data.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.setMany({ [key]: value });
  }

  async setMany(items: Readonly<Record<string, unknown>>): Promise<void> {
    const next = new Map(this.data);
    for (const [key, value] of Object.entries(items)) next.set(key, JSON.stringify(value));
    if (bytesOf(next) > this.quotaBytes) throw new QuotaExceededError();
    this.writes++;
    for (const [key, value] of next) this.data.set(key, value);
  }

  async remove(keys: string | readonly string[]): Promise<void> {
    for (const key of typeof keys === 'string' ? [keys] : keys) this.data.delete(key);
  }

  bytesInUse(): number {
    return bytesOf(this.data);
  }

  /** Everything stored, as text: for checks that no secret is in here. */
  dump(): string {
    return [...this.data.entries()].map(([key, value]) => `${key}=${value}`).join('\n');
  }
}

function bytesOf(entries: ReadonlyMap<string, string>): number {
  const encoder = new TextEncoder();
  let total = 0;
  for (const [key, raw] of entries) total += encoder.encode(key + raw).length;
  return total;
}
