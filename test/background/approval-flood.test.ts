/**
 * A hostile site flooding the approval queue: caps per site, per tab and in total (-32005, nothing
 * stored), storage failures rolled back with the page always answered, "Reject all", throttling
 * after repeated rejections (4100), the window focused once per burst, and another site's request
 * served throughout. Caps are lowered so each attack runs in milliseconds.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { hexlify, toUtf8Bytes, verifyMessage } from 'ethers';
import type { QueueLimits } from '../../src/background/approval-queue.ts';
import { BLOCK_MS, REJECTION_WINDOW_MS } from '../../src/background/site-throttle.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { DAPP, nextApproval, openApprovals, OTHER_DAPP, scriptedWallet, shownCard, until, type Harness, type HarnessOptions } from './harness.ts';

const HOSTILE = OTHER_DAPP;
const LIMITS: QueueLimits = { requestsPerSite: 3, bytesPerSite: 24_000, totalBytes: 60_000 };

type Settled = { result?: unknown; error?: { code: number; message: string } };

function settle(promise: Promise<unknown>): Promise<Settled> {
  return promise.then(
    (result) => ({ result }),
    (error: { code: number; message: string }) => ({ error: { code: error.code, message: error.message } }),
  );
}

/** A personal_sign message of `bytes` bytes (twice that in hex), distinct per `n`. */
function message(n: number, bytes = 16): string {
  return hexlify(toUtf8Bytes(`flood ${n} `.padEnd(bytes, 'x')));
}

function pairedAndConnected(options: HarnessOptions = {}): Promise<{ h: Harness; address: string }> {
  return scriptedWallet({ queueLimits: LIMITS, ...options }, [DAPP, HOSTILE]);
}

describe('per-site and per-tab caps', () => {
  let h: Harness;
  let address: string;

  beforeEach(async () => {
    ({ h, address } = await pairedAndConnected());
  });

  it('a site gets -32005 beyond its request cap at once; another site is still queued and answered', async () => {
    const flood = Array.from({ length: 10 }, (_, n) => settle(h.request('personal_sign', [message(n), address], HOSTILE)));
    const refused = await Promise.all(flood.slice(LIMITS.requestsPerSite));
    for (const outcome of refused) expect(outcome.error).toMatchObject({ code: RpcErrorCode.limitExceeded, message: expect.stringMatching(/3 requests from this site are already waiting/) });
    await until(async () => (await openApprovals(h)).length === LIMITS.requestsPerSite, 'the admitted flood');

    const ordinary = settle(h.request('personal_sign', [message(99), address], DAPP));
    await until(async () => (await openApprovals(h)).some((card) => card.origin === DAPP), 'the other site');
    const first = (await h.view()).approval;
    expect(first).toMatchObject({ origin: HOSTILE, siteWaiting: 3 });
    await h.wallet.rejectSite(HOSTILE);
    for (const outcome of await Promise.all(flood.slice(0, LIMITS.requestsPerSite))) expect(outcome.error?.code).toBe(RpcErrorCode.userRejected);

    const id = await nextApproval(h, 'sign');
    expect((await shownCard(h, id)).origin).toBe(DAPP);
    await h.wallet.decide(id, true);
    expect(verifyMessage(toUtf8Bytes('flood 99 '.padEnd(16, 'x')), (await ordinary).result as string)).toBe(address);
  });

  it('a site gets -32005 beyond its byte cap, with nothing stored for the refused request', async () => {
    const big = (n: number) => settle(h.request('personal_sign', [message(n, 5_000), address], HOSTILE));
    const admitted = [big(1), big(2)];
    await until(async () => (await openApprovals(h)).length === 2, 'two large requests');
    expect(await big(3)).toMatchObject({ error: { code: RpcErrorCode.limitExceeded, message: expect.stringMatching(/would exceed 23 KiB/) } });
    expect(h.session.dump()).not.toContain(message(3, 5_000).slice(2));
    expect(await openApprovals(h)).toHaveLength(2);
    await h.wallet.rejectSite(HOSTILE);
    await Promise.all(admitted);
  });

  it('the frames of one tab share a cap, whatever their origins', async () => {
    const tab = 7;
    const fromTab = (origin: string, n: number) => settle(h.request('personal_sign', [message(n), address], origin, undefined, tab));
    const admitted = [fromTab(HOSTILE, 1), fromTab(HOSTILE, 2), fromTab(DAPP, 3)];
    await until(async () => (await openApprovals(h)).length === 3, 'three requests from one tab');
    expect(await fromTab(DAPP, 4)).toMatchObject({ error: { code: RpcErrorCode.limitExceeded, message: expect.stringMatching(/from this tab/) } });
    const otherTab = settle(h.request('personal_sign', [message(5), address], DAPP, undefined, 8));
    await until(async () => (await openApprovals(h)).length === 4, 'the request from another tab');
    await h.wallet.approvalWindowClosed();
    await Promise.all([...admitted, otherTab]);
  });

  it('the same request twice is -32002, identified by a hash: the parameters are stored once', async () => {
    const text = message(1, 600);
    const first = settle(h.request('personal_sign', [text, address], HOSTILE));
    await nextApproval(h, 'sign');
    expect(await settle(h.request('personal_sign', [text, address], HOSTILE))).toMatchObject({ error: { code: RpcErrorCode.resourceUnavailable } });
    expect(h.session.dump().split(text.slice(2)).length - 1).toBe(1);
    await h.wallet.approvalWindowClosed();
    await first;
  });

  it('the window gets only the card on screen: many large requests waiting do not grow the view', async () => {
    const limits = { requestsPerSite: 10, bytesPerSite: 200_000, totalBytes: 400_000 };
    const { h: roomy, address: account } = await pairedAndConnected({ queueLimits: limits });
    const waiting = Array.from({ length: 8 }, (_, n) => settle(roomy.request('personal_sign', [message(n, 8_000), account], HOSTILE)));
    await until(async () => (await openApprovals(roomy)).length === 8, 'eight large requests');
    const view = await roomy.view();
    const awaiting = view.approvals.filter((card) => card.status === 'awaiting-user');
    expect(awaiting).toHaveLength(8);
    expect(awaiting[0]).toEqual({ id: view.approval?.id, origin: HOSTILE, kind: 'sign', status: 'awaiting-user' });
    expect(JSON.stringify(view).length).toBeLessThan(2 * 8_000 + 4_000);
    await roomy.wallet.rejectSite(HOSTILE);
    await Promise.all(waiting);
  });
});

