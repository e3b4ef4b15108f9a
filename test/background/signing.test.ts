/**
 * personal_sign, eth_signTypedData_v4 and eth_sendTransaction: validation, the approval, the
 * frozen request handed to the co-signer, verification of what comes back, broadcasting on a
 * real anvil chain, and every way co-signing can end without a signature.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AbiCoder, JsonRpcProvider, Transaction, TypedDataEncoder, getBytes, hexlify, toUtf8Bytes, verifyMessage, verifyTypedData } from 'ethers';
import { startAnvil, type RunningAnvil } from '../../src/devstack/anvil.ts';
import { PHONE_WAIT_EXTENSION_MS, PHONE_WAIT_MS } from '../../src/background/wallet-service.ts';
import type { FetchLike } from '../../src/background/rpc-client.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { UNLIMITED_APPROVAL_WARNING } from '../../src/wallet/decode.ts';
import { maxFeePerGasOf } from '../../src/wallet/signing-request.ts';
import { connect, createHarness, scriptedWallet, shownCard, DAPP, nextApproval, openApprovals, OTHER_DAPP, PASSWORD, setUpWallet, until, type Harness } from './harness.ts';
import type { ScriptedNode } from './scripted-node.ts';

const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

let anvil: RunningAnvil;
beforeAll(async () => {
  anvil = await startAnvil();
});
afterAll(() => anvil.stop());

const realFetch: FetchLike = (url, init) => fetch(url, init);
/** ethers caches identical reads for 250 ms by default; the checks here read before and after. */
const chainReader = () => new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1 });

async function rejects(promise: Promise<unknown>, code: number, message?: RegExp): Promise<Error & { code: number; data?: unknown }> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toMatchObject({ code });
  if (message) expect((error as Error).message).toMatch(message);
  return error as Error & { code: number; data?: unknown };
}

async function approveSigning(h: Harness): Promise<string> {
  const id = await nextApproval(h, 'sign');
  await h.wallet.decide(id, true);
  return id;
}

function typedData(chainId: number) {
  return {
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'chainId', type: 'uint256' },
      ],
      Mail: [
        { name: 'to', type: 'address' },
        { name: 'contents', type: 'string' },
      ],
    },
    primaryType: 'Mail',
    domain: { name: 'Duet test', chainId },
    message: { to: RECIPIENT, contents: 'Hello' },
  };
}

