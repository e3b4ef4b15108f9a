/**
 * A malicious phone (P1) with a Paillier modulus N = p′·P, p′ a prime just above the trial-division
 * bound: the attack of the independent review (docs/protocol.md, "Paillier modulus"). Without the
 * modulus proof the forged ckey passes the PDL proof and every signature leaks log₂ p′ bits of
 * k2⁻¹·r; with it P2 refuses the modulus at keygen and at refresh, naming the failing proof.
 *
 * Grinding the PDL challenge to e ≡ 0 (mod p′) takes ~p′ transcript hashes (~0.5 ms each here), so
 * the tests grind for p′ = 8219 only (a few seconds); for larger p′ the forged ckey comes with a
 * proof that is not ground. P2 checks the modulus before it reads the PDL proof, so the refusal
 * is the same either way.
 */
import { describe, expect, it } from 'vitest';
import { CURVE_ORDER, G, invertMod, modQ } from '../../src/mpc/curve.ts';
import { MpcError } from '../../src/mpc/errors.ts';
import {
  decodeKeyGenMsg0,
  encodeKeyGenMsg0,
  p1KeyGenStart,
  p2KeyGenVerifyModulus,
} from '../../src/mpc/keygen.ts';
import { KEY_SHARE_VERSION, type P1KeyShare, type P2KeyShare } from '../../src/mpc/key-share.ts';
import { decrypt, paillierPublicKey } from '../../src/mpc/paillier.ts';
import { KEYGEN_KEY_ID, transcriptContext } from '../../src/mpc/protocol-context.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import { decodeRefreshMsg3, encodeRefreshMsg3, p1RefreshProve, p1RefreshStart, p2RefreshFinish, p2RefreshRespond } from '../../src/mpc/refresh.ts';
import { takeNonce } from '../../src/mpc/one-time-nonce.ts';
import { p1SignReveal, p1SignStart, p2SignCompute, p2SignRespond } from '../../src/mpc/sign.ts';
import { verifyEcdsa, normalizeLowS } from '../../src/mpc/signature.ts';
import { bytesToBigInt } from '../../src/mpc/bytes.ts';
import { provePdl, verifyPdl } from '../../src/mpc/zk/paillier-dlog-range.ts';
import { SMALL_FACTOR_64_BITS, attackerModulusProof, forgedCkey, groundPdlProof, readLeak, smallFactorKey } from './small-factor-attacker.ts';
import { loadPreparedPaillierFixture } from './fixtures.ts';
import { TEST_COUNTERPART, runKeygen, wire } from './protocol-driver.ts';

/** Catches the MpcError of `action`. */
function refusal(action: () => unknown): MpcError {
  try {
    action();
  } catch (error) {
    if (error instanceof MpcError) return error;
    throw error;
  }
  throw new Error('accepted');
}

// p′ ≡ 1 (mod 4) fails Π^mod; p′ ≡ 3 (mod 4) passes it (N is a Blum integer) and needs Π^fac.
const NON_BLUM = [8209n, 65537n];
const BLUM = [8219n, 65539n];

describe('the attack is real without the modulus proof', () => {
  it.each([BLUM[0]!])('p′ = %s: a ground PDL proof accepts ckey = Enc(x1 + N/p′), and c3 leaks k2⁻¹·r mod p′', (small) => {
    const key = smallFactorKey(small);
    const x1 = 1n + modQ(bytesToBigInt(randomBytes(32)));
    const q1 = G.multiply(x1);
    const { ckey, nonce } = forgedCkey(key, x1);
    const context = transcriptContext('keygen/pdl', randomBytes(32), KEYGEN_KEY_ID, 'P1');
    const { proof } = groundPdlProof(context, key, ckey, nonce, x1, q1);
    expect(() => verifyPdl(context, { publicKey: key.publicKey, ciphertext: ckey, point: q1 }, proof, 'pdl')).not.toThrow();

    // Had P2 accepted: its share holds the forged ckey; the phone strips the leak and signs validly.
    const x2 = 1n + modQ(bytesToBigInt(randomBytes(32)));
    const publicKey = q1.add(G.multiply(x2));
    const chainCode = randomBytes(32);
    const keyId = randomBytes(32);
    const p2: P2KeyShare = { version: KEY_SHARE_VERSION, keyId, publicKey, chainCode, x2, q1, paillierN: key.publicKey.n, ckey, epoch: 0 };
    const p1: P1KeyShare = { version: KEY_SHARE_VERSION, keyId, publicKey, chainCode, x1, q2: G.multiply(x2), paillier: key, epoch: 0, counterpart: TEST_COUNTERPART, taints: [] };
    const request = { sessionId: randomBytes(32), digest: randomBytes(32), accountIndex: 0 };
    const s1 = p1SignStart(p1, request, null);
    const s2 = p2SignRespond(p2, request, s1.message, null);
    const s3 = p1SignReveal(p1, s1.session, s2.message);
    const s4 = p2SignCompute(p2, s2.session, s3.message);
    const { leaked, honest } = readLeak(key, decrypt(key, s4.message.c3));
    expect(leaked > 0n && leaked < small).toBe(true);
    if (s3.session.step !== 'sign/awaiting-4') throw new Error('unexpected state');
    const k1 = takeNonce(s3.session.k1, 'attacker');
    const { s, yParity } = normalizeLowS(modQ(invertMod(k1, CURVE_ORDER) * honest), Number(s3.session.bigR.toAffine().y & 1n) as 0 | 1);
    expect(verifyEcdsa(bytesToBigInt(request.digest), { r: s3.session.r, s, yParity }, publicKey)).toBe(true);
  });
});

