/**
 * wallet_watchAsset (EIP-747) for ERC-20, ERC-721 and ERC-1155, as MetaMask supports them:
 * params { type, options } (also accepted wrapped in an array). The token is checked on the
 * network before the user sees anything, as MetaMask's TokensController.watchAsset and
 * NftController.validateWatchNft (@metamask/assets-controllers) check it: an ERC-20 must answer
 * decimals(), and decimals or a symbol the site gives must be the contract's (a mismatch is
 * refused); a symbol the contract does not report is the site's, and the card says so; an NFT
 * must be ERC-721 / ERC-1155 by ERC-165 and held by the account. The image URL is never fetched.
 */
import { getAddress } from 'ethers';
import { rpcErrors } from '../provider/rpc-error.ts';
import type { DisplayModel } from '../wallet/display-model.ts';
import { escapeHidden } from '../wallet/display-text.ts';
import type { TokenStandard } from '../wallet/signing-request.ts';
import { addressParam, type RpcCall } from './request-builders.ts';
import type { WatchedAsset } from './token-list.ts';
import { holdsNft, readToken } from './token-reader.ts';

/** What the user approves: the token as the network describes it (the site's symbol only where the contract has none). */
export type WatchAssetRequest = Omit<WatchedAsset, 'addedAt'> & { readonly siteSymbol: string | null };

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
/** MetaMask's bounds: symbols of at most 11 characters, 0 to 36 decimals. */
const MAX_SITE_SYMBOL_LENGTH = 11;
const MAX_SITE_DECIMALS = 36;
const LABELS: Readonly<Record<TokenStandard, string>> = { erc20: 'ERC-20', erc721: 'ERC-721', erc1155: 'ERC-1155' };

function objectParam(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw rpcErrors.invalidParams(`${field} must be an object.`);
  return value as Record<string, unknown>;
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
  const { symbol, decimals } = options;
  if (symbol !== undefined && (typeof symbol !== 'string' || symbol.length === 0 || symbol.length > MAX_SITE_SYMBOL_LENGTH)) throw rpcErrors.invalidParams(`options.symbol must be 1 to ${MAX_SITE_SYMBOL_LENGTH} characters.`);
  if (decimals !== undefined && (typeof decimals !== 'number' || !Number.isInteger(decimals) || decimals < 0 || decimals > MAX_SITE_DECIMALS)) throw rpcErrors.invalidParams(`options.decimals must be an integer from 0 to ${MAX_SITE_DECIMALS}.`);
  return { standard, address, symbol: (symbol as string | undefined) ?? null, decimals: (decimals as number | undefined) ?? null, tokenId: null };
}

/** Checks the asset on the network for `account`; a mismatch is -32602 naming it, before any window. */
export async function checkWatchAsset(params: WatchAssetParams, rpc: RpcCall, chainId: number, account: string): Promise<WatchAssetRequest> {
  const token = await readToken(rpc, params.address);
  const label = LABELS[params.standard];
  if (!token || token.standard !== params.standard) throw rpcErrors.invalidParams(`${params.address} is not an ${label} token on this network.`);
  const holder = getAddress(account);
  if (params.tokenId !== null) {
    if (!(await holdsNft(rpc, params.standard as 'erc721' | 'erc1155', token.address, holder, params.tokenId))) throw rpcErrors.invalidParams(`The account does not own token ${params.tokenId} of ${token.address}.`);
  }
  if (params.decimals !== null && params.decimals !== token.decimals) throw rpcErrors.invalidParams(`The decimals in the request (${params.decimals}) are not the token's (${token.decimals}).`);
  if (params.symbol !== null && token.symbol !== null && params.symbol !== token.symbol) throw rpcErrors.invalidParams(`The symbol in the request (${escapeHidden(params.symbol).text}) is not the token's (${token.symbol}).`);
  const siteSymbol = token.symbol === null && params.symbol !== null ? escapeHidden(params.symbol).text : null;
  return {
    chainId,
    account: holder,
    address: token.address,
    standard: token.standard,
    symbol: token.symbol ?? siteSymbol,
    decimals: token.decimals,
    tokenId: params.tokenId === null ? null : params.tokenId.toString(),
    siteSymbol,
  };
}

export function watchAssetModel(request: WatchAssetRequest, network: string): DisplayModel {
  const label = LABELS[request.standard];
  const note = 'Duet lists it for this account; nothing is signed or moved.';
  if (request.standard === 'erc20') {
    return {
      title: `Add a token (${label})`,
      fields: [
        { label: 'Network', value: network },
        { label: 'Token contract', value: request.address },
        { label: 'Symbol', value: request.symbol ?? '(none)' },
        { label: 'Decimals', value: String(request.decimals) },
        { label: 'What happens', value: note },
      ],
      warnings: request.siteSymbol !== null ? [`The token's contract reports no symbol: ${request.siteSymbol} is what the site calls it. Check the contract address.`] : [],
    };
  }
  return {
    title: `Add an NFT (${label})`,
    fields: [
      { label: 'Network', value: network },
      { label: 'Collection', value: request.symbol ? `${request.address} (${request.symbol})` : request.address },
      { label: 'Token ID', value: request.tokenId ?? '' },
      { label: 'Owner', value: request.account },
      { label: 'What happens', value: note },
    ],
    warnings: [],
  };
}
