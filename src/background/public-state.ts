/**
 * The extension's public (non-secret) state, kept in chrome.storage.local: networks, the active
 * chain, account names and addresses, per-origin permissions, paired devices and settings.
 * Secrets (key share, pairing keys, the paired public key and chain code) live only in the vault.
 *
 * Updates are serialised and applied to a copy: a mutation that throws leaves both the stored and
 * the cached state exactly as they were.
 */
import { DEFAULT_NETWORKS, LOCAL_CHAIN_ID, type Network } from '../wallet/chains.ts';
import type { KeyValueStore } from './storage.ts';

export interface WalletNetwork extends Network {
  /** Presets (local anvil, Ethereum, Sepolia) can be edited but not removed. */
  readonly preset: boolean;
}

export interface AccountEntry {
  readonly index: number;
  readonly address: string;
  readonly name: string;
}

export interface SitePermission {
  /** EIP-2255 eth_accounts caveat: the addresses this origin may see, checksummed. */
  readonly accounts: readonly string[];
  readonly grantedAt: number;
}

export interface PairedDevice {
  readonly id: string;
  readonly name: string;
  readonly pairedAt: number;
  readonly lastSeen: number | null;
}

export interface PublicState {
  readonly relayUrl: string;
  readonly phoneAppUrl: string;
  readonly networks: readonly WalletNetwork[];
  readonly activeChainId: number;
  /** Minutes of inactivity before the vault locks; 0 turns auto-lock off. */
  readonly autoLockMinutes: number;
  readonly accounts: readonly AccountEntry[];
  readonly activeAccount: number;
  readonly permissions: Readonly<Record<string, SitePermission>>;
  readonly devices: readonly PairedDevice[];
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

export const DEFAULT_RELAY_URL = 'ws://127.0.0.1:8787';
export const DEFAULT_PHONE_APP_URL = 'http://127.0.0.1:8787/';
/** Auto-lock is on by default: 15 minutes without using Duet. */
export const DEFAULT_AUTO_LOCK_MINUTES = 15;
export const AUTO_LOCK_CHOICES_MINUTES: readonly number[] = [0, 1, 5, 15, 30, 60, 240];
const STATE_KEY = 'duet/public-state/v1';

export function defaultPublicState(): PublicState {
  return {
    relayUrl: DEFAULT_RELAY_URL,
    phoneAppUrl: DEFAULT_PHONE_APP_URL,
    networks: DEFAULT_NETWORKS.map((network) => ({ ...network, preset: true })),
    activeChainId: LOCAL_CHAIN_ID,
    autoLockMinutes: DEFAULT_AUTO_LOCK_MINUTES,
    accounts: [],
    activeAccount: 0,
    permissions: {},
    devices: [],
  };
}

export class PublicStateStore {
  private readonly store: KeyValueStore;
  private cached: PublicState | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(store: KeyValueStore) {
    this.store = store;
  }

  async read(): Promise<PublicState> {
    await this.queue.catch(() => undefined);
    return this.load();
  }

  /** Applies `mutate` to a copy and saves it; if `mutate` throws, nothing changes. */
  update<R>(mutate: (draft: Mutable<PublicState>) => R): Promise<R> {
    const run = this.queue.catch(() => undefined).then(async () => {
      const draft = structuredClone(await this.load()) as Mutable<PublicState>;
      const result = mutate(draft);
      await this.store.set(STATE_KEY, draft);
      this.cached = draft;
      return result;
    });
    this.queue = run;
    return run;
  }

  private async load(): Promise<PublicState> {
    if (!this.cached) {
      const stored = await this.store.get<Partial<PublicState>>(STATE_KEY);
      this.cached = { ...defaultPublicState(), ...(stored ?? {}) };
    }
    return this.cached;
  }
}

export function activeNetwork(state: PublicState): WalletNetwork {
  const network = state.networks.find((candidate) => candidate.chainId === state.activeChainId) ?? state.networks[0];
  if (!network) throw new Error('no network is configured');
  return network;
}

export function activeAccountEntry(state: PublicState): AccountEntry | null {
  return state.accounts.find((account) => account.index === state.activeAccount) ?? state.accounts[0] ?? null;
}
