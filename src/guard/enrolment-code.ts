/**
 * One-time enrolment codes and the proofs made with them.
 *
 * A code is 16 symbols of the unambiguous 32-letter alphabet (5 bits each), shown as
 * XXXX-XXXX-XXXX-XXXX: the first 4 name it (the Guard looks it up), the other 12 are its secret
 * (60 bits). The secret never travels: the device proves it knows it with HMAC-SHA256 —
 *
 *   enrol request   mac = HMAC(secret, "duet/guard/enrol/v1" ‖ offer link ‖ role)
 *                   (binds the device's pairing offer, so its ephemeral key comes from the code's holder)
 *   in the channel  proof = HMAC(secret, "duet/guard/sas/v1/" ‖ who ‖ channel id ‖ SAS), from each side
 *                   (binds the channel's handshake: a relay that swapped a key sees different SAS on each
 *                   side and cannot make either proof)
 *
 * The Guard refuses a code after CODE_FAILURES wrong MACs, after it expired, or once used.
 * A guard link (what a device scans or types) is the Guard's URL with the code in the fragment:
 * https://guard.example/#guard=ABCD-EFGH-JKLM-NPQR.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { encodeBase64Url } from '../channel/base64url.ts';

/** The alphabet of the request short codes: no 0/O, 1/I. */
export const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const CODE_ID_LENGTH = 4;
export const CODE_SECRET_LENGTH = 12;
/** Wrong MACs before a code is refused for good. */
export const CODE_FAILURES = 5;
const FRAGMENT_KEY = 'guard';
const encoder = new TextEncoder();

export interface EnrolmentCode {
  readonly id: string;
  readonly secret: string;
}

export function newEnrolmentCode(): EnrolmentCode {
  const symbols = Array.from(randomBytes(CODE_ID_LENGTH + CODE_SECRET_LENGTH), (byte) => CODE_ALPHABET[byte & 31]).join('');
  return { id: symbols.slice(0, CODE_ID_LENGTH), secret: symbols.slice(CODE_ID_LENGTH) };
}

export function formatEnrolmentCode(code: EnrolmentCode): string {
  return `${code.id}${code.secret}`.match(/.{4}/g)!.join('-');
}

/** A typed or scanned code (case and separators ignored), or null when it cannot be one. */
export function parseEnrolmentCode(text: string): EnrolmentCode | null {
  const symbols = text.toUpperCase().replace(/[\s-]/g, '');
  if (symbols.length !== CODE_ID_LENGTH + CODE_SECRET_LENGTH || [...symbols].some((symbol) => !CODE_ALPHABET.includes(symbol))) return null;
  return { id: symbols.slice(0, CODE_ID_LENGTH), secret: symbols.slice(CODE_ID_LENGTH) };
}

function mac(secret: string, message: string): string {
  return encodeBase64Url(hmac(sha256, encoder.encode(secret), encoder.encode(message)));
}

/** Lengths first, so no two inputs give one message. */
const framed = (...parts: string[]) => parts.map((part) => `${part.length}:${part}`).join('|');

export function enrolmentMac(secret: string, offerLink: string, role: string): string {
  return mac(secret, framed('duet/guard/enrol/v1', offerLink, role));
}

export function channelProof(secret: string, who: 'guard' | 'device', channelId: string, sas: string): string {
  return mac(secret, framed('duet/guard/sas/v1', who, channelId, sas));
}

/** Equal strings, compared in time independent of where they differ. */
export function sameProof(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

export function encodeGuardLink(guardUrl: string, code: EnrolmentCode): string {
  return `${guardUrl.split('#')[0]}#${FRAGMENT_KEY}=${formatEnrolmentCode(code)}`;
}

/** A guard link → the Guard's URL and the code; null when it holds none. */
export function decodeGuardLink(link: string): { readonly guardUrl: string; readonly code: EnrolmentCode } | null {
  const hash = link.indexOf('#');
  if (hash < 0) return null;
  const code = parseEnrolmentCode(new URLSearchParams(link.slice(hash + 1)).get(FRAGMENT_KEY) ?? '');
  return code ? { guardUrl: link.slice(0, hash), code } : null;
}
