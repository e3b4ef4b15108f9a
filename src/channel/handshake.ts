/**
 * Key agreement for pairing and for every later session.
 *
 * Pairing (first contact, authenticated by the user comparing the SAS):
 *   th = SHA-256("duet/pairing/v1" ‖ channel id ‖ e_E ‖ e_P)
 *   okm = HKDF-SHA256(ikm = X25519(e_E, e_P), salt = th, info = "duet/pairing/keys", 68 bytes)
 *       = key extension→phone (32) ‖ key phone→extension (32) ‖ SAS material (4)
 *   SAS = u32(SAS material) mod 10^6, six digits. e_E travels in the QR code, out of band, so a
 *   relay in the middle can only substitute e_P; then the two SAS differ except with
 *   probability 10^-6 per attempt.
 *   Inside the encrypted channel each device sends its long-term Ed25519 identity key and its
 *   relay key (relay-credential.ts) with a signature over ("identity" ‖ role ‖ th ‖ relay key),
 *   binding both to this handshake; after both users confirm the SAS, each pins the other's
 *   identity key.
 *
 * Session (every later connection, started by whichever device connected; SIGMA-style, forward
 * secret):
 *   initiator → responder: e_I;  responder → initiator: e_R, Sig_R("session" ‖ "R" ‖ th);
 *   initiator → responder: Sig_I("session" ‖ "I" ‖ th)
 *   th = SHA-256("duet/session/v2" ‖ channel id ‖ initiator's role ‖ e_I ‖ e_R), keys from HKDF over
 *   X25519(e_I, e_R) with info "duet/session/keys". Each signature is checked against the pinned
 *   identity key.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ChannelError } from './channel-error.ts';

const encoder = new TextEncoder();
export const SAS_DIGITS = 6;

export type DeviceRole = 'extension' | 'phone';

export interface DirectionalKeys {
  readonly toPhone: Uint8Array;
  readonly toExtension: Uint8Array;
}

export interface Identity {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Length-prefixed, so the hash input is unambiguous. */
function transcriptHash(label: string, ...parts: Uint8Array[]): Uint8Array {
  const framed = parts.map((part) => concat(Uint8Array.of(part.length >> 8, part.length & 0xff), part));
  return sha256(concat(encoder.encode(label), ...framed));
}

export function generateEphemeral(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

export function generateIdentity(): Identity {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

function sharedSecret(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  if (peerPublicKey.length !== 32) throw new ChannelError('malformed_frame', 'ephemeral key must be 32 bytes');
  try {
    return x25519.getSharedSecret(secretKey, peerPublicKey);
  } catch {
    throw new ChannelError('malformed_frame', 'invalid ephemeral key');
  }
}

export interface PairingKeys {
  readonly transcriptHash: Uint8Array;
  readonly keys: DirectionalKeys;
  readonly sas: string;
}

export function derivePairingKeys(channelId: Uint8Array, extensionKey: Uint8Array, phoneKey: Uint8Array, ownSecret: Uint8Array, ownRole: DeviceRole): PairingKeys {
  const peer = ownRole === 'extension' ? phoneKey : extensionKey;
  const th = transcriptHash('duet/pairing/v1', channelId, extensionKey, phoneKey);
  const okm = hkdf(sha256, sharedSecret(ownSecret, peer), th, encoder.encode('duet/pairing/keys'), 68);
  const sasValue = new DataView(okm.buffer, okm.byteOffset + 64, 4).getUint32(0, false) % 10 ** SAS_DIGITS;
  return {
    transcriptHash: th,
    keys: { toPhone: okm.slice(0, 32), toExtension: okm.slice(32, 64) },
    sas: String(sasValue).padStart(SAS_DIGITS, '0'),
  };
}

export function deriveSessionKeys(
  channelId: Uint8Array,
  initiator: DeviceRole,
  initiatorKey: Uint8Array,
  responderKey: Uint8Array,
  ownSecret: Uint8Array,
  ownRole: DeviceRole,
): { transcriptHash: Uint8Array; keys: DirectionalKeys } {
  const peer = ownRole === initiator ? responderKey : initiatorKey;
  const th = transcriptHash('duet/session/v2', channelId, encoder.encode(initiator), initiatorKey, responderKey);
  const okm = hkdf(sha256, sharedSecret(ownSecret, peer), th, encoder.encode('duet/session/keys'), 64);
  return { transcriptHash: th, keys: { toPhone: okm.slice(0, 32), toExtension: okm.slice(32, 64) } };
}

function statement(purpose: string, role: string, th: Uint8Array): Uint8Array {
  return concat(encoder.encode(`duet/${purpose}/${role}`), th);
}

export function signTranscript(identity: Identity, purpose: 'identity' | 'session', role: string, th: Uint8Array): Uint8Array {
  return ed25519.sign(statement(purpose, role, th), identity.secretKey);
}

/** Throws `identity_mismatch` when the signature is not by `publicKey`. */
export function verifyTranscriptSignature(publicKey: Uint8Array, signature: Uint8Array, purpose: 'identity' | 'session', role: string, th: Uint8Array): void {
  let valid = false;
  try {
    valid = signature.length === 64 && ed25519.verify(signature, statement(purpose, role, th), publicKey);
  } catch {
    valid = false;
  }
  if (!valid) throw new ChannelError('identity_mismatch', 'the other device could not prove its paired identity');
}