describe('all sites together', () => {
  it('a request that would exceed the total is -32005; nothing is stored for it', async () => {
    const { h, address } = await pairedAndConnected({ queueLimits: { requestsPerSite: 10, bytesPerSite: 30_000, totalBytes: 30_000 } });
    const admitted = [settle(h.request('personal_sign', [message(1, 5_000), address], HOSTILE)), settle(h.request('personal_sign', [message(2, 5_000), address], DAPP))];
    await until(async () => (await openApprovals(h)).length === 2, 'two large requests');
    expect(await settle(h.request('personal_sign', [message(3, 5_000), address], DAPP))).toMatchObject({ error: { code: RpcErrorCode.limitExceeded, message: expect.stringMatching(/too many requests waiting/) } });
    await h.wallet.approvalWindowClosed();
    await Promise.all(admitted);
  });
});

describe('storage failures', () => {
  it('a request that cannot be stored is rolled back and answered (-32005); the queue keeps working', async () => {
    const { h, address } = await pairedAndConnected({ sessionQuotaBytes: 20_000, queueLimits: { requestsPerSite: 10, bytesPerSite: 1e9, totalBytes: 1e9 } });
    const before = h.session.dump();
    expect(await settle(h.request('personal_sign', [message(1, 30_000), address], HOSTILE))).toMatchObject({ error: { code: RpcErrorCode.limitExceeded, message: expect.stringMatching(/storage is full/) } });
    expect((await h.view()).approvals.filter((card) => card.status === 'awaiting-user')).toEqual([]);
    expect(h.session.dump()).toBe(before);
    const ordinary = settle(h.request('personal_sign', [message(2), address], DAPP));
    await h.wallet.decide(await nextApproval(h, 'sign'), true);
    expect((await ordinary).result).toMatch(/^0x[0-9a-f]{130}$/);
  });

  it('when the outcome cannot be stored, the page is answered all the same', async () => {
    const { h, address } = await pairedAndConnected();
    const pending = settle(h.request('personal_sign', [message(1), address], HOSTILE));
    const id = await nextApproval(h, 'sign');
    h.session.quotaBytes = 0;
    await h.wallet.decide(id, false);
    expect((await pending).error?.code).toBe(RpcErrorCode.userRejected);
  });

  it('an approval that cannot be stored leaves the request as it was and tells the window', async () => {
    const { h, address } = await pairedAndConnected();
    const pending = settle(h.request('personal_sign', [message(1), address], HOSTILE));
    const id = await nextApproval(h, 'sign');
    h.session.quotaBytes = 0;
    await h.wallet.decide(id, true);
    expect((await pending).error?.code).toBe(RpcErrorCode.internal);
    expect(h.phone.received).toHaveLength(0);
  });
});

