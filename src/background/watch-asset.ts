/**
 * wallet_watchAsset (EIP-747) for ERC-20, ERC-721 and ERC-1155, as MetaMask supports them:
 * params { type, options } (also accepted wrapped in a one-element array, as some libraries send
 * it). The token is checked on the network before the user sees anything, as MetaMask's
 * TokensController.watchAsset and NftController.validateWatchNft (@metamask/assets-controllers)
 * check it: an ERC-20 must answer decimals(), and decimals or a symbol the site gives must be the
 * contract's (a mismatch is refused, -32602); a symbol the contract does not report is the site's,
 * and the card says so; an NFT must be ERC-721 / ERC-1155 by ERC-165 and held by the account. The
 * image URL is never fetched. Once the user approves, the asset joins the token list
 * (token-list.ts); an asset already listed is answered `true` without asking.
 */
import { getAddress } from 'ethers';
import { rpcErrors } from '../provider/rpc-error.ts';
import type { DisplayModel } from '../wallet/display-model.ts';
import { escapeHidden } from '../wallet/display-text.ts';
import type { TokenStandard } from '../wallet/signing-request.ts';
import { addressParam, type RpcCall } from './request-builders.ts';
import { findNft, findToken, listedToken, MAX_SYMBOL_CHARS, MAX_TOKEN_DECIMALS } from './token-list.ts';
import { holdsNft, readSymbolText, readToken } from './token-reader.ts';
import { WalletActionError } from './wallet-action-error.ts';
import type { NftEntry, TokenEntry, WalletState } from './wallet-state.ts';

/** What the user approves: the token as the network describes it (the site's symbol only where the contract has none). */
export type WatchAssetRequest =
  | { readonly standard: 'erc20'; readonly chainId: number; readonly token: TokenEntry; readonly siteSymbol: string | null }
  | { readonly standard: NftEntry['standard']; readonly chainId: number; readonly nft: NftEntry };

interface WatchAssetParams {
  readonly standard: TokenStandard;
  readonly address: string;
  readonly symbol: string | null;
  readonly decimals: number | null;
  readonly tokenId: bigint | null;
}

const TYPES: Readonly<Record<string, TokenStandard>> = { ERC20: 'erc20', ERC721: 'erc721', ERC1155: 'erc1155' };
const OPTION_KEYS: Readonly<Record<TokenStandard, ReadonlySet<string>>> = {
  erc20: new Set(['address', 'symbol', 'decimals', 'image']),
  erc721: new Set(['address', 'tokenId', 'image']),
  erc1155: new Set(['address', 'tokenId', 'image']),
};
const LABELS: Readonly<Record<TokenStandard, string>> = { erc20: 'ERC-20', erc721: 'ERC-721', erc1155: 'ERC-1155' };

function objectParam(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw rpcErrors.invalidParams(`${field} must be an object.`);
  return value as Record<string, unknown>;
}

/** options.decimals: a number, or a decimal string ("18") as some sites send it. */
function decimalsParam(value: unknown): number | null {
  if (value === undefined) return null;
  const decimals = typeof value === 'string' && /^\d{1,2}$/.test(value) ? Number(value) : value;
  if (typeof decimals !== 'number' || !Number.isInteger(decimals) || decimals < 0 || decimals > MAX_TOKEN_DECIMALS) throw rpcErrors.invalidParams(`options.decimals must be an integer from 0 to ${MAX_TOKEN_DECIMALS}.`);
  return decimals;
}

export function parseWatchAssetParams(params: unknown): WatchAssetParams {
  const raw = objectParam(Array.isArray(params) && params.length === 1 ? params[0] : params, 'params');
  const extra = Object.keys(raw).find((key) => key !== 'type' && key !== 'options');
  if (extra !== undefined) throw rpcErrors.invalidParams(`Unexpected parameter ${extra}: wallet_watchAsset takes { type, options }.`);
  const standard = typeof raw.type === 'string' ? TYPES[raw.type.toUpperCase()] : undefined;
  if (!standard) throw rpcErrors.invalidParams('type must be ERC20, ERC721 or ERC1155.');
  const options = objectParam(raw.options, 'options');
  const unexpected = Object.keys(options).find((key) => !OPTION_KEYS[standard].has(key));
  if (unexpected !== undefined) throw rpcErrors.invalidParams(`Unexpected option ${unexpected} for ${LABELS[standard]}.`);
  if (options.image !== undefined && typeof options.image !== 'string') throw rpcErrors.invalidParams('options.image must be a URL string.');
  const address = addressParam(options.address, 'options.address');
  if (standard !== 'erc20') {
    const { tokenId } = options;
    const valid = (typeof tokenId === 'string' && /^[0-9]{1,78}$/.test(tokenId)) || (typeof tokenId === 'number' && Number.isSafeInteger(tokenId) && tokenId >= 0);
    if (!valid || BigInt(tokenId as string | number) >= 1n << 256n) throw rpcErrors.invalidParams('options.tokenId must be a token ID (a decimal string).');
    return { standard, address, symbol: null, decimals: null, tokenId: BigInt(tokenId as string | number) };
  }
  const { symbol } = options;
  if (symbol !== undefined && (typeof symbol !== 'string' || symbol.length === 0 || symbol.length > MAX_SYMBOL_CHARS)) throw rpcErrors.invalidParams(`options.symbol must be 1 to ${MAX_SYMBOL_CHARS} characters.`);
  return { standard, address, symbol: (symbol as string | undefined) ?? null, decimals: decimalsParam(options.decimals), tokenId: null };
}

