/**
 * The frozen signing request: exactly what the user approved in the extension, sent to the
 * phone, which decodes it, shows it again and computes the digest itself.
 *
 * Encoding: a JSON object with a fixed shape, bigints as minimal 0x-hex strings, addresses in
 * EIP-55 checksum form, hex bytes in lowercase. The decoder is strict: it accepts exactly that
 * shape (no missing, extra or non-canonical values) and throws a WalletError naming the field.
 * The encoder checks its own output with the decoder, so a request that cannot be decoded is
 * never sent.
 *
 * Origin: the web origin that asked (from the browser's sender data), or WALLET_ORIGIN for what
 * the user started in Duet's own popup (send, speed up, cancel) — no web page can have it.
 *
 * Two formats, one encoding per request:
 * - format 1 (no `version` key): an EIP-1559 transaction without access list, personal_sign,
 *   typed data v4; phones that know only format 1 keep signing these;
 * - format 2 (`version: 2`): everything else — legacy transactions (type 0, type 1) and access
 *   lists, typed data v3 and v1, the site a frame is embedded in (`embeddedIn`), token details
 *   read from the network for display (`tokens`). Its keys are all present (`embeddedIn: null`,
 *   `tokens: []`, `facts: null`), and a request format 1 can carry is refused in format 2.
 *
 * Facts: what the extension observed before display (presign-facts.ts: simulation, balance,
 * contracts, first interactions, replacement) travel in `facts`, in both formats — optional in
 * format 1 (left out when there are none, as the wallet essentials shipped it), always present
 * in format 2 (`null` when there are none). They never decide the format, and they are part of
 * the canonical JSON and the short code, not of the digest. Token symbols and decimals are not
 * facts: they are the request's `tokens` (format 2), the one place both screens read them from.
 *
 * Digests (each device computes it from the request it shows):
 * - transaction: the signing hash of its type — type 2 keccak256(0x02 ‖ rlp([chainId, nonce,
 *   maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList])), type 1
 *   keccak256(0x01 ‖ rlp([chainId, nonce, gasPrice, gas, to, value, data, accessList])), type 0
 *   the EIP-155 hash keccak256(rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0]));
 * - personal_sign: the EIP-191 (version 0x45) hash keccak256("\x19Ethereum Signed Message:\n" ‖
 *   len ‖ message);
 * - typed_data: the EIP-712 hash of its version, v3 or v4 (typed-data.ts); typed_data_v1 the
 *   legacy hash (legacy-typed-data.ts).
 */
import { Signature, Transaction, getAddress, getBytes, hashMessage, hexlify, recoverAddress, toBeHex } from 'ethers';
import { sha256 } from '@noble/hashes/sha2.js';
import { MAX_SAFE_CHAIN_ID } from './chains.ts';
import { escapeHidden } from './display-text.ts';
import { checkLegacyTypedData, legacyTypedDataDigest, type LegacyTypedEntry } from './legacy-typed-data.ts';
import { MAX_PERSONAL_MESSAGE_BYTES } from './personal-message.ts';
import { decodePresignFacts, encodePresignFacts, type PresignFacts } from './presign-facts.ts';
import { checkTypedData, typedDataDigest, type TypedDataPayload, type TypedDataVersion } from './typed-data.ts';
import { WalletError } from './wallet-error.ts';

export type { TypedDataPayload } from './typed-data.ts';
export type { LegacyTypedEntry } from './legacy-typed-data.ts';

export interface AccountRef {
  /** Derivation index of the account (Q_i = Q + t_i·G). */
  readonly index: number;
  readonly address: string;
}

export interface AccessListEntry {
  readonly address: string;
  readonly storageKeys: readonly string[];
}
export type AccessList = readonly AccessListEntry[];

interface TransactionCommon {
  /** null creates a contract. */
  readonly to: string | null;
  readonly value: bigint;
  readonly data: string;
  readonly nonce: number;
  /** The gas limit. */
  readonly gas: bigint;
  /** Must equal the request's chainId. */
  readonly chainId: number;
}

