/**
 * The persistent state of each party after key generation (or refresh).
 *
 * Plain data: the caller stores it (encrypted) and passes it back on every call; the engine keeps
 * no hidden state. Shares are additive: x = x1 + x2 (mod q), Q = Q1 + Q2.
 * JSON encoders/decoders for storage live in key-share-codec.ts.
 */
import type { Point } from './curve.ts';
import type { PaillierSecretKey } from './paillier.ts';

export const KEY_SHARE_VERSION = 2;

/**
 * A failed signature (possible leaked-abort attack, CVE-2023-33242): it names the member that
 * computed the bad c3. The leak is about x itself and survives new shares, so taints are carried
 * through every refresh and never cleared; their number is the wallet-wide failure count.
 */
export interface Taint {
  /** The counterpart of the failed signing (P1KeyShare.counterpart at the time). */
  readonly suspect: string;
  /** The key epoch it happened in. */
  readonly epoch: number;
}

/** P1 = the phone: owns the Paillier key, decrypts the final message and keeps the taint flag. */
export interface P1KeyShare {
  readonly version: typeof KEY_SHARE_VERSION;
  /** 32 bytes, chosen jointly at keygen; stays the same across refreshes. */
  readonly keyId: Uint8Array;
  /** The joint public key Q = Q1 + Q2 (account 0 before derivation offsets). */
  readonly publicKey: Point;
  /** 32-byte jointly random chain code for account derivation. */
  readonly chainCode: Uint8Array;
  /** P1's additive share x1 ∈ [1, q). */
  readonly x1: bigint;
  /** P2's public share Q2 = x2·G. */
  readonly q2: Point;
  /** P1's Paillier key pair; ckey = Enc(x1) under it is held by P2. */
  readonly paillier: PaillierSecretKey;
  /** Counts refreshes; both parties must agree on it. */
  readonly epoch: number;
  /** Who P2 is for the caller (e.g. its pinned identity key); a taint names it. */
  readonly counterpart: string;
  /** Every failed signature so far, oldest first; never cleared. */
  readonly taints: readonly Taint[];
}

/** Failed signatures with this share's counterpart, over all epochs. */
export function failuresWithCounterpart(share: P1KeyShare): number {
  return share.taints.filter((taint) => taint.suspect === share.counterpart).length;
}

/** A P1 refuses to sign (except a rescue, sign.ts) or refresh with a counterpart it has a taint for. */
export function isTainted(share: P1KeyShare): boolean {
  return failuresWithCounterpart(share) > 0;
}

/** P2 = the extension: holds ckey = Enc_N(x1) and computes the encrypted partial signature. */
export interface P2KeyShare {
  readonly version: typeof KEY_SHARE_VERSION;
  readonly keyId: Uint8Array;
  readonly publicKey: Point;
  readonly chainCode: Uint8Array;
  /** P2's additive share x2 ∈ [1, q). */
  readonly x2: bigint;
  /** P1's public share Q1 = x1·G. */
  readonly q1: Point;
  /** P1's Paillier modulus N (validated at keygen). */
  readonly paillierN: bigint;
  /** ckey = Enc_N(x1), proven at keygen to encrypt dlog(Q1) in range. */
  readonly ckey: bigint;
  readonly epoch: number;
}