describe('P2 refuses a modulus with a small factor', () => {
  it.each([...NON_BLUM])('p′ = %s (≡ 1 mod 4): refused by Π^mod at keygen', (small) => {
    const key = smallFactorKey(small);
    // Verified as sent; its Π^fac part is also too large to pass the decoder (next test).
    const error = refusal(() => p2KeyGenVerifyModulus({ type: 'keygen/0', paillierN: key.publicKey.n, modulusProof: attackerModulusProof(key) }));
    expect(error.code).toBe('proof_failed');
    expect(error.field).toMatch(/^keygen0\.modulusProof\.blum\.roots\[\d+\]$/);
  });

  it.each([...BLUM, SMALL_FACTOR_64_BITS])('p′ = %s (≡ 3 mod 4, N passes Π^mod): refused by Π^fac at keygen', (small) => {
    const key = smallFactorKey(small);
    const message = wire(encodeKeyGenMsg0({ type: 'keygen/0', paillierN: key.publicKey.n, modulusProof: attackerModulusProof(key) }));
    const error = refusal(() => p2KeyGenVerifyModulus(decodeKeyGenMsg0(message)));
    expect({ code: error.code, field: error.field }).toEqual({ code: 'out_of_range', field: 'keygen0.modulusProof.factors.z2' });
  });

  it('refused by Π^fac also when the attacker puts its responses in range', () => {
    const key = smallFactorKey(BLUM[0]!);
    const proof = attackerModulusProof(key);
    const inRange = { ...proof, factors: { ...proof.factors, z2: proof.factors.z1 } };
    const error = refusal(() => p2KeyGenVerifyModulus({ type: 'keygen/0', paillierN: key.publicKey.n, modulusProof: inRange }));
    expect({ code: error.code, field: error.field }).toEqual({ code: 'proof_failed', field: 'keygen0.modulusProof.factors.w2' });
  });

  it.each([...BLUM, SMALL_FACTOR_64_BITS])('p′ = %s: refused at refresh, with the forged ckey′ and its PDL proof', (small) => {
    const key = smallFactorKey(small);
    const { p1, p2 } = runKeygen(loadPreparedPaillierFixture(2));
    const r1 = p1RefreshStart(p1, randomBytes(32));
    const r2 = p2RefreshRespond(p2, r1.message);
    const honest = p1RefreshProve(p1, r1.state, r2.message, loadPreparedPaillierFixture(3));
    const x1 = honest.pending.keyShare.x1;
    const { ckey, nonce } = forgedCkey(key, x1);
    const context = transcriptContext('refresh/pdl', r1.state.header.sessionId, p1.keyId, 'P1');
    const statement = { publicKey: key.publicKey, ciphertext: ckey, point: G.multiply(x1) };
    const pdlProof = small === BLUM[0] ? groundPdlProof(context, key, ckey, nonce, x1, statement.point).proof : provePdl(context, statement, { x: x1, r: nonce });
    const forged = { ...honest.message, paillierN: key.publicKey.n, modulusProof: attackerModulusProof(key), ckey, pdlProof };
    const error = refusal(() => p2RefreshFinish(p2, r2.state, decodeRefreshMsg3(wire(encodeRefreshMsg3(forged)))));
    expect({ code: error.code, field: error.field }).toEqual({ code: 'out_of_range', field: 'refresh3.modulusProof.factors.z2' });
    // Not decoded (a direct caller of the engine): the verifier's own range check refuses it.
    const direct = refusal(() => p2RefreshFinish(p2, r2.state, forged));
    expect({ code: direct.code, field: direct.field }).toEqual({ code: 'out_of_range', field: 'refresh3.modulusProof.factors.z2' });
  });

  it('an honest modulus and keygen still pass', () => {
    const prepared = loadPreparedPaillierFixture(0);
    expect(() => p1KeyGenStart(randomBytes(32), prepared, TEST_COUNTERPART)).not.toThrow();
    const { p1, p2 } = runKeygen(prepared);
    expect(p2.paillierN).toBe(paillierPublicKey(p1.paillier.publicKey.n).n);
  });
});