/** An EIP-1559 (type 2) transaction; `type` and `accessList` are left out when 2 and empty. */
export interface Eip1559Fields extends TransactionCommon {
  readonly type?: 2;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
  readonly accessList?: AccessList;
}

/** An EIP-2930 (type 1) transaction: a gas price and an access list. */
export interface Eip2930Fields extends TransactionCommon {
  readonly type: 1;
  readonly gasPrice: bigint;
  readonly accessList: AccessList;
}

/** A legacy (type 0) transaction, signed with its chain id (EIP-155). */
export interface LegacyFields extends TransactionCommon {
  readonly type: 0;
  readonly gasPrice: bigint;
}

export type TransactionFields = Eip1559Fields | Eip2930Fields | LegacyFields;

export type TokenStandard = 'erc20' | 'erc721' | 'erc1155';

/** What the extension read from the network about a token the request touches, for display only. */
export interface TokenInfo {
  readonly address: string;
  readonly standard: TokenStandard;
  /** ERC-20 and ERC-721 symbol(), when the token answered one. */
  readonly symbol: string | null;
  /** ERC-20 decimals(); null for NFTs. */
  readonly decimals: number | null;
}

interface RequestBase {
  /** 16 random bytes, lowercase hex. */
  readonly id: string;
  /** The web origin that asked, from the browser's sender data. */
  readonly origin: string;
  /** The top-level site when the request came from an embedded frame. */
  readonly embeddedIn?: string;
  readonly chainId: number;
  readonly account: AccountRef;
  /** Unix ms when the request was created (the extension restamps it when the user approves). */
  readonly createdAt: number;
  /** Token details for display, sorted by address; left out when empty. */
  readonly tokens?: readonly TokenInfo[];
  /** What the extension observed before display (presign-facts.ts); not part of the digest. */
  readonly facts?: PresignFacts;
}

export type TransactionRequest = RequestBase & { readonly kind: 'transaction'; readonly tx: TransactionFields };
export type PersonalSignRequest = RequestBase & { readonly kind: 'personal_sign'; readonly message: string };
/** eth_signTypedData_v3 / _v4; `typedDataVersion` is left out for v4. */
export type TypedDataRequest = RequestBase & { readonly kind: 'typed_data'; readonly typedData: TypedDataPayload; readonly typedDataVersion?: 'v3' };
/** eth_signTypedData (v1), the legacy array form. */
export type LegacyTypedDataRequest = RequestBase & { readonly kind: 'typed_data_v1'; readonly typedData: readonly LegacyTypedEntry[] };
export type SigningRequest = TransactionRequest | PersonalSignRequest | TypedDataRequest | LegacyTypedDataRequest;

/** The most the transaction pays per gas: maxFeePerGas, or the gas price of types 0 and 1. */
export function maxFeePerGasOf(tx: TransactionFields): bigint {
  return tx.type === 0 || tx.type === 1 ? tx.gasPrice : tx.maxFeePerGas;
}

/** The tip per gas: maxPriorityFeePerGas, or the whole gas price of types 0 and 1. */
export function priorityFeePerGasOf(tx: TransactionFields): bigint {
  return tx.type === 0 || tx.type === 1 ? tx.gasPrice : tx.maxPriorityFeePerGas;
}

/** The wire form of a SigningRequest (format 1 or 2), as plain JSON. */
export type SigningRequestJson = { readonly kind: SigningRequest['kind'] } & Record<string, unknown>;

export interface RecoverableSignature {
  readonly r: bigint;
  readonly s: bigint;
  /** Parity of R.y (Ethereum's v − 27). */
  readonly yParity: 0 | 1;
}

