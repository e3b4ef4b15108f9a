/**
 * The frozen signing request: exactly what the user approved in the extension, sent to the
 * phone, which decodes it, shows it again and computes the digest itself.
 *
 * Canonical JSON (bigints as 0x-hex strings), strict decoding: every field is checked and a bad
 * one is a WalletRequestError naming it.
 */
import { Transaction, TypedDataEncoder, getAddress, hashMessage, isHexString, type TypedDataField } from 'ethers';
import { WalletRequestError } from './wallet-error.ts';

export interface AccountRef {
  readonly index: number;
  readonly address: string;
}

export interface Eip1559Fields {
  readonly to: string | null;
  readonly value: bigint;
  readonly data: string;
  readonly nonce: number;
  readonly gasLimit: bigint;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

export interface TypedDataPayload {
  readonly domain: Record<string, unknown>;
  readonly types: Record<string, TypedDataField[]>;
  readonly primaryType: string;
  readonly message: Record<string, unknown>;
}

interface RequestBase {
  /** 16 random bytes, hex. */
  readonly id: string;
  readonly origin: string;
  readonly chainId: number;
  readonly account: AccountRef;
  /** Unix ms when the user approved it in the extension. */
  readonly createdAt: number;
}

export type SigningRequest =
  | (RequestBase & { readonly kind: 'transaction'; readonly tx: Eip1559Fields })
  | (RequestBase & { readonly kind: 'personal_sign'; readonly message: string })
  | (RequestBase & { readonly kind: 'typed_data'; readonly typedData: TypedDataPayload });

const hex = (value: bigint) => `0x${value.toString(16)}`;

export function encodeSigningRequest(request: SigningRequest): Record<string, unknown> {
  const base = { id: request.id, origin: request.origin, chainId: request.chainId, account: request.account, createdAt: request.createdAt, kind: request.kind };
  switch (request.kind) {
    case 'transaction': {
      const tx = request.tx;
      return { ...base, tx: { to: tx.to, value: hex(tx.value), data: tx.data, nonce: tx.nonce, gasLimit: hex(tx.gasLimit), maxFeePerGas: hex(tx.maxFeePerGas), maxPriorityFeePerGas: hex(tx.maxPriorityFeePerGas) } };
    }
    case 'personal_sign':
      return { ...base, message: request.message };
    case 'typed_data':
      return { ...base, typedData: request.typedData };
  }
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WalletRequestError(field, 'expected an object');
  return value as Record<string, unknown>;
}

function integer(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) throw new WalletRequestError(field, 'expected a non-negative integer');
  return value;
}

function quantity(value: unknown, field: string): bigint {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(value)) throw new WalletRequestError(field, 'expected a hex quantity');
  return BigInt(value);
}

function address(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new WalletRequestError(field, 'expected an address');
  try {
    return getAddress(value);
  } catch {
    throw new WalletRequestError(field, 'not a valid address');
  }
}

function hexData(value: unknown, field: string): string {
  if (typeof value !== 'string' || !isHexString(value) || value.length % 2 !== 0) throw new WalletRequestError(field, 'expected 0x-prefixed hex bytes');
  return value.toLowerCase();
}

export function decodeSigningRequest(value: unknown): SigningRequest {
  const raw = record(value, 'request');
  if (typeof raw.id !== 'string' || !/^[0-9a-f]{32}$/.test(raw.id)) throw new WalletRequestError('request.id', 'expected 16 bytes of hex');
  if (typeof raw.origin !== 'string' || !/^https?:\/\/[^/\s]+$/.test(raw.origin)) throw new WalletRequestError('request.origin', 'expected a web origin');
  const account = record(raw.account, 'request.account');
  const base = {
    id: raw.id,
    origin: raw.origin,
    chainId: integer(raw.chainId, 'request.chainId'),
    account: { index: integer(account.index, 'request.account.index', 0x7fffffff), address: address(account.address, 'request.account.address') },
    createdAt: integer(raw.createdAt, 'request.createdAt'),
  };
  switch (raw.kind) {
    case 'transaction': {
      const tx = record(raw.tx, 'request.tx');
      return {
        ...base,
        kind: 'transaction',
        tx: {
          to: tx.to === null ? null : address(tx.to, 'request.tx.to'),
          value: quantity(tx.value, 'request.tx.value'),
          data: hexData(tx.data, 'request.tx.data'),
          nonce: integer(tx.nonce, 'request.tx.nonce'),
          gasLimit: quantity(tx.gasLimit, 'request.tx.gasLimit'),
          maxFeePerGas: quantity(tx.maxFeePerGas, 'request.tx.maxFeePerGas'),
          maxPriorityFeePerGas: quantity(tx.maxPriorityFeePerGas, 'request.tx.maxPriorityFeePerGas'),
        },
      };
    }
    case 'personal_sign':
      return { ...base, kind: 'personal_sign', message: hexData(raw.message, 'request.message') };
    case 'typed_data': {
      const typed = record(raw.typedData, 'request.typedData');
      if (typeof typed.primaryType !== 'string') throw new WalletRequestError('request.typedData.primaryType', 'expected a string');
      const typedData: TypedDataPayload = {
        domain: record(typed.domain, 'request.typedData.domain'),
        types: record(typed.types, 'request.typedData.types') as Record<string, TypedDataField[]>,
        primaryType: typed.primaryType,
        message: record(typed.message, 'request.typedData.message'),
      };
      return { ...base, kind: 'typed_data', typedData };
    }
    default:
      throw new WalletRequestError('request.kind', 'unknown request kind');
  }
}

export function unsignedTransaction(request: Extract<SigningRequest, { kind: 'transaction' }>): Transaction {
  const { tx } = request;
  return Transaction.from({
    type: 2,
    chainId: BigInt(request.chainId),
    to: tx.to,
    value: tx.value,
    data: tx.data,
    nonce: tx.nonce,
    gasLimit: tx.gasLimit,
    maxFeePerGas: tx.maxFeePerGas,
    maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
  });
}

/** EIP-712 types without the EIP712Domain entry, as ethers' encoder wants them. */
export function typesWithoutDomain(types: Record<string, TypedDataField[]>): Record<string, TypedDataField[]> {
  const rest = { ...types };
  delete rest.EIP712Domain;
  return rest;
}

/** The 32-byte digest both devices sign, computed from the request each one shows. */
export function signingDigest(request: SigningRequest): Uint8Array {
  let digestHex: string;
  switch (request.kind) {
    case 'transaction':
      digestHex = unsignedTransaction(request).unsignedHash;
      break;
    case 'personal_sign':
      digestHex = hashMessage(hexToBytes(request.message));
      break;
    case 'typed_data':
      try {
        digestHex = TypedDataEncoder.hash(request.typedData.domain, typesWithoutDomain(request.typedData.types), request.typedData.message);
      } catch {
        throw new WalletRequestError('request.typedData', 'not valid EIP-712 typed data');
      }
      break;
  }
  return hexToBytes(digestHex);
}

/** A short code both screens show, so the user can match the two approvals. */
export function shortCode(request: SigningRequest): string {
  const digest = signingDigest(request);
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  let code = '';
  for (let i = 0; i < 6; i++) code += alphabet[(digest[i] as number) % alphabet.length];
  return `${code.slice(0, 3)}-${code.slice(3)}`;
}

export function hexToBytes(value: string): Uint8Array {
  const body = value.startsWith('0x') ? value.slice(2) : value;
  const out = new Uint8Array(body.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(body.slice(2 * i, 2 * i + 2), 16);
  return out;
}
