/**
 * Accounts come from the pairing: the jointly generated public key Q and chain code (kept in the
 * vault as the "paired key" record) give account i's address through src/mpc/derivation.ts
 * (Q_i = Q + t_i·G). Names and the derived addresses are public state; the record itself is not.
 */
import { getBytes, hexlify } from 'ethers';
import { accountAddress, assertAccountIndex } from '../mpc/derivation.ts';
import { POINT_BYTES, Point } from '../mpc/curve.ts';
import { CHAIN_CODE_BYTES } from '../mpc/keygen.ts';
import { rpcErrors } from '../provider/rpc-error.ts';

export const PAIRED_KEY_RECORD = 'pairedKey';
const MAX_ACCOUNT_NAME_LENGTH = 32;

/** The public half of a pairing: enough to derive every account's address, nothing to sign with. */
export interface PairedKey {
  /** Q as a compressed SEC1 point, 0x-hex. */
  readonly publicKey: string;
  /** The jointly chosen chain code, 0x-hex (32 bytes). */
  readonly chainCode: string;
}

export class PairedKeyError extends Error {
  readonly code = 'invalid_paired_key';
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'PairedKeyError';
    this.field = field;
  }
}

export function pairedKeyFromParts(publicKey: Uint8Array, chainCode: Uint8Array): PairedKey {
  return parsePairedKey({ publicKey: hexlify(publicKey), chainCode: hexlify(chainCode) });
}

export function parsePairedKey(value: unknown): PairedKey {
  if (typeof value !== 'object' || value === null) throw new PairedKeyError('pairedKey', 'expected an object');
  const record = value as { publicKey?: unknown; chainCode?: unknown };
  if (typeof record.publicKey !== 'string' || !new RegExp(`^0x(02|03)[0-9a-f]{${2 * (POINT_BYTES - 1)}}$`, 'i').test(record.publicKey)) throw new PairedKeyError('pairedKey.publicKey', `expected a ${POINT_BYTES}-byte compressed point`);
  try {
    Point.fromBytes(getBytes(record.publicKey));
  } catch {
    throw new PairedKeyError('pairedKey.publicKey', 'not a point on secp256k1');
  }
  if (typeof record.chainCode !== 'string' || !new RegExp(`^0x[0-9a-f]{${2 * CHAIN_CODE_BYTES}}$`, 'i').test(record.chainCode)) throw new PairedKeyError('pairedKey.chainCode', `expected ${CHAIN_CODE_BYTES} bytes of hex`);
  return { publicKey: record.publicKey.toLowerCase(), chainCode: record.chainCode.toLowerCase() };
}

export function deriveAccountAddress(key: PairedKey, index: number): string {
  assertAccountIndex(index, 'account.index');
  return accountAddress(Point.fromBytes(getBytes(key.publicKey)), getBytes(key.chainCode), index);
}

export function defaultAccountName(index: number): string {
  return `Account ${index + 1}`;
}

/** A user-chosen name: 1 to 32 characters after trimming. */
export function parseAccountName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.trim().length > MAX_ACCOUNT_NAME_LENGTH) {
    throw rpcErrors.invalidParams(`${field} must be 1 to ${MAX_ACCOUNT_NAME_LENGTH} characters.`);
  }
  return value.trim();
}
