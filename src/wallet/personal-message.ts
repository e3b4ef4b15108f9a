/**
 * personal_sign parameters → the message bytes and the signing address.
 *
 * - Order: [message, address] as MetaMask takes it (an optional third element, a legacy password,
 *   is ignored). When the first element is an address and the second is not, the pair is read in
 *   the legacy order [address, message], as MetaMask's middleware does.
 * - Message: a 0x-prefixed string of whole hex bytes is those bytes; any other string is its UTF-8
 *   encoding.
 * The digest (EIP-191 version 0x45) is computed from the bytes by signingDigest.
 */
import { getAddress, hexlify, toUtf8Bytes } from 'ethers';
import { WalletError } from './wallet-error.ts';

/** Same bound as a transaction's data (geth's 128 KiB transaction size limit). */
export const MAX_PERSONAL_MESSAGE_BYTES = 128 * 1024;
const HEX_BYTES = /^0x(?:[0-9a-fA-F]{2})*$/;
const ADDRESS_SHAPE = /^0x[0-9a-fA-F]{40}$/;

export interface PersonalSignParams {
  /** The message bytes, 0x-prefixed lowercase hex. */
  readonly message: string;
  /** The requested signer, checksummed (EIP-55). */
  readonly address: string;
}

function paramsError(field: string, reason: string): WalletError {
  return new WalletError('bad_personal_sign_params', field, reason);
}

/** A personal_sign message string → its bytes as 0x-hex. */
export function personalMessageHex(message: unknown, field: string): string {
  if (typeof message !== 'string') throw paramsError(field, 'expected a string');
  const hex = HEX_BYTES.test(message) ? message.toLowerCase() : hexlify(toUtf8Bytes(message));
  if ((hex.length - 2) / 2 > MAX_PERSONAL_MESSAGE_BYTES) throw paramsError(field, `longer than ${MAX_PERSONAL_MESSAGE_BYTES} bytes`);
  return hex;
}

/** 0x and 40 hex digits, the shape MetaMask's order check looks for (checksum checked later). */
function looksLikeAddress(value: unknown): value is string {
  return typeof value === 'string' && ADDRESS_SHAPE.test(value);
}

function checksummedAddress(value: unknown, field: string): string {
  if (!looksLikeAddress(value)) throw paramsError(field, 'expected an address');
  try {
    return getAddress(value);
  } catch {
    throw paramsError(field, 'not a valid address (wrong EIP-55 checksum)');
  }
}

export function parsePersonalSignParams(params: unknown): PersonalSignParams {
  if (!Array.isArray(params) || params.length < 2 || params.length > 3) throw paramsError('params', 'expected [message, address]');
  const [first, second] = params as [unknown, unknown];
  const legacyOrder = looksLikeAddress(first) && !looksLikeAddress(second);
  const [message, address, messageField, addressField] = legacyOrder ? [second, first, 'params[1]', 'params[0]'] : [first, second, 'params[0]', 'params[1]'];
  const checksummed = checksummedAddress(address, addressField);
  return { message: personalMessageHex(message, messageField), address: checksummed };
}
