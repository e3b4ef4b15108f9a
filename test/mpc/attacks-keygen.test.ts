/**
 * Malicious P1 and P2 in key generation: bad moduli, forged proofs, wrong openings, bad points.
 */
import { describe, expect, it } from 'vitest';
import { bitLength } from '../../src/mpc/bytes.ts';
import { CURVE_ORDER, G } from '../../src/mpc/curve.ts';
import { MpcError } from '../../src/mpc/errors.ts';
import {
  decodeKeyGenMsg0,
  decodeKeyGenMsg2,
  decodeKeyGenMsg3,
  encodeKeyGenMsg0,
  encodeKeyGenMsg2,
  encodeKeyGenMsg3,
  p1KeyGenAnnounce,
  p1KeyGenFinish,
  p1KeyGenStart,
  p2KeyGenFinish,
  p2KeyGenRespond,
  p2KeyGenVerifyModulus,
  type KeyGenMsg3,
} from '../../src/mpc/keygen.ts';
import { encrypt, paillierPublicKey } from '../../src/mpc/paillier.ts';
import { preparePaillierKey } from '../../src/mpc/zk/paillier-modulus.ts';
import { generateBlumPrime } from '../../src/mpc/primes.ts';
import { transcriptContext, KEYGEN_KEY_ID } from '../../src/mpc/protocol-context.ts';
import { randomBytes, randomUnit } from '../../src/mpc/random.ts';
import { encodeInteger } from '../../src/mpc/wire.ts';
import { checkPaillierModulus, verifyPaillierValidity, VALIDITY_ROUNDS } from '../../src/mpc/zk/paillier-validity.ts';
import { provePdl, verifyPdl, RANGE_BOUND_BITS } from '../../src/mpc/zk/paillier-dlog-range.ts';
import { expectMpcError } from './expect-mpc-error.ts';
import { loadPaillierFixture, loadPreparedPaillierFixture } from './fixtures.ts';
import { TEST_COUNTERPART, runKeygen, wire } from './protocol-driver.ts';
import { decodeP1KeyShare, encodeP1KeyShare } from '../../src/mpc/key-share-codec.ts';

const prepared = loadPreparedPaillierFixture(5);
const verifiedModulus = p2KeyGenVerifyModulus(p1KeyGenAnnounce(prepared));

/** An honest run up to P2 holding msg3. */
function honestUpToMessage3() {
  const sessionId = randomBytes(32);
  const r1 = p1KeyGenStart(sessionId, prepared, TEST_COUNTERPART);
  const r2 = p2KeyGenRespond(r1.message, verifiedModulus);
  const r3 = p1KeyGenFinish(r1.state, r2.message);
  return { sessionId, r1, r2, r3 };
}

describe('keygen, honest', () => {
  it('runs with a fresh 2048-bit Paillier key made and proven now, and both parties agree', () => {
    const fresh = preparePaillierKey();
    const modulus = p2KeyGenVerifyModulus(decodeKeyGenMsg0(wire(encodeKeyGenMsg0(p1KeyGenAnnounce(fresh)))));
    const sessionId = randomBytes(32);
    const r1 = p1KeyGenStart(sessionId, fresh, TEST_COUNTERPART);
    const r2 = p2KeyGenRespond(r1.message, modulus);
    const r3 = p1KeyGenFinish(r1.state, decodeKeyGenMsg2(wire(encodeKeyGenMsg2(r2.message))));
    const p2 = p2KeyGenFinish(r2.state, decodeKeyGenMsg3(wire(encodeKeyGenMsg3(r3.message)), modulus.n));
    expect(bitLength(r3.keyShare.paillier.publicKey.n)).toBe(2048);
    expect(p2.publicKey.equals(r3.keyShare.publicKey)).toBe(true);
    expect(p2.keyId).toEqual(r3.keyShare.keyId);
    expect(p2.chainCode).toEqual(r3.keyShare.chainCode);
    expect(G.multiply(r3.keyShare.x1).add(G.multiply(p2.x2)).equals(p2.publicKey)).toBe(true);
    expect(r3.keyShare.taints).toEqual([]);
    expect(r3.keyShare.counterpart).toBe(TEST_COUNTERPART);
  });
});