/** geth refuses transactions larger than 128 KiB (txMaxSize); data cannot be longer. */
export const MAX_TX_DATA_BYTES = 128 * 1024;
/** Account indices are non-hardened BIP-32-style indices. */
export const MAX_ACCOUNT_INDEX = 0x7fff_ffff;
/** Access lists: at most this many addresses and storage keys in all (each key costs 1,900 gas). */
export const MAX_ACCESS_LIST_ADDRESSES = 256;
export const MAX_ACCESS_LIST_KEYS = 4096;
/** Token details: at most this many per request, symbols of at most MAX_SYMBOL_LENGTH characters. */
export const MAX_TOKENS = 16;
export const MAX_SYMBOL_LENGTH = 32;
/** 10^77 < 2^256 < 10^78: more decimals would make every amount zero. */
const MAX_DECIMALS = 77;
const FORMAT_2 = 2;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;
/** secp256k1 group order n; EIP-2 requires s ≤ n/2. */
const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const MAX_ORIGIN_LENGTH = 2048;
const KINDS = ['transaction', 'personal_sign', 'typed_data', 'typed_data_v1'] as const;
const BASE_KEYS = ['id', 'kind', 'origin', 'chainId', 'account', 'createdAt'] as const;
const FORMAT_2_KEYS = ['version', 'embeddedIn', 'tokens', 'facts'] as const;
const PAYLOAD_KEYS: Record<SigningRequest['kind'], readonly string[]> = { transaction: ['tx'], personal_sign: ['message'], typed_data: ['typedData'], typed_data_v1: ['typedData'] };
const FORMAT_2_PAYLOAD_KEYS: Record<SigningRequest['kind'], readonly string[]> = { ...PAYLOAD_KEYS, typed_data: ['typedData', 'typedDataVersion'] };
const COMMON_TX_KEYS = ['to', 'value', 'data', 'nonce', 'gas'] as const;
const TX_KEYS_FORMAT_1 = [...COMMON_TX_KEYS, 'maxFeePerGas', 'maxPriorityFeePerGas', 'chainId'] as const;
const TX_KEYS_FORMAT_2: Record<0 | 1 | 2, readonly string[]> = {
  0: ['type', ...COMMON_TX_KEYS, 'gasPrice', 'chainId'],
  1: ['type', ...COMMON_TX_KEYS, 'gasPrice', 'chainId', 'accessList'],
  2: ['type', ...COMMON_TX_KEYS, 'maxFeePerGas', 'maxPriorityFeePerGas', 'chainId', 'accessList'],
};
const TOKEN_STANDARDS: readonly TokenStandard[] = ['erc20', 'erc721', 'erc1155'];
const SHORT_CODE_TAG = 'duet/short-code/v1\n';
/** 32 symbols without 0/O and 1/I: 5 bits each. */
const SHORT_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const SHORT_CODE_LENGTH = 6;

const hexQuantity = (value: bigint) => `0x${value.toString(16)}`;

/** The origin of requests the user started in Duet's popup (send, speed up, cancel). */
export const WALLET_ORIGIN = 'duet://wallet';

function requestError(field: string, reason: string): WalletError {
  return new WalletError('bad_request', field, reason);
}

function record(value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw requestError(field, 'expected an object');
  const allowed = new Set(keys);
  const unexpected = Object.keys(value).find((key) => !allowed.has(key));
  if (unexpected !== undefined) throw requestError(`${field}.${unexpected}`, 'unexpected key');
  const missing = keys.find((key) => !Object.hasOwn(value, key));
  if (missing !== undefined) throw requestError(`${field}.${missing}`, 'missing');
  return value as Record<string, unknown>;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw requestError(field, `expected an integer in [${min}, ${max}]`);
  return value;
}

/** Minimal lowercase 0x-hex (0x0 for zero), at most `max`. */
function quantity(value: unknown, field: string, max: bigint): bigint {
  if (typeof value !== 'string' || !/^0x(?:0|[1-9a-f][0-9a-f]{0,63})$/.test(value)) throw requestError(field, 'expected a minimal lowercase 0x-hex quantity');
  const parsed = BigInt(value);
  if (parsed > max) throw requestError(field, `larger than ${hexQuantity(max)}`);
  return parsed;
}

