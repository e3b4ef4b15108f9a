/**
 * Malicious-counterparty harnesses for signing: each check gets the bad value and the exact error.
 */
import { describe, expect, it } from 'vitest';
import { G, CURVE_ORDER } from '../../src/mpc/curve.ts';
import { MpcError } from '../../src/mpc/errors.ts';
import { decodeP1KeyShare, encodeP1KeyShare } from '../../src/mpc/key-share-codec.ts';
import { isTainted } from '../../src/mpc/key-share.ts';
import { encrypt, addCiphertexts } from '../../src/mpc/paillier.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import {
  committedNonce,
  p1SignFinish,
  p1SignReveal,
  p1SignStart,
  p2SignCompute,
  p2SignRespond,
  type SignRequest,
} from '../../src/mpc/sign.ts';
import { decodeSignMsg1, decodeSignMsg2, decodeSignMsg3, decodeSignMsg4, encodeSignMsg1, encodeSignMsg2, encodeSignMsg3, encodeSignMsg4 } from '../../src/mpc/sign-messages.ts';
import { transcriptContext } from '../../src/mpc/protocol-context.ts';
import { encodeInteger } from '../../src/mpc/wire.ts';
import { commit } from '../../src/mpc/zk/commitment.ts';
import { proveDiscreteLog } from '../../src/mpc/zk/schnorr.ts';
import { expectMpcError } from './expect-mpc-error.ts';
import { loadPreparedPaillierFixture } from './fixtures.ts';
import { runKeygen, runSign, runSignToC3, wire } from './protocol-driver.ts';

const { p1, p2 } = runKeygen(loadPreparedPaillierFixture(3));

function request(overrides: Partial<SignRequest> = {}): SignRequest {
  return { sessionId: randomBytes(32), digest: randomBytes(32), accountIndex: 0, ...overrides };
}


/** Runs the honest protocol up to P2 holding msg3 and P1 awaiting msg4. */
function upToMessage3(req = request()) {
  const s1 = p1SignStart(p1, req, null);
  const s2 = p2SignRespond(p2, req, s1.message, null);
  const s3 = p1SignReveal(p1, s1.session, s2.message);
  return { req, s1, s2, s3 };
}

