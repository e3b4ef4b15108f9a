/**
 * Parameters of wallet_switchEthereumChain (EIP-3326) and wallet_addEthereumChain (EIP-3085),
 * checked field by field. A bad value is a -32602 naming the field; nothing is changed.
 */
import { rpcErrors } from '../provider/rpc-error.ts';

/** The largest chain id wallets accept (MetaMask's MAX_SAFE_CHAIN_ID: floor((2^53 − 39) / 2)). */
export const MAX_SAFE_CHAIN_ID = 4_503_599_627_370_476;
const MAX_CHAIN_NAME_LENGTH = 64;
const MIN_SYMBOL_LENGTH = 2;
const MAX_SYMBOL_LENGTH = 6;
const NATIVE_DECIMALS = 18;
const ADD_CHAIN_KEYS = new Set(['chainId', 'chainName', 'nativeCurrency', 'rpcUrls', 'blockExplorerUrls', 'iconUrls']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface AddChainRequest {
  readonly chainId: number;
  readonly name: string;
  readonly symbol: string;
  readonly rpcUrl: string;
  readonly explorerUrl?: string;
}

function objectParam(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw rpcErrors.invalidParams(`${field} must be an object.`);
  return value as Record<string, unknown>;
}

/** A 0x-hex chain id without leading zeros, in [1, MAX_SAFE_CHAIN_ID]. */
export function parseHexChainId(value: unknown, field: string): number {
  if (typeof value !== 'string' || !/^0x[1-9a-f][0-9a-f]*$/i.test(value)) {
    throw rpcErrors.invalidParams(`${field} must be a 0x-prefixed hexadecimal string without leading zeros, e.g. "0x1".`);
  }
  const chainId = Number.parseInt(value, 16);
  if (chainId > MAX_SAFE_CHAIN_ID) throw rpcErrors.invalidParams(`${field} is larger than ${MAX_SAFE_CHAIN_ID}.`);
  return chainId;
}

/**
 * Hosts that are this computer: localhost and *.localhost, 127.0.0.0/8, 0.0.0.0, ::1, :: and
 * IPv4-mapped loopback. `hostname` as the URL parser gives it (it canonicalises 0x7f.1, [0::1] …).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '0.0.0.0' ||
    host === '[::1]' ||
    host === '[::]' ||
    /^\[::ffff:(7f[0-9a-f]{2}:[0-9a-f]{1,4}|0:0)\]$/.test(host)
  );
}

/** Whether a URL or origin points at this computer. */
export function isLoopbackUrl(value: string): boolean {
  return isLoopbackHost(new URL(value).hostname);
}

/** An RPC URL: https, or http only on this computer (loopback). */
export function parseRpcUrl(value: unknown, field: string): string {
  const url = parseUrl(value, field);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) return value as string;
  throw rpcErrors.invalidParams(`${field} must use https (http only for 127.0.0.1 or localhost).`);
}

export function parseExplorerUrl(value: unknown, field: string): string {
  const url = parseUrl(value, field);
  if (url.protocol !== 'https:') throw rpcErrors.invalidParams(`${field} must use https.`);
  return value as string;
}

function parseUrl(value: unknown, field: string): URL {
  if (typeof value !== 'string') throw rpcErrors.invalidParams(`${field} must be a URL string.`);
  try {
    return new URL(value);
  } catch {
    throw rpcErrors.invalidParams(`${field} is not a valid URL.`);
  }
}

export function parseNetworkName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.trim().length > MAX_CHAIN_NAME_LENGTH) {
    throw rpcErrors.invalidParams(`${field} must be a name of 1 to ${MAX_CHAIN_NAME_LENGTH} characters.`);
  }
  return value.trim();
}

export function parseCurrencySymbol(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length < MIN_SYMBOL_LENGTH || value.length > MAX_SYMBOL_LENGTH) {
    throw rpcErrors.invalidParams(`${field} must be ${MIN_SYMBOL_LENGTH} to ${MAX_SYMBOL_LENGTH} characters.`);
  }
  return value;
}

/** wallet_switchEthereumChain [{ chainId }]. */
export function parseSwitchChainParams(params: unknown): number {
  if (!Array.isArray(params) || params.length !== 1) throw rpcErrors.invalidParams('wallet_switchEthereumChain expects [{ chainId }].');
  const param = objectParam(params[0], 'params[0]');
  const unexpected = Object.keys(param).filter((key) => key !== 'chainId');
  if (unexpected.length > 0) throw rpcErrors.invalidParams(`Unexpected keys in params[0]: ${unexpected.join(', ')}.`);
  return parseHexChainId(param.chainId, 'chainId');
}

/** wallet_addEthereumChain [AddEthereumChainParameter]; the first RPC and explorer URLs are used. */
export function parseAddChainParams(params: unknown): AddChainRequest {
  if (!Array.isArray(params) || params.length !== 1) throw rpcErrors.invalidParams('wallet_addEthereumChain expects [AddEthereumChainParameter].');
  const param = objectParam(params[0], 'params[0]');
  const unexpected = Object.keys(param).filter((key) => !ADD_CHAIN_KEYS.has(key));
  if (unexpected.length > 0) throw rpcErrors.invalidParams(`Unexpected keys in params[0]: ${unexpected.join(', ')}.`);
  const chainId = parseHexChainId(param.chainId, 'chainId');
  const name = parseNetworkName(param.chainName, 'chainName');
  const currency = objectParam(param.nativeCurrency, 'nativeCurrency');
  if (typeof currency.name !== 'string' || currency.name.length === 0) throw rpcErrors.invalidParams('nativeCurrency.name must be a non-empty string.');
  const symbol = parseCurrencySymbol(currency.symbol, 'nativeCurrency.symbol');
  if (currency.decimals !== NATIVE_DECIMALS) throw rpcErrors.invalidParams(`nativeCurrency.decimals must be ${NATIVE_DECIMALS}.`);
  if (!Array.isArray(param.rpcUrls) || param.rpcUrls.length === 0) throw rpcErrors.invalidParams('rpcUrls must be a non-empty array of URLs.');
  const rpcUrl = parseRpcUrl(param.rpcUrls[0], 'rpcUrls[0]');
  let explorerUrl: string | undefined;
  if (param.blockExplorerUrls !== undefined && param.blockExplorerUrls !== null) {
    if (!Array.isArray(param.blockExplorerUrls)) throw rpcErrors.invalidParams('blockExplorerUrls must be an array of URLs or null.');
    if (param.blockExplorerUrls.length > 0) explorerUrl = parseExplorerUrl(param.blockExplorerUrls[0], 'blockExplorerUrls[0]');
  }
  if (param.iconUrls !== undefined && !Array.isArray(param.iconUrls)) throw rpcErrors.invalidParams('iconUrls must be an array of URLs.');
  return explorerUrl === undefined ? { chainId, name, symbol, rpcUrl } : { chainId, name, symbol, rpcUrl, explorerUrl };
}