function checksummedAddress(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) throw requestError(field, 'expected an address');
  let checksummed: string;
  try {
    checksummed = getAddress(value);
  } catch {
    throw requestError(field, 'wrong EIP-55 checksum');
  }
  if (checksummed !== value) throw requestError(field, 'expected the EIP-55 checksummed form');
  return value;
}

function lowercaseHexBytes(value: unknown, field: string, maxBytes: number): string {
  if (typeof value !== 'string' || !/^0x(?:[0-9a-f]{2})*$/.test(value)) throw requestError(field, 'expected lowercase 0x-prefixed hex bytes');
  if ((value.length - 2) / 2 > maxBytes) throw requestError(field, `longer than ${maxBytes} bytes`);
  return value;
}

function webOrigin(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > MAX_ORIGIN_LENGTH) throw requestError(field, 'expected a web origin');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw requestError(field, 'expected a web origin');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== value) throw requestError(field, 'expected an http(s) origin in canonical form (scheme://host[:port])');
  return value;
}

/** The top-level site of an embedded frame: a web origin; Duet's own popup is never embedded. */
function embeddingSite(value: unknown, origin: unknown): string {
  if (origin === WALLET_ORIGIN) throw requestError('request.embeddedIn', 'expected null: requests started in Duet are not embedded in a site');
  return webOrigin(value, 'request.embeddedIn');
}

function decodeAccessList(value: unknown, field: string): AccessList {
  if (!Array.isArray(value) || value.length > MAX_ACCESS_LIST_ADDRESSES) throw requestError(field, `expected an array of at most ${MAX_ACCESS_LIST_ADDRESSES} entries`);
  let keys = 0;
  return value.map((entry: unknown, index) => {
    const entryField = `${field}[${index}]`;
    const raw = record(entry, entryField, ['address', 'storageKeys']);
    if (!Array.isArray(raw.storageKeys)) throw requestError(`${entryField}.storageKeys`, 'expected an array');
    keys += raw.storageKeys.length;
    if (keys > MAX_ACCESS_LIST_KEYS) throw requestError(`${entryField}.storageKeys`, `more than ${MAX_ACCESS_LIST_KEYS} storage keys in all`);
    const storageKeys = raw.storageKeys.map((key: unknown, keyIndex) => {
      const keyField = `${entryField}.storageKeys[${keyIndex}]`;
      if (typeof key !== 'string' || !/^0x[0-9a-f]{64}$/.test(key)) throw requestError(keyField, 'expected 32 bytes of lowercase 0x-hex');
      return key;
    });
    return { address: checksummedAddress(raw.address, `${entryField}.address`), storageKeys };
  });
}

function decodeTransactionFields(value: unknown, chainId: number, format: 1 | 2): TransactionFields {
  let type: 0 | 1 | 2 = 2;
  if (format === FORMAT_2) {
    const rawType = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).type : undefined;
    if (rawType !== 0 && rawType !== 1 && rawType !== 2) throw requestError('request.tx.type', 'expected 0, 1 or 2');
    type = rawType;
  }
  const tx = record(value, 'request.tx', format === FORMAT_2 ? TX_KEYS_FORMAT_2[type] : TX_KEYS_FORMAT_1);
  const common = {
    to: tx.to === null ? null : checksummedAddress(tx.to, 'request.tx.to'),
    value: quantity(tx.value, 'request.tx.value', MAX_UINT256),
    data: lowercaseHexBytes(tx.data, 'request.tx.data', MAX_TX_DATA_BYTES),
    nonce: integer(tx.nonce, 'request.tx.nonce', 0, Number.MAX_SAFE_INTEGER),
    gas: quantity(tx.gas, 'request.tx.gas', MAX_UINT64),
    chainId: integer(tx.chainId, 'request.tx.chainId', 1, MAX_SAFE_CHAIN_ID),
  };
  if (common.chainId !== chainId) throw new WalletError('chain_mismatch', 'request.tx.chainId', 'differs from request.chainId');
  if (type !== 2) {
    const gasPrice = quantity(tx.gasPrice, 'request.tx.gasPrice', MAX_UINT256);
    return type === 0 ? { ...common, type, gasPrice } : { ...common, type, gasPrice, accessList: decodeAccessList(tx.accessList, 'request.tx.accessList') };
  }
  const maxFeePerGas = quantity(tx.maxFeePerGas, 'request.tx.maxFeePerGas', MAX_UINT256);
  const maxPriorityFeePerGas = quantity(tx.maxPriorityFeePerGas, 'request.tx.maxPriorityFeePerGas', MAX_UINT256);
  if (maxPriorityFeePerGas > maxFeePerGas) throw requestError('request.tx.maxPriorityFeePerGas', 'larger than maxFeePerGas (EIP-1559 makes such a transaction invalid)');
  const fields: Eip1559Fields = { ...common, maxFeePerGas, maxPriorityFeePerGas };
  if (format === 1) return fields;
  const accessList = decodeAccessList(tx.accessList, 'request.tx.accessList');
  return accessList.length > 0 ? { ...fields, accessList } : fields;
}

