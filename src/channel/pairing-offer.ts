/**
 * The pairing offer the extension shows as a QR code: an https link to the phone app with the
 * offer in the URL fragment (browsers never send fragments to servers).
 *
 * Binary layout, then base64url:  version u8 ‖ kind u8 ‖ channel id (16 bytes, 128 random bits) ‖
 * extension's ephemeral X25519 public key (32) ‖ expiry (u32, Unix seconds) ‖ relay URL (UTF-8).
 * 54 bytes plus the relay URL: with a 40-character phone app URL and a 30-character relay URL the
 * link is ~150 characters, within QR version 10 at error correction M (213 bytes).
 *
 * The kind says what the link asks of the phone: a new wallet, adding the phone as a member of an
 * existing wallet, or recovering a wallet; a phone decides from it before it changes anything.
 * The phone app must be https, except on loopback (development): over plain http anyone on the
 * network could replace the app that holds the phone's veto.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { decodeBase64Url, encodeBase64Url } from './base64url.ts';
import { ChannelError } from './channel-error.ts';

/** Version 2 added the kind byte. */
export const PAIRING_OFFER_VERSION = 2;
export const PAIRING_KINDS = ['new-wallet', 'add-member', 'recover'] as const;
export type PairingKind = (typeof PAIRING_KINDS)[number];
export const CHANNEL_ID_BYTES = 16;
export const MAX_OFFER_TTL_MS = 5 * 60_000;
const MAX_RELAY_URL_BYTES = 120;
const KEY_OFFSET = 2 + CHANNEL_ID_BYTES;
const EXPIRY_OFFSET = KEY_OFFSET + 32;
const FIXED_BYTES = EXPIRY_OFFSET + 4;
const LOOPBACK_HOSTS = ['localhost', '[::1]'];
const FRAGMENT_KEY = 'p';

export interface PairingOffer {
  readonly version: number;
  readonly kind: PairingKind;
  readonly channelId: Uint8Array;
  readonly extensionEphemeralKey: Uint8Array;
  /** Unix time in milliseconds (whole seconds on the wire). */
  readonly expiresAt: number;
  readonly relayUrl: string;
}

function checkRelayUrl(relayUrl: string): void {
  let url: URL;
  try {
    url = new URL(relayUrl);
  } catch {
    throw new ChannelError('malformed_offer', 'relay URL is not a URL');
  }
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') throw new ChannelError('malformed_offer', 'relay URL must be ws: or wss:');
  if (new TextEncoder().encode(relayUrl).length > MAX_RELAY_URL_BYTES) throw new ChannelError('malformed_offer', 'relay URL too long');
}

/** Whether a URL's host is this machine: localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.includes(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Why pairing links cannot point at `phoneAppUrl` (not a URL; not https off loopback), or null. */
export function phoneAppUrlProblem(phoneAppUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(phoneAppUrl);
  } catch {
    return 'the phone app URL is not a URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) return 'the phone app must be served over https (plain http only on this machine)';
  return null;
}

function checkPhoneAppUrl(phoneAppUrl: string): void {
  const problem = phoneAppUrlProblem(phoneAppUrl);
  if (problem) throw new ChannelError('malformed_offer', problem);
}

/** The extension's side: a fresh channel id and ephemeral key; keep `ephemeralSecret` until paired. */
export function createPairingOffer(relayUrl: string, now: number, ttlMs = MAX_OFFER_TTL_MS, kind: PairingKind = 'new-wallet'): { offer: PairingOffer; ephemeralSecret: Uint8Array } {
  if (ttlMs <= 0 || ttlMs > MAX_OFFER_TTL_MS) throw new RangeError('pairing offers live at most 5 minutes');
  checkRelayUrl(relayUrl);
  const ephemeralSecret = x25519.utils.randomSecretKey();
  return {
    offer: {
      version: PAIRING_OFFER_VERSION,
      kind,
      channelId: crypto.getRandomValues(new Uint8Array(CHANNEL_ID_BYTES)),
      extensionEphemeralKey: x25519.getPublicKey(ephemeralSecret),
      expiresAt: Math.floor((now + ttlMs) / 1000) * 1000,
      relayUrl,
    },
    ephemeralSecret,
  };
}

export function encodePairingLink(offer: PairingOffer, phoneAppUrl: string): string {
  checkPhoneAppUrl(phoneAppUrl);
  const url = new TextEncoder().encode(offer.relayUrl);
  const bytes = new Uint8Array(FIXED_BYTES + url.length);
  bytes[0] = offer.version;
  bytes[1] = PAIRING_KINDS.indexOf(offer.kind) + 1;
  bytes.set(offer.channelId, 2);
  bytes.set(offer.extensionEphemeralKey, KEY_OFFSET);
  new DataView(bytes.buffer).setUint32(EXPIRY_OFFSET, offer.expiresAt / 1000, false);
  bytes.set(url, FIXED_BYTES);
  return `${phoneAppUrl.split('#')[0]}#${FRAGMENT_KEY}=${encodeBase64Url(bytes)}`;
}

/** The phone's side: parse a scanned or pasted link; refuses malformed, unknown-version and expired offers. */
export function decodePairingLink(link: string, now: number): PairingOffer {
  const hashIndex = link.indexOf('#');
  const fragment = hashIndex >= 0 ? link.slice(hashIndex + 1) : '';
  const encoded = new URLSearchParams(fragment).get(FRAGMENT_KEY);
  if (!encoded) throw new ChannelError('malformed_offer', 'this link holds no pairing offer');
  const bytes = decodeBase64Url(encoded);
  if (!bytes || bytes.length < FIXED_BYTES + 1) throw new ChannelError('malformed_offer', 'the pairing offer is damaged');
  if (bytes[0] !== PAIRING_OFFER_VERSION) throw new ChannelError('unsupported_version', `pairing offer version ${bytes[0]} is not supported; update the extension and the phone app`);
  const kind = PAIRING_KINDS[(bytes[1] as number) - 1];
  if (!kind) throw new ChannelError('malformed_offer', 'the pairing offer is of an unknown kind');
  let relayUrl: string;
  try {
    relayUrl = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(FIXED_BYTES));
  } catch {
    throw new ChannelError('malformed_offer', 'the pairing offer is damaged');
  }
  checkRelayUrl(relayUrl);
  const expiresAt = new DataView(bytes.buffer, bytes.byteOffset).getUint32(EXPIRY_OFFSET, false) * 1000;
  if (now >= expiresAt) throw new ChannelError('expired_offer', 'this pairing code has expired; show a new one in the extension');
  if (expiresAt - now > MAX_OFFER_TTL_MS + 1000) throw new ChannelError('malformed_offer', 'the pairing offer expires too far in the future');
  return {
    version: PAIRING_OFFER_VERSION,
    kind,
    channelId: bytes.slice(2, KEY_OFFSET),
    extensionEphemeralKey: bytes.slice(KEY_OFFSET, EXPIRY_OFFSET),
    expiresAt,
    relayUrl,
  };
}

/** The offer's channel id as text (an offer's name for the phone; the relay sees only its pairing roster, relay-credential.ts). */
export function relayChannelName(offer: Pick<PairingOffer, 'channelId'>): string {
  return encodeBase64Url(offer.channelId);
}
