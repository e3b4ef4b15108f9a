/**
 * The second factor: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps — what every
 * authenticator app reads from an otpauth:// QR code), with otplib.
 *
 * - A code is accepted for the current step and one step either side (RFC 6238 §5.2 recommends
 *   allowing for one step of transmission delay), and never twice: the step of the last accepted
 *   code is stored, and codes of that step or earlier are refused (a code seen over a shoulder or
 *   replayed cannot be used again).
 * - Wrong codes are throttled per wallet: after CODE_ATTEMPTS wrong codes within CODE_WINDOW_MS the
 *   wallet accepts no code until the window ends. Guessing a 6-digit code then takes ~10^6 / 3 /
 *   5 windows ≈ 66,000 windows of 15 minutes, about two years (RFC 4226 §7.3 asks for such a limit).
 */
import { generateSecret, generateURI, verifySync } from 'otplib';

export const TOTP_PERIOD_S = 30;
export const CODE_ATTEMPTS = 5;
export const CODE_WINDOW_MS = 15 * 60_000;
const ISSUER = 'Duet Guard';

/** A new secret: 20 random bytes (RFC 4226 §4 recommends 160 bits), base32 for authenticator apps. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The otpauth:// URI an authenticator app scans (shown as a QR code by the device). */
export function totpSetupUri(secret: string, label: string): string {
  return generateURI({ issuer: ISSUER, label, secret, period: TOTP_PERIOD_S, digits: 6, algorithm: 'sha1' });
}

export type TotpCheck = { readonly ok: true; readonly step: number } | { readonly ok: false };

/** Checks `code` at time `now` (ms); `lastStep`: the step of the last code accepted (0: none). */
export function verifyTotp(secret: string, code: string, now: number, lastStep: number): TotpCheck {
  if (!/^[0-9]{6}$/.test(code)) return { ok: false };
  // The clock stepped back behind the last code used: every step in the window is used already
  // (otplib throws on such a last step rather than refusing).
  if (lastStep >= Math.floor(now / 1000 / TOTP_PERIOD_S) + 1) return { ok: false };
  const result = verifySync({ secret, token: code, epoch: Math.floor(now / 1000), period: TOTP_PERIOD_S, epochTolerance: TOTP_PERIOD_S, afterTimeStep: lastStep, digits: 6, algorithm: 'sha1' });
  // A TOTP result carries its time step (the HOTP variant of the union does not).
  return result.valid && 'timeStep' in result ? { ok: true, step: result.timeStep } : { ok: false };
}

/** Wrong codes of a wallet in its current window. */
export interface CodeThrottle {
  readonly failures: number;
  readonly windowStart: number;
}

export type ThrottleState = { readonly locked: false; readonly attemptsLeft: number } | { readonly locked: true; readonly until: number };

export function throttleState(throttle: CodeThrottle, now: number): ThrottleState {
  if (now - throttle.windowStart >= CODE_WINDOW_MS) return { locked: false, attemptsLeft: CODE_ATTEMPTS };
  if (throttle.failures >= CODE_ATTEMPTS) return { locked: true, until: throttle.windowStart + CODE_WINDOW_MS };
  return { locked: false, attemptsLeft: CODE_ATTEMPTS - throttle.failures };
}

/** The throttle after one more wrong code. */
export function afterWrongCode(throttle: CodeThrottle, now: number): CodeThrottle {
  return now - throttle.windowStart >= CODE_WINDOW_MS ? { failures: 1, windowStart: now } : { failures: throttle.failures + 1, windowStart: throttle.windowStart };
}