function decodeTokens(value: unknown): readonly TokenInfo[] {
  if (!Array.isArray(value) || value.length > MAX_TOKENS) throw requestError('request.tokens', `expected an array of at most ${MAX_TOKENS} tokens`);
  const tokens = value.map((entry: unknown, index): TokenInfo => {
    const field = `request.tokens[${index}]`;
    const raw = record(entry, field, ['address', 'standard', 'symbol', 'decimals']);
    if (!TOKEN_STANDARDS.includes(raw.standard as TokenStandard)) throw requestError(`${field}.standard`, `expected one of ${TOKEN_STANDARDS.join(', ')}`);
    const standard = raw.standard as TokenStandard;
    const symbol = raw.symbol;
    if (symbol !== null && (typeof symbol !== 'string' || symbol.length === 0 || symbol.length > MAX_SYMBOL_LENGTH || escapeHidden(symbol).escaped > 0 || symbol.trim() !== symbol)) {
      throw requestError(`${field}.symbol`, `expected null or 1 to ${MAX_SYMBOL_LENGTH} visible characters`);
    }
    const decimals = raw.decimals === null ? null : integer(raw.decimals, `${field}.decimals`, 0, MAX_DECIMALS);
    if (standard !== 'erc20' && decimals !== null) throw requestError(`${field}.decimals`, 'NFTs have no decimals: expected null');
    return { address: checksummedAddress(raw.address, `${field}.address`), standard, symbol: symbol as string | null, decimals };
  });
  for (let index = 1; index < tokens.length; index++) {
    if ((tokens[index - 1] as TokenInfo).address.toLowerCase() >= (tokens[index] as TokenInfo).address.toLowerCase()) throw requestError('request.tokens', 'expected unique tokens sorted by address');
  }
  return tokens;
}

/** True when format 1 can carry the request (no field of format 2 is needed). */
function fitsFormat1(request: SigningRequest): boolean {
  if (request.embeddedIn !== undefined || (request.tokens?.length ?? 0) > 0) return false;
  switch (request.kind) {
    case 'transaction':
      return (request.tx.type ?? 2) === 2 && ((request.tx as Eip1559Fields).accessList?.length ?? 0) === 0;
    case 'personal_sign':
      return true;
    case 'typed_data':
      return request.typedDataVersion === undefined;
    case 'typed_data_v1':
      return false;
  }
}

