/**
 * EIP-2255 permissions, per origin. The only permission is eth_accounts with a
 * restrictReturnedAccounts caveat; the origin is always the browser's sender origin.
 */
import { rpcErrors } from '../provider/rpc-error.ts';
import { activeAccountEntry, type Mutable, type WalletState } from './wallet-state.ts';

export const ETH_ACCOUNTS_PERMISSION = 'eth_accounts';
export const RESTRICT_ACCOUNTS_CAVEAT = 'restrictReturnedAccounts';

export interface Eip2255Permission {
  readonly invoker: string;
  readonly parentCapability: typeof ETH_ACCOUNTS_PERMISSION;
  readonly date: number;
  readonly caveats: readonly { readonly type: typeof RESTRICT_ACCOUNTS_CAVEAT; readonly value: readonly string[] }[];
}

/** The accounts an origin may see, the active account first when it is among them (as MetaMask). */
export function permittedAccounts(state: WalletState, origin: string): string[] {
  const permission = state.permissions[origin];
  if (!permission) return [];
  const known = permission.accounts.filter((address) => state.accounts.some((account) => account.address === address));
  const active = activeAccountEntry(state)?.address;
  return active && known.includes(active) ? [active, ...known.filter((address) => address !== active)] : known;
}

/**
 * The accounts as a page sees them: lowercase, as MetaMask returns them from eth_accounts and
 * eth_requestAccounts (and as eth-sig-util's recover functions return an address), active first.
 */
export function pageAccounts(state: WalletState, origin: string): string[] {
  return permittedAccounts(state, origin).map((address) => address.toLowerCase());
}

/** Whether the site may switch to `chainId` without asking. */
export function isPermittedChain(state: WalletState, origin: string, chainId: number): boolean {
  const permission = state.permissions[origin];
  return permission !== undefined && (permission.chains === undefined || permission.chains.includes(chainId));
}

/** Adds a chain the user approved for the site (no change for a site that is not connected). */
export function permitChain(draft: Mutable<WalletState>, origin: string, chainId: number): void {
  const permission = draft.permissions[origin];
  if (!permission || permission.chains === undefined || permission.chains.includes(chainId)) return;
  draft.permissions = { ...draft.permissions, [origin]: { ...permission, chains: [...permission.chains, chainId] } };
}

/**
 * The network a page is on: a connected site's own (MetaMask's per-site network, as its
 * SelectedNetworkController keeps one per permitted domain), else the wallet's — for sites that are
 * not connected, for Duet's own pages, while locked (permissions are in the vault), and for a site
 * whose network was removed from Duet.
 */
export function siteChainId(state: WalletState, origin: string): number {
  const own = state.permissions[origin]?.chainId;
  return own !== undefined && state.networks.some((network) => network.chainId === own) ? own : state.activeChainId;
}

/** The connected sites on a network of their own: a switch of the wallet's network does not move them. */
export function sitesOnOwnChain(state: WalletState): Set<string> {
  return new Set(Object.keys(state.permissions).filter((origin) => state.permissions[origin]?.chainId !== undefined));
}

/** Moves a connected site to `chainId`; false when it is not connected or already there. */
export function setSiteChain(draft: Mutable<WalletState>, origin: string, chainId: number): boolean {
  const permission = draft.permissions[origin];
  if (!permission || permission.chainId === chainId) return false;
  draft.permissions = { ...draft.permissions, [origin]: { ...permission, chainId } };
  return true;
}

/** Sites on `chainId` (a network being removed) move to the wallet's network; returns them. */
export function sitesLeaveChain(draft: Mutable<WalletState>, chainId: number): string[] {
  const leaving = Object.keys(draft.permissions).filter((origin) => draft.permissions[origin]?.chainId === chainId);
  for (const origin of leaving) setSiteChain(draft, origin, draft.activeChainId);
  return leaving;
}

export function connectedOrigins(state: WalletState): string[] {
  return Object.keys(state.permissions);
}

export function grantAccounts(draft: Mutable<WalletState>, origin: string, accounts: readonly string[], now: number): void {
  if (accounts.length === 0) throw rpcErrors.invalidParams('Choose at least one account to connect.');
  for (const address of accounts) {
    if (!draft.accounts.some((account) => account.address === address)) throw rpcErrors.invalidParams(`Unknown account ${address}.`);
  }
  // Chains: those the site already had, else every network Duet has now (MetaMask's default of all enabled networks).
  const chains = draft.permissions[origin]?.chains ?? draft.networks.map((network) => network.chainId);
  // Network: the site's own if it had one, else the wallet's now (as MetaMask gives a newly permitted domain).
  const chainId = draft.permissions[origin]?.chainId ?? draft.activeChainId;
  draft.permissions = { ...draft.permissions, [origin]: { accounts: [...new Set(accounts)], grantedAt: now, chains, chainId } };
}

export function revokeOrigin(draft: Mutable<WalletState>, origin: string): boolean {
  if (!(origin in draft.permissions)) return false;
  const rest = { ...draft.permissions };
  delete rest[origin];
  draft.permissions = rest;
  return true;
}

export function eip2255Permissions(state: WalletState, origin: string): Eip2255Permission[] {
  const permission = state.permissions[origin];
  if (!permission) return [];
  return [{ invoker: origin, parentCapability: ETH_ACCOUNTS_PERMISSION, date: permission.grantedAt, caveats: [{ type: RESTRICT_ACCOUNTS_CAVEAT, value: pageAccounts(state, origin) }] }];
}

/** wallet_requestPermissions / wallet_revokePermissions take [{ eth_accounts: {} }]. */
export function parsePermissionRequest(method: string, params: unknown): void {
  if (!Array.isArray(params) || params.length !== 1 || typeof params[0] !== 'object' || params[0] === null || Array.isArray(params[0])) {
    throw rpcErrors.invalidParams(`${method} expects [{ eth_accounts: {} }].`);
  }
  const names = Object.keys(params[0]);
  if (names.length === 0) throw rpcErrors.invalidParams(`${method} needs at least one permission.`);
  const unknown = names.filter((name) => name !== ETH_ACCOUNTS_PERMISSION);
  if (unknown.length > 0) throw rpcErrors.invalidParams(`Duet has no permission named ${unknown.join(', ')}; only eth_accounts exists.`);
}