describe('P2 checks what a malicious P1 sends', () => {
  it('refuses a wrong decommitment', () => {
    const { s2, s3 } = upToMessage3();
    const opening = s3.message.opening.slice();
    opening[0] = (opening[0] as number) ^ 1;
    expectMpcError(() => p2SignCompute(p2, s2.session, { ...s3.message, opening }), 'commitment_mismatch', 'sign3.opening');
  });

  it('refuses R1 swapped after the commitment', () => {
    const { s2, s3 } = upToMessage3();
    expectMpcError(() => p2SignCompute(p2, s2.session, { ...s3.message, r1: G.multiply(5n) }), 'commitment_mismatch', 'sign3.opening');
  });

  it('refuses a forged Schnorr proof for R1 even when correctly committed', () => {
    const req = request();
    const header = { sessionId: req.sessionId, keyId: p1.keyId, epoch: p1.epoch };
    const r1 = G.multiply(12345n);
    const honest = proveDiscreteLog(transcriptContext('sign/r1', req.sessionId, p1.keyId, 'P1'), 12345n, r1);
    const forged = { commitment: honest.commitment, response: (honest.response + 1n) % CURVE_ORDER };
    const { commitment, opening } = commit(transcriptContext('sign/commit', req.sessionId, p1.keyId, 'P1'), committedNonce(r1, forged, req.digest, 0));
    const s2 = p2SignRespond(p2, req, { type: 'sign/1', ...header, commitment }, null);
    expectMpcError(
      () => p2SignCompute(p2, s2.session, { type: 'sign/3', ...header, opening, r1, proof: forged, digest: req.digest, accountIndex: 0 }),
      'proof_failed',
      'sign3.proof',
    );
  });

  it('refuses a different digest before computing anything (digest mismatch)', () => {
    const req = request();
    const phoneRequest = { ...req, digest: randomBytes(32) };
    const s1 = p1SignStart(p1, phoneRequest, null);
    const s2 = p2SignRespond(p2, req, s1.message, null);
    const s3 = p1SignReveal(p1, s1.session, s2.message);
    expectMpcError(() => p2SignCompute(p2, s2.session, s3.message), 'digest_mismatch', 'sign3.digest');
  });

  it('refuses a different account index', () => {
    const req = request();
    const s1 = p1SignStart(p1, { ...req, accountIndex: 1 }, null);
    const s2 = p2SignRespond(p2, req, s1.message, null);
    const s3 = p1SignReveal(p1, s1.session, s2.message);
    expectMpcError(() => p2SignCompute(p2, s2.session, s3.message), 'digest_mismatch', 'sign3.accountIndex');
  });

  it('refuses a replayed msg3 and an out-of-order message', () => {
    const { s2, s3 } = upToMessage3();
    const s4 = p2SignCompute(p2, s2.session, s3.message);
    expectMpcError(() => p2SignCompute(p2, s4.session, s3.message), 'unexpected_message', 'sign3');
  });

  it('refuses a message from another session', () => {
    const a = upToMessage3();
    const b = upToMessage3();
    expectMpcError(() => p2SignCompute(p2, b.s2.session, a.s3.message), 'session_mismatch', 'sign3.sessionId');
  });

  it('refuses a proof from one session relabelled for another session', () => {
    const a = upToMessage3();
    const req = request({ digest: a.req.digest });
    const header = { sessionId: req.sessionId, keyId: p1.keyId, epoch: p1.epoch };
    const m = a.s3.message;
    const { commitment, opening } = commit(transcriptContext('sign/commit', req.sessionId, p1.keyId, 'P1'), committedNonce(m.r1, m.proof, m.digest, 0));
    const s2 = p2SignRespond(p2, req, { type: 'sign/1', ...header, commitment }, null);
    expectMpcError(() => p2SignCompute(p2, s2.session, { ...m, ...header, opening }), 'proof_failed', 'sign3.proof');
  });

  it('refuses a second session while one is active', () => {
    const { req, s1, s2 } = upToMessage3();
    expectMpcError(() => p2SignRespond(p2, request(), s1.message, s2.session), 'session_busy', 'sign.session');
    expect(req).toBeDefined();
  });
});