/** Checks a wire-form request strictly and returns it typed. */
export function decodeSigningRequest(value: unknown): SigningRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw requestError('request', 'expected an object');
  const { kind, version } = value as Record<string, unknown>;
  if (!(KINDS as readonly unknown[]).includes(kind)) throw requestError('request.kind', `expected ${KINDS.join(', ')}`);
  const typedKind = kind as SigningRequest['kind'];
  if (version !== undefined && version !== FORMAT_2) throw requestError('request.version', 'expected 2 (or no version: format 1)');
  const format = version === FORMAT_2 ? 2 : 1;
  if (format === 1 && typedKind === 'typed_data_v1') throw requestError('request.version', 'typed_data_v1 needs format 2');
  // Format 1 leaves `facts` out when there are none; format 2 has every key (`facts: null`).
  const hasFacts = format === 1 ? Object.hasOwn(value, 'facts') : (value as Record<string, unknown>).facts !== null;
  const format1Keys = [...BASE_KEYS, ...(hasFacts ? ['facts'] : []), ...PAYLOAD_KEYS[typedKind]];
  const raw = record(value, 'request', format === 1 ? format1Keys : [...BASE_KEYS, ...FORMAT_2_KEYS, ...FORMAT_2_PAYLOAD_KEYS[typedKind]]);
  if (typeof raw.id !== 'string' || !/^[0-9a-f]{32}$/.test(raw.id)) throw requestError('request.id', 'expected 16 bytes of lowercase hex');
  const account = record(raw.account, 'request.account', ['index', 'address']);
  const chainId = integer(raw.chainId, 'request.chainId', 1, MAX_SAFE_CHAIN_ID);
  const tokens = format === 2 ? decodeTokens(raw.tokens) : [];
  const base: RequestBase = {
    id: raw.id,
    origin: raw.origin === WALLET_ORIGIN ? WALLET_ORIGIN : webOrigin(raw.origin, 'request.origin'),
    ...(format === 2 && raw.embeddedIn !== null ? { embeddedIn: embeddingSite(raw.embeddedIn, raw.origin) } : {}),
    chainId,
    account: { index: integer(account.index, 'request.account.index', 0, MAX_ACCOUNT_INDEX), address: checksummedAddress(account.address, 'request.account.address') },
    createdAt: integer(raw.createdAt, 'request.createdAt', 0, Number.MAX_SAFE_INTEGER),
    ...(tokens.length > 0 ? { tokens } : {}),
    ...(hasFacts ? { facts: decodePresignFacts(raw.facts, 'request.facts') } : {}),
  };
  let request: SigningRequest;
  switch (typedKind) {
    case 'transaction':
      request = { ...base, kind: typedKind, tx: decodeTransactionFields(raw.tx, chainId, format) };
      break;
    case 'personal_sign':
      request = { ...base, kind: typedKind, message: lowercaseHexBytes(raw.message, 'request.message', MAX_PERSONAL_MESSAGE_BYTES) };
      break;
    case 'typed_data': {
      const typedDataVersion: TypedDataVersion = format === 1 ? 'v4' : (raw.typedDataVersion as TypedDataVersion);
      if (typedDataVersion !== 'v3' && typedDataVersion !== 'v4') throw requestError('request.typedDataVersion', 'expected v3 or v4');
      const { payload } = checkTypedData(raw.typedData, chainId, 'request.typedData', typedDataVersion);
      request = { ...base, kind: typedKind, typedData: payload, ...(typedDataVersion === 'v3' ? { typedDataVersion } : {}) };
      break;
    }
    case 'typed_data_v1':
      request = { ...base, kind: typedKind, typedData: checkLegacyTypedData(raw.typedData, 'request.typedData').payload };
      break;
  }
  if (format === 2 && fitsFormat1(request)) throw requestError('request.version', 'format 1 carries this request: format 2 would give it a second encoding');
  return request;
}