describe('with a scripted node', () => {
  let node: ScriptedNode;
  let h: Harness;
  let address: string;

  beforeEach(async () => {
    ({ node, h, address } = await scriptedWallet());
  });

  it('personal_sign: shows the text, freezes it, and returns a signature that recovers the account', async () => {
    const pending = h.request('personal_sign', ['0x48656c6c6f2044756574', address]);
    const id = await nextApproval(h, 'sign');
    const card = await shownCard(h, id);
    expect(card?.display.fields.find((f) => f.label === 'Message')?.value).toBe('Hello Duet');
    expect(card?.code).toMatch(/^[A-Z2-9]{3}-[A-Z2-9]{3}$/);
    await h.wallet.decide(id, true);
    const signature = (await pending) as string;
    expect(verifyMessage('Hello Duet', signature)).toBe(address);
    const frozen = h.phone.received[0];
    expect(frozen).toMatchObject({ kind: 'personal_sign', id: expect.any(String), origin: DAPP, chainId: 31337, account: { index: 0, address }, message: '0x48656c6c6f2044756574' });
  });

  it('personal_sign: UTF-8 text is signed as its bytes; binary shows as hex', async () => {
    const text = h.request('personal_sign', ['Sign in to dapp.example', address]);
    await approveSigning(h);
    expect(verifyMessage('Sign in to dapp.example', (await text) as string)).toBe(address);
    const binary = h.request('personal_sign', ['0x00ff01', address]);
    const id = await nextApproval(h, 'sign');
    expect((await shownCard(h, id)).display.fields.find((f) => f.label === 'Message (hex)')?.value).toBe('0x00ff01');
    await h.wallet.decide(id, true);
    expect(verifyMessage(getBytes('0x00ff01'), (await binary) as string)).toBe(address);
  });

  it('personal_sign: bad parameters are -32602 and nothing is queued', async () => {
    for (const params of [[], ['0x00'], [42, address], ['0x00', 'not-an-address']]) {
      await rejects(h.request('personal_sign', params), RpcErrorCode.invalidParams);
    }
    await rejects(h.request('personal_sign', { message: '0x00' }), RpcErrorCode.invalidParams);
    expect(await openApprovals(h)).toHaveLength(0);
    expect(h.phone.received).toHaveLength(0);
  });

  it('signing with an account the site may not use is 4100; an unconnected site is 4100', async () => {
    await rejects(h.request('personal_sign', ['0x00', RECIPIENT]), RpcErrorCode.unauthorized, /not an account connected/);
    await rejects(h.request('personal_sign', ['0x00', address], OTHER_DAPP), RpcErrorCode.unauthorized, /not connected/);
    expect(await openApprovals(h)).toHaveLength(0);
  });

  it('eth_signTypedData_v4: shows domain and message, returns a verifying signature', async () => {
    const data = typedData(31337);
    const pending = h.request('eth_signTypedData_v4', [address, JSON.stringify(data)]);
    const id = await nextApproval(h, 'sign');
    const fields = (await shownCard(h, id)).display.fields ?? [];
    expect(fields.find((f) => f.label === 'domain.name')?.value).toBe('Duet test');
    expect(fields.find((f) => f.label === 'Mail.contents')?.value).toBe('Hello');
    await h.wallet.decide(id, true);
    const { EIP712Domain: _domain, ...types } = data.types;
    expect(verifyTypedData(data.domain, types, data.message, (await pending) as string)).toBe(address);
    expect(TypedDataEncoder.hash(data.domain, types, data.message)).toMatch(/^0x/);
  });

  it('eth_signTypedData_v4: a domain chainId other than the active chain is -32602 and nothing is queued', async () => {
    await rejects(h.request('eth_signTypedData_v4', [address, JSON.stringify(typedData(1))]), RpcErrorCode.invalidParams, /chain 1.*active chain is 31337/);
    await rejects(h.request('eth_signTypedData_v4', [address, '{not json']), RpcErrorCode.invalidParams, /JSON/);
    await rejects(h.request('eth_signTypedData_v4', [address, { ...typedData(31337), primaryType: 'Missing' }]), RpcErrorCode.invalidParams, /primaryType/);
    await rejects(h.request('eth_signTypedData_v4', [address, { ...typedData(31337), primaryType: 'EIP712Domain' }]), RpcErrorCode.invalidParams, /primaryType/);
    await rejects(h.request('eth_signTypedData_v4', [address, { ...typedData(31337), message: { to: 'nope', contents: 'x' } }]), RpcErrorCode.invalidParams, /params\[1\]\.message\.to: expected an address/);
    // Without an EIP712Domain type MetaMask signs an empty domain and other wallets the domain fields: ambiguous.
    await rejects(h.request('eth_signTypedData_v4', [address, { ...typedData(31337), types: { Mail: typedData(31337).types.Mail } }]), RpcErrorCode.invalidParams, /EIP712Domain/);
    await rejects(h.request('eth_signTypedData_v4', [address, { types: {}, domain: {} }]), RpcErrorCode.invalidParams);
    expect(await openApprovals(h)).toHaveLength(0);
  });

  it('eth_sendTransaction: fills nonce, gas and EIP-1559 fees from the node before showing it', async () => {
    void h.request('eth_sendTransaction', [{ from: address, to: RECIPIENT, value: '0xde0b6b3a7640000' }]);
    const id = await nextApproval(h, 'sign');
    const card = await shownCard(h, id);
    expect(card?.display.title).toBe('Send ETH');
    const field = (label: string) => card?.display.fields.find((f) => f.label === label)?.value;
    expect(field('Amount')).toBe('1.0 ETH');
    expect(field('Nonce')).toBe('3');
    expect(field('Gas limit')).toBe('21000');
    expect(field('Max fee per gas')).toBe('5.0 gwei');
    expect(field('Priority fee per gas')).toBe('1.0 gwei');
  });

  it('eth_sendTransaction: an unlimited ERC-20 approval carries the warning', async () => {
    const data = '0x095ea7b3' + AbiCoder.defaultAbiCoder().encode(['address', 'uint256'], [RECIPIENT, (1n << 256n) - 1n]).slice(2);
    void h.request('eth_sendTransaction', [{ from: address, to: TOKEN, data }]);
    const id = await nextApproval(h, 'sign');
    const card = await shownCard(h, id);
    expect(card?.display.warnings).toContain(UNLIMITED_APPROVAL_WARNING);
    expect(card?.display.fields.find((f) => f.label === 'Spender')?.value).toBe(RECIPIENT);
  });

  it('eth_sendTransaction: a transaction queued behind another gets the next nonce; when the first is rejected, it takes its nonce', async () => {
    const firstSend = h.request('eth_sendTransaction', [{ from: address, to: RECIPIENT, value: '0x1' }]).catch((error: unknown) => error);
    await nextApproval(h, 'sign');
    void h.request('eth_sendTransaction', [{ from: address, to: RECIPIENT, value: '0x2' }]);
    await until(async () => (await openApprovals(h)).length === 2, 'second transaction');
    const [first, second] = (await openApprovals(h)).map((c) => c.id);
    const nonceOf = async (id: string | undefined) => (await shownCard(h, id as string)).display.fields.find((f) => f.label === 'Nonce')?.value;
    expect(await nonceOf(first)).toBe('3');
    await h.wallet.decide(first as string, false);
    expect(await firstSend).toMatchObject({ code: RpcErrorCode.userRejected });
    expect(await nonceOf(second)).toBe('3');
  });

  it.each([
    ['from is required', [{ to: RECIPIENT }]],
    ['to must be an address', [{ from: 'ADDRESS', to: 42 }]],
    ['to is not a valid address', [{ from: 'ADDRESS', to: '0x1234' }]],
    ['value', [{ from: 'ADDRESS', to: RECIPIENT, value: 100 }]],
    ['data', [{ from: 'ADDRESS', to: RECIPIENT, data: '0x123' }]],
    ['data and input differ', [{ from: 'ADDRESS', to: RECIPIENT, data: '0x12', input: '0x34' }]],
    ['needs data', [{ from: 'ADDRESS' }]],
    ['type', [{ from: 'ADDRESS', to: RECIPIENT, type: '0x3' }]],
    ['accessList must be', [{ from: 'ADDRESS', to: RECIPIENT, accessList: { address: RECIPIENT } }]],
    ['chainId', [{ from: 'ADDRESS', to: RECIPIENT, chainId: '0x1' }]],
    ['either gasPrice', [{ from: 'ADDRESS', to: RECIPIENT, gasPrice: '0x1', maxFeePerGas: '0x2' }]],
    ['maxPriorityFeePerGas is larger', [{ from: 'ADDRESS', to: RECIPIENT, maxFeePerGas: '0x1', maxPriorityFeePerGas: '0x2' }]],
    ['Unexpected transaction fields', [{ from: 'ADDRESS', to: RECIPIENT, blobs: [] }]],
    ['expects [transaction]', []],
  ])('eth_sendTransaction: %s → -32602, nothing queued or sent', async (message, params) => {
    const withAddress = JSON.parse(JSON.stringify(params).replaceAll('ADDRESS', address)) as unknown[];
    await rejects(h.request('eth_sendTransaction', withAddress), RpcErrorCode.invalidParams, new RegExp(message.replace(/[[\]]/g, '\\$&')));
    expect(await openApprovals(h)).toHaveLength(0);
    expect(node.calls.some((call) => call.method === 'eth_estimateGas' || call.method === 'eth_sendRawTransaction')).toBe(false);
  });

  it('a second identical signing request while the first waits is -32002; after it, the same request is accepted', async () => {
    const first = h.request('personal_sign', ['0x01', address]);
    const id = await nextApproval(h, 'sign');
    await rejects(h.request('personal_sign', ['0x01', address]), RpcErrorCode.resourceUnavailable);
    await h.wallet.decide(id, false);
    await rejects(first, RpcErrorCode.userRejected);
    const again = h.request('personal_sign', ['0x01', address]);
    await approveSigning(h);
    expect(typeof (await again)).toBe('string');
  });

  it('rejecting in the window is 4001 and the phone never sees the request', async () => {
    const pending = h.request('personal_sign', ['0x01', address]);
    await h.wallet.decide(await nextApproval(h, 'sign'), false);
    await rejects(pending, RpcErrorCode.userRejected);
    expect(h.phone.received).toHaveLength(0);
  });

  it('a rejection on the phone is 4001 with a clear message', async () => {
    h.phone.mode = 'reject';
    const pending = h.request('personal_sign', ['0x01', address]);
    await approveSigning(h);
    await rejects(pending, RpcErrorCode.userRejected, /Rejected on your phone/);
  });

  it('a signature that does not recover the account is refused (-32603) and nothing is broadcast', async () => {
    h.phone.mode = 'wrong-key';
    const pending = h.request('eth_sendTransaction', [{ from: address, to: RECIPIENT, value: '0x1' }]);
    await approveSigning(h);
    await rejects(pending, RpcErrorCode.internal, /does not match the account/);
    expect(node.calls.some((call) => call.method === 'eth_sendRawTransaction')).toBe(false);
  });

  it('a protocol failure on the phone is -32603', async () => {
    h.phone.mode = 'fail';
    const pending = h.request('personal_sign', ['0x01', address]);
    await approveSigning(h);
    await rejects(pending, RpcErrorCode.internal, /Co-signing failed/);
  });

  it('a refusal after a failed signature (taint) is -32603 naming the reason, and the popup state keeps it for good', async () => {
    h.phone.mode = 'tainted';
    const pending = h.request('personal_sign', ['0x01', address]);
    await approveSigning(h);
    await rejects(pending, RpcErrorCode.internal, /failed its check/);
    const { devices } = await h.wallet.state.read();
    expect(devices.every((device) => typeof device.taintedAt === 'number')).toBe(true);
  });

  it('while the phone is offline the request waits with a deadline; at the deadline it ends (-32603, phone_timeout)', async () => {
    h.phone.mode = 'hold';
    h.phone.setReachable(false);
    const pending = h.request('personal_sign', ['0x01', address]);
    const id = await approveSigning(h);
    const card = await shownCard(h, id);
    expect(card?.status).toBe('co-signing');
    expect(card?.deadline).toBe(h.clock.now() + PHONE_WAIT_MS);
    expect((await h.view()).phone.reachable).toBe(false);
    h.clock.advance(PHONE_WAIT_MS);
    const error = await rejects(pending, RpcErrorCode.internal, /did not answer in time/);
    expect(error.data).toEqual({ reason: 'phone_timeout' });
  });

  it('the user can extend the wait; the phone then answers', async () => {
    h.phone.mode = 'hold';
    const pending = h.request('personal_sign', ['0x01', address]);
    const id = await approveSigning(h);
    h.clock.advance(PHONE_WAIT_MS - 1_000);
    await h.wallet.extendWait(id);
    expect((await shownCard(h, id)).deadline).toBe(h.clock.now() + 1_000 + PHONE_WAIT_EXTENSION_MS);
    h.clock.advance(2_000);
    expect((await h.view()).approvals.find((c) => c.id === id)?.status).toBe('co-signing');
    await until(() => h.phone.heldCount === 1, 'held request');
    h.phone.release();
    expect(verifyMessage(getBytes('0x01'), (await pending) as string)).toBe(address);
  });

  it('the user can cancel the wait (4001)', async () => {
    h.phone.mode = 'hold';
    const pending = h.request('personal_sign', ['0x01', address]);
    const id = await approveSigning(h);
    h.wallet.cancelWait(id);
    await rejects(pending, RpcErrorCode.userRejected, /Cancelled/);
    expect(() => h.wallet.cancelWait(id)).toThrow(/not waiting/);
  });

  it('closing the approval window rejects what it showed (4001)', async () => {
    h.phone.mode = 'hold';
    const waiting = h.request('personal_sign', ['0x01', address]);
    await approveSigning(h);
    const open = h.request('personal_sign', ['0x02', address]);
    await nextApproval(h, 'sign');
    await h.wallet.approvalWindowClosed();
    await rejects(open, RpcErrorCode.userRejected, /closed/);
    await rejects(waiting, RpcErrorCode.userRejected);
  });

  it('locking while the phone is asked stops it (4100); a request to a locked wallet waits for the password, then is shown', async () => {
    h.phone.mode = 'hold';
    const waiting = h.request('personal_sign', ['0x01', address]);
    await approveSigning(h);
    await h.wallet.lock();
    await rejects(waiting, RpcErrorCode.unauthorized, /locked/);
    h.phone.mode = 'approve';
    const opens = h.windowOpens.count;
    const queued = h.request('personal_sign', ['0x02', address]);
    await until(async () => (await h.view()).unlockRequested, 'the unlock request');
    expect(h.windowOpens.count).toBe(opens + 1);
    expect(await openApprovals(h)).toEqual([]);
    await h.wallet.unlock(PASSWORD);
    expect((await h.view()).unlockRequested).toBe(false);
    await h.wallet.decide(await nextApproval(h, 'sign'), true);
    expect(verifyMessage(getBytes('0x02'), (await queued) as string)).toBe(address);
  });

  it('closing the window instead of unlocking is 4001 for the waiting site', async () => {
    await h.wallet.lock();
    const queued = h.request('personal_sign', ['0x02', address]);
    await until(async () => (await h.view()).unlockRequested, 'the unlock request');
    await h.wallet.approvalWindowClosed();
    await rejects(queued, RpcErrorCode.userRejected, /without unlocking/);
    expect((await h.view()).unlockRequested).toBe(false);
  });
});

