/**
 * Site-supplied fees, gas and nonce: warnings when fees are far above what the node needs or the
 * nonce is not the next one, and the user's edits — the edited request is what is approved,
 * frozen, sent to the phone and mined.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JsonRpcProvider, parseEther, parseUnits } from 'ethers';
import type { FetchLike } from '../../src/background/rpc-client.ts';
import { startAnvil, type RunningAnvil } from '../../src/devstack/anvil.ts';
import { connect, createHarness, nextApproval, scriptedWallet, setUpWallet, shownCard, type Harness } from './harness.ts';
import type { ScriptedNode } from './scripted-node.ts';

const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
/** The scripted node: base fee 2 gwei, tip 1 gwei → Duet's max fee 5 gwei; pending nonce 3. */
const SUGGESTED = { maxFeeGwei: '5.0', priorityFeeGwei: '1.0', nonce: 3 };
const hex = (value: bigint | number) => `0x${value.toString(16)}`;
/** 150 ETH of fees for a plain transfer: the reviewed incident. */
const OUTRAGEOUS_MAX_FEE = parseEther('150') / 21_000n;

/** The fee and nonce warnings (the pre-sign checks have their own tests: presign-checks.test.ts). */
function warningsOf(h: Harness, id: string): Promise<string[]> {
  return shownCard(h, id).then((card) => card.display.warnings.filter((warning) => /^(High |Nonce )/.test(warning)));
}

