/** The Guard's Paillier keys: made in a worker thread (real 2048-bit keys with their modulus proofs), each handed out once. */
import { describe, expect, it } from 'vitest';
import { GuardKeyPool, prepareKeyInWorker } from '../../src/guard/guard-key-pool.ts';
import { verifyPaillierModulus } from '../../src/mpc/zk/paillier-modulus.ts';
import { loadPreparedPaillierFixture } from '../mpc/fixtures.ts';

describe('the Guard key pool', () => {
  it('makes a real key with its proof in a worker thread', async () => {
    const prepared = await prepareKeyInWorker();
    expect(prepared.key.publicKey.n.toString(2).length).toBeGreaterThanOrEqual(2048);
    expect(() => verifyPaillierModulus(prepared.key.publicKey.n, prepared.proof, 'test')).not.toThrow();
  });

  it('keeps keys ready and hands each out once', async () => {
    let made = 0;
    const pool = new GuardKeyPool(2, async () => loadPreparedPaillierFixture(made++));
    pool.fill();
    expect(made).toBe(2);
    const [a, b] = [await pool.take(), await pool.take()];
    expect(a.key.publicKey.n).not.toBe(b.key.publicKey.n);
    expect(made).toBe(4);
  });
});