describe('P1 checks what a malicious P2 sends', () => {
  it('refuses off-curve and identity R2 at decoding', () => {
    const s1 = p1SignStart(p1, request(), null);
    const s2 = p2SignRespond(p2, s1.session.request, s1.message, null);
    const encoded = wire(encodeSignMsg2(s2.message)) as Record<string, unknown>;
    expectMpcError(() => decodeSignMsg2({ ...encoded, r2: `02${'ff'.repeat(32)}` }), 'invalid_point', 'sign2.r2');
    expectMpcError(() => decodeSignMsg2({ ...encoded, r2: `00${'00'.repeat(32)}` }), 'invalid_point', 'sign2.r2');
    expectMpcError(() => decodeSignMsg2({ ...encoded, r2: '02' }), 'invalid_point', 'sign2.r2');
  });

  it('refuses proof scalars equal to 0 or ≥ q', () => {
    const s1 = p1SignStart(p1, request(), null);
    const s2 = p2SignRespond(p2, s1.session.request, s1.message, null);
    const encoded = wire(encodeSignMsg2(s2.message)) as Record<string, Record<string, string>>;
    const proof = encoded.proof as Record<string, string>;
    expectMpcError(() => decodeSignMsg2({ ...encoded, proof: { ...proof, response: '00'.repeat(32) } }), 'out_of_range', 'sign2.proof.response');
    expectMpcError(() => decodeSignMsg2({ ...encoded, proof: { ...proof, response: CURVE_ORDER.toString(16) } }), 'out_of_range', 'sign2.proof.response');
    expectMpcError(() => decodeSignMsg2({ ...encoded, proof: { ...proof, response: 'ff'.repeat(31) } }), 'malformed', 'sign2.proof.response');
  });

  it('refuses a forged Schnorr proof for R2', () => {
    const s1 = p1SignStart(p1, request(), null);
    const s2 = p2SignRespond(p2, s1.session.request, s1.message, null);
    const forged = { ...s2.message, proof: { ...s2.message.proof, response: (s2.message.proof.response + 1n) % CURVE_ORDER } };
    expectMpcError(() => p1SignReveal(p1, s1.session, forged), 'proof_failed', 'sign2.proof');
  });

  it('refuses c3 outside Z*_{N^2}: 0, N², a multiple of a prime factor of N', () => {
    const { s3 } = upToMessage3();
    const n = p1.paillier.publicKey.n;
    const base = { type: 'sign/4', sessionId: '00'.repeat(32), keyId: '00'.repeat(32), epoch: 0, version: 1 };
    for (const c3 of [0n, n * n, p1.paillier.p * 7n]) {
      expectMpcError(() => decodeSignMsg4({ ...base, c3: encodeInteger(c3) }, n), 'invalid_ciphertext', 'sign4.c3');
    }
    expect(s3.session.step).toBe('sign/awaiting-4');
  });

  it('refuses replayed and out-of-order messages', () => {
    const s1 = p1SignStart(p1, request(), null);
    const s2 = p2SignRespond(p2, s1.session.request, s1.message, null);
    const s3 = p1SignReveal(p1, s1.session, s2.message);
    expectMpcError(() => p1SignReveal(p1, s3.session, s2.message), 'unexpected_message', 'sign2');
    const s4 = p2SignCompute(p2, s2.session, s3.message);
    expectMpcError(() => p1SignFinish(p1, s1.session, s4.message), 'unexpected_message', 'sign4');
    const done = p1SignFinish(p1, s3.session, s4.message);
    expect(done.kind).toBe('signature');
    expectMpcError(() => p1SignFinish(p1, done.session, s4.message), 'unexpected_message', 'sign4');
  });

  it('refuses a second session while one is active, and allows one after the old is abandoned', () => {
    const s1 = p1SignStart(p1, request(), null);
    expectMpcError(() => p1SignStart(p1, request(), s1.session), 'session_busy', 'sign.session');
    expect(p1SignStart(p1, request(), null).session.step).toBe('sign/awaiting-2');
  });

  it('deletes the nonce: a finished session holds no k1', () => {
    const { s2, s3 } = upToMessage3();
    const outcome = p1SignFinish(p1, s3.session, p2SignCompute(p2, s2.session, s3.message).message);
    expect(Object.keys(outcome.session)).toEqual(['step', 'request']);
  });

  it('refuses a wrong version and unknown fields', () => {
    const s1 = p1SignStart(p1, request(), null);
    const encoded = wire(encodeSignMsg1(s1.message)) as Record<string, unknown>;
    expectMpcError(() => decodeSignMsg1({ ...encoded, version: 2 }), 'unsupported_version', 'sign1.version');
    expectMpcError(() => decodeSignMsg1({ ...encoded, extra: 1 }), 'malformed', 'sign1.extra');
    expectMpcError(() => decodeSignMsg1({ ...encoded, keyId: 'zz' }), 'malformed', 'sign1.keyId');
  });
});

