/**
 * The key-value storage the background core is given: chrome.storage.local for public state,
 * chrome.storage.session (memory only, cleared when the browser closes) for the unlock key and the
 * approval queue. Values must be JSON-safe: chrome.storage serialises them as JSON.
 */
export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  /** Several keys in one write: all of them are stored, or (quota exceeded) none. */
  setMany(items: Readonly<Record<string, unknown>>): Promise<void>;
  remove(keys: string | readonly string[]): Promise<void>;
}

/** What a value costs in chrome.storage: the UTF-8 length of its JSON (and of its key). */
export function storedBytes(key: string, value: unknown): number {
  return new TextEncoder().encode(key + JSON.stringify(value)).length;
}
