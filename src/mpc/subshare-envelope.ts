/**
 * Sub-shares travel sealed to the recipient's per-reshare ephemeral X25519 key (deleted at the
 * commit point), so recorded relay traffic plus a later theft of a device's long-term keys yields
 * no old sub-share.
 *
 *   sender: e fresh;  k = HKDF-SHA256(X25519(e, R), salt = aad, info = "duet/reshare/subshare")
 *           envelope = e·G ‖ ChaCha20-Poly1305(k, nonce 0, aad).encrypt(plaintext)
 * One key per envelope (e is fresh), so the all-zero nonce is never reused under a key.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from './bytes.ts';
import { MpcError } from './errors.ts';

export const EPHEMERAL_KEY_BYTES = 32;
const INFO = new TextEncoder().encode('duet/reshare/subshare');
const NONCE = new Uint8Array(12);

export interface EphemeralKeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function generateEphemeralKey(): EphemeralKeyPair {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

function envelopeKey(shared: Uint8Array, aad: Uint8Array): Uint8Array {
  return hkdf(sha256, shared, aad, INFO, 32);
}

export function sealEnvelope(recipientKey: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const sender = generateEphemeralKey();
  const key = envelopeKey(x25519.getSharedSecret(sender.secretKey, recipientKey), aad);
  return concatBytes(sender.publicKey, chacha20poly1305(key, NONCE, aad).encrypt(plaintext));
}

/** Throws `tampered_envelope` naming `field` when the envelope does not open under this key and aad. */
export function openEnvelope(recipient: EphemeralKeyPair, aad: Uint8Array, envelope: Uint8Array, field: string): Uint8Array {
  try {
    const key = envelopeKey(x25519.getSharedSecret(recipient.secretKey, envelope.subarray(0, EPHEMERAL_KEY_BYTES)), aad);
    return chacha20poly1305(key, NONCE, aad).decrypt(envelope.subarray(EPHEMERAL_KEY_BYTES));
  } catch {
    throw new MpcError('tampered_envelope', field, 'the sealed sub-share does not open for this recipient and transcript');
  }
}
