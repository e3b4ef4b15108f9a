/** What the user's authenticator app shows: the RFC 6238 code of a secret at a time (otplib). */
import { generateSync } from 'otplib';

export function generateOtp(secret: string, at = Date.now()): string {
  return generateSync({ secret, epoch: Math.floor(at / 1000) });
}