describe('on a real chain (anvil)', () => {
  let h: Harness;
  let address: string;

  beforeEach(async () => {
    h = await createHarness(realFetch);
    address = await setUpWallet(h, anvil.rpcUrl);
    await connect(h);
  });

  it('eth_sendTransaction: approved, co-signed, verified, broadcast and mined; the chain id is set', async () => {
    const chain = chainReader();
    const before = await chain.getBalance(RECIPIENT);
    const pending = h.request('eth_sendTransaction', [{ from: address, to: RECIPIENT, value: '0x2386f26fc10000' }]);
    await approveSigning(h);
    const hash = (await pending) as string;
    const receipt = await chain.waitForTransaction(hash);
    expect(receipt?.status).toBe(1);
    expect((await chain.getBalance(RECIPIENT)) - before).toBe(10n ** 16n);
    const tx = await chain.getTransaction(hash);
    expect(tx?.type).toBe(2);
    expect(tx?.chainId).toBe(31337n);
    expect(tx?.from).toBe(address);
    const card = (await h.view()).approval;
    expect(card?.status).toBe('done');
    expect(card?.message).toMatch(/sent/);
    chain.destroy();
  });

  it('a node that refuses the transaction passes its error through', async () => {
    const first = h.request('eth_sendTransaction', [{ from: address, to: RECIPIENT, value: '0x1' }]);
    await approveSigning(h);
    await first;
    const used = h.phone.received.at(-1);
    const nonce = used?.kind === 'transaction' ? used.tx.nonce : -1;
    const replay = h.request('eth_sendTransaction', [{ from: address, to: RECIPIENT, value: '0x2', nonce: `0x${nonce.toString(16)}` }]);
    await approveSigning(h);
    await rejects(replay, -32003, /nonce too low/);
  });

  it('the signed bytes are an EIP-1559 transaction for the request as shown', async () => {
    const pending = h.request('eth_sendTransaction', [{ from: address, to: RECIPIENT, value: '0x5', data: hexlify(toUtf8Bytes('memo')) }]);
    await approveSigning(h);
    const hash = (await pending) as string;
    const chain = chainReader();
    const raw = (await chain.send('eth_getRawTransactionByHash', [hash])) as string;
    chain.destroy();
    const tx = Transaction.from(raw);
    const frozen = h.phone.received.at(-1);
    expect(frozen?.kind).toBe('transaction');
    if (frozen?.kind !== 'transaction') return;
    expect(tx.nonce).toBe(frozen.tx.nonce);
    expect(tx.maxFeePerGas).toBe(maxFeePerGasOf(frozen.tx));
    expect(tx.data).toBe(frozen.tx.data);
    expect(tx.to).toBe(RECIPIENT);
  });
});
