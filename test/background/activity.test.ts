/**
 * The activity record and the tracker's rules with a scripted node: the cap keeps open
 * transactions, a failed write changes nothing, and each way a pending transaction settles or
 * gets stuck.
 */
import { describe, expect, it } from 'vitest';
import { ActivityLog, MAX_ACTIVITY_ENTRIES, type ActivityEntry, type ActivityTransaction } from '../../src/background/activity.ts';
import type { SecretRecords } from '../../src/background/pairing.ts';
import { trackTransactions, type ChainRpc } from '../../src/background/transaction-tracker.ts';

const ACCOUNT = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const GWEI = 1_000_000_000n;

class MemoryVault implements SecretRecords {
  readonly records = new Map<string, unknown>();
  failWrites = false;
  async get<T>(key: string): Promise<T | undefined> {
    return structuredClone(this.records.get(key)) as T | undefined;
  }
  async putMany(records: Record<string, unknown>): Promise<void> {
    if (this.failWrites) throw new Error('disk full');
    for (const [key, value] of Object.entries(records)) this.records.set(key, structuredClone(value));
  }
  async delete(key: string): Promise<void> {
    this.records.delete(key);
  }
}

function transaction(id: string, nonce: number, status: ActivityEntry['status'], tx: Partial<ActivityTransaction> = {}): ActivityEntry {
  return {
    id,
    chainId: 31337,
    account: ACCOUNT,
    origin: 'https://dapp.example',
    kind: 'transaction',
    title: 'Send ETH',
    status,
    detail: null,
    createdAt: 1,
    updatedAt: 1,
    tx: { hash: `0x${id.padStart(64, '0')}`, raw: null, to: ACCOUNT, counterparty: ACCOUNT, value: '1', amount: null, data: '0x', nonce, gas: '21000', maxFeePerGas: String(10n * GWEI), maxPriorityFeePerGas: String(GWEI), blockNumber: null, replaces: null, action: null, stuck: null, ...tx },
  };
}

/** A node: the mined nonce, the base fee, and receipts by hash. */
function node(state: { latestNonce: number; baseFee: bigint; receipts: Record<string, { status: string; blockNumber: string }> }): ChainRpc {
  return async (_chainId, method, params) => {
    switch (method) {
      case 'eth_getTransactionCount':
        return `0x${state.latestNonce.toString(16)}`;
      case 'eth_getBlockByNumber':
        return { baseFeePerGas: `0x${state.baseFee.toString(16)}` };
      case 'eth_getTransactionReceipt':
        return state.receipts[params[0] as string] ?? null;
      default:
        throw new Error(`unexpected ${method}`);
    }
  };
}

describe('the record', () => {
  it(`keeps at most ${MAX_ACTIVITY_ENTRIES} entries, dropping the oldest settled ones, never an open transaction`, async () => {
    const log = new ActivityLog(new MemoryVault());
    await log.add(transaction('a', 0, 'pending'));
    for (let index = 0; index < MAX_ACTIVITY_ENTRIES; index++) await log.add(transaction(`s${index}`, 1, 'confirmed'));
    const all = await log.all();
    expect(all).toHaveLength(MAX_ACTIVITY_ENTRIES);
    expect(all[0]?.id).toBe('a');
    expect(all.some((entry) => entry.id === 's0')).toBe(false);
  });

  it('a write that fails changes nothing in memory or in the vault', async () => {
    const vault = new MemoryVault();
    const log = new ActivityLog(vault);
    await log.add(transaction('a', 0, 'pending'));
    vault.failWrites = true;
    await expect(log.update('a', { status: 'confirmed' })).rejects.toThrow('disk full');
    await expect(log.add(transaction('b', 1, 'pending'))).rejects.toThrow('disk full');
    expect((await log.all()).map((entry) => [entry.id, entry.status])).toEqual([['a', 'pending']]);
    expect(await new ActivityLog(vault).all()).toEqual(await log.all());
  });
});

