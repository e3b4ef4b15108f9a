/** The approval queue's rules on its own: duplicates, persistence, outcomes and their lifetime. */
import { describe, expect, it } from 'vitest';
import { ApprovalQueue, RESULT_DISPLAY_MS, RESULT_TTL_MS, type NewApproval } from '../../src/background/approval-queue.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { MemoryStore } from './memory-store.ts';

function approval(id: string, fingerprint = `fp-${id}`, requestKey = `key-${id}`): NewApproval {
  return { id, origin: 'https://a.example', tabId: null, requestKey, fingerprint, payload: { kind: 'connect', method: 'eth_requestAccounts' }, createdAt: 1 };
}

function setup() {
  let now = 1_000;
  const store = new MemoryStore();
  return { store, queue: new ApprovalQueue(store, () => now), advance: (ms: number) => (now += ms), reload: () => new ApprovalQueue(store, () => now) };
}

describe('ApprovalQueue', () => {
  it('refuses a duplicate of a request still awaiting the user (-32002) and stores nothing for it', async () => {
    const { queue, store } = setup();
    await queue.add(approval('a', 'same'));
    const before = store.dump();
    await expect(queue.add(approval('b', 'same'))).rejects.toMatchObject({ code: RpcErrorCode.resourceUnavailable });
    expect(store.dump()).toBe(before);
    expect(queue.open().map((r) => r.id)).toEqual(['a']);
  });

  it('accepts the same fingerprint again once the first is no longer awaiting the user', async () => {
    const { queue } = setup();
    await queue.add(approval('a', 'same'));
    await queue.update('a', { status: 'co-signing' });
    await expect(queue.add(approval('b', 'same'))).resolves.toMatchObject({ id: 'b' });
  });

  it('keeps records in arrival order and survives a reload', async () => {
    const { queue, reload } = setup();
    await queue.add(approval('a'));
    await queue.add(approval('b'));
    await queue.update('b', { status: 'co-signing', deadline: 5_000, message: 'Approve on your phone.' });
    const restored = reload();
    await restored.load();
    expect(restored.open().map((r) => [r.id, r.status, r.deadline])).toEqual([
      ['a', 'awaiting-user', null],
      ['b', 'co-signing', 5_000],
    ]);
  });

  it('finishing resolves waiters, keeps the record visible briefly and the outcome for late pickup', async () => {
    const { queue, advance, reload } = setup();
    await queue.add(approval('a'));
    const waiting = queue.wait('a');
    await queue.finish('a', { result: ['0xabc'] }, 'Connected.');
    expect(await waiting).toEqual({ result: ['0xabc'] });
    expect(queue.visible().map((r) => [r.status, r.message])).toEqual([['done', 'Connected.']]);
    expect(queue.open()).toHaveLength(0);
    advance(RESULT_DISPLAY_MS);
    expect(queue.visible()).toHaveLength(0);
    const restored = reload();
    await restored.load();
    expect(restored.findOutcome('https://a.example', 'key-a')).toEqual({ result: ['0xabc'] });
    expect(restored.findOutcome('https://b.example', 'key-a')).toBeUndefined();
    advance(RESULT_TTL_MS);
    await restored.load();
    expect(restored.findOutcome('https://a.example', 'key-a')).toBeUndefined();
  });

  it('an error outcome marks the record failed; finishing twice changes nothing', async () => {
    const { queue } = setup();
    await queue.add(approval('a'));
    await queue.finish('a', { error: { code: 4001, message: 'no' } }, 'Rejected.');
    await queue.finish('a', { result: 'late' }, 'Late.');
    expect(queue.get('a')).toMatchObject({ status: 'failed', message: 'Rejected.' });
    expect(queue.findOutcome('https://a.example', 'key-a')).toEqual({ error: { code: 4001, message: 'no' } });
  });

  it('stores each payload once under its own key; a finished record\'s payload goes once its display time is over', async () => {
    const { queue, store, advance, reload } = setup();
    await queue.add(approval('a'));
    await queue.add(approval('b'));
    expect([...store.data.keys()].sort()).toEqual(['duet/approvals/v2', 'duet/approvals/v2/payload/a', 'duet/approvals/v2/payload/b']);
    const writes = store.writes;
    await queue.update('a', { message: 'x' });
    expect(store.writes).toBe(writes + 1);
    expect(JSON.parse(store.data.get('duet/approvals/v2') ?? '{}').records.every((record: object) => !('payload' in record))).toBe(true);
    await queue.finish('a', { result: null }, 'Done.');
    advance(RESULT_DISPLAY_MS);
    await queue.update('b', { message: 'y' });
    expect(store.data.has('duet/approvals/v2/payload/a')).toBe(false);
    await store.remove('duet/approvals/v2/payload/b');
    const restored = reload();
    await restored.load();
    expect(restored.open()).toEqual([]);
  });

  it('finds an open record by origin and request key only', async () => {
    const { queue } = setup();
    await queue.add(approval('a'));
    expect(queue.findOpen('https://a.example', 'key-a')?.id).toBe('a');
    expect(queue.findOpen('https://other.example', 'key-a')).toBeUndefined();
  });
});
