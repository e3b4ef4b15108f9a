/**
 * The TOTP check on its own: a code once, one step either side, and a clock that stepped back
 * (the Guard's host corrected its clock) refuses codes of steps already used — it never throws
 * (it did: otplib refuses a last step beyond the window, and the Guard answered bad_message).
 */
import { describe, expect, it } from 'vitest';
import { newTotpSecret, verifyTotp } from '../../src/guard/second-factor.ts';
import { generateOtp } from './support/totp.ts';

const STEP_MS = 30_000;

describe('verifyTotp', () => {
  const secret = newTotpSecret();
  const now = 1_800_000_000_000;

  it('takes the current step and one either side, each once', () => {
    const check = verifyTotp(secret, generateOtp(secret, now), now, 0);
    expect(check.ok).toBe(true);
    const step = (check as { step: number }).step;
    expect(verifyTotp(secret, generateOtp(secret, now), now, step)).toEqual({ ok: false });
    expect(verifyTotp(secret, generateOtp(secret, now + STEP_MS), now, step).ok).toBe(true);
    expect(verifyTotp(secret, generateOtp(secret, now + 3 * STEP_MS), now, 0)).toEqual({ ok: false });
  });

  it('after the clock stepped back past the last used step: refused, not thrown', () => {
    const later = now + 2 * 3_600_000;
    const used = verifyTotp(secret, generateOtp(secret, later), later, 0) as { ok: true; step: number };
    expect(used.ok).toBe(true);
    expect(verifyTotp(secret, generateOtp(secret, now), now, used.step)).toEqual({ ok: false });
  });
});
