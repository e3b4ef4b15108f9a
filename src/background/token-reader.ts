/**
 * What the network says about a token contract, for display, for wallet_watchAsset and for the
 * token list: whether an address holds a contract, its standard (ERC-165 supportsInterface for
 * ERC-721 and ERC-1155, else ERC-20 when decimals() answers), symbol() and decimals(); an
 * account's ERC-20 balance (balanceOf) and whether it holds an NFT (ownerOf / balanceOf).
 *
 * Reads are eth_call on the request's chain, each bounded by READ_TIMEOUT_MS; a read that fails,
 * times out or answers something malformed leaves that detail out (the display then falls back
 * to raw units). Symbols with hidden characters, surrounding spaces or more than MAX_SYMBOL_LENGTH
 * characters are left out as well: they would be shown as the site's words, not the token's.
 */
import { AbiCoder, getAddress, toUtf8String } from 'ethers';
import { escapeHidden } from '../wallet/display-text.ts';
import { MAX_SYMBOL_LENGTH, MAX_TOKENS, type TokenInfo, type TokenStandard } from '../wallet/signing-request.ts';
import type { RpcCall } from './request-builders.ts';

/** How long one token read may take before it is left out. */
export const READ_TIMEOUT_MS = 3_000;
const INTERFACE_ERC721 = '0x80ac58cd';
const INTERFACE_ERC1155 = '0xd9b67a26';
const SELECTOR_SUPPORTS_INTERFACE = '0x01ffc9a7';
const SELECTOR_DECIMALS = '0x313ce567';
const SELECTOR_SYMBOL = '0x95d89b41';
const SELECTOR_OWNER_OF = '0x6352211e';
const SELECTOR_BALANCE_OF_1155 = '0x00fdd58e';
const SELECTOR_BALANCE_OF = '0x70a08231';
/** An EIP-7702 delegation designator (0xef0100 ‖ address) marks an account, not a contract. */
const DELEGATION_DESIGNATOR = '0xef0100';
/** 10^77 < 2^256: more decimals would make every amount zero. */
const MAX_DECIMALS = 77;
const abi = AbiCoder.defaultAbiCoder();

