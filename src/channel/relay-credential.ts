/**
 * Relay credentials: who may hold a role of a relay channel (the relay checks them without ever
 * reading content; see relay-protocol.ts for the hello).
 *
 * A channel's roster is one Ed25519 public key per role; the channel's name on the relay is
 *   N = base64url(SHA-256("duet/relay-channel/v2" ‖ K_extension ‖ K_phone))
 * so a name commits to its roster. A client takes its role by signing the relay's fresh challenge:
 *   Ed25519(sk_role, "duet/relay-auth/v2" ‖ nonce (32) ‖ N ‖ role).
 *
 * - Pairing channel (the QR): both keys from the offer's 128-bit channel id,
 *   seed_role = HKDF-SHA256(ikm = channel id, salt = "duet/relay/pairing/v2", info = role), so whoever
 *   holds the QR can join it (and could always race the pairing: the SAS catches that); the relay,
 *   which sees only N and the public keys, cannot.
 * - Paired channel: each device's own key, seed = HKDF-SHA256(ikm = its identity secret key,
 *   salt = the pairing transcript hash, info = "duet/relay-credential/v2/" ‖ role), announced to the
 *   peer inside the SAS-confirmed pairing and signed with the identity key. Only the two paired
 *   devices can ever claim the channel, after any release or relay restart; each can re-derive its
 *   key from what it keeps. A per-pairing key (not the identity key itself) keeps the relay from
 *   linking a device's channels to each other or to its identity.
 * - Members of a wallet with more devices each hold one paired channel per pair of members (so a
 *   channel always has exactly two roles); removing a member retires each of its channels (RETIRE,
 *   answered 4010 from then on), which revokes its credentials without touching anyone else's.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeBase64Url, encodeBase64Url } from './base64url.ts';
import type { Identity } from './handshake.ts';
import type { Role } from './relay-protocol.ts';

const encoder = new TextEncoder();
const KEY_BYTES = 32;

export interface RelayRoster {
  readonly extension: Uint8Array;
  readonly phone: Uint8Array;
}

export interface RelayCredential {
  readonly role: Role;
  readonly roster: RelayRoster;
  /** The role's Ed25519 secret key (32-byte seed). */
  readonly secretKey: Uint8Array;
}

/** As stored (inside the encrypted vault, with the rest of the relay client's state). */
export interface RelayCredentialJson {
  readonly role: Role;
  readonly extension: string;
  readonly phone: string;
  readonly secretKey: string;
}

export function relayChannelNameOf(roster: RelayRoster): string {
  const input = new Uint8Array([...encoder.encode('duet/relay-channel/v2'), ...roster.extension, ...roster.phone]);
  return encodeBase64Url(sha256(input));
}

/** What a client signs to take `role` of channel `name` on the relay that sent `nonce`. */
export function relayProofMessage(nonce: Uint8Array, name: string, role: Role): Uint8Array {
  return new Uint8Array([...encoder.encode('duet/relay-auth/v2'), ...nonce, ...encoder.encode(name), ...encoder.encode(role)]);
}

export function signRelayChallenge(credential: RelayCredential, nonce: Uint8Array): Uint8Array {
  return ed25519.sign(relayProofMessage(nonce, relayChannelNameOf(credential.roster), credential.role), credential.secretKey);
}

function keyPair(seed: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
  return { secretKey: seed, publicKey: ed25519.getPublicKey(seed) };
}

/** Both roles' credentials of the pairing channel of the offer with this channel id. */
export function pairingCredential(channelId: Uint8Array, role: Role): RelayCredential {
  const seedFor = (which: Role) => hkdf(sha256, channelId, encoder.encode('duet/relay/pairing/v2'), encoder.encode(which), KEY_BYTES);
  const extension = keyPair(seedFor('extension'));
  const phone = keyPair(seedFor('phone'));
  return { role, roster: { extension: extension.publicKey, phone: phone.publicKey }, secretKey: role === 'extension' ? extension.secretKey : phone.secretKey };
}

/** This device's key for the paired channel of the pairing with transcript hash `pairingTranscript`. */
export function pairedRelayKey(identity: Identity, pairingTranscript: Uint8Array, role: Role): { secretKey: Uint8Array; publicKey: Uint8Array } {
  return keyPair(hkdf(sha256, identity.secretKey, pairingTranscript, encoder.encode(`duet/relay-credential/v2/${role}`), KEY_BYTES));
}

export function encodeRelayCredential(credential: RelayCredential): RelayCredentialJson {
  return {
    role: credential.role,
    extension: encodeBase64Url(credential.roster.extension),
    phone: encodeBase64Url(credential.roster.phone),
    secretKey: encodeBase64Url(credential.secretKey),
  };
}

/** Null when the stored credential is damaged (the caller then pairs again). */
export function decodeRelayCredential(json: RelayCredentialJson | undefined): RelayCredential | null {
  if (!json || (json.role !== 'extension' && json.role !== 'phone')) return null;
  const extension = decodeBase64Url(json.extension);
  const phone = decodeBase64Url(json.phone);
  const secretKey = decodeBase64Url(json.secretKey);
  if (extension?.length !== KEY_BYTES || phone?.length !== KEY_BYTES || secretKey?.length !== KEY_BYTES) return null;
  const credential = { role: json.role, roster: { extension, phone }, secretKey };
  const own = credential.role === 'extension' ? extension : phone;
  return encodeBase64Url(ed25519.getPublicKey(secretKey)) === encodeBase64Url(own) ? credential : null;
}
