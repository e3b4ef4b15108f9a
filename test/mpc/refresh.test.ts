import { describe, expect, it } from 'vitest';
import { G } from '../../src/mpc/curve.ts';
import { accountAddress } from '../../src/mpc/derivation.ts';
import { MpcError } from '../../src/mpc/errors.ts';
import type { P1KeyShare, P2KeyShare } from '../../src/mpc/key-share.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import {
  decodeRefreshMsg1,
  decodeRefreshMsg2,
  decodeRefreshMsg3,
  decodeRefreshMsg4,
  encodeRefreshMsg1,
  encodeRefreshMsg2,
  encodeRefreshMsg3,
  encodeRefreshMsg4,
  p1RefreshComplete,
  p1RefreshProve,
  p1RefreshStart,
  p2RefreshFinish,
  p2RefreshRespond,
} from '../../src/mpc/refresh.ts';
import { encrypt } from '../../src/mpc/paillier.ts';
import { transcriptContext } from '../../src/mpc/protocol-context.ts';
import { randomUnit } from '../../src/mpc/random.ts';
import { provePdl } from '../../src/mpc/zk/paillier-dlog-range.ts';
import { expectMpcError } from './expect-mpc-error.ts';
import { loadPreparedPaillierFixture, PAILLIER_FIXTURE_COUNT } from './fixtures.ts';
import { runKeygen, runSign, wire } from './protocol-driver.ts';

function refresh(p1: P1KeyShare, p2: P2KeyShare, fixture: number): { p1: P1KeyShare; p2: P2KeyShare } {
  const r1 = p1RefreshStart(p1, randomBytes(32));
  const r2 = p2RefreshRespond(p2, decodeRefreshMsg1(wire(encodeRefreshMsg1(r1.message))));
  const r3 = p1RefreshProve(p1, r1.state, decodeRefreshMsg2(wire(encodeRefreshMsg2(r2.message))), loadPreparedPaillierFixture(fixture));
  const r4 = p2RefreshFinish(p2, r2.state, decodeRefreshMsg3(wire(encodeRefreshMsg3(r3.message))));
  return { p1: p1RefreshComplete(p1, r3.pending, decodeRefreshMsg4(wire(encodeRefreshMsg4(r4.message)))), p2: r4.keyShare };
}