describe('P2 refuses a malicious P1', () => {
  it('refuses a wrong decommitment', () => {
    const { r2, r3 } = honestUpToMessage3();
    expectMpcError(() => p2KeyGenFinish(r2.state, { ...r3.message, q1: G.multiply(7n) }), 'commitment_mismatch', 'keygen3.opening');
    expectMpcError(() => p2KeyGenFinish(r2.state, { ...r3.message, opening: randomBytes(32) }), 'commitment_mismatch', 'keygen3.opening');
  });

  it('refuses a message from another session', () => {
    const a = honestUpToMessage3();
    const b = honestUpToMessage3();
    expectMpcError(() => p2KeyGenFinish(b.r2.state, a.r3.message), 'session_mismatch', 'keygen3.sessionId');
  });

  const key = loadPaillierFixture(5);
  const n = key.publicKey.n;

  it.each([
    ['even', n + 1n, 'modulus is even'],
    ['prime', generateBlumPrime(2048), 'modulus is prime'],
    ['a perfect square', generateBlumPrime(1024) ** 2n, 'modulus is a perfect square'],
    ['under 2048 bits', generateBlumPrime(1000) * generateBlumPrime(1000), 'fewer than 2048'],
    ['oversized', n << 2100n | 1n, 'more than 4096'],
    ['with a small factor', 8191n * generateBlumPrime(2040), 'prime factor below 8192'],
  ])('refuses a modulus that is %s', (_name, badN, detail) => {
    let caught: unknown;
    try {
      checkPaillierModulus(badN, 'keygen3.paillierN');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MpcError);
    expect((caught as MpcError).code).toBe('invalid_modulus');
    expect((caught as MpcError).message).toContain(detail);
  });

  it('refuses each bad modulus inside a real msg0 at decoding', () => {
    const encoded = wire(encodeKeyGenMsg0(p1KeyGenAnnounce(prepared))) as Record<string, unknown>;
    expectMpcError(() => decodeKeyGenMsg0({ ...encoded, paillierN: encodeInteger(n + 1n) }), 'invalid_modulus', 'keygen0.paillierN');
  });

  it('refuses a modulus proof made for another N', () => {
    const other = loadPreparedPaillierFixture(4);
    expectMpcError(() => p2KeyGenVerifyModulus({ type: 'keygen/0', paillierN: n, modulusProof: other.proof }), 'proof_failed', 'keygen0.modulusProof.nthRoots.roots[0]');
  });

  it('refuses keygen when msg1 commits to another N than the verified one', () => {
    const other = loadPreparedPaillierFixture(4);
    const sessionId = randomBytes(32);
    const r1 = p1KeyGenStart(sessionId, other, TEST_COUNTERPART);
    const r2 = p2KeyGenRespond(r1.message, verifiedModulus);
    const r3 = p1KeyGenFinish(r1.state, r2.message);
    expectMpcError(() => p2KeyGenFinish(r2.state, r3.message), 'commitment_mismatch', 'keygen3.opening');
  });

  it('refuses N with gcd(N, φ(N)) ≠ 1 (N = p²·q): no N-th roots exist to prove', () => {
    const p = generateBlumPrime(683);
    const q = generateBlumPrime(683);
    const badN = p * p * q;
    expect(bitLength(badN)).toBeGreaterThanOrEqual(2048);
    const context = transcriptContext('keygen/paillier', randomBytes(32), KEYGEN_KEY_ID, 'P1');
    const roots = Array.from({ length: VALIDITY_ROUNDS }, () => randomUnit(badN));
    expectMpcError(() => verifyPaillierValidity(context, badN, { roots }, 'keygen3.validityProof'), 'proof_failed', 'keygen3.validityProof.roots[0]');
  });

  it('refuses a forged or truncated N-th root proof', () => {
    const roots = [...prepared.proof.nthRoots.roots];
    roots[3] = (roots[3] as bigint) + 1n;
    const forged = { ...prepared.proof, nthRoots: { roots } };
    expectMpcError(() => p2KeyGenVerifyModulus({ type: 'keygen/0', paillierN: n, modulusProof: forged }), 'proof_failed', 'keygen0.modulusProof.nthRoots.roots[3]');
    const encoded = wire(encodeKeyGenMsg0(p1KeyGenAnnounce(prepared))) as { modulusProof: { nthRoots: { roots: string[] } } };
    const truncated = { ...encoded, modulusProof: { ...encoded.modulusProof, nthRoots: { roots: encoded.modulusProof.nthRoots.roots.slice(0, VALIDITY_ROUNDS - 1) } } };
    expectMpcError(() => decodeKeyGenMsg0(truncated), 'malformed', 'keygen0.modulusProof.nthRoots.roots');
  });

  it('refuses ckey that does not encrypt dlog(Q1)', () => {
    const { r1, r2, r3 } = honestUpToMessage3();
    const pk = paillierPublicKey(n);
    const nonce = randomUnit(pk.n);
    const wrongX = r1.state.x1 + 1n;
    const ckey = encrypt(pk, wrongX, nonce);
    const context = transcriptContext('keygen/pdl', r3.message.sessionId, KEYGEN_KEY_ID, 'P1');
    const pdlProof = provePdl(context, { publicKey: pk, ciphertext: ckey, point: r1.state.q1 }, { x: wrongX, r: nonce });
    expectMpcError(() => p2KeyGenFinish(r2.state, { ...r3.message, ckey, pdlProof }), 'proof_failed', 'keygen3.pdlProof.z1');
  });

  it('refuses ckey encrypting a value far above q (outside the proven range)', () => {
    const { r1, r3 } = honestUpToMessage3();
    const pk = paillierPublicKey(n);
    const nonce = randomUnit(pk.n);
    const huge = r1.state.x1 + CURVE_ORDER * (1n << BigInt(RANGE_BOUND_BITS));
    const ckey = encrypt(pk, huge, nonce);
    const context = transcriptContext('keygen/pdl', r3.message.sessionId, KEYGEN_KEY_ID, 'P1');
    const statement = { publicKey: pk, ciphertext: ckey, point: r1.state.q1 };
    const pdlProof = provePdl(context, statement, { x: huge, r: nonce });
    expectMpcError(() => verifyPdl(context, statement, pdlProof, 'keygen3.pdlProof'), 'out_of_range', 'keygen3.pdlProof.z1');
  });

  it('refuses a PDL proof made for another session', () => {
    const a = honestUpToMessage3();
    const b = honestUpToMessage3();
    const forged: KeyGenMsg3 = { ...a.r3.message, sessionId: b.sessionId };
    expectMpcError(() => p2KeyGenFinish(b.r2.state, forged), 'commitment_mismatch', 'keygen3.opening');
    const context = transcriptContext('keygen/pdl', b.sessionId, KEYGEN_KEY_ID, 'P1');
    const statement = { publicKey: paillierPublicKey(n), ciphertext: a.r3.message.ckey, point: a.r3.message.q1 };
    expectMpcError(() => verifyPdl(context, statement, a.r3.message.pdlProof, 'keygen3.pdlProof'), 'proof_failed', 'keygen3.pdlProof.z2');
  });

  it('refuses ckey outside Z*_{N^2}', () => {
    const { r3 } = honestUpToMessage3();
    const encoded = wire(encodeKeyGenMsg3(r3.message)) as Record<string, unknown>;
    expectMpcError(() => decodeKeyGenMsg3({ ...encoded, ckey: '00' }, n), 'invalid_ciphertext', 'keygen3.ckey');
    expectMpcError(() => decodeKeyGenMsg3({ ...encoded, ckey: encodeInteger(n * 3n) }, n), 'invalid_ciphertext', 'keygen3.ckey');
  });
});