/** An ERC-20's list entry: the contract's symbol and decimals, compared with the site's. */
async function checkToken(params: WatchAssetParams, rpc: RpcCall, chainId: number, decimals: number | null): Promise<WatchAssetRequest> {
  if (params.decimals !== null && params.decimals !== decimals) throw rpcErrors.invalidParams(`options.decimals: the token has ${decimals} decimals, not ${params.decimals}.`);
  const contractSymbol = (await readSymbolText(rpc, params.address)) || null;
  if (params.symbol !== null && contractSymbol !== null && params.symbol !== contractSymbol) {
    throw rpcErrors.invalidParams(`The symbol in the request (${escapeHidden(params.symbol).text}) is not the token's (${escapeHidden(contractSymbol).text}).`);
  }
  const siteSymbol = contractSymbol === null ? params.symbol : null;
  let token: TokenEntry;
  try {
    token = listedToken(params.address, contractSymbol ?? siteSymbol, decimals, 'options.address');
  } catch (error) {
    if (error instanceof WalletActionError) throw rpcErrors.invalidParams(`${error.field}: ${error.message}`);
    throw error;
  }
  return { standard: 'erc20', chainId, token, siteSymbol };
}

/** Checks the asset on the network for `account`; a mismatch is -32602 naming it, before any window. */
export async function checkWatchAsset(params: WatchAssetParams, rpc: RpcCall, chainId: number, account: string): Promise<WatchAssetRequest> {
  const token = await readToken(rpc, params.address);
  const label = LABELS[params.standard];
  if (!token || token.standard !== params.standard) throw rpcErrors.invalidParams(`${params.address} is not an ${label} token on this network.`);
  if (token.standard === 'erc20' || params.tokenId === null) return checkToken(params, rpc, chainId, token.decimals);
  const holder = getAddress(account);
  if (!(await holdsNft(rpc, token.standard, token.address, holder, params.tokenId))) throw rpcErrors.invalidParams(`The account does not own token ${params.tokenId} of ${token.address}.`);
  return { standard: token.standard, chainId, nft: { address: token.address, standard: token.standard, tokenId: params.tokenId.toString(), account: holder, symbol: token.symbol } };
}

/** Whether the list already holds the asset (the site is then answered at once). */
export function isWatched(state: WalletState, request: WatchAssetRequest): boolean {
  return request.standard === 'erc20' ? findToken(state, request.chainId, request.token.address) !== undefined : findNft(state, request.chainId, request.nft) !== undefined;
}

export function watchAssetModel(request: WatchAssetRequest, network: string): DisplayModel {
  const label = LABELS[request.standard];
  const note = 'Duet lists it; nothing is signed or moved.';
  if (request.standard === 'erc20') {
    const { token, siteSymbol } = request;
    return {
      title: `Add a token (${label})`,
      fields: [
        { label: 'Network', value: network },
        { label: 'Token contract', value: token.address },
        { label: 'Symbol', value: token.symbol },
        { label: 'Decimals', value: String(token.decimals) },
        { label: 'What happens', value: note },
      ],
      warnings: siteSymbol !== null ? [`The token's contract reports no symbol: ${siteSymbol} is what the site calls it. Check the contract address.`] : [],
    };
  }
  const { nft } = request;
  return {
    title: `Add an NFT (${label})`,
    fields: [
      { label: 'Network', value: network },
      { label: 'Collection', value: nft.symbol ? `${nft.address} (${nft.symbol})` : nft.address },
      { label: 'Token ID', value: nft.tokenId },
      { label: 'Owner', value: nft.account },
      { label: 'What happens', value: note },
    ],
    warnings: [],
  };
}
