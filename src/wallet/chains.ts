/**
 * Networks Duet knows: the local anvil chain (the default), and presets for Ethereum mainnet and
 * Sepolia whose RPC URL the user sets; plus the checks for networks a site asks to add
 * (EIP-3085 wallet_addEthereumChain) and for RPC URLs the user types.
 */
import { WalletError } from './wallet-error.ts';

export interface Network {
  readonly chainId: number;
  readonly name: string;
  /** '' until the user sets one (mainnet and Sepolia presets ship without a provider). */
  readonly rpcUrl: string;
  /** Symbol of the native currency (18 decimals on every network Duet accepts). */
  readonly symbol: string;
  readonly explorerUrl?: string;
}

export const LOCAL_CHAIN_ID = 31337;
export const MAINNET_CHAIN_ID = 1;
export const SEPOLIA_CHAIN_ID = 11155111;
export const LOCAL_RPC_URL = 'http://127.0.0.1:8545';

/**
 * The largest chain id accepted: MetaMask's MAX_SAFE_CHAIN_ID, floor((2^53 − 39) / 2), so that an
 * EIP-155 v value (chainId·2 + 36) is still a safe JavaScript integer.
 */
export const MAX_SAFE_CHAIN_ID = 4_503_599_627_370_476;
/** EIP-3085 leaves decimals open; Duet formats every native amount with 18 decimals. */
export const NATIVE_CURRENCY_DECIMALS = 18;
const MIN_SYMBOL_LENGTH = 2;
const MAX_SYMBOL_LENGTH = 6;
const MAX_NAME_LENGTH = 64;
const MAX_URL_LENGTH = 2048;
const MAX_URLS = 16;
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);
const ADD_CHAIN_KEYS: ReadonlySet<string> = new Set(['chainId', 'chainName', 'nativeCurrency', 'rpcUrls', 'blockExplorerUrls', 'iconUrls']);
const NATIVE_CURRENCY_KEYS: ReadonlySet<string> = new Set(['name', 'symbol', 'decimals']);
/** Control characters and bidirectional overrides would let a name disguise itself on screen. */
const UNSAFE_DISPLAY_CHARACTERS = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

export const DEFAULT_NETWORKS: readonly Network[] = [
  { chainId: LOCAL_CHAIN_ID, name: 'Local (anvil)', rpcUrl: LOCAL_RPC_URL, symbol: 'ETH' },
  { chainId: MAINNET_CHAIN_ID, name: 'Ethereum', rpcUrl: '', symbol: 'ETH', explorerUrl: 'https://etherscan.io' },
  { chainId: SEPOLIA_CHAIN_ID, name: 'Sepolia', rpcUrl: '', symbol: 'ETH', explorerUrl: 'https://sepolia.etherscan.io' },
];

export function presetNetwork(chainId: number): Network | undefined {
  return DEFAULT_NETWORKS.find((network) => network.chainId === chainId);
}

export function chainName(chainId: number, networks: readonly Network[] = DEFAULT_NETWORKS): string {
  return networks.find((network) => network.chainId === chainId)?.name ?? `Chain ${chainId}`;
}

/** EIP-695 form: 0x-prefixed lowercase hex without leading zeros. */
export function toHexChainId(chainId: number): string {
  return `0x${chainId.toString(16)}`;
}

function chainError(field: string, reason: string): WalletError {
  return new WalletError('bad_chain_params', field, reason);
}

/** A 0x-hex chain id without leading zeros, in [1, MAX_SAFE_CHAIN_ID]. */
export function parseHexChainId(value: unknown, field: string): number {
  if (typeof value !== 'string' || !/^0x[1-9a-f][0-9a-f]*$/i.test(value) || value.length > 16) {
    throw chainError(field, 'expected a 0x-prefixed hexadecimal chain id without leading zeros');
  }
  const chainId = Number.parseInt(value, 16);
  if (chainId > MAX_SAFE_CHAIN_ID) throw chainError(field, `expected a chain id of at most ${MAX_SAFE_CHAIN_ID}`);
  return chainId;
}

function parseUrl(value: unknown, field: string): URL {
  if (typeof value !== 'string' || value.length > MAX_URL_LENGTH) throw chainError(field, `expected a URL string of at most ${MAX_URL_LENGTH} characters`);
  try {
    return new URL(value);
  } catch {
    throw chainError(field, 'not a valid URL');
  }
}

/**
 * An RPC URL: https, or plain http only to this computer (loopback), where no network path can
 * read or rewrite the node's answers.
 */
export function parseRpcUrl(value: unknown, field: string): string {
  const url = parseUrl(value, field);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) return value as string;
  throw chainError(field, 'expected an https URL (http only for 127.0.0.1, localhost or [::1])');
}

