/**
 * An in-memory chrome.storage-like area for tests. Values go through JSON like chrome.storage,
 * so anything that would not survive the real storage (bigints, class instances) fails here too.
 */
import type { KeyValueStore } from '../../src/background/storage.ts';

export class MemoryStore implements KeyValueStore {
  readonly data = new Map<string, string>();

  async get<T>(key: string): Promise<T | undefined> {
    const raw = this.data.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.data.set(key, JSON.stringify(value));
  }

  async remove(key: string): Promise<void> {
    this.data.delete(key);
  }

  /** Everything stored, as text: for checks that no secret is in here. */
  dump(): string {
    return [...this.data.entries()].map(([key, value]) => `${key}=${value}`).join('\n');
  }
}