/** True when `code` (eth_getCode) is a contract's: not empty, not only an EIP-7702 delegation. */
export function isContractCode(code: unknown): boolean {
  return typeof code === 'string' && code !== '0x' && code !== '0x0' && !(code.length === 48 && code.toLowerCase().startsWith(DELEGATION_DESIGNATOR));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('token read timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** eth_call's answer as 0x-hex, or null when the call failed or timed out. */
async function ethCall(rpc: RpcCall, to: string, data: string): Promise<string | null> {
  try {
    const result = await withTimeout(rpc('eth_call', [{ to, data }, 'latest']), READ_TIMEOUT_MS);
    return typeof result === 'string' && /^0x(?:[0-9a-fA-F]{2})*$/.test(result) ? result : null;
  } catch {
    return null;
  }
}

function decodeOne<T>(type: string, data: string | null): T | null {
  if (data === null || data === '0x') return null;
  try {
    return abi.decode([type], data)[0] as T;
  } catch {
    return null;
  }
}

async function supports(rpc: RpcCall, address: string, interfaceId: string): Promise<boolean> {
  return decodeOne<boolean>('bool', await ethCall(rpc, address, SELECTOR_SUPPORTS_INTERFACE + abi.encode(['bytes4'], [interfaceId]).slice(2))) === true;
}

/** symbol() as the contract answers it, a string or bytes32 (older tokens such as MKR); null if neither. */
export async function readSymbolText(rpc: RpcCall, address: string): Promise<string | null> {
  const data = await ethCall(rpc, address, SELECTOR_SYMBOL);
  const symbol = decodeOne<string>('string', data);
  if (symbol !== null || data === null || data.length !== 66) return symbol;
  try {
    return toUtf8String(data.replace(/(?:00)+$/, ''));
  } catch {
    return null;
  }
}

/** symbol() when it is safe to show as the token's name; null otherwise. */
async function readSymbol(rpc: RpcCall, address: string): Promise<string | null> {
  const symbol = await readSymbolText(rpc, address);
  if (symbol === null || symbol.length === 0 || symbol.length > MAX_SYMBOL_LENGTH || symbol.trim() !== symbol || escapeHidden(symbol).escaped > 0) return null;
  return symbol;
}

/** decimals() as the contract answers it, or null. */
export async function readDecimalsValue(rpc: RpcCall, address: string): Promise<bigint | null> {
  return decodeOne<bigint>('uint256', await ethCall(rpc, address, SELECTOR_DECIMALS));
}

async function readDecimals(rpc: RpcCall, address: string): Promise<number | null> {
  const decimals = await readDecimalsValue(rpc, address);
  return decimals !== null && decimals <= BigInt(MAX_DECIMALS) ? Number(decimals) : null;
}

/** The token at `address`, or null when it is not a contract or not one of the three standards. */
export async function readToken(rpc: RpcCall, address: string): Promise<TokenInfo | null> {
  const checksummed = getAddress(address);
  let code: unknown;
  try {
    code = await withTimeout(rpc('eth_getCode', [checksummed, 'latest']), READ_TIMEOUT_MS);
  } catch {
    return null;
  }
  if (!isContractCode(code)) return null;
  const [erc721, erc1155] = await Promise.all([supports(rpc, checksummed, INTERFACE_ERC721), supports(rpc, checksummed, INTERFACE_ERC1155)]);
  const standard: TokenStandard | null = erc721 ? 'erc721' : erc1155 ? 'erc1155' : null;
  if (standard) return { address: checksummed, standard, symbol: standard === 'erc721' ? await readSymbol(rpc, checksummed) : null, decimals: null };
  const [decimals, symbol] = await Promise.all([readDecimals(rpc, checksummed), readSymbol(rpc, checksummed)]);
  return decimals === null ? null : { address: checksummed, standard: 'erc20', symbol, decimals };
}

/** What Duet already knows about a token (the user's list), before asking the network. */
export type KnownToken = (address: string) => TokenInfo | undefined;

/** The tokens among `addresses` (at most MAX_TOKENS), sorted by address as the frozen request wants them. */
export async function readTokens(rpc: RpcCall, addresses: readonly string[], known: KnownToken = () => undefined): Promise<TokenInfo[]> {
  const unique = [...new Set(addresses.map((address) => getAddress(address)))].slice(0, MAX_TOKENS);
  const tokens = await Promise.all(unique.map(async (address) => known(address) ?? readToken(rpc, address)));
  return tokens.filter((token): token is TokenInfo => token !== null).sort((a, b) => (a.address.toLowerCase() < b.address.toLowerCase() ? -1 : 1));
}

/** balanceOf(account) of an ERC-20 in raw units, or null when the token does not answer. */
export async function tokenBalance(rpc: RpcCall, token: string, account: string): Promise<bigint | null> {
  return decodeOne<bigint>('uint256', await ethCall(rpc, token, SELECTOR_BALANCE_OF + abi.encode(['address'], [account]).slice(2)));
}

/** Whether `owner` holds token `tokenId` of an ERC-721 or ERC-1155 contract (false when the read fails). */
export async function holdsNft(rpc: RpcCall, standard: 'erc721' | 'erc1155', contract: string, owner: string, tokenId: bigint): Promise<boolean> {
  if (standard === 'erc721') {
    const holder = decodeOne<string>('address', await ethCall(rpc, contract, SELECTOR_OWNER_OF + abi.encode(['uint256'], [tokenId]).slice(2)));
    return holder !== null && holder.toLowerCase() === owner.toLowerCase();
  }
  const balance = decodeOne<bigint>('uint256', await ethCall(rpc, contract, SELECTOR_BALANCE_OF_1155 + abi.encode(['address', 'uint256'], [owner, tokenId]).slice(2)));
  return balance !== null && balance > 0n;
}