describe('with a scripted node', () => {
  let node: ScriptedNode;
  let h: Harness;
  let address: string;

  beforeEach(async () => {
    ({ node, h, address } = await scriptedWallet());
  });

  async function siteSends(tx: Record<string, unknown>): Promise<string> {
    void h.request('eth_sendTransaction', [{ from: address, to: RECIPIENT, value: '0x0', ...tx }]).catch(() => undefined);
    return nextApproval(h, 'sign');
  }

  it('Duet’s own figures raise no warning, and the card offers them for editing', async () => {
    const id = await siteSends({});
    expect(await warningsOf(h, id)).toEqual([]);
    expect((await shownCard(h, id)).transaction).toEqual({
      type: 2,
      nonce: 3,
      gas: '21000',
      maxFeePerGas: parseUnits('5', 'gwei').toString(),
      maxPriorityFeePerGas: parseUnits('1', 'gwei').toString(),
      suggested: { nonce: 3, maxFeePerGas: parseUnits('5', 'gwei').toString(), maxPriorityFeePerGas: parseUnits('1', 'gwei').toString() },
    });
  });

  it('a max fee far above the node’s (150 ETH for a 0 ETH send) is flagged with what it may cost', async () => {
    const id = await siteSends({ maxFeePerGas: hex(OUTRAGEOUS_MAX_FEE), maxPriorityFeePerGas: hex(parseUnits('1', 'gwei')) });
    const warnings = await warningsOf(h, id);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^High fee: the max fee of 7142857\.142857142 gwei per gas is 1428571\.4× the 5\.0 gwei .* up to 149\.999999999999982 ETH in fees/);
  });

  it('a priority fee far above the node’s is flagged; just under 1.5× is not', async () => {
    expect(await warningsOf(h, await siteSends({ maxFeePerGas: hex(parseUnits('30', 'gwei')), maxPriorityFeePerGas: hex(parseUnits('30', 'gwei')) }))).toEqual([
      expect.stringMatching(/^High fee: .* 6× the 5\.0 gwei/),
      expect.stringMatching(/^High priority fee: 30\.0 gwei per gas is 30× the 1\.0 gwei/),
    ]);
    await h.wallet.approvalWindowClosed();
    expect(await warningsOf(h, await siteSends({ maxFeePerGas: hex(parseUnits('7.5', 'gwei')), maxPriorityFeePerGas: hex(parseUnits('1.5', 'gwei')) }))).toEqual([]);
  });

  it('a legacy gas price (type 0) far above the node’s eth_gasPrice is flagged, and edited as the gas price', async () => {
    node.handlers.eth_gasPrice = () => hex(parseUnits('5', 'gwei'));
    const id = await siteSends({ gasPrice: hex(parseUnits('30', 'gwei')) });
    expect(await warningsOf(h, id)).toEqual([expect.stringMatching(/^High fee: the gas price of 30\.0 gwei per gas is 6× the 5\.0 gwei/)]);
    expect((await shownCard(h, id)).transaction).toMatchObject({ type: 0, maxFeePerGas: parseUnits('30', 'gwei').toString(), suggested: { maxFeePerGas: parseUnits('5', 'gwei').toString(), maxPriorityFeePerGas: null } });
    await h.wallet.editTransaction(id, { maxFeeGwei: '5', priorityFeeGwei: '', gasLimit: '21000', nonce: 3 });
    expect(await warningsOf(h, id)).toEqual([]);
    const edited = await shownCard(h, id);
    expect(edited.display.fields.find((field) => field.label === 'Gas price')?.value).toBe('5.0 gwei');
  });

  it('a nonce that is not the next one is flagged, behind or ahead', async () => {
    expect(await warningsOf(h, await siteSends({ nonce: '0x1' }))).toEqual([expect.stringMatching(/^Nonce 1 is not the next one \(3\): it replaces a transaction/)]);
    await h.wallet.approvalWindowClosed();
    expect(await warningsOf(h, await siteSends({ nonce: '0x9' }))).toEqual([expect.stringMatching(/^Nonce 9 is not the next one \(3\): this transaction waits until nonces 3–8 are used/)]);
    await h.wallet.approvalWindowClosed();
    expect(await warningsOf(h, await siteSends({ nonce: '0x4' }))).toEqual([expect.stringMatching(/waits until nonce 3 is used/)]);
  });

  it('the user’s edits replace the request: new code, no warning, and exactly that goes to the phone', async () => {
    const pending = h.request('eth_sendTransaction', [{ from: address, to: RECIPIENT, value: '0x0', maxFeePerGas: hex(OUTRAGEOUS_MAX_FEE), nonce: '0x9' }]).catch((error: unknown) => error);
    const id = await nextApproval(h, 'sign');
    const before = await shownCard(h, id);
    await h.wallet.editTransaction(id, { ...SUGGESTED, gasLimit: '25000' });
    const after = await shownCard(h, id);
    expect(after.code).not.toBe(before.code);
    expect(await warningsOf(h, id)).toEqual([]);
    expect(after.display.fields.find((field) => field.label === 'Max fee per gas')?.value).toBe('5.0 gwei');
    node.handlers.eth_sendRawTransaction = () => '0x' + '11'.repeat(32);
    await h.wallet.decide(id, true);
    await pending;
    const sent = h.phone.received.at(-1);
    expect(sent?.kind === 'transaction' ? sent.tx : null).toMatchObject({ nonce: 3, gas: 25_000n, maxFeePerGas: parseUnits('5', 'gwei'), maxPriorityFeePerGas: parseUnits('1', 'gwei') });
  });

  it.each([
    ['maxFeeGwei', { maxFeeGwei: 'lots' }],
    ['maxFeeGwei', { maxFeeGwei: '0' }],
    ['maxFeeGwei', { maxFeeGwei: '-1' }],
    ['maxFeeGwei', { maxFeeGwei: '1'.repeat(80) }],
    ['maxFeeGwei', { maxFeeGwei: '1.0000000001' }],
    ['priorityFeeGwei', { priorityFeeGwei: '6' }],
    ['gasLimit', { gasLimit: '20999' }],
    ['gasLimit', { gasLimit: '21000.5' }],
    ['nonce', { nonce: -1 }],
    ['nonce', { nonce: 1.5 }],
  ])('a bad %s is refused naming it, and the request stays as it was', async (field, bad) => {
    const id = await siteSends({});
    const before = await shownCard(h, id);
    await expect(h.wallet.editTransaction(id, { ...SUGGESTED, gasLimit: '21000', ...bad })).rejects.toMatchObject({ code: 'invalid_input', field });
    expect(await shownCard(h, id)).toEqual(before);
  });

  it('only a transaction still awaiting the user can be edited', async () => {
    void h.request('personal_sign', ['0x01', address]).catch(() => undefined);
    const message = await nextApproval(h, 'sign');
    await expect(h.wallet.editTransaction(message, { ...SUGGESTED, gasLimit: '21000' })).rejects.toMatchObject({ code: 'not_found' });
    await h.wallet.approvalWindowClosed();
    h.phone.mode = 'hold';
    const id = await siteSends({});
    await h.wallet.decide(id, true);
    await expect(h.wallet.editTransaction(id, { ...SUGGESTED, gasLimit: '21000' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.wallet.editTransaction('nope', { ...SUGGESTED, gasLimit: '21000' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a node without a base fee still takes a site’s complete fees, without fee advice', async () => {
    node.handlers.eth_getBlockByNumber = () => ({ number: '0x10' });
    const id = await siteSends({ maxFeePerGas: hex(OUTRAGEOUS_MAX_FEE), maxPriorityFeePerGas: '0x1' });
    expect(await warningsOf(h, id)).toEqual([]);
    expect((await shownCard(h, id)).transaction?.suggested).toEqual({ nonce: 3, maxFeePerGas: null, maxPriorityFeePerGas: parseUnits('1', 'gwei').toString() });
  });
});

describe('on a real chain (anvil)', () => {
  let anvil: RunningAnvil;
  beforeAll(async () => {
    anvil = await startAnvil();
  });
  afterAll(() => anvil.stop());

  it('a transaction with an outrageous fee and a wrong nonce, edited by the user, is mined as edited', async () => {
    const realFetch: FetchLike = (url, init) => fetch(url, init);
    const h = await createHarness(realFetch);
    const address = await setUpWallet(h, anvil.rpcUrl);
    await connect(h);
    const chain = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1 });
    const next = await chain.getTransactionCount(address, 'pending');
    const pending = h.request('eth_sendTransaction', [{ from: address, to: RECIPIENT, value: '0x0', maxFeePerGas: hex(OUTRAGEOUS_MAX_FEE), maxPriorityFeePerGas: hex(OUTRAGEOUS_MAX_FEE), nonce: hex(next + 5) }]);
    const id = await nextApproval(h, 'sign');
    expect(await warningsOf(h, id)).toHaveLength(3);
    const suggested = (await shownCard(h, id)).transaction?.suggested;
    const gweiOf = (wei: string | null | undefined) => (Number(BigInt(wei ?? '0')) / 1e9).toString();
    await h.wallet.editTransaction(id, { maxFeeGwei: gweiOf(suggested?.maxFeePerGas), priorityFeeGwei: gweiOf(suggested?.maxPriorityFeePerGas), gasLimit: '21000', nonce: suggested?.nonce ?? -1 });
    expect(await warningsOf(h, id)).toEqual([]);
    await h.wallet.decide(id, true);
    const mined = await chain.getTransaction((await pending) as string);
    expect(mined?.nonce).toBe(next);
    expect(mined?.maxFeePerGas).toBe(BigInt(suggested?.maxFeePerGas ?? 0));
    expect(mined?.maxPriorityFeePerGas).toBe(BigInt(suggested?.maxPriorityFeePerGas ?? 0));
    chain.destroy();
  });
});
