/** Reads and writes a vault's IndexedDB directly, as an attacker with the browser profile could. */
export interface RawEntry {
  readonly key: string;
  readonly value: unknown;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function withDatabase<T>(factory: IDBFactory, name: string, use: (db: IDBDatabase) => Promise<T>): Promise<T> {
  const db = await request(factory.open(name));
  try {
    return await use(db);
  } finally {
    db.close();
  }
}

export function readStore(factory: IDBFactory, name: string, store: 'meta' | 'records'): Promise<RawEntry[]> {
  return withDatabase(factory, name, async (db) => {
    const objects = db.transaction(store).objectStore(store);
    const [keys, values] = await Promise.all([request(objects.getAllKeys()), request(objects.getAll())]);
    return keys.map((key, index) => ({ key: String(key), value: values[index] }));
  });
}

export function writeRaw(factory: IDBFactory, name: string, store: 'meta' | 'records', key: string, value: unknown): Promise<void> {
  return withDatabase(factory, name, async (db) => {
    const tx = db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value, key);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  });
}

/** Everything stored, as text: byte arrays as hex, Latin-1 and UTF-8, so a search finds any encoding. */
export async function dumpVault(factory: IDBFactory, name: string): Promise<string> {
  const entries = [...(await readStore(factory, name, 'meta')), ...(await readStore(factory, name, 'records'))];
  return JSON.stringify(entries, (_key, value: unknown) => {
    if (value instanceof Uint8Array) {
      const bytes = Buffer.from(value);
      return { hex: bytes.toString('hex'), latin1: bytes.toString('latin1'), utf8: bytes.toString('utf8') };
    }
    return value;
  });
}
