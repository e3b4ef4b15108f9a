/**
 * The user's ERC-20 token list, per network, in the wallet state (vault): added by contract
 * address in the popup or by a site's wallet_watchAsset (EIP-747) once the user approved it. The
 * symbol and decimals always come from the chain (symbol(), decimals()); a site's own values are
 * only compared with them. Balances are read per account with balanceOf().
 *
 * `addWatchedToken` is the one entry point for adding: the popup and the wallet_watchAsset method
 * (watch-asset.ts, or the dApp-compatibility work's version of it) both call it.
 */
import { AbiCoder, getAddress, toUtf8String } from 'ethers';
import { MAX_SYMBOL_CHARS, MAX_TOKEN_DECIMALS, safeDisplayText } from '../wallet/presign-facts.ts';
import type { RpcCall } from './request-builders.ts';
import { WalletActionError } from './wallet-action-error.ts';
import type { TokenEntry, WalletState, WalletStateStore } from './wallet-state.ts';

/** A network's list holds at most this many tokens. */
export const MAX_TOKENS_PER_CHAIN = 100;
const SELECTOR_SYMBOL = '0x95d89b41';
const SELECTOR_DECIMALS = '0x313ce567';
const SELECTOR_BALANCE_OF = '0x70a08231';
/** An EIP-7702 delegation designator (0xef0100 ‖ address) marks an account, not a contract. */
const DELEGATION_DESIGNATOR = '0xef0100';

/** True when `code` (eth_getCode) is a contract's: not empty, not only an EIP-7702 delegation. */
export function isContractCode(code: unknown): boolean {
  return typeof code === 'string' && code !== '0x' && code !== '0x0' && !(code.length === 48 && code.toLowerCase().startsWith(DELEGATION_DESIGNATOR));
}

function call(rpc: RpcCall, to: string, data: string): Promise<unknown> {
  return rpc('eth_call', [{ to, data }, 'latest']);
}

/** symbol() as string, or as bytes32 (older tokens such as MKR). */
function decodeSymbol(result: unknown): string | null {
  if (typeof result !== 'string' || !/^0x[0-9a-fA-F]*$/.test(result)) return null;
  try {
    return String(AbiCoder.defaultAbiCoder().decode(['string'], result)[0]);
  } catch {
    if (result.length !== 66) return null;
    try {
      return toUtf8String(result.replace(/(00)+$/, ''));
    } catch {
      return null;
    }
  }
}

function tokenError(message: string, field: string): WalletActionError {
  return new WalletActionError('invalid_input', message, field);
}

/** Reads a token's symbol and decimals from the chain; refuses what is not an ERC-20 Duet can show. */
export async function readTokenMetadata(rpc: RpcCall, address: string, field = 'address'): Promise<TokenEntry> {
  const token = getAddress(address);
  if (!isContractCode(await rpc('eth_getCode', [token, 'latest']))) throw tokenError(`${token} is not a contract on this network.`, field);
  const [symbolResult, decimalsResult] = await Promise.all([call(rpc, token, SELECTOR_SYMBOL).catch(() => null), call(rpc, token, SELECTOR_DECIMALS).catch(() => null)]);
  const symbol = decodeSymbol(symbolResult);
  if (symbol === null || symbol === '') throw tokenError(`${token} does not answer symbol() as an ERC-20 token does.`, field);
  if (safeDisplayText(symbol, MAX_SYMBOL_CHARS) !== symbol) throw tokenError(`The token's symbol is longer than ${MAX_SYMBOL_CHARS} characters or holds characters that could disguise it; Duet does not list it.`, field);
  const decimals = typeof decimalsResult === 'string' && /^0x[0-9a-fA-F]{64}$/.test(decimalsResult) ? BigInt(decimalsResult) : null;
  if (decimals === null || decimals > BigInt(MAX_TOKEN_DECIMALS)) throw tokenError(`${token} does not answer decimals() with 0–${MAX_TOKEN_DECIMALS}.`, field);
  return { address: token, symbol, decimals: Number(decimals) };
}

export function tokensOn(state: WalletState, chainId: number): readonly TokenEntry[] {
  return state.tokens[String(chainId)] ?? [];
}

export function findToken(state: WalletState, chainId: number, address: string): TokenEntry | undefined {
  const wanted = getAddress(address);
  return tokensOn(state, chainId).find((token) => token.address === wanted);
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

export function removeToken(store: WalletStateStore, chainId: number, address: string): Promise<void> {
  return store.update((draft) => {
    const list = tokensOn(draft, chainId);
    if (!list.some((entry) => entry.address === address)) throw new WalletActionError('not_found', 'This token is not in the list.', 'address');
    draft.tokens = { ...draft.tokens, [String(chainId)]: list.filter((entry) => entry.address !== address) };
  });
}

/** balanceOf(account) in raw units, or null when the token does not answer. */
export async function tokenBalance(rpc: RpcCall, token: string, account: string): Promise<bigint | null> {
  const result = await call(rpc, token, `${SELECTOR_BALANCE_OF}${getAddress(account).slice(2).toLowerCase().padStart(64, '0')}`).catch(() => null);
  return typeof result === 'string' && /^0x[0-9a-fA-F]{64}$/.test(result) ? BigInt(result) : null;
}
