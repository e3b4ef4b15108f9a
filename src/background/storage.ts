/**
 * The key-value storage the background core is given: chrome.storage.local for public state,
 * chrome.storage.session (memory only, cleared when the browser closes) for the unlock key and the
 * approval queue. Values must be JSON-safe: chrome.storage serialises them as JSON.
 */
export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  remove(key: string): Promise<void>;
}
