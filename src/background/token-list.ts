/**
 * The user's token list, per network, in the wallet state (vault record "walletState", so which
 * tokens an account watches stays private):
 * - ERC-20 tokens, shown for every account with its balance: added by contract address in the
 *   popup, or by a site's wallet_watchAsset (EIP-747) once the user approved it;
 * - NFTs (ERC-721, ERC-1155): one token ID held by one account, added by wallet_watchAsset.
 * The symbol and decimals always come from the chain (symbol(), decimals(), token-reader.ts); a
 * site's own values are only compared with them (watch-asset.ts refuses a mismatch, as MetaMask
 * does), and a site's symbol is used only for a token whose contract reports none.
 *
 * `addWatchedToken` and `addWatchedNft` are the entry points for adding: the popup and
 * wallet_watchAsset both call them.
 */
import { getAddress } from 'ethers';
import { safeDisplayText } from '../wallet/presign-facts.ts';
import type { RpcCall } from './request-builders.ts';
import { isContractCode, readDecimalsValue, readSymbolText } from './token-reader.ts';
import { WalletActionError } from './wallet-action-error.ts';
import type { NftEntry, TokenEntry, WalletState, WalletStateStore } from './wallet-state.ts';

/** A network's list holds at most this many tokens, and this many NFTs. */
export const MAX_TOKENS_PER_CHAIN = 100;
/** Up to 11 characters, as MetaMask's wallet_watchAsset allows (metamask-docs, WatchAssetParams). */
export const MAX_SYMBOL_CHARS = 11;
/** Decimals above 36 are refused, as MetaMask's TokensController does. */
export const MAX_TOKEN_DECIMALS = 36;

function tokenError(message: string, field: string): WalletActionError {
  return new WalletActionError('invalid_input', message, field);
}

/** The list's entry for an ERC-20, from what the chain (or the site, for a missing symbol) says; refuses what Duet cannot show. */
export function listedToken(address: string, symbol: string | null, decimals: bigint | number | null, field: string): TokenEntry {
  const token = getAddress(address);
  if (symbol === null || symbol === '') throw tokenError(`${token} does not answer symbol() as an ERC-20 token does.`, field);
  if (safeDisplayText(symbol, MAX_SYMBOL_CHARS) !== symbol) throw tokenError(`The token's symbol is longer than ${MAX_SYMBOL_CHARS} characters or holds characters that could disguise it; Duet does not list it.`, field);
  if (decimals === null || BigInt(decimals) > BigInt(MAX_TOKEN_DECIMALS)) throw tokenError(`${token} does not answer decimals() with 0–${MAX_TOKEN_DECIMALS}.`, field);
  return { address: token, symbol, decimals: Number(decimals) };
}

/** Reads a token's symbol and decimals from the chain; refuses what is not an ERC-20 Duet can show. */
export async function readTokenMetadata(rpc: RpcCall, address: string, field = 'address'): Promise<TokenEntry> {
  const token = getAddress(address);
  if (!isContractCode(await rpc('eth_getCode', [token, 'latest']))) throw tokenError(`${token} is not a contract on this network.`, field);
  const [symbol, decimals] = await Promise.all([readSymbolText(rpc, token), readDecimalsValue(rpc, token)]);
  return listedToken(token, symbol, decimals, field);
}

export function tokensOn(state: WalletState, chainId: number): readonly TokenEntry[] {
  return state.tokens[String(chainId)] ?? [];
}

export function findToken(state: WalletState, chainId: number, address: string): TokenEntry | undefined {
  const wanted = getAddress(address);
  return tokensOn(state, chainId).find((token) => token.address === wanted);
}

/** The NFTs listed on a network, all of them or those of one account. */
export function nftsOn(state: WalletState, chainId: number, account?: string): readonly NftEntry[] {
  const list = state.nfts[String(chainId)] ?? [];
  return account === undefined ? list : list.filter((nft) => nft.account === getAddress(account));
}

const sameNft = (a: NftEntry, b: Pick<NftEntry, 'address' | 'tokenId' | 'account'>) => a.address === b.address && a.tokenId === b.tokenId && a.account === b.account;

export function findNft(state: WalletState, chainId: number, nft: Pick<NftEntry, 'address' | 'tokenId' | 'account'>): NftEntry | undefined {
  return nftsOn(state, chainId).find((entry) => sameNft(entry, nft));
}

/** Adds a token (read from the chain) to a network's list; false when it was already there. */
export function addWatchedToken(store: WalletStateStore, chainId: number, token: TokenEntry): Promise<boolean> {
  return store.update((draft) => {
    const list = tokensOn(draft, chainId);
    if (list.some((entry) => entry.address === token.address)) return false;
    if (list.length >= MAX_TOKENS_PER_CHAIN) throw tokenError(`This network's token list is full (${MAX_TOKENS_PER_CHAIN}). Remove a token first.`, 'address');
    draft.tokens = { ...draft.tokens, [String(chainId)]: [...list, { address: token.address, symbol: token.symbol, decimals: token.decimals }] };
    return true;
  });
}

/** Adds an NFT (checked on the chain) to a network's list; false when it was already there. */
export function addWatchedNft(store: WalletStateStore, chainId: number, nft: NftEntry): Promise<boolean> {
  return store.update((draft) => {
    const list = nftsOn(draft, chainId);
    if (list.some((entry) => sameNft(entry, nft))) return false;
    if (list.length >= MAX_TOKENS_PER_CHAIN) throw tokenError(`This network's NFT list is full (${MAX_TOKENS_PER_CHAIN}). Remove an NFT first.`, 'address');
    const { address, standard, tokenId, account, symbol } = nft;
    draft.nfts = { ...draft.nfts, [String(chainId)]: [...list, { address, standard, tokenId, account, symbol }] };
    return true;
  });
}

export function removeToken(store: WalletStateStore, chainId: number, address: string): Promise<void> {
  return store.update((draft) => {
    const list = tokensOn(draft, chainId);
    if (!list.some((entry) => entry.address === address)) throw new WalletActionError('not_found', 'This token is not in the list.', 'address');
    draft.tokens = { ...draft.tokens, [String(chainId)]: list.filter((entry) => entry.address !== address) };
  });
}

export function removeNft(store: WalletStateStore, chainId: number, nft: Pick<NftEntry, 'address' | 'tokenId' | 'account'>): Promise<void> {
  return store.update((draft) => {
    const list = nftsOn(draft, chainId);
    if (!list.some((entry) => sameNft(entry, nft))) throw new WalletActionError('not_found', 'This NFT is not in the list.', 'address');
    draft.nfts = { ...draft.nfts, [String(chainId)]: list.filter((entry) => !sameNft(entry, nft)) };
  });
}