describe('refresh', () => {
  it('refreshes 10 times, keeps the address, and still signs; old and new shares do not combine', () => {
    const original = runKeygen(loadPreparedPaillierFixture(0));
    const address = accountAddress(original.p1.publicKey, original.p1.chainCode, 0);
    let current = original;
    for (let i = 0; i < 10; i++) current = refresh(current.p1, current.p2, (i + 1) % PAILLIER_FIXTURE_COUNT);
    expect(current.p1.epoch).toBe(10);
    expect(current.p2.epoch).toBe(10);
    expect(accountAddress(current.p1.publicKey, current.p1.chainCode, 0)).toBe(address);
    expect(current.p1.x1).not.toBe(original.p1.x1);
    expect(runSign(current.p1, current.p2, randomBytes(32), 3).kind).toBe('signature');

    // An old share with a new one is refused by epoch, and would not even be the key.
    expect(() => runSign(original.p1, current.p2, randomBytes(32), 0)).toThrowError(MpcError);
    expect(G.multiply(original.p1.x1).add(G.multiply(current.p2.x2)).equals(original.p1.publicKey)).toBe(false);
    // Even relabelled with the new epoch, the old P1 cannot finish with the new P2: its Paillier key
    // does not decrypt the new c3 (refused at decoding, or a signature that fails and taints).
    const relabelled = { ...original.p1, epoch: current.p2.epoch };
    let kind: string;
    try {
      kind = runSign(relabelled, current.p2, randomBytes(32), 0).kind;
    } catch (error) {
      expect(error).toBeInstanceOf(MpcError);
      kind = 'refused';
    }
    expect(['tainted', 'refused']).toContain(kind);
  });

  it('refuses a wrong opening of δ1 and a foreign acknowledgement', () => {
    const { p1, p2 } = runKeygen(loadPreparedPaillierFixture(1));
    const r1 = p1RefreshStart(p1, randomBytes(32));
    const r2 = p2RefreshRespond(p2, r1.message);
    const r3 = p1RefreshProve(p1, r1.state, r2.message, loadPreparedPaillierFixture(2));
    expect(() => p2RefreshFinish(p2, r2.state, { ...r3.message, delta1: r3.message.delta1 + 1n })).toThrowError(/commitment_mismatch at refresh3.opening/);
    const r4 = p2RefreshFinish(p2, r2.state, r3.message);
    const forged = { ...r4.message, confirmation: randomBytes(32) };
    expect(() => p1RefreshComplete(p1, r3.pending, forged)).toThrowError(/commitment_mismatch at refresh4.confirmation/);
    expect(() => decodeRefreshMsg2({ ...(wire(encodeRefreshMsg2(r2.message)) as object), delta2: 'ff'.repeat(32) })).toThrowError(/out_of_range at refresh2.delta2/);
  });

  it('refuses a refresh that keeps the Paillier key (P1 will not make one, P2 will not accept one)', () => {
    const prepared = loadPreparedPaillierFixture(1);
    const { p1, p2 } = runKeygen(prepared);
    const r1 = p1RefreshStart(p1, randomBytes(32));
    const r2 = p2RefreshRespond(p2, r1.message);
    expectMpcError(() => p1RefreshProve(p1, r1.state, r2.message, prepared), 'invalid_modulus', 'refresh.paillier');
    // A malicious P1 sends the same N anyway, with a valid proof and PDL proof for the new share.
    const honest = p1RefreshProve(p1, r1.state, r2.message, loadPreparedPaillierFixture(2));
    const x1 = honest.pending.keyShare.x1;
    const pk = prepared.key.publicKey;
    const nonce = randomUnit(pk.n);
    const ckey = encrypt(pk, x1, nonce);
    const context = transcriptContext('refresh/pdl', r1.state.header.sessionId, p1.keyId, 'P1');
    const pdlProof = provePdl(context, { publicKey: pk, ciphertext: ckey, point: G.multiply(x1) }, { x: x1, r: nonce });
    const reused = { ...honest.message, paillierN: pk.n, modulusProof: prepared.proof, ckey, pdlProof };
    expectMpcError(() => p2RefreshFinish(p2, r2.state, reused), 'invalid_modulus', 'refresh3.paillierN');
  });

  it('refuses to refresh with, or finish a refresh for, a counterpart the share is tainted for', () => {
    const { p1, p2 } = runKeygen(loadPreparedPaillierFixture(1));
    const tainted: P1KeyShare = { ...p1, taints: [{ suspect: p1.counterpart, epoch: p1.epoch }] };
    expectMpcError(() => p1RefreshStart(tainted, randomBytes(32)), 'key_tainted', 'keyShare.taints');
    // Started before the taint, from the share read then: neither the proof nor the switch happens.
    const r1 = p1RefreshStart(p1, randomBytes(32));
    const r2 = p2RefreshRespond(p2, r1.message);
    expectMpcError(() => p1RefreshProve(tainted, r1.state, r2.message, loadPreparedPaillierFixture(2)), 'key_tainted', 'keyShare.taints');
    const r3 = p1RefreshProve(p1, r1.state, r2.message, loadPreparedPaillierFixture(2));
    const r4 = p2RefreshFinish(p2, r2.state, r3.message);
    expectMpcError(() => p1RefreshComplete(tainted, r3.pending, r4.message), 'key_tainted', 'keyShare.taints');
  });

  it('carries taints of other counterparts into the new epoch (the failure count is never reset)', () => {
    const { p1, p2 } = runKeygen(loadPreparedPaillierFixture(1));
    const earlier: P1KeyShare = { ...p1, taints: [{ suspect: 'a removed device', epoch: 0 }] };
    const next = refresh(earlier, p2, 3);
    expect(next.p1.taints).toEqual([{ suspect: 'a removed device', epoch: 0 }]);
    expect(next.p1.counterpart).toBe(p1.counterpart);
    expect(runSign(next.p1, next.p2, randomBytes(32), 0).kind).toBe('signature');
  });
});