function transactionJson(tx: TransactionFields, format: 1 | 2): Record<string, unknown> {
  const common = { to: tx.to === null ? null : canonicalAddress(tx.to, 'request.tx.to'), value: hexQuantity(tx.value), data: tx.data.toLowerCase(), nonce: tx.nonce, gas: hexQuantity(tx.gas) };
  const accessList = (list: AccessList | undefined) =>
    (list ?? []).map((entry, index) => ({ address: canonicalAddress(entry.address, `request.tx.accessList[${index}].address`), storageKeys: entry.storageKeys.map((key) => key.toLowerCase()) }));
  if (tx.type === 0) return { type: 0, ...common, gasPrice: hexQuantity(tx.gasPrice), chainId: tx.chainId };
  if (tx.type === 1) return { type: 1, ...common, gasPrice: hexQuantity(tx.gasPrice), chainId: tx.chainId, accessList: accessList(tx.accessList) };
  const fees = { maxFeePerGas: hexQuantity(tx.maxFeePerGas), maxPriorityFeePerGas: hexQuantity(tx.maxPriorityFeePerGas), chainId: tx.chainId };
  return format === 1 ? { ...common, ...fees } : { type: 2, ...common, ...fees, accessList: accessList(tx.accessList) };
}

function toJson(request: SigningRequest): SigningRequestJson {
  const format = fitsFormat1(request) ? 1 : 2;
  const account = { index: request.account.index, address: canonicalAddress(request.account.address, 'request.account.address') };
  const base = { id: request.id, origin: request.origin, chainId: request.chainId, account, createdAt: request.createdAt };
  const tokens = (request.tokens ?? []).map((token, index) => ({ ...token, address: canonicalAddress(token.address, `request.tokens[${index}].address`) }));
  const facts = request.facts ? encodePresignFacts(request.facts) : null;
  const extended = format === 2 ? { version: FORMAT_2, embeddedIn: request.embeddedIn ?? null, tokens, facts } : facts ? { facts } : {};
  switch (request.kind) {
    case 'transaction':
      return { ...extended, ...base, kind: 'transaction', tx: transactionJson(request.tx, format) };
    case 'personal_sign':
      return { ...extended, ...base, kind: 'personal_sign', message: request.message.toLowerCase() };
    case 'typed_data':
      return { ...extended, ...base, kind: 'typed_data', typedData: request.typedData, ...(format === 2 ? { typedDataVersion: request.typedDataVersion ?? 'v4' } : {}) };
    case 'typed_data_v1':
      return { ...extended, ...base, kind: 'typed_data_v1', typedData: request.typedData };
  }
}

function canonicalAddress(value: string, field: string): string {
  try {
    return getAddress(value);
  } catch {
    throw requestError(field, 'expected an address');
  }
}

/** A fresh request id: 16 random bytes, lowercase hex. */
export function newSigningRequestId(): string {
  return hexlify(crypto.getRandomValues(new Uint8Array(16))).slice(2);
}

/** The wire form (canonical: checksummed addresses, lowercase hex), checked by the decoder. */
export function encodeSigningRequest(request: SigningRequest): SigningRequestJson {
  const json = toJson(request);
  decodeSigningRequest(json);
  return json;
}

/** The request in canonical form, checked as strictly as one received over the wire. */
function canonicalRequest(request: SigningRequest): SigningRequest {
  return decodeSigningRequest(toJson(request));
}

/** JSON text with object keys sorted at every level (arrays keep their order), no whitespace. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${sortedJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The canonical JSON text of a request: the wire form with sorted keys. Same request, same text. */
export function signingRequestToJson(request: SigningRequest): string {
  return sortedJson(encodeSigningRequest(request));
}

export function signingRequestFromJson(text: string): SigningRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw requestError('request', 'not valid JSON');
  }
  return decodeSigningRequest(parsed);
}

function ethersTransaction(request: TransactionRequest): Transaction {
  const { tx } = request;
  const common = { chainId: BigInt(tx.chainId), to: tx.to, value: tx.value, data: tx.data, nonce: tx.nonce, gasLimit: tx.gas };
  const accessList = (list: AccessList | undefined) => (list ?? []).map((entry) => ({ address: entry.address, storageKeys: [...entry.storageKeys] }));
  if (tx.type === 0) return Transaction.from({ ...common, type: 0, gasPrice: tx.gasPrice });
  if (tx.type === 1) return Transaction.from({ ...common, type: 1, gasPrice: tx.gasPrice, accessList: accessList(tx.accessList) });
  return Transaction.from({ ...common, type: 2, maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas, accessList: accessList(tx.accessList) });
}

