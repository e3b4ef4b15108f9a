/**
 * The frozen signing request: exactly what the user approved in the extension, sent to the
 * phone, which decodes it, shows it again and computes the digest itself.
 *
 * Encoding: a JSON object with a fixed shape, bigints as minimal 0x-hex strings, addresses in
 * EIP-55 checksum form, hex bytes in lowercase. The decoder is strict: it accepts exactly that
 * shape (no missing, extra or non-canonical values) and throws a WalletError naming the field.
 * The encoder checks its own output with the decoder, so a request that cannot be decoded is
 * never sent. An optional `facts` key carries what the extension observed before display
 * (presign-facts.ts): part of the canonical JSON and the short code, not of the digest.
 *
 * Origin: the web origin that asked (from the browser's sender data), or WALLET_ORIGIN for what
 * the user started in Duet's own popup (send, speed up, cancel) — no web page can have it.
 *
 * Digests (each device computes it from the request it shows):
 * - transaction: the EIP-1559 signing hash keccak256(0x02 ‖ rlp([chainId, nonce,
 *   maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList = []]));
 * - personal_sign: the EIP-191 (version 0x45) hash keccak256("\x19Ethereum Signed Message:\n" ‖
 *   len ‖ message);
 * - typed_data: the EIP-712 hash (see typed-data.ts), with the domain chainId, when present,
 *   equal to the request's chainId.
 */
import { Signature, Transaction, getAddress, getBytes, hashMessage, hexlify, recoverAddress, toBeHex } from 'ethers';
import { sha256 } from '@noble/hashes/sha2.js';
import { MAX_SAFE_CHAIN_ID } from './chains.ts';
import { MAX_PERSONAL_MESSAGE_BYTES } from './personal-message.ts';
import { decodePresignFacts, encodePresignFacts, type PresignFacts, type PresignFactsJson } from './presign-facts.ts';
import { checkTypedData, typedDataDigest, type TypedDataPayload } from './typed-data.ts';
import { WalletError } from './wallet-error.ts';

export type { TypedDataPayload } from './typed-data.ts';

export interface AccountRef {
  /** Derivation index of the account (Q_i = Q + t_i·G). */
  readonly index: number;
  readonly address: string;
}

/** The fields of an EIP-1559 (type 2) transaction; the access list is always empty. */
export interface Eip1559Fields {
  /** null creates a contract. */
  readonly to: string | null;
  readonly value: bigint;
  readonly data: string;
  readonly nonce: number;
  /** The gas limit. */
  readonly gas: bigint;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
  /** Must equal the request's chainId. */
  readonly chainId: number;
}

interface RequestBase {
  /** 16 random bytes, lowercase hex. */
  readonly id: string;
  /** The web origin that asked, from the browser's sender data. */
  readonly origin: string;
  readonly chainId: number;
  readonly account: AccountRef;
  /** Unix ms when the request was created (the extension restamps it when the user approves). */
  readonly createdAt: number;
  /** What the extension observed before display (presign-facts.ts); not part of the digest. */
  readonly facts?: PresignFacts;
}

export type TransactionRequest = RequestBase & { readonly kind: 'transaction'; readonly tx: Eip1559Fields };
export type PersonalSignRequest = RequestBase & { readonly kind: 'personal_sign'; readonly message: string };
export type TypedDataRequest = RequestBase & { readonly kind: 'typed_data'; readonly typedData: TypedDataPayload };
export type SigningRequest = TransactionRequest | PersonalSignRequest | TypedDataRequest;

type JsonBase = {
  id: string;
  kind: SigningRequest['kind'];
  origin: string;
  chainId: number;
  account: { index: number; address: string };
  createdAt: number;
  facts?: PresignFactsJson;
};

/** The wire form of a SigningRequest. */
export type SigningRequestJson =
  | (JsonBase & {
      kind: 'transaction';
      tx: { to: string | null; value: string; data: string; nonce: number; gas: string; maxFeePerGas: string; maxPriorityFeePerGas: string; chainId: number };
    })
  | (JsonBase & { kind: 'personal_sign'; message: string })
  | (JsonBase & { kind: 'typed_data'; typedData: TypedDataPayload });

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
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;
/** secp256k1 group order n; EIP-2 requires s ≤ n/2. */
const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const MAX_ORIGIN_LENGTH = 2048;
const BASE_KEYS = ['id', 'kind', 'origin', 'chainId', 'account', 'createdAt'] as const;
const PAYLOAD_KEY = { transaction: 'tx', personal_sign: 'message', typed_data: 'typedData' } as const;
const TX_KEYS = ['to', 'value', 'data', 'nonce', 'gas', 'maxFeePerGas', 'maxPriorityFeePerGas', 'chainId'] as const;
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
  if (value === WALLET_ORIGIN) return value;
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

