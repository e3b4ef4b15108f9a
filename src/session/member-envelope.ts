/**
 * Envelopes between two members of a wallet that have no channel of their own: a member that has a
 * channel to both (usually the extension, the coordinator) passes them on, and can neither read nor
 * forge them. The sender signs with its pinned identity key; the content is sealed to the
 * recipient's identity key in its X25519 form (RFC 7748's birational map of the Ed25519 key).
 *
 *   e fresh X25519;  R = X25519(recipient's Ed25519 identity key)
 *   k   = HKDF-SHA256(X25519(e, R), salt = H(header), info = "duet/member-envelope")
 *   box = ChaCha20-Poly1305(k, nonce 0, aad = H(header)).encrypt(JSON(message))
 *   sig = Ed25519_sender(H("duet/member-envelope" ‖ header ‖ box)),  header = from ‖ to ‖ id ‖ sentAt ‖ e
 *
 * One key per envelope (e is fresh), so the zero nonce is never reused under a key. The recipient
 * checks the signature against the identity it knows for `from` before anything else, then opens;
 * it refuses an id it saw before and an envelope older than MAX_ENVELOPE_AGE_MS (a relaying member
 * that replays old envelopes gets nothing done twice).
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bigIntToBytes, concatBytes, equalBytes } from '../mpc/bytes.ts';
import type { MemberIdentity } from '../mpc/member-signature.ts';
import { randomBytes } from '../mpc/random.ts';
import { bytesFromHex, hexFromBytes } from '../mpc/wire.ts';
import { SessionError } from './session-error.ts';

export const MAX_ENVELOPE_AGE_MS = 24 * 3600_000;
/** Larger contents are refused before any work (a reshare message fits many times). */
export const MAX_ENVELOPE_BYTES = 256 * 1024;
const ID_BYTES = 16;
const LABEL = new TextEncoder().encode('duet/member-envelope');
const NONCE = new Uint8Array(12);

export interface MemberEnvelope {
  /** Sender and recipient identity keys, hex. */
  readonly from: string;
  readonly to: string;
  readonly id: string;
  readonly sentAt: number;
  readonly ephemeral: string;
  readonly box: string;
  readonly signature: string;
}

function header(from: Uint8Array, to: Uint8Array, id: Uint8Array, sentAt: number, ephemeral: Uint8Array): Uint8Array {
  return sha256(concatBytes(LABEL, from, to, id, bigIntToBytes(BigInt(sentAt), 8), ephemeral));
}

export function sealMemberEnvelope(sender: MemberIdentity, recipient: Uint8Array, message: unknown, now: number): MemberEnvelope {
  const id = randomBytes(ID_BYTES);
  const ephemeralSecret = x25519.utils.randomSecretKey();
  const ephemeral = x25519.getPublicKey(ephemeralSecret);
  const bound = header(sender.publicKey, recipient, id, now, ephemeral);
  const key = hkdf(sha256, x25519.getSharedSecret(ephemeralSecret, ed25519.utils.toMontgomery(recipient)), bound, LABEL, 32);
  const box = chacha20poly1305(key, NONCE, bound).encrypt(new TextEncoder().encode(JSON.stringify(message)));
  const signature = ed25519.sign(sha256(concatBytes(LABEL, bound, box)), sender.secretKey);
  return { from: hexFromBytes(sender.publicKey), to: hexFromBytes(recipient), id: hexFromBytes(id), sentAt: now, ephemeral: hexFromBytes(ephemeral), box: hexFromBytes(box), signature: hexFromBytes(signature) };
}

function field(value: unknown, name: string, bytes?: number): Uint8Array {
  if (typeof value !== 'string' || !/^([0-9a-f]{2})*$/.test(value) || value.length > 2 * MAX_ENVELOPE_BYTES) throw new SessionError('malformed', `envelope.${name} is not hex`);
  const decoded = bytesFromHex(value);
  if (bytes !== undefined && decoded.length !== bytes) throw new SessionError('malformed', `envelope.${name} must be ${bytes} bytes`);
  return decoded;
}

/** Checks the shape of an envelope from the wire (what a relaying member checks before passing it on). */
export function parseMemberEnvelope(value: unknown): MemberEnvelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SessionError('malformed', 'an envelope is an object');
  const record = value as Record<string, unknown>;
  const keys = ['from', 'to', 'id', 'sentAt', 'ephemeral', 'box', 'signature'];
  if (Object.keys(record).length !== keys.length || !keys.every((key) => Object.hasOwn(record, key))) throw new SessionError('malformed', 'an envelope has exactly the fields from, to, id, sentAt, ephemeral, box, signature');
  field(record.from, 'from', 32);
  field(record.to, 'to', 32);
  field(record.id, 'id', ID_BYTES);
  field(record.ephemeral, 'ephemeral', 32);
  field(record.signature, 'signature', 64);
  field(record.box, 'box');
  if (typeof record.sentAt !== 'number' || !Number.isSafeInteger(record.sentAt) || record.sentAt < 0) throw new SessionError('malformed', 'envelope.sentAt is not a time');
  return record as unknown as MemberEnvelope;
}

/**
 * The recipient opens an envelope from `senderKey` (the identity it pinned for `from`). `seen`
 * holds the ids it accepted (the caller keeps it bounded); a repeated id is refused.
 */
export function openMemberEnvelope(recipient: MemberIdentity, senderKey: Uint8Array, envelope: MemberEnvelope, now: number, seen: Set<string>): unknown {
  const from = field(envelope.from, 'from', 32);
  const to = field(envelope.to, 'to', 32);
  if (!equalBytes(from, senderKey)) throw new SessionError('not_member', 'the envelope names another sender');
  if (!equalBytes(to, recipient.publicKey)) throw new SessionError('not_member', 'the envelope is for another member');
  if (now - envelope.sentAt > MAX_ENVELOPE_AGE_MS || envelope.sentAt - now > MAX_ENVELOPE_AGE_MS) throw new SessionError('stale', 'the envelope is too old (or from the future)');
  if (seen.has(envelope.id)) throw new SessionError('stale', 'this envelope was delivered before');
  const ephemeral = field(envelope.ephemeral, 'ephemeral', 32);
  const box = field(envelope.box, 'box');
  const bound = header(from, to, field(envelope.id, 'id', ID_BYTES), envelope.sentAt, ephemeral);
  let valid = false;
  try {
    valid = ed25519.verify(field(envelope.signature, 'signature', 64), sha256(concatBytes(LABEL, bound, box)), senderKey);
  } catch {
    valid = false;
  }
  if (!valid) throw new SessionError('bad_signature', 'the envelope is not signed by the member it names');
  let plaintext: Uint8Array;
  try {
    const key = hkdf(sha256, x25519.getSharedSecret(ed25519.utils.toMontgomerySecret(recipient.secretKey), ephemeral), bound, LABEL, 32);
    plaintext = chacha20poly1305(key, NONCE, bound).decrypt(box);
  } catch {
    throw new SessionError('bad_signature', 'the envelope does not open for this member');
  }
  seen.add(envelope.id);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext)) as unknown;
  } catch {
    throw new SessionError('malformed', 'the envelope holds no message');
  }
}
