/**
 * Online retry backoff for typed secrets (passphrase, or a legacy PIN): after FREE_ATTEMPTS wrong
 * tries each further one waits twice as long as the last, from 30 s up to an hour. An attempt is
 * counted, durably, before its key derivation starts, so reloading the page mid-guess does not
 * reset it; a successful unlock clears the count.
 *
 * This slows someone who has the phone in hand and guesses through the app. It does nothing
 * against an offline search of copied storage: there the passphrase's entropy and scrypt's cost
 * per guess are what count (docs/threat-model.md).
 */
import { openDB, type IDBPDatabase } from 'idb';

export const FREE_ATTEMPTS = 5;
const FIRST_DELAY_MS = 30_000;
const MAX_DELAY_MS = 60 * 60_000;
const STORE = 'attempts';
const KEY = 'unlock';

export interface AttemptRecord {
  /** Wrong (or unfinished) attempts since the last successful unlock. */
  readonly failures: number;
  /** When the last one started (Unix ms). */
  readonly lastAt: number;
}

/** Where the count survives reloads; the phone keeps it in its own small IndexedDB database. */
export interface AttemptStore {
  read(): Promise<AttemptRecord | undefined>;
  write(record: AttemptRecord): Promise<void>;
}

/** How long the next attempt must wait after `failures` failures. */
export function backoffMs(failures: number): number {
  if (failures < FREE_ATTEMPTS) return 0;
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(failures - FREE_ATTEMPTS, 20));
}

export class UnlockThrottle {
  constructor(
    private readonly store: AttemptStore,
    private readonly now: () => number,
  ) {}

  /** 0 when an attempt may start now, else the milliseconds to wait. */
  async waitMs(): Promise<number> {
    const record = await this.store.read();
    if (!record) return 0;
    return Math.max(0, record.lastAt + backoffMs(record.failures) - this.now());
  }

  /** Counts an attempt as failed until `succeeded()` says otherwise; durable before it resolves. */
  async begin(): Promise<void> {
    const record = await this.store.read();
    await this.store.write({ failures: (record?.failures ?? 0) + 1, lastAt: this.now() });
  }

  async succeeded(): Promise<void> {
    await this.store.write({ failures: 0, lastAt: this.now() });
  }
}

/** The browser's store: database `name` with one object store. */
export function indexedDbAttemptStore(name: string): AttemptStore {
  let db: Promise<IDBPDatabase> | null = null;
  const open = () =>
    (db ??= openDB(name, 1, {
      upgrade: (database) => void database.createObjectStore(STORE),
      // Another tab upgrades or deletes the database: let it, and reopen on the next use.
      blocking: () => {
        void db?.then((database) => database.close());
        db = null;
      },
    }));
  return {
    read: async () => (await (await open()).get(STORE, KEY)) as AttemptRecord | undefined,
    write: async (record) => void (await (await open()).put(STORE, record, KEY)),
  };
}