/** The unsigned transaction of a request (of its type), after the same checks as a received request. */
export function unsignedTransaction(request: TransactionRequest): Transaction {
  return ethersTransaction(canonicalRequest(request) as TransactionRequest);
}

/** The 32-byte digest both devices sign, computed from the request each one shows. */
export function signingDigest(request: SigningRequest): Uint8Array {
  const checked = canonicalRequest(request);
  switch (checked.kind) {
    case 'transaction':
      return getBytes(ethersTransaction(checked).unsignedHash);
    case 'personal_sign':
      return getBytes(hashMessage(getBytes(checked.message)));
    case 'typed_data':
      return typedDataDigest(checkTypedData(checked.typedData, checked.chainId, 'request.typedData', checked.typedDataVersion ?? 'v4'));
    case 'typed_data_v1':
      return legacyTypedDataDigest(checkLegacyTypedData(checked.typedData, 'request.typedData'));
  }
}

/**
 * A 6-character code both screens show so the user can tell the two approvals are of the same
 * request: SHA-256 over a tag and the canonical JSON without createdAt (the extension restamps
 * createdAt when the user approves, after it has shown the code), 30 bits in base 32.
 */
export function shortCode(request: SigningRequest): string {
  const { createdAt: _restamped, ...stable } = encodeSigningRequest(request);
  const hash = sha256(new TextEncoder().encode(SHORT_CODE_TAG + sortedJson(stable)));
  let bits = 0n;
  for (const byte of hash.subarray(0, 4)) bits = (bits << 8n) | BigInt(byte);
  let code = '';
  for (let i = 0; i < SHORT_CODE_LENGTH; i++) code += SHORT_CODE_ALPHABET[Number((bits >> BigInt(27 - 5 * i)) & 31n)];
  return `${code.slice(0, 3)}-${code.slice(3)}`;
}

/**
 * Checks a signature over the request's digest: r and s in [1, n−1], s ≤ n/2 (EIP-2), yParity 0 or
 * 1, and it recovers to the request's account.
 */
export function verifyRequestSignature(request: SigningRequest, signature: RecoverableSignature): void {
  const inRange = (value: bigint) => typeof value === 'bigint' && value > 0n && value < SECP256K1_ORDER;
  if (!inRange(signature.r)) throw new WalletError('bad_signature', 'signature.r', 'expected an integer in [1, n − 1]');
  if (!inRange(signature.s) || signature.s > SECP256K1_ORDER / 2n) throw new WalletError('bad_signature', 'signature.s', 'expected an integer in [1, n/2] (EIP-2 low s)');
  if (signature.yParity !== 0 && signature.yParity !== 1) throw new WalletError('bad_signature', 'signature.yParity', 'expected 0 or 1');
  const digest = hexlify(signingDigest(request));
  let recovered: string;
  try {
    recovered = recoverAddress(digest, toEthersSignature(signature));
  } catch {
    throw new WalletError('bad_signature', 'signature', 'does not recover to any address');
  }
  if (recovered !== getAddress(request.account.address)) throw new WalletError('bad_signature', 'signature', 'does not recover to the request account');
}

function toEthersSignature(signature: RecoverableSignature): Signature {
  return Signature.from({ r: toBeHex(signature.r, 32), s: toBeHex(signature.s, 32), yParity: signature.yParity });
}

/** The raw signed transaction (0x02 ‖ rlp([…, yParity, r, s])), after verifyRequestSignature. */
export function assembleSignedTransaction(request: TransactionRequest, signature: RecoverableSignature): string {
  verifyRequestSignature(request, signature);
  const tx = unsignedTransaction(request);
  tx.signature = toEthersSignature(signature);
  return tx.serialized;
}
