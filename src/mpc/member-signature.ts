/**
 * Statements a member signs with its pinned Ed25519 identity key (the key the channel pins at
 * pairing): reshare proposals, joins, commitments, approvals, confirmations, deletion receipts.
 * Each signature covers SHA-256 of a domain label and the statement's digest, so a signature
 * made for one kind of statement can never be taken for another.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from './bytes.ts';
import { MpcError } from './errors.ts';

export const MEMBER_SIGNATURE_BYTES = 64;

/** The member's identity key pair (Ed25519); `secretKey` never leaves the device. */
export interface MemberIdentity {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

function signedBytes(label: string, digest: Uint8Array): Uint8Array {
  return sha256(concatBytes(new TextEncoder().encode(`duet/member-signature/${label}`), digest));
}

export function signStatement(identity: MemberIdentity, label: string, digest: Uint8Array): Uint8Array {
  return ed25519.sign(signedBytes(label, digest), identity.secretKey);
}

/** Throws `bad_member_signature` naming `field` unless `publicKey` signed this statement. */
export function verifyStatement(publicKey: Uint8Array, signature: Uint8Array, label: string, digest: Uint8Array, field: string): void {
  let valid = false;
  try {
    valid = signature.length === MEMBER_SIGNATURE_BYTES && ed25519.verify(signature, signedBytes(label, digest), publicKey);
  } catch {
    valid = false;
  }
  if (!valid) throw new MpcError('bad_member_signature', field, `not signed by the member's identity key (${label})`);
}