describe('leaked-abort attack (CVE-2023-33242)', () => {
  it('a crafted c3 costs the attacker the key: one failure, then every session is refused', () => {
    const { p1: phone, p2: extension } = runKeygen(loadPreparedPaillierFixture(4));
    const req = request();
    const s1 = p1SignStart(phone, req, null);
    const s2 = p2SignRespond(extension, req, s1.message, null);
    const s3 = p1SignReveal(phone, s1.session, s2.message);
    const honest = p2SignCompute(extension, s2.session, s3.message);
    // The attacker adds 2^j·k2⁻¹·r·(bit-dependent) terms; any deviation makes the signature invalid
    // for some x1, and P1 cannot tell which: it must treat the failure as an attack.
    const pk = phone.paillier.publicKey;
    const crafted = { ...honest.message, c3: addCiphertexts(pk, honest.message.c3, encrypt(pk, 1n << 200n)) };
    const outcome = p1SignFinish(phone, s3.session, decodeSignMsg4(wire(encodeSignMsg4(crafted)), pk.n));
    expect(outcome.kind).toBe('tainted');
    if (outcome.kind !== 'tainted') return;
    expect(outcome.error.code).toBe('invalid_signature');
    const tainted = outcome.keyShare;
    expect(tainted.taints).toEqual([{ suspect: phone.counterpart, epoch: phone.epoch }]);
    expect(isTainted(tainted)).toBe(true);

    expectMpcError(() => p1SignStart(tainted, request(), null), 'key_tainted', 'keyShare.taints');
    expectMpcError(() => p1SignReveal(tainted, s1.session, s2.message), 'key_tainted', 'keyShare.taints');

    const reloaded = decodeP1KeyShare(JSON.parse(JSON.stringify(encodeP1KeyShare(tainted))));
    expect(reloaded.taints).toEqual(tainted.taints);
    expectMpcError(() => p1SignStart(reloaded, request(), null), 'key_tainted', 'keyShare.taints');
  });

  it('after one failure only a rescue signs with the suspect; a second failure refuses rescues too', () => {
    const { p1: phone, p2: extension } = runKeygen(loadPreparedPaillierFixture(4));
    const tainted: typeof phone = { ...phone, taints: [{ suspect: phone.counterpart, epoch: 0 }] };
    expectMpcError(() => runSign(tainted, extension, randomBytes(32), 0), 'key_tainted', 'keyShare.taints');
    const { s3, s4 } = runSignToC3(tainted, extension, { ...request(), rescue: true });
    expect(p1SignFinish(tainted, s3.session, s4.message).kind).toBe('signature');

    // The suspect crafts c3 again during a rescue: now the key refuses everything.
    const { s3: t3, s4: t4 } = runSignToC3(tainted, extension, { ...request(), rescue: true });
    const pk = tainted.paillier.publicKey;
    const outcome = p1SignFinish(tainted, t3.session, { ...t4.message, c3: addCiphertexts(pk, t4.message.c3, encrypt(pk, 1n << 200n)) });
    if (outcome.kind !== 'tainted') throw new Error('expected a taint');
    expect(outcome.keyShare.taints).toHaveLength(2);
    expectMpcError(() => p1SignStart(outcome.keyShare, { ...request(), rescue: true }, null), 'key_tainted', 'keyShare.taints');
  });

  it('a timeout never taints: an abandoned session leaves the key usable', () => {
    const { p1: phone, p2: extension } = runKeygen(loadPreparedPaillierFixture(4));
    const abandoned = p1SignStart(phone, request(), null);
    expect(abandoned.session.step).toBe('sign/awaiting-2');
    expect(isTainted(phone)).toBe(false);
    const outcome = runSign(phone, extension, randomBytes(32), 0);
    expect(outcome.kind).toBe('signature');
  });
});

describe('round states holding a nonce are used once and never stored', () => {
  it('P1 reveals once: the same awaiting-2 state against a second R2 is refused', () => {
    const { p1: phone, p2: extension } = runKeygen(loadPreparedPaillierFixture(4));
    const req = request();
    const s1 = p1SignStart(phone, req, null);
    const first = p2SignRespond(extension, req, s1.message, null);
    const second = p2SignRespond(extension, req, s1.message, null);
    p1SignReveal(phone, s1.session, first.message);
    expectMpcError(() => p1SignReveal(phone, s1.session, second.message), 'unexpected_message', 'sign2');
  });

  it('P1 finishes once and P2 computes c3 once per state', () => {
    const { p1: phone, p2: extension } = runKeygen(loadPreparedPaillierFixture(4));
    const { s2, s3, s4 } = runSignToC3(phone, extension, request());
    expectMpcError(() => p2SignCompute(extension, s2.session, s3.message), 'unexpected_message', 'sign3');
    expect(p1SignFinish(phone, s3.session, s4.message).kind).toBe('signature');
    expectMpcError(() => p1SignFinish(phone, s3.session, s4.message), 'unexpected_message', 'sign4');
  });

  it('a state holding a nonce refuses to be serialised, and a copy of it carries no nonce', () => {
    const { p1: phone, p2: extension } = runKeygen(loadPreparedPaillierFixture(4));
    const req = request();
    const s1 = p1SignStart(phone, req, null);
    const s2 = p2SignRespond(extension, req, s1.message, null);
    expectMpcError(() => JSON.stringify(s1.session), 'unexpected_message', 'sign.session');
    expectMpcError(() => JSON.stringify(s2.session), 'unexpected_message', 'sign.session');
    // structuredClone (what IndexedDB and postMessage use) keeps no private field: the copy has no nonce.
    const copied = structuredClone(s1.session) as typeof s1.session;
    expectMpcError(() => p1SignReveal(phone, copied, s2.message), 'unexpected_message', 'sign2');
  });
});