export function parseExplorerUrl(value: unknown, field: string): string {
  if (parseUrl(value, field).protocol !== 'https:') throw chainError(field, 'expected an https URL');
  return value as string;
}

function parseDisplayText(value: unknown, field: string, minLength: number, maxLength: number): string {
  if (typeof value !== 'string') throw chainError(field, 'expected a string');
  const text = value.trim();
  if (text.length < minLength || text.length > maxLength) throw chainError(field, `expected ${minLength} to ${maxLength} characters`);
  if (UNSAFE_DISPLAY_CHARACTERS.test(text)) throw chainError(field, 'contains control or text-direction characters');
  return text;
}

function parseObject(value: unknown, field: string, allowedKeys: ReadonlySet<string>): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw chainError(field, 'expected an object');
  const unexpected = Object.keys(value).find((key) => !allowedKeys.has(key));
  if (unexpected !== undefined) throw chainError(`${field}.${unexpected}`, 'unexpected key');
  return value as Record<string, unknown>;
}

function parseUrlList(value: unknown, field: string, parseOne: (value: unknown, field: string) => string, required: boolean): string[] {
  if (value === undefined && !required) return [];
  if (!Array.isArray(value) || (required && value.length === 0) || value.length > MAX_URLS) {
    throw chainError(field, `expected an array of ${required ? 1 : 0} to ${MAX_URLS} URLs`);
  }
  return value.map((item, index) => parseOne(item, `${field}[${index}]`));
}

/** The checked and normalised form of a wallet_addEthereumChain parameter. */
export interface AddEthereumChainParameter {
  readonly chainId: number;
  readonly chainName: string;
  readonly nativeCurrency: { readonly name: string; readonly symbol: string; readonly decimals: typeof NATIVE_CURRENCY_DECIMALS };
  readonly rpcUrls: readonly string[];
  readonly blockExplorerUrls: readonly string[];
}

/**
 * Checks an EIP-3085 AddEthereumChainParameter. EIP-3085 requires only chainId and lets a wallet
 * require the rest; Duet needs chainName, nativeCurrency (decimals 18) and at least one rpcUrl to
 * use the chain. iconUrls are accepted and ignored (never fetched); any other key is refused.
 */
export function parseAddEthereumChainParameter(value: unknown, field = 'params[0]'): AddEthereumChainParameter {
  const param = parseObject(value, field, ADD_CHAIN_KEYS);
  const chainId = parseHexChainId(param.chainId, `${field}.chainId`);
  const name = parseDisplayText(param.chainName, `${field}.chainName`, 1, MAX_NAME_LENGTH);
  const currency = parseObject(param.nativeCurrency, `${field}.nativeCurrency`, NATIVE_CURRENCY_KEYS);
  const currencyName = parseDisplayText(currency.name, `${field}.nativeCurrency.name`, 1, MAX_NAME_LENGTH);
  const symbol = parseDisplayText(currency.symbol, `${field}.nativeCurrency.symbol`, MIN_SYMBOL_LENGTH, MAX_SYMBOL_LENGTH);
  if (currency.decimals !== NATIVE_CURRENCY_DECIMALS) throw chainError(`${field}.nativeCurrency.decimals`, `expected ${NATIVE_CURRENCY_DECIMALS}`);
  const rpcUrls = parseUrlList(param.rpcUrls, `${field}.rpcUrls`, parseRpcUrl, true);
  const blockExplorerUrls = parseUrlList(param.blockExplorerUrls, `${field}.blockExplorerUrls`, parseExplorerUrl, false);
  if (param.iconUrls !== undefined && !Array.isArray(param.iconUrls)) throw chainError(`${field}.iconUrls`, 'expected an array');
  return { chainId, chainName: name, nativeCurrency: { name: currencyName, symbol, decimals: NATIVE_CURRENCY_DECIMALS }, rpcUrls, blockExplorerUrls };
}

/** The network a checked parameter adds: its first RPC URL and first explorer. */
export function networkFromChainParameter(param: AddEthereumChainParameter): Network {
  const [rpcUrl] = param.rpcUrls as [string, ...string[]];
  const explorerUrl = param.blockExplorerUrls[0];
  const network: Network = { chainId: param.chainId, name: param.chainName, rpcUrl, symbol: param.nativeCurrency.symbol };
  return explorerUrl === undefined ? network : { ...network, explorerUrl };
}

/** A network with the RPC URL the user set, checked like a site's. */
export function withRpcUrl(network: Network, rpcUrl: unknown): Network {
  return { ...network, rpcUrl: parseRpcUrl(rpcUrl, 'rpcUrl') };
}
