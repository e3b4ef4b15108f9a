/**
 * Test drivers that run both parties through real, JSON-encoded messages.
 */
import { randomBytes } from '../../src/mpc/random.ts';
import type { P1KeyShare, P2KeyShare } from '../../src/mpc/key-share.ts';
import {
  decodeKeyGenMsg0,
  decodeKeyGenMsg1,
  decodeKeyGenMsg2,
  decodeKeyGenMsg3,
  encodeKeyGenMsg0,
  encodeKeyGenMsg1,
  encodeKeyGenMsg2,
  encodeKeyGenMsg3,
  p1KeyGenAnnounce,
  p1KeyGenFinish,
  p1KeyGenStart,
  p2KeyGenFinish,
  p2KeyGenRespond,
  p2KeyGenVerifyModulus,
} from '../../src/mpc/keygen.ts';
import type { PreparedPaillierKey } from '../../src/mpc/zk/paillier-modulus.ts';
import { p1SignFinish, p1SignReveal, p1SignStart, p2SignCompute, p2SignRespond, type P1SignOutcome, type SignRequest } from '../../src/mpc/sign.ts';
import { decodeSignMsg1, decodeSignMsg2, decodeSignMsg3, decodeSignMsg4, encodeSignMsg1, encodeSignMsg2, encodeSignMsg3, encodeSignMsg4 } from '../../src/mpc/sign-messages.ts';

/** What crosses the channel: JSON text. */
export function wire(message: object): unknown {
  return JSON.parse(JSON.stringify(message));
}

/** The counterpart label the tests' P1 shares name P2 by. */
export const TEST_COUNTERPART = 'extension';

/** Keygen from round 0 through JSON, with P1's key prepared in advance (a fixture). */
export function runKeygen(prepared: PreparedPaillierKey): { p1: P1KeyShare; p2: P2KeyShare } {
  const modulus = p2KeyGenVerifyModulus(decodeKeyGenMsg0(wire(encodeKeyGenMsg0(p1KeyGenAnnounce(prepared)))));
  const sessionId = randomBytes(32);
  const round1 = p1KeyGenStart(sessionId, prepared, TEST_COUNTERPART);
  const round2 = p2KeyGenRespond(decodeKeyGenMsg1(wire(encodeKeyGenMsg1(round1.message))), modulus);
  const round3 = p1KeyGenFinish(round1.state, decodeKeyGenMsg2(wire(encodeKeyGenMsg2(round2.message))));
  const p2 = p2KeyGenFinish(round2.state, decodeKeyGenMsg3(wire(encodeKeyGenMsg3(round3.message)), modulus.n));
  return { p1: round3.keyShare, p2 };
}

/** Both parties through JSON up to P2's sign/4; `request` may carry P1's rescue flag. */
export function runSignToC3(p1: P1KeyShare, p2: P2KeyShare, request: SignRequest) {
  const s1 = p1SignStart(p1, request, null);
  const s2 = p2SignRespond(p2, request, decodeSignMsg1(wire(encodeSignMsg1(s1.message))), null);
  const s3 = p1SignReveal(p1, s1.session, decodeSignMsg2(wire(encodeSignMsg2(s2.message))));
  const s4 = p2SignCompute(p2, s2.session, decodeSignMsg3(wire(encodeSignMsg3(s3.message))));
  return { s1, s2, s3, s4 };
}

export function runSign(p1: P1KeyShare, p2: P2KeyShare, digest: Uint8Array, accountIndex: number): P1SignOutcome {
  const { s3, s4 } = runSignToC3(p1, p2, { sessionId: randomBytes(32), digest, accountIndex });
  return p1SignFinish(p1, s3.session, decodeSignMsg4(wire(encodeSignMsg4(s4.message)), p1.paillier.publicKey.n));
}
