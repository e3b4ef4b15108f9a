/**
 * Public (non-secret) extension state kept in chrome.storage.local: settings, networks, accounts,
 * per-origin permissions, the paired phone. Secrets live only in the vault.
 */
import { DEFAULT_NETWORKS, LOCAL_CHAIN_ID, type Network } from '../wallet/chains.ts';

export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  remove(key: string): Promise<void>;
}

export interface AccountEntry {
  readonly index: number;
  readonly address: string;
  readonly name: string;
}

export interface PairedPhone {
  readonly name: string;
  readonly pairedAt: number;
  lastSeen: number;
}

export interface PublicState {
  relayUrl: string;
  phoneAppUrl: string;
  networks: Network[];
  activeChainId: number;
  autoLockMinutes: number;
  accounts: AccountEntry[];
  activeAccount: number;
  /** origin → permitted account addresses (EIP-2255 eth_accounts). */
  permissions: Record<string, { accounts: string[]; grantedAt: number }>;
  phone: PairedPhone | null;
}

export const DEFAULT_RELAY_URL = 'ws://127.0.0.1:8787';
export const DEFAULT_PHONE_APP_URL = 'http://127.0.0.1:8787/';
export const DEFAULT_AUTO_LOCK_MINUTES = 15;

export function defaultPublicState(): PublicState {
  return {
    relayUrl: DEFAULT_RELAY_URL,
    phoneAppUrl: DEFAULT_PHONE_APP_URL,
    networks: DEFAULT_NETWORKS.map((network) => ({ ...network })),
    activeChainId: LOCAL_CHAIN_ID,
    autoLockMinutes: DEFAULT_AUTO_LOCK_MINUTES,
    accounts: [],
    activeAccount: 0,
    permissions: {},
    phone: null,
  };
}

const STATE_KEY = 'duet/public-state';

export async function loadPublicState(store: KeyValueStore): Promise<PublicState> {
  return { ...defaultPublicState(), ...((await store.get<Partial<PublicState>>(STATE_KEY)) ?? {}) };
}

export async function savePublicState(store: KeyValueStore, state: PublicState): Promise<void> {
  await store.set(STATE_KEY, state);
}
