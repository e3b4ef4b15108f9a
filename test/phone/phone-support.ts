/** Helpers for the phone's Node tests: a fresh phone on fake-indexeddb, and its storage as raw records. */
import { PHONE_VAULT, PhoneController } from '../../src/phone/phone-controller.ts';

export const TEST_PIN = '4815162342';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Every record of every object store of the phone's database, read as anyone with the profile could. */
export async function rawRecords(): Promise<{ store: string; key: string; value: unknown }[]> {
  const db = await request(indexedDB.open(PHONE_VAULT));
  try {
    const stores = Array.from(db.objectStoreNames);
    const tx = db.transaction(stores, 'readonly');
    const reads = stores.map((store) => Promise.all([request(tx.objectStore(store).getAllKeys()), request(tx.objectStore(store).getAll())]));
    const results = await Promise.all(reads);
    return stores.flatMap((store, i) => {
      const [keys, values] = results[i] as [IDBValidKey[], unknown[]];
      return keys.map((key, k) => ({ store, key: String(key), value: values[k] }));
    });
  } finally {
    db.close();
  }
}

/** The phone's database as { store: { key: value } }, to compare before and after. */
export async function rawVault(): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const { store, key, value } of await rawRecords()) (out[store] ??= {})[key] = value;
  return out;
}

/** A phone whose storage was wiped, at its first screen. */
export async function freshPhone(): Promise<PhoneController> {
  await new Promise<void>((resolve) => {
    const deleting = indexedDB.deleteDatabase(PHONE_VAULT);
    deleting.onsuccess = () => resolve();
    deleting.onerror = () => resolve();
  });
  const phone = new PhoneController(null);
  await phone.start();
  return phone;
}

/** A fresh phone, its vault created and unlocked. */
export async function unlockedPhone(): Promise<PhoneController> {
  const phone = await freshPhone();
  await phone.createPin(TEST_PIN, TEST_PIN);
  return phone;
}