function decodeTransactionFields(value: unknown, chainId: number): Eip1559Fields {
  const tx = record(value, 'request.tx', TX_KEYS);
  const fields: Eip1559Fields = {
    to: tx.to === null ? null : checksummedAddress(tx.to, 'request.tx.to'),
    value: quantity(tx.value, 'request.tx.value', MAX_UINT256),
    data: lowercaseHexBytes(tx.data, 'request.tx.data', MAX_TX_DATA_BYTES),
    nonce: integer(tx.nonce, 'request.tx.nonce', 0, Number.MAX_SAFE_INTEGER),
    gas: quantity(tx.gas, 'request.tx.gas', MAX_UINT64),
    maxFeePerGas: quantity(tx.maxFeePerGas, 'request.tx.maxFeePerGas', MAX_UINT256),
    maxPriorityFeePerGas: quantity(tx.maxPriorityFeePerGas, 'request.tx.maxPriorityFeePerGas', MAX_UINT256),
    chainId: integer(tx.chainId, 'request.tx.chainId', 1, MAX_SAFE_CHAIN_ID),
  };
  if (fields.chainId !== chainId) throw new WalletError('chain_mismatch', 'request.tx.chainId', 'differs from request.chainId');
  if (fields.maxPriorityFeePerGas > fields.maxFeePerGas) throw requestError('request.tx.maxPriorityFeePerGas', 'larger than maxFeePerGas (EIP-1559 makes such a transaction invalid)');
  return fields;
}

/** Checks a wire-form request strictly and returns it typed. */
export function decodeSigningRequest(value: unknown): SigningRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw requestError('request', 'expected an object');
  const { kind } = value as Record<string, unknown>;
  if (kind !== 'transaction' && kind !== 'personal_sign' && kind !== 'typed_data') throw requestError('request.kind', 'expected transaction, personal_sign or typed_data');
  const hasFacts = Object.hasOwn(value, 'facts');
  const raw = record(value, 'request', [...BASE_KEYS, PAYLOAD_KEY[kind], ...(hasFacts ? ['facts'] : [])]);
  if (typeof raw.id !== 'string' || !/^[0-9a-f]{32}$/.test(raw.id)) throw requestError('request.id', 'expected 16 bytes of lowercase hex');
  const account = record(raw.account, 'request.account', ['index', 'address']);
  const chainId = integer(raw.chainId, 'request.chainId', 1, MAX_SAFE_CHAIN_ID);
  const base: RequestBase = {
    id: raw.id,
    origin: webOrigin(raw.origin, 'request.origin'),
    chainId,
    account: { index: integer(account.index, 'request.account.index', 0, MAX_ACCOUNT_INDEX), address: checksummedAddress(account.address, 'request.account.address') },
    createdAt: integer(raw.createdAt, 'request.createdAt', 0, Number.MAX_SAFE_INTEGER),
    ...(hasFacts ? { facts: decodePresignFacts(raw.facts, 'request.facts') } : {}),
  };
  switch (kind) {
    case 'transaction':
      return { ...base, kind, tx: decodeTransactionFields(raw.tx, chainId) };
    case 'personal_sign':
      return { ...base, kind, message: lowercaseHexBytes(raw.message, 'request.message', MAX_PERSONAL_MESSAGE_BYTES) };
    case 'typed_data':
      return { ...base, kind, typedData: checkTypedData(raw.typedData, chainId, 'request.typedData').payload };
  }
}

function toJson(request: SigningRequest): SigningRequestJson {
  const account = { index: request.account.index, address: canonicalAddress(request.account.address, 'request.account.address') };
  const base = { id: request.id, origin: request.origin, chainId: request.chainId, account, createdAt: request.createdAt, ...(request.facts ? { facts: encodePresignFacts(request.facts) } : {}) };
  switch (request.kind) {
    case 'transaction': {
      const { tx } = request;
      return {
        ...base,
        kind: 'transaction',
        tx: {
          to: tx.to === null ? null : canonicalAddress(tx.to, 'request.tx.to'),
          value: hexQuantity(tx.value),
          data: tx.data.toLowerCase(),
          nonce: tx.nonce,
          gas: hexQuantity(tx.gas),
          maxFeePerGas: hexQuantity(tx.maxFeePerGas),
          maxPriorityFeePerGas: hexQuantity(tx.maxPriorityFeePerGas),
          chainId: tx.chainId,
        },
      };
    }
    case 'personal_sign':
      return { ...base, kind: 'personal_sign', message: request.message.toLowerCase() };
    case 'typed_data':
      return { ...base, kind: 'typed_data', typedData: request.typedData };
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
  return Transaction.from({
    type: 2,
    chainId: BigInt(tx.chainId),
    to: tx.to,
    value: tx.value,
    data: tx.data,
    nonce: tx.nonce,
    gasLimit: tx.gas,
    maxFeePerGas: tx.maxFeePerGas,
    maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    accessList: [],
  });
}

/** The unsigned EIP-1559 transaction of a request, after the same checks as a received request. */
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
      return typedDataDigest(checkTypedData(checked.typedData, checked.chainId, 'request.typedData'));
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
