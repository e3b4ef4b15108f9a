/** Helpers for the phone's Node tests: a phone on fake-indexeddb with fast keys, and its storage as raw records. */
import { PHONE_ATTEMPTS_DB, PHONE_VAULT, PhoneController, type PhoneControllerOptions } from '../../src/phone/phone-controller.ts';
import { indexedDbAttemptStore } from '../../src/phone/unlock-throttle.ts';
import { WEAK_KDF_FOR_TESTS_ONLY } from '../../src/vault/test-only-weak-kdf.ts';
import { loadPreparedPaillierFixture } from '../mpc/fixtures.ts';
import { SoftwareDeviceKey } from './software-device-key.ts';

/** A passphrase zxcvbn rates above 60 bits. */
export const TEST_PASSPHRASE = 'violin orbit candle meadow fossil drift';
/** scrypt at 1 MiB: fast tests; the shipped cost is measured in test/vault/scrypt-cost.test.ts. */
export const FAST_KEYS = { scryptCost: { n: 1024, r: 8, p: 1 }, weakKdfForTests: WEAK_KDF_FOR_TESTS_ONLY } as const;

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

async function deleteDatabase(name: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const deleting = indexedDB.deleteDatabase(name);
    deleting.onsuccess = () => resolve();
    deleting.onerror = () => resolve();
  });
}

/** The shipped scrypt cost (~1 s a derivation): for the tests of what is stored. */
export const SHIPPED_KEYS = {} as const;

/**
 * A phone app as after a reload: same storage, a new controller. Its Paillier key is fixture 0 with
 * its stored modulus proof (a pairing skips ~1 s of key generation) unless `options` name another.
 */
export async function openPhone(options: Partial<PhoneControllerOptions> = {}, keys: typeof FAST_KEYS | typeof SHIPPED_KEYS = FAST_KEYS): Promise<PhoneController> {
  const phone = new PhoneController({
    pairingLink: null,
    deviceKey: new SoftwareDeviceKey(),
    attempts: indexedDbAttemptStore(options.vaultName ? `${options.vaultName}-attempts` : PHONE_ATTEMPTS_DB),
    paillierKeys: async () => loadPreparedPaillierFixture(0),
    ...keys,
    ...options,
  });
  await phone.start();
  return phone;
}

/** A phone whose storage was wiped, at its first screen. */
export async function freshPhone(options: Partial<PhoneControllerOptions> = {}, keys: typeof FAST_KEYS | typeof SHIPPED_KEYS = FAST_KEYS): Promise<PhoneController> {
  await deleteDatabase(options.vaultName ?? PHONE_VAULT);
  await deleteDatabase(`${options.vaultName ?? PHONE_VAULT}-attempts`);
  await deleteDatabase(PHONE_ATTEMPTS_DB);
  return openPhone(options, keys);
}

/** A fresh phone, its vault created with TEST_PASSPHRASE and unlocked. */
export async function unlockedPhone(options: Partial<PhoneControllerOptions> = {}, keys: typeof FAST_KEYS | typeof SHIPPED_KEYS = FAST_KEYS): Promise<PhoneController> {
  const phone = await freshPhone(options, keys);
  await phone.chooseKey({ kind: 'passphrase', passphrase: TEST_PASSPHRASE, confirmation: TEST_PASSPHRASE });
  if (!phone.unlocked) throw new Error(`the phone did not open: ${phone.view().error}`);
  return phone;
}
