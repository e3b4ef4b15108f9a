/**
 * The wallet's settings and records outside the key material: networks, the active chain,
 * accounts, per-origin permissions, paired devices, relay and phone-app URLs, auto-lock.
 *
 * Two parts, kept in two places:
 * - public, in chrome.storage.local (plain): what a locked Duet needs to answer pages and show the
 *   unlock screen — the networks without their RPC URLs (chain id, name, symbol, explorer), the
 *   active chain, the auto-lock delay;
 * - private, in the vault (AES-GCM under the password's key, record "walletState"): RPC URLs (they
 *   may carry API keys), account names and addresses, connected sites, devices, relay and phone-app
 *   URLs, the token list (tokens and NFTs), the direct path's settings (TURN credentials). It is in memory only while unlocked; locked, reads see it empty (no accounts, no
 *   connections, no RPC URLs) and changes to it are refused.
 *
 * Updates are serialised and applied to a copy: a mutation that throws, or a write that fails,
 * leaves the cached state as it was. Each part is written only when it changed, private first.
 */
import { DEFAULT_DIRECT_SETTINGS, type DirectSettings } from '../channel/direct-path.ts';
import { DEFAULT_NETWORKS, LOCAL_CHAIN_ID, type Network } from '../wallet/chains.ts';
import type { SecretRecords } from './pairing.ts';
import type { KeyValueStore } from './storage.ts';
import { WalletActionError } from './wallet-action-error.ts';

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
  /**
   * The chains this site may switch to without asking (MetaMask's permitted chains): the networks
   * Duet had when the site connected, and those the user approved for it since. Permissions
   * granted before this existed have none: every network, as they had.
   */
  readonly chains?: readonly number[];
  /**
   * The network this site is on (MetaMask's per-site network): the wallet's network when the site
   * connected, then each one it switched to. Permissions granted before this existed have none:
   * the site follows the wallet's network.
   */
  readonly chainId?: number;
}

export interface PairedDevice {
  readonly id: string;
  readonly name: string;
  readonly pairedAt: number;
  readonly lastSeen: number | null;
  /**
   * When the phone said a signature this browser computed failed its check (a possible
   * leaked-abort attack, CVE-2023-33242): from then on it co-signs only rescue transfers.
   */
  readonly taintedAt?: number;
}

/** An ERC-20 token in the user's list (per network); symbol and decimals as read from the chain. */
export interface TokenEntry {
  readonly address: string;
  readonly symbol: string;
  readonly decimals: number;
}

/** An NFT in the user's list (per network): one token ID of an ERC-721 or ERC-1155 collection, held by one account. */
export interface NftEntry {
  /** The collection's contract, checksummed. */
  readonly address: string;
  readonly standard: 'erc721' | 'erc1155';
  /** The token ID, in decimal. */
  readonly tokenId: string;
  /** The account that held it when it was added, checksummed. */
  readonly account: string;
  /** The collection's symbol() (ERC-721), when it answers one that is safe to show. */
  readonly symbol: string | null;
}

export interface WalletState {
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
  /** The token list, per chain id (decimal string keys): ERC-20 tokens… */
  readonly tokens: Readonly<Record<string, readonly TokenEntry[]>>;
  /** The member this browser asks first to co-sign (identity key, hex); null: any that is online. */
  readonly defaultCoSigner: string | null;
  /** …and NFTs (wallet_watchAsset). */
  readonly nfts: Readonly<Record<string, readonly NftEntry[]>>;
  /** The direct WebRTC path to the phone: on or off, and the ICE servers (Advanced settings). */
  readonly directPath: DirectSettings;
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

export const DEFAULT_RELAY_URL = 'ws://127.0.0.1:8787';
export const DEFAULT_PHONE_APP_URL = 'http://127.0.0.1:8787/';
/** Auto-lock is on by default: 15 minutes without using Duet. */
export const DEFAULT_AUTO_LOCK_MINUTES = 15;
export const AUTO_LOCK_CHOICES_MINUTES: readonly number[] = [0, 1, 5, 15, 30, 60, 240];
const PUBLIC_KEY = 'duet/public-state/v2';
/** Before v2 everything was in plain storage; it is moved into the vault at the first unlock. */
const LEGACY_KEY = 'duet/public-state/v1';
export const WALLET_STATE_RECORD = 'walletState';

type PublicNetwork = Omit<WalletNetwork, 'rpcUrl'>;

interface PublicPart {
  readonly networks: readonly PublicNetwork[];
  readonly activeChainId: number;
  readonly autoLockMinutes: number;
}

interface PrivatePart {
  readonly relayUrl: string;
  readonly phoneAppUrl: string;
  /** RPC URL per chain id (decimal string keys). */
  readonly rpcUrls: Readonly<Record<string, string>>;
  readonly accounts: readonly AccountEntry[];
  readonly activeAccount: number;
  readonly permissions: Readonly<Record<string, SitePermission>>;
  readonly devices: readonly PairedDevice[];
  readonly tokens: Readonly<Record<string, readonly TokenEntry[]>>;
  readonly defaultCoSigner: string | null;
  readonly nfts: Readonly<Record<string, readonly NftEntry[]>>;
  readonly directPath: DirectSettings;
}

export function defaultWalletState(): WalletState {
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
    tokens: {},
    defaultCoSigner: null,
    nfts: {},
    directPath: DEFAULT_DIRECT_SETTINGS,
  };
}

