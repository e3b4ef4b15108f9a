/**
 * Test-only dealer: splits a known private key x into x1 + x2 with a real Paillier key and
 * ckey = Enc(x1), so a known-answer test can run the real signing protocol.
 */
import { G, modQ } from '../../src/mpc/curve.ts';
import { KEY_SHARE_VERSION, type P1KeyShare, type P2KeyShare } from '../../src/mpc/key-share.ts';
import { encrypt, type PaillierSecretKey } from '../../src/mpc/paillier.ts';
import { randomBytes, randomScalar } from '../../src/mpc/random.ts';

export function dealKeyShares(privateKey: bigint, paillier: PaillierSecretKey): { p1: P1KeyShare; p2: P2KeyShare } {
  const x1 = randomScalar();
  const x2 = modQ(privateKey - x1);
  const q1 = G.multiply(x1);
  const q2 = G.multiply(x2);
  const publicKey = G.multiply(privateKey);
  const keyId = randomBytes(32);
  const chainCode = randomBytes(32);
  return {
    p1: { version: KEY_SHARE_VERSION, keyId, publicKey, chainCode, x1, q2, paillier, epoch: 0, counterpart: 'extension', taints: [] },
    p2: { version: KEY_SHARE_VERSION, keyId, publicKey, chainCode, x2, q1, paillierN: paillier.publicKey.n, ckey: encrypt(paillier.publicKey, x1), epoch: 0 },
  };
}
