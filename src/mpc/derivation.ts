/**
 * Account derivation from one pairing: Q_i = Q + t_i·G, x2_i = x2 + t_i (P2 adds the offset,
 * P1's share is unchanged), so x1 + x2_i = x + t_i is the private key of account i.
 *
 *   t_0 = 0 (account 0 is the jointly generated key itself)
 *   t_i = HMAC-SHA512(chain code, "duet/account" ‖ Q ‖ u32(i)) mod q, for i ≥ 1
 *
 * 512 bits reduced mod q: bias below 2^-256. The offsets are public to both devices (like BIP-32
 * non-hardened derivation); knowing them and one account key gives every account key, which is
 * why neither device ever holds an account key.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToBigInt, concatBytes } from './bytes.ts';
import { G, modQ, type Point } from './curve.ts';
import { MpcError } from './errors.ts';

/** Account indices are 31-bit, as non-hardened BIP-32 indices. */
export const MAX_ACCOUNT_INDEX = 0x7fffffff;
const ACCOUNT_LABEL = new TextEncoder().encode('duet/account');

export function assertAccountIndex(index: number, field: string): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_ACCOUNT_INDEX) {
    throw new MpcError('out_of_range', field, `account index must be an integer in [0, ${MAX_ACCOUNT_INDEX}]`);
  }
}

export function accountOffset(chainCode: Uint8Array, publicKey: Point, index: number): bigint {
  assertAccountIndex(index, 'account.index');
  if (index === 0) return 0n;
  const indexBytes = new Uint8Array(4);
  new DataView(indexBytes.buffer).setUint32(0, index, false);
  const digest = hmac(sha512, chainCode, concatBytes(ACCOUNT_LABEL, publicKey.toBytes(true), indexBytes));
  return modQ(bytesToBigInt(digest));
}

export function accountPublicKey(publicKey: Point, chainCode: Uint8Array, index: number): Point {
  const offset = accountOffset(chainCode, publicKey, index);
  return offset === 0n ? publicKey : publicKey.add(G.multiply(offset));
}

/** The EIP-55 checksummed Ethereum address of a public key. */
export function ethereumAddress(point: Point): string {
  const uncompressed = point.toBytes(false).subarray(1);
  const hex = Array.from(keccak_256(uncompressed).subarray(12), (b) => b.toString(16).padStart(2, '0')).join('');
  const hashHex = Array.from(keccak_256(new TextEncoder().encode(hex)), (b) => b.toString(16).padStart(2, '0')).join('');
  let out = '0x';
  for (let i = 0; i < hex.length; i++) {
    const char = hex[i] as string;
    out += Number.parseInt(hashHex[i] as string, 16) >= 8 ? char.toUpperCase() : char;
  }
  return out;
}

export function accountAddress(publicKey: Point, chainCode: Uint8Array, index: number): string {
  return ethereumAddress(accountPublicKey(publicKey, chainCode, index));
}
