/**
 * Development builds only (vite.phone.config.ts compiles this out of the release build, where
 * __DUET_DEV_HOOKS__ is false), and only on loopback: the end-to-end tests hand the phone app
 * pre-generated Paillier keys with their modulus proofs (test/fixtures), so a flow that adds
 * members does not spend seconds of key generation per pair. The tests inject them before the app
 * loads (`globalThis.__duetTestPaillierKeys`); each is used once, also across reloads of the page
 * (a P2 refuses a modulus twice), then the app makes its own as usual.
 */
import { isLoopbackHost } from '../channel/pairing-offer.ts';
import { paillierSecretKeyFromPrimes } from '../mpc/paillier.ts';
import { decodePaillierModulusProof } from '../mpc/zk/paillier-modulus.ts';
import type { PaillierKeySource } from './paillier-key-pool.ts';

interface InjectedKey {
  readonly p: string;
  readonly q: string;
  readonly proof: unknown;
}

const NEXT_KEY = 'duet-dev/paillier-next';

export function devPaillierKeys(fallback: PaillierKeySource): PaillierKeySource {
  if (!__DUET_DEV_HOOKS__ || typeof location === 'undefined' || !isLoopbackHost(location.hostname)) return fallback;
  const keys = (globalThis as { __duetTestPaillierKeys?: readonly InjectedKey[] }).__duetTestPaillierKeys;
  if (!Array.isArray(keys) || keys.length === 0) return fallback;
  return async () => {
    const next = Number(localStorage.getItem(NEXT_KEY) ?? '0');
    const entry = keys[next];
    if (!entry) return fallback();
    localStorage.setItem(NEXT_KEY, String(next + 1));
    const key = paillierSecretKeyFromPrimes(BigInt(`0x${entry.p}`), BigInt(`0x${entry.q}`));
    return { key, proof: decodePaillierModulusProof(entry.proof, 'devKey.proof', key.publicKey.n) };
  };
}
