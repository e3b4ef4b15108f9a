import { sha256 } from '@noble/hashes/sha2.js';

/**
 * The application protocol the two devices speak inside the encrypted channel: key generation
 * right after pairing, then signing requests. The MPC messages travel as their own JSON encodings.
 *
 *   keygen:        phone → extension  {t:"keygen", body: keygen/1}
 *                  extension → phone  {t:"keygen", body: keygen/2}
 *                  phone → extension  {t:"keygen", body: keygen/3}
 *                  extension → phone  {t:"keygen-done", address}
 *   sign request:  extension → phone  {t:"sign-request", request}     (the frozen SigningRequest)
 *                  phone → extension  {t:"sign-reject", id, reason}   (user rejected)
 *   sign rounds:   phone → extension  {t:"sign", id, body: sign/1}, extension → phone sign/2,
 *                  phone → extension sign/3, extension → phone sign/4
 *   result:        phone → extension  {t:"sign-result", id, r, s, yParity} | {t:"sign-failed", id, reason}
 */
export type AppMessage =
  | { readonly t: 'keygen'; readonly body: unknown }
  | { readonly t: 'keygen-done'; readonly address: string }
  | { readonly t: 'sign-request'; readonly request: unknown }
  | { readonly t: 'sign-reject'; readonly id: string; readonly reason: string }
  | { readonly t: 'sign'; readonly id: string; readonly body: unknown }
  | { readonly t: 'sign-result'; readonly id: string; readonly r: string; readonly s: string; readonly yParity: 0 | 1 }
  | { readonly t: 'sign-failed'; readonly id: string; readonly reason: 'tainted' | 'protocol_error'; readonly message: string };

const TYPES = new Set(['keygen', 'keygen-done', 'sign-request', 'sign-reject', 'sign', 'sign-result', 'sign-failed']);

export function parseAppMessage(value: unknown): AppMessage | null {
  if (typeof value !== 'object' || value === null) return null;
  const message = value as { t?: unknown; id?: unknown };
  if (typeof message.t !== 'string' || !TYPES.has(message.t)) return null;
  if ('id' in message && typeof message.id !== 'string') return null;
  return value as AppMessage;
}

/** The MPC session id of a signing request: SHA-256("duet/sign-session/" ‖ request id). */
export function signSessionId(requestId: string): Uint8Array {
  return sha256(new TextEncoder().encode(`duet/sign-session/${requestId}`));
}