function split(state: WalletState): [PublicPart, PrivatePart] {
  const rpcUrls: Record<string, string> = {};
  for (const network of state.networks) if (network.rpcUrl) rpcUrls[String(network.chainId)] = network.rpcUrl;
  return [
    { networks: state.networks.map(({ rpcUrl: _rpcUrl, ...network }) => network), activeChainId: state.activeChainId, autoLockMinutes: state.autoLockMinutes },
    { relayUrl: state.relayUrl, phoneAppUrl: state.phoneAppUrl, rpcUrls, accounts: state.accounts, activeAccount: state.activeAccount, permissions: state.permissions, devices: state.devices, tokens: state.tokens, nfts: state.nfts, defaultCoSigner: state.defaultCoSigner, directPath: state.directPath },
  ];
}

function merge(publicPart: PublicPart, privatePart: PrivatePart): WalletState {
  const { rpcUrls, ...rest } = privatePart;
  return { ...publicPart, ...rest, networks: publicPart.networks.map((network) => ({ ...network, rpcUrl: rpcUrls[String(network.chainId)] ?? '' })) };
}

const [DEFAULT_PUBLIC, DEFAULT_PRIVATE] = split(defaultWalletState());
/** What a locked Duet sees of the private part: nothing. */
const LOCKED_PRIVATE: PrivatePart = { ...DEFAULT_PRIVATE, rpcUrls: {} };
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export class WalletStateStore {
  private readonly local: KeyValueStore;
  private publicPart: PublicPart | null = null;
  /** While unlocked: the vault and the private part read from it. */
  private opened: { readonly vault: SecretRecords; privatePart: PrivatePart } | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(local: KeyValueStore) {
    this.local = local;
  }

  /** After unlocking: reads the private part from the vault (moving a pre-v2 plain state there). */
  open(vault: SecretRecords): Promise<void> {
    return this.serial(async () => {
      const stored = await vault.get<PrivatePart>(WALLET_STATE_RECORD);
      const legacy = await this.local.get<Partial<WalletState>>(LEGACY_KEY);
      if (stored === undefined && legacy !== undefined) {
        const [publicPart, privatePart] = split({ ...defaultWalletState(), ...legacy });
        await vault.putMany({ [WALLET_STATE_RECORD]: privatePart });
        await this.local.set(PUBLIC_KEY, publicPart);
        this.publicPart = publicPart;
      }
      if (legacy !== undefined) await this.local.remove(LEGACY_KEY);
      // Records written before a field existed get its default (tokens and nfts came with the token list).
      const privatePart = { ...DEFAULT_PRIVATE, ...(await vault.get<Partial<PrivatePart>>(WALLET_STATE_RECORD)) };
      this.opened = { vault, privatePart };
    });
  }

  /** Locking: the private part leaves memory. */
  close(): void {
    this.opened = null;
  }

  async read(): Promise<WalletState> {
    await this.queue.catch(() => undefined);
    return merge(await this.loadPublic(), this.opened?.privatePart ?? LOCKED_PRIVATE);
  }

  /** Applies `mutate` to a copy and saves what changed; if `mutate` or a write throws, nothing changes. */
  update<R>(mutate: (draft: Mutable<WalletState>) => R): Promise<R> {
    return this.serial(async () => {
      const currentPublic = await this.loadPublic();
      const opened = this.opened;
      const draft = structuredClone(merge(currentPublic, opened?.privatePart ?? LOCKED_PRIVATE)) as Mutable<WalletState>;
      const result = mutate(draft);
      const [publicPart, privatePart] = split(draft);
      if (!opened && !same(privatePart, LOCKED_PRIVATE)) throw new WalletActionError('locked', 'Duet is locked. Unlock it first.');
      if (opened && !same(privatePart, opened.privatePart)) {
        await opened.vault.putMany({ [WALLET_STATE_RECORD]: privatePart });
        opened.privatePart = privatePart;
      }
      if (!same(publicPart, currentPublic)) {
        await this.local.set(PUBLIC_KEY, publicPart);
        this.publicPart = publicPart;
      }
      return result;
    });
  }

  private serial<R>(task: () => Promise<R>): Promise<R> {
    const run = this.queue.catch(() => undefined).then(task);
    this.queue = run;
    return run;
  }

  private async loadPublic(): Promise<PublicPart> {
    if (!this.publicPart) {
      const stored = (await this.local.get<Partial<PublicPart>>(PUBLIC_KEY)) ?? (await this.local.get<Partial<PublicPart>>(LEGACY_KEY));
      const publicPart = { ...DEFAULT_PUBLIC, ...(stored ?? {}) };
      this.publicPart = split(merge(publicPart, LOCKED_PRIVATE))[0];
    }
    return this.publicPart;
  }
}

export function activeNetwork(state: WalletState): WalletNetwork {
  const network = state.networks.find((candidate) => candidate.chainId === state.activeChainId) ?? state.networks[0];
  if (!network) throw new Error('no network is configured');
  return network;
}

export function activeAccountEntry(state: WalletState): AccountEntry | null {
  return state.accounts.find((account) => account.index === state.activeAccount) ?? state.accounts[0] ?? null;
}