describe('P1 refuses a malicious P2', () => {
  it('refuses a forged Schnorr proof for Q2', () => {
    const r1 = p1KeyGenStart(randomBytes(32), prepared, TEST_COUNTERPART);
    const r2 = p2KeyGenRespond(r1.message, verifiedModulus);
    const forged = { ...r2.message, proof: { ...r2.message.proof, response: (r2.message.proof.response + 1n) % CURVE_ORDER } };
    expectMpcError(() => p1KeyGenFinish(r1.state, forged), 'proof_failed', 'keygen2.proof');
  });

  it('refuses off-curve and identity Q2', () => {
    const r1 = p1KeyGenStart(randomBytes(32), prepared, TEST_COUNTERPART);
    const r2 = p2KeyGenRespond(r1.message, verifiedModulus);
    const encoded = wire(encodeKeyGenMsg2(r2.message)) as Record<string, unknown>;
    expectMpcError(() => decodeKeyGenMsg2({ ...encoded, q2: `03${'ff'.repeat(32)}` }), 'invalid_point', 'keygen2.q2');
    expectMpcError(() => decodeKeyGenMsg2({ ...encoded, q2: '00'.repeat(33) }), 'invalid_point', 'keygen2.q2');
  });

  it('refuses Q2 with a proof for another key (rogue key)', () => {
    const r1 = p1KeyGenStart(randomBytes(32), prepared, TEST_COUNTERPART);
    const r2 = p2KeyGenRespond(r1.message, verifiedModulus);
    const rogue = { ...r2.message, q2: r2.message.q2.subtract(r1.state.q1) };
    expectMpcError(() => p1KeyGenFinish(r1.state, rogue), 'proof_failed', 'keygen2.proof');
  });

  it('refuses a replayed msg2 after finishing', () => {
    const r1 = p1KeyGenStart(randomBytes(32), prepared, TEST_COUNTERPART);
    const r2 = p2KeyGenRespond(r1.message, verifiedModulus);
    const other = p1KeyGenStart(randomBytes(32), prepared, TEST_COUNTERPART);
    expectMpcError(() => p1KeyGenFinish(other.state, r2.message), 'session_mismatch', 'keygen2.sessionId');
  });
});

