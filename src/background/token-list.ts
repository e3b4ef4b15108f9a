/**
 * The tokens and NFTs the user keeps an eye on, per chain and account: what wallet_watchAsset
 * (EIP-747) adds after the user approved it. Behind a small interface so the wallet's token
 * screens (popup Tokens, issue 16) can share one store; this implementation keeps the list in the
 * vault (which tokens an account holds is private), as one record.
 */
import type { TokenStandard } from '../wallet/signing-request.ts';
import type { SecretRecords } from './pairing.ts';

export interface WatchedAsset {
  readonly chainId: number;
  /** The account, checksummed. */
  readonly account: string;
  /** The token contract, checksummed. */
  readonly address: string;
  readonly standard: TokenStandard;
  readonly symbol: string | null;
  readonly decimals: number | null;
  /** The NFT's token ID (decimal) for ERC-721 and ERC-1155; null for ERC-20. */
  readonly tokenId: string | null;
  readonly addedAt: number;
}

export interface TokenList {
  list(): Promise<readonly WatchedAsset[]>;
  /** Adds an asset unless the same one (chain, account, contract, token ID) is listed; true if added. */
  add(asset: WatchedAsset): Promise<boolean>;
}

export const WATCHED_ASSETS_RECORD = 'watchedAssets/v1';
/** Bounds the record: a site cannot grow it without the user approving each entry anyway. */
export const MAX_WATCHED_ASSETS = 1_000;

export function sameAsset(a: Omit<WatchedAsset, 'addedAt'>, b: Omit<WatchedAsset, 'addedAt'>): boolean {
  return a.chainId === b.chainId && a.account === b.account && a.address === b.address && a.tokenId === b.tokenId;
}

/** The list in the vault: needs Duet unlocked (the vault getter throws otherwise). */
export class VaultTokenList implements TokenList {
  private readonly vault: () => SecretRecords;

  constructor(vault: () => SecretRecords) {
    this.vault = vault;
  }

  async list(): Promise<readonly WatchedAsset[]> {
    return (await this.vault().get<WatchedAsset[]>(WATCHED_ASSETS_RECORD)) ?? [];
  }

  async add(asset: WatchedAsset): Promise<boolean> {
    const current = await this.list();
    if (current.some((entry) => sameAsset(entry, asset))) return false;
    if (current.length >= MAX_WATCHED_ASSETS) throw new Error(`Duet keeps at most ${MAX_WATCHED_ASSETS} tokens.`);
    await this.vault().putMany({ [WATCHED_ASSETS_RECORD]: [...current, asset] });
    return true;
  }
}
