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
import { loadPaillierFixture, PAILLIER_FIXTURE_COUNT } from './fixtures.ts';
import { runKeygen, runSign, wire } from './protocol-driver.ts';

function refresh(p1: P1KeyShare, p2: P2KeyShare, fixture: number): { p1: P1KeyShare; p2: P2KeyShare } {
  const r1 = p1RefreshStart(p1, randomBytes(32));
  const r2 = p2RefreshRespond(p2, decodeRefreshMsg1(wire(encodeRefreshMsg1(r1.message))));
  const r3 = p1RefreshProve(p1, r1.state, decodeRefreshMsg2(wire(encodeRefreshMsg2(r2.message))), loadPaillierFixture(fixture));
  const r4 = p2RefreshFinish(p2, r2.state, decodeRefreshMsg3(wire(encodeRefreshMsg3(r3.message))));
  return { p1: p1RefreshComplete(r3.pending, decodeRefreshMsg4(wire(encodeRefreshMsg4(r4.message)))), p2: r4.keyShare };
}

describe('refresh', () => {
  it('refreshes 10 times, keeps the address, and still signs; old and new shares do not combine', () => {
    const original = runKeygen(loadPaillierFixture(0));
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
    const { p1, p2 } = runKeygen(loadPaillierFixture(1));
    const r1 = p1RefreshStart(p1, randomBytes(32));
    const r2 = p2RefreshRespond(p2, r1.message);
    const r3 = p1RefreshProve(p1, r1.state, r2.message, loadPaillierFixture(2));
    expect(() => p2RefreshFinish(p2, r2.state, { ...r3.message, delta1: r3.message.delta1 + 1n })).toThrowError(/commitment_mismatch at refresh3.opening/);
    const r4 = p2RefreshFinish(p2, r2.state, r3.message);
    const forged = { ...r4.message, confirmation: randomBytes(32) };
    expect(() => p1RefreshComplete(r3.pending, forged)).toThrowError(/commitment_mismatch at refresh4.confirmation/);
    expect(() => decodeRefreshMsg2({ ...(wire(encodeRefreshMsg2(r2.message)) as object), delta2: 'ff'.repeat(32) })).toThrowError(/out_of_range at refresh2.delta2/);
  });
});