describe('throttling after rejections (as MetaMask)', () => {
  let h: Harness;
  let address: string;

  beforeEach(async () => {
    ({ h, address } = await pairedAndConnected());
  });

  async function rejectOne(n: number): Promise<void> {
    const pending = settle(h.request('personal_sign', [message(n), address], HOSTILE));
    await h.wallet.decide(await nextApproval(h, 'sign'), false);
    expect((await pending).error?.code).toBe(RpcErrorCode.userRejected);
  }

  it('three rejections in a row block the site for a minute (4100, no window); other sites are not blocked', async () => {
    await rejectOne(1);
    h.clock.advance(REJECTION_WINDOW_MS - 1);
    await rejectOne(2);
    await rejectOne(3);
    const opens = h.windowOpens.count;
    expect(await settle(h.request('personal_sign', [message(4), address], HOSTILE))).toMatchObject({ error: { code: RpcErrorCode.unauthorized, message: expect.stringMatching(/blocking requests from this site/) } });
    expect(await settle(h.request('wallet_requestPermissions', [{ eth_accounts: {} }], HOSTILE))).toMatchObject({ error: { code: RpcErrorCode.unauthorized } });
    expect(h.windowOpens.count).toBe(opens);
    const other = settle(h.request('personal_sign', [message(5), address], DAPP));
    await h.wallet.decide(await nextApproval(h, 'sign'), true);
    expect((await other).result).toBeDefined();

    const restarted = await h.restart();
    expect(await settle(restarted.request('personal_sign', [message(6), address], HOSTILE))).toMatchObject({ error: { code: RpcErrorCode.unauthorized } });
    restarted.clock.advance(BLOCK_MS + 1);
    const later = settle(restarted.request('personal_sign', [message(7), address], HOSTILE));
    await restarted.wallet.decide(await nextApproval(restarted, 'sign'), true);
    expect((await later).result).toBeDefined();
  });

  it('rejections far apart, or an approval in between, do not block', async () => {
    await rejectOne(1);
    await rejectOne(2);
    h.clock.advance(REJECTION_WINDOW_MS);
    await rejectOne(3);
    await rejectOne(4);
    const approved = settle(h.request('personal_sign', [message(5), address], HOSTILE));
    await h.wallet.decide(await nextApproval(h, 'sign'), true);
    await approved;
    await rejectOne(6);
    await rejectOne(7);
    const allowed = settle(h.request('personal_sign', [message(8), address], HOSTILE));
    await h.wallet.decide(await nextApproval(h, 'sign'), true);
    expect((await allowed).result).toBeDefined();
  });

  it('"Reject all" answers every waiting request of the site (4001) and blocks it at once; other sites keep theirs', async () => {
    const hostile = [1, 2].map((n) => settle(h.request('personal_sign', [message(n), address], HOSTILE)));
    const ordinary = settle(h.request('personal_sign', [message(3), address], DAPP));
    await until(async () => (await openApprovals(h)).length === 3, 'three requests');
    await h.wallet.rejectSite(HOSTILE);
    for (const outcome of await Promise.all(hostile)) expect(outcome.error).toMatchObject({ code: RpcErrorCode.userRejected, message: expect.stringMatching(/all requests from this site/) });
    expect((await openApprovals(h)).map((card) => card.origin)).toEqual([DAPP]);
    expect(await settle(h.request('personal_sign', [message(4), address], HOSTILE))).toMatchObject({ error: { code: RpcErrorCode.unauthorized } });
    await expect(h.wallet.rejectSite(HOSTILE)).rejects.toMatchObject({ code: 'not_found' });
    await h.wallet.approvalWindowClosed();
    await ordinary;
  });
});

describe('the approval window during a burst', () => {
  it('is focused for the first request only, not for each one that follows', async () => {
    const { h, address } = await pairedAndConnected();
    const { focused, count } = h.windowOpens;
    const burst = [1, 2, 3].map((n) => settle(h.request('personal_sign', [message(n), address], HOSTILE)));
    await until(() => h.windowOpens.count === count + 3, 'the burst');
    expect(h.windowOpens.focused).toBe(focused + 1);
    await h.wallet.approvalWindowClosed();
    await Promise.all(burst);
    const next = settle(h.request('personal_sign', [message(4), address], DAPP));
    await until(() => h.windowOpens.count === count + 4, 'the next request');
    expect(h.windowOpens.focused).toBe(focused + 2);
    await h.wallet.approvalWindowClosed();
    await next;
  });
});