describe('a stored P1 share', () => {
  it('is refused when a Paillier "prime" is composite or not ≡ 3 (mod 4), naming the field', () => {
    const { p1 } = runKeygen(loadPreparedPaillierFixture(5));
    const stored = wire(encodeP1KeyShare(p1)) as Record<string, unknown>;
    const composite = generateBlumPrime(512) * generateBlumPrime(512);
    expectMpcError(() => decodeP1KeyShare({ ...stored, paillierP: encodeInteger(composite) }), 'malformed', 'p1KeyShare.paillierP');
    expectMpcError(() => decodeP1KeyShare({ ...stored, paillierQ: encodeInteger(p1.paillier.q + 2n) }), 'malformed', 'p1KeyShare.paillierQ');
    expect(decodeP1KeyShare(stored).paillier.publicKey.n).toBe(p1.paillier.publicKey.n);
  });

  it('of version 1 (a boolean taint flag) reads as a share with that taint on its counterpart', () => {
    const { p1 } = runKeygen(loadPreparedPaillierFixture(5));
    const { counterpart: _counterpart, taints: _taints, ...current } = wire(encodeP1KeyShare(p1)) as Record<string, unknown>;
    const legacy = decodeP1KeyShare({ ...current, version: 1, tainted: true }, 'the paired extension');
    expect(legacy.counterpart).toBe('the paired extension');
    expect(legacy.taints).toEqual([{ suspect: 'the paired extension', epoch: 0 }]);
  });
});
