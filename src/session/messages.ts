import { sha256 } from '@noble/hashes/sha2.js';

/**
 * The application protocol the two devices speak inside the encrypted channel: key generation
 * right after pairing, then signing requests. The MPC messages travel as their own JSON encodings.
 *
 *   keygen:        phone → extension  {t:"keygen", body: keygen/1}
 *                  extension → phone  {t:"keygen", body: keygen/2}
 *                  phone → extension  {t:"keygen", body: keygen/3}
 *                  extension → phone  {t:"keygen-done", address}
 *   sign request:  extension → phone  {t:"sign-request", request, pair}  (the frozen SigningRequest; `pair`:
 *                                     SHA-256 of the pair's Paillier modulus P2 signs with; P1 refuses
 *                                     another, so two pair keys never meet in a signature)
 *                  phone → extension  {t:"sign-reject", id, reason}   (user rejected)
 *   sign rounds:   phone → extension  {t:"sign", id, attempt, body: sign/1}, extension → phone
 *                  sign/2, phone → extension sign/3, extension → phone sign/4
 *   result:        phone → extension  {t:"sign-result", id, r, s, yParity} | {t:"sign-failed", id, reason}
 *   cancel:        extension → phone  {t:"sign-cancel", id}   (the user cancelled, the wait timed out or
 *                  Duet was locked: the phone drops the request and any signing attempt of it)
 *
 * Resuming: the extension sends "sign-request" again for a request it was co-signing when its
 * service worker stopped. The phone answers a request it already settled with the same answer,
 * and restarts one it was co-signing as a new attempt with fresh nonces (attempt + 1, its own MPC
 * session id); both sides drop rounds of any other attempt. No attempt is ever continued after a
 * restart, and an attempt that stops before c3 reveals nothing (a timeout never taints).
 */
const SIGN_FAILURES = ['tainted', 'protocol_error', 'bad_request'] as const;
export type SignFailure = (typeof SIGN_FAILURES)[number];

export type AppMessage =
  | { readonly t: 'keygen'; readonly body: unknown }
  | { readonly t: 'keygen-done'; readonly address: string }
  | { readonly t: 'sign-request'; readonly request: unknown; readonly pair?: string }
  | { readonly t: 'sign-cancel'; readonly id: string }
  | { readonly t: 'sign-reject'; readonly id: string; readonly reason: string }
  | { readonly t: 'sign'; readonly id: string; readonly attempt: number; readonly body: unknown }
  | { readonly t: 'sign-result'; readonly id: string; readonly r: string; readonly s: string; readonly yParity: 0 | 1 }
  | { readonly t: 'sign-failed'; readonly id: string; readonly reason: SignFailure; readonly message: string };

/** More restarts of one request than this are refused (a stuck extension cannot loop the phone). */
export const MAX_SIGN_ATTEMPTS = 16;
const HEX_QUANTITY = /^0x[0-9a-f]{1,64}$/;

type FieldCheck = (value: unknown) => boolean;
const isString = (value: unknown): value is string => typeof value === 'string';
const isHexQuantity: FieldCheck = (value) => isString(value) && HEX_QUANTITY.test(value);
const isPresent: FieldCheck = (value) => value !== undefined;
const isAttempt: FieldCheck = (value) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= MAX_SIGN_ATTEMPTS;

/** The fields of each message type and their checks; other keys are refused. */
const SHAPES: Record<AppMessage['t'], Record<string, FieldCheck>> = {
  keygen: { body: isPresent },
  'keygen-done': { address: isString },
  'sign-request': { request: isPresent, pair: (v) => isString(v) && /^[0-9a-f]{64}$/.test(v) },
  'sign-cancel': { id: isString },
  'sign-reject': { id: isString, reason: isString },
  sign: { id: isString, attempt: isAttempt, body: isPresent },
  'sign-result': { id: isString, r: isHexQuantity, s: isHexQuantity, yParity: (v) => v === 0 || v === 1 },
  'sign-failed': { id: isString, reason: (v) => (SIGN_FAILURES as readonly unknown[]).includes(v), message: isString },
};

/** Fields a message may leave out: an extension older than the {2,n} wallet sends no `pair` (the phone then refuses it, saying why). */
const OPTIONAL: Partial<Record<AppMessage['t'], readonly string[]>> = { 'sign-request': ['pair'] };

/** The message if it has exactly the shape of its type, else null (dropped by the caller). */
export function parseAppMessage(value: unknown): AppMessage | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { t } = value as { t?: unknown };
  if (typeof t !== 'string' || !Object.hasOwn(SHAPES, t)) return null;
  const shape = SHAPES[t as AppMessage['t']];
  const keys = Object.keys(value).filter((key) => key !== 't');
  const required = Object.keys(shape).filter((key) => !(OPTIONAL[t as AppMessage['t']] ?? []).includes(key));
  if (!required.every((key) => keys.includes(key)) || !keys.every((key) => Object.hasOwn(shape, key) && shape[key]!((value as Record<string, unknown>)[key]))) return null;
  return value as AppMessage;
}

/** The MPC session id of one signing attempt: SHA-256("duet/sign-session/" ‖ request id ‖ "/" ‖ attempt). */
export function signSessionId(requestId: string, attempt: number): Uint8Array {
  return sha256(new TextEncoder().encode(`duet/sign-session/${requestId}/${attempt}`));
}