describe('the tracker', () => {
  it('a receipt settles a transaction (status 0 is failed); the same nonce of another of Duet’s is replaced', async () => {
    const log = new ActivityLog(new MemoryVault());
    await log.add(transaction('a', 5, 'pending'));
    await log.add(transaction('b', 5, 'pending', { replaces: 'a', action: 'speed-up' }));
    await log.add(transaction('c', 6, 'pending'));
    const rpc = node({ latestNonce: 7, baseFee: GWEI, receipts: { [`0x${'b'.padStart(64, '0')}`]: { status: '0x1', blockNumber: '0x9' }, [`0x${'c'.padStart(64, '0')}`]: { status: '0x0', blockNumber: '0xa' } } });
    expect(await trackTransactions(rpc, log, 2)).toBe(0);
    const byId = Object.fromEntries((await log.all()).map((entry) => [entry.id, entry]));
    expect([byId.a?.status, byId.a?.detail]).toEqual(['replaced', `Sped up: 0x00000000… took its place.`]);
    expect([byId.b?.status, byId.b?.tx?.blockNumber]).toEqual(['confirmed', 9]);
    expect([byId.c?.status, byId.c?.detail]).toEqual(['failed', 'Mined, but it reverted: the fee was paid.']);
  });

  it('a nonce mined by a transaction Duet did not send: dropped on the pass after (a receipt may lag one)', async () => {
    const log = new ActivityLog(new MemoryVault());
    await log.add(transaction('a', 3, 'pending'));
    const rpc = node({ latestNonce: 4, baseFee: GWEI, receipts: {} });
    expect(await trackTransactions(rpc, log, 2)).toBe(1);
    expect((await log.get('a'))?.status).toBe('pending');
    expect(await trackTransactions(rpc, log, 3)).toBe(0);
    expect((await log.get('a'))?.detail).toBe('Another transaction with nonce 3, not sent by Duet, was mined instead.');
  });

  it('stuck: behind a nonce no open transaction of Duet’s fills, or a max fee below the base fee; neither otherwise', async () => {
    const log = new ActivityLog(new MemoryVault());
    await log.add(transaction('gap', 9, 'pending'));
    await log.add(transaction('cheap', 7, 'pending', { maxFeePerGas: String(2n * GWEI) }));
    await log.add(transaction('fine', 8, 'pending'));
    await trackTransactions(node({ latestNonce: 6, baseFee: 3n * GWEI, receipts: {} }), log, 2);
    expect((await log.get('gap'))?.tx?.stuck).toBe('Waiting for nonce 6: no pending transaction of Duet\'s uses it. Cancel or speed up to fill it.');
    expect((await log.get('cheap'))?.tx?.stuck).toBe('Waiting for nonce 6: no pending transaction of Duet\'s uses it. Cancel or speed up to fill it.');
    await trackTransactions(node({ latestNonce: 7, baseFee: 3n * GWEI, receipts: {} }), log, 3);
    expect((await log.get('cheap'))?.tx?.stuck).toBe("Its max fee (2.0 gwei) is below the network's base fee (3.0 gwei). Speed it up.");
    expect((await log.get('fine'))?.tx?.stuck).toBeNull();
    expect((await log.get('gap'))?.tx?.stuck).toBeNull();
  });

  it('a signed transaction whose sending was never recorded is sent again; a node that already knows it counts as sent', async () => {
    const log = new ActivityLog(new MemoryVault());
    await log.add(transaction('a', 1, 'signed', { raw: '0x02aa' }));
    const sent: unknown[] = [];
    const base = node({ latestNonce: 1, baseFee: GWEI, receipts: {} });
    const rpc: ChainRpc = async (chainId, method, params) => {
      if (method !== 'eth_sendRawTransaction') return base(chainId, method, params);
      sent.push(params[0]);
      const { ProviderRpcError } = await import('../../src/provider/rpc-error.ts');
      throw new ProviderRpcError(-32000, 'already known');
    };
    await trackTransactions(rpc, log, 2);
    expect(sent).toEqual(['0x02aa']);
    expect(await log.get('a')).toMatchObject({ status: 'pending', tx: { raw: null } });
  });
});
