/**
 * The wallet a user expects, through the service as the popup and the window drive it, on a real
 * anvil chain: the checks before signing (on the card and in the request the phone receives),
 * the activity record and its tracking across restarts, speed up and cancel, consecutive nonces,
 * sending from the popup, the token list and wallet_watchAsset.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Contract, JsonRpcProvider, NonceManager, Wallet, getAddress, parseEther } from 'ethers';
import type { ActivityEntry } from '../../src/background/activity.ts';
import type { FetchLike } from '../../src/background/rpc-client.ts';
import type { SendQuote } from '../../src/background/wallet-send.ts';
import { DEMO_TOKEN, deployDemoToken } from '../../src/devstack/demo-token.ts';
import { startAnvil, type RunningAnvil } from '../../src/devstack/anvil.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { displayModel } from '../../src/wallet/decode.ts';
import { reviewedDisplay } from '../../src/wallet/reviewed-display.ts';
import { WALLET_ORIGIN, decodeSigningRequest, encodeSigningRequest, maxFeePerGasOf, type SigningRequest } from '../../src/wallet/signing-request.ts';
import { encodeTokenTransfer } from '../../src/wallet/token-call.ts';
import { DAPP, connect, createHarness, nextApproval, openApprovals, scriptedWallet, setUpWallet, shownCard, until, type Harness } from './harness.ts';

/** anvil's second development key (public): funds and deploys, so Duet's account keeps its own nonces. */
const HELPER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const FRIEND = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const STRANGER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';

let anvil: RunningAnvil;
let chain: JsonRpcProvider;
let helper: NonceManager;
let tokenAddress: string;

const realFetch: FetchLike = (url, init) => fetch(url, init);
const anvilRpc = (method: string, params: unknown[] = []) => chain.send(method, params);


beforeAll(async () => {
  anvil = await startAnvil();
  chain = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1 });
  helper = new NonceManager(new Wallet(HELPER_KEY, chain));
});
afterAll(async () => {
  chain.destroy();
  await anvil.stop();
});

/** The request as the phone decodes it off the wire, and what its screen shows. */
function phoneView(h: Harness): { request: SigningRequest; warnings: readonly string[]; fields: readonly { label: string; value: string }[] } {
  const sent = h.phone.received.at(-1);
  if (!sent) throw new Error('the phone received nothing');
  const request = decodeSigningRequest(JSON.parse(JSON.stringify(encodeSigningRequest(sent))));
  const model = reviewedDisplay(displayModel(request), request);
  return { request, warnings: model.warnings, fields: model.fields };
}

async function activity(h: Harness): Promise<ActivityEntry[]> {
  return [...(await h.wallet.activityView()).entries];
}

async function entryOf(h: Harness, id: string): Promise<ActivityEntry | undefined> {
  return (await activity(h)).find((entry) => entry.id === id);
}

/** Runs the tracker until the entry reaches `status`. */
async function settles(h: Harness, id: string, status: ActivityEntry['status']): Promise<ActivityEntry> {
  await until(async () => {
    await h.wallet.trackPending();
    return (await entryOf(h, id))?.status === status;
  }, `activity ${id} ${status}`);
  return (await entryOf(h, id)) as ActivityEntry;
}

async function withoutAutomine<T>(task: () => Promise<T>): Promise<T> {
  await anvilRpc('evm_setAutomine', [false]);
  try {
    return await task();
  } finally {
    await anvilRpc('evm_setAutomine', [true]);
  }
}

async function quoteAndSend(h: Harness, asset: string, to: string, amount: string): Promise<SendQuote> {
  const quote = await h.wallet.sendQuote(asset, to);
  await h.wallet.send({ asset, to, amount, gas: quote.gas, maxFeePerGas: quote.maxFeePerGas, maxPriorityFeePerGas: quote.maxPriorityFeePerGas });
  return quote;
}

describe('on anvil', () => {
  let h: Harness;
  let address: string;

  beforeEach(async () => {
    h = await createHarness(realFetch);
    address = await setUpWallet(h, anvil.rpcUrl);
    await connect(h);
    tokenAddress ??= await deployDemoToken(helper, address, 1000n * 10n ** 18n);
  });

  const sendFromSite = (tx: Record<string, unknown>) => h.request('eth_sendTransaction', [{ from: address, ...tx }]);

  describe('before signing', () => {
    it('a call that reverts: "This transaction will fail: <reason>" in the window and on the phone; approving anyway is allowed (mined, failed)', async () => {
      const pending = sendFromSite({ to: tokenAddress, data: encodeTokenTransfer(FRIEND, 10n ** 30n) });
      const id = await nextApproval(h, 'sign');
      const card = await shownCard(h, id);
      expect(card.display.warnings[0]).toBe('This transaction will fail: balance');
      expect(card.display.fields.find((field) => field.label === 'Simulation')?.value).toMatch(/^fails on block \d+: balance$/);
      await h.wallet.decide(id, true);
      const hash = (await pending) as string;
      expect(phoneView(h).warnings[0]).toBe('This transaction will fail: balance');
      expect((await chain.waitForTransaction(hash))?.status).toBe(0);
      const request = phoneView(h).request;
      expect((await settles(h, request.id, 'failed')).tx?.blockNumber).toBeGreaterThan(0);
    });

    it('ETH sent to a contract without a call is flagged; to an account it is not', async () => {
      void sendFromSite({ to: tokenAddress, value: '0x1' }).catch(() => undefined);
      const toContract = await nextApproval(h, 'sign');
      expect((await shownCard(h, toContract)).display.warnings).toContain(`${tokenAddress} is a contract, and this sends it ETH without calling it. Many contracts (tokens among them) keep what is sent this way for good. Check that this is the address you meant.`);
      await h.wallet.decide(toContract, false);
      void sendFromSite({ to: FRIEND, value: '0x1' }).catch(() => undefined);
      const toAccount = await nextApproval(h, 'sign');
      expect((await shownCard(h, toAccount)).display.warnings.some((warning) => warning.includes('is a contract'))).toBe(false);
    });

    it('an approval to an account (not a contract) is flagged on both screens; to a contract it is not', async () => {
      const approveData = (spender: string) => `0x095ea7b3${spender.slice(2).toLowerCase().padStart(64, '0')}${(5n).toString(16).padStart(64, '0')}`;
      const pending = sendFromSite({ to: tokenAddress, data: approveData(STRANGER) });
      const id = await nextApproval(h, 'sign');
      const warning = `${STRANGER} is not a contract. Approvals are normally given to contracts (an exchange, a marketplace); an approval to a plain account lets its owner take your tokens — a common scam.`;
      expect((await shownCard(h, id)).display.warnings).toContain(warning);
      await h.wallet.decide(id, true);
      await pending;
      expect(phoneView(h).warnings).toContain(warning);
      void sendFromSite({ to: tokenAddress, data: approveData(tokenAddress) }).catch(() => undefined);
      const toContract = await nextApproval(h, 'sign');
      expect((await shownCard(h, toContract)).display.warnings.some((text) => text.includes('is not a contract'))).toBe(false);
    });

    it('balance change in token units; the first interaction with a recipient is flagged until a transaction to it was sent', async () => {
      const recipient = Wallet.createRandom().address;
      const first = sendFromSite({ to: tokenAddress, data: encodeTokenTransfer(recipient, 25n * 10n ** 17n) });
      const id = await nextApproval(h, 'sign');
      const card = await shownCard(h, id);
      expect(card.display.fields.find((field) => field.label === 'Balance change: DEMO token')?.value).toBe('−2.5 DEMO');
      expect(card.display.warnings).toContain(`First interaction with ${recipient}: this account has no earlier transaction with it in Duet's activity. Check the address.`);
      await h.wallet.decide(id, true);
      await first;
      expect(phoneView(h).fields.find((field) => field.label === 'Balance change: DEMO token')?.value).toBe('−2.5 DEMO');
      expect((await activity(h))[0]?.tx?.amount).toBe('2.5 DEMO');
      void sendFromSite({ to: tokenAddress, data: encodeTokenTransfer(recipient, 1n) }).catch(() => undefined);
      const again = await nextApproval(h, 'sign');
      expect((await shownCard(h, again)).display.warnings.some((warning) => warning.startsWith('First interaction'))).toBe(false);
    });

    it('typed data: when the network changes while it waits, the chain warning appears in the window and reaches the phone', async () => {
      const typedData = {
        types: { EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'chainId', type: 'uint256' }], Note: [{ name: 'text', type: 'string' }] },
        primaryType: 'Note',
        domain: { name: 'Duet test', chainId: 31337 },
        message: { text: 'hello' },
      };
      const signing = h.request('eth_signTypedData_v4', [address, typedData]);
      const id = await nextApproval(h, 'sign');
      expect((await shownCard(h, id)).display.warnings).toEqual([]);
      await h.wallet.switchSiteChain(DAPP, 1);
      const warning = 'This signature is for Local (anvil) (chain 31337), but Duet is on Ethereum (chain 1) now.';
      expect((await shownCard(h, id)).display.warnings).toEqual([warning]);
      await h.wallet.decide(id, true);
      await signing;
      expect(phoneView(h).warnings).toEqual([warning]);
    });
  });

  describe('activity', () => {
    it('records signatures, rejections in Duet, refusals by the phone and sent transactions, newest first, per account', async () => {
      await (async () => {
        const signed = h.request('personal_sign', ['0x6869', address]);
        await h.wallet.decide(await nextApproval(h, 'sign'), true);
        await signed;
      })();
      const rejected = h.request('personal_sign', ['0x6e6f', address]).catch(() => undefined);
      await h.wallet.decide(await nextApproval(h, 'sign'), false);
      await rejected;
      h.phone.mode = 'reject';
      const refused = sendFromSite({ to: FRIEND, value: '0x5' }).catch(() => undefined);
      await h.wallet.decide(await nextApproval(h, 'sign'), true);
      await refused;
      h.phone.mode = 'approve';
      const sent = sendFromSite({ to: FRIEND, value: '0x6' });
      await h.wallet.decide(await nextApproval(h, 'sign'), true);
      const hash = (await sent) as string;
      const entries = await activity(h);
      expect(entries.map((entry) => [entry.status, entry.title])).toEqual([
        [expect.stringMatching(/^(pending|confirmed)$/), 'Send ETH'],
        ['refused', 'Send ETH'],
        ['rejected', 'Sign a message'],
        ['signed-message', 'Sign a message'],
      ]);
      expect(entries[1]?.detail).toBe('Rejected on your phone.');
      expect(entries[0]?.tx?.hash).toBe(hash);
      const confirmed = await settles(h, entries[0]?.id as string, 'confirmed');
      expect(confirmed.tx?.blockNumber).toBe((await chain.getTransactionReceipt(hash))?.blockNumber);
      await h.wallet.addAccount('Second');
      expect(await activity(h)).toEqual([]);
    });

    it('a transaction co-signed right before the worker stopped is sent after the restart from the record, and confirmed', async () => {
      let failSend = true;
      const flaky: FetchLike = async (url, init) => {
        if (failSend && init.body.includes('eth_sendRawTransaction')) throw new TypeError('fetch failed');
        return realFetch(url, init);
      };
      const h2 = await createHarness(flaky);
      const account = await setUpWallet(h2, anvil.rpcUrl);
      await connect(h2);
      const sending = h2.request('eth_sendTransaction', [{ from: account, to: FRIEND, value: '0x7' }]).catch((error: unknown) => error);
      await h2.wallet.decide(await nextApproval(h2, 'sign'), true);
      expect(await sending).toMatchObject({ code: RpcErrorCode.chainDisconnected });
      const [entry] = await activity(h2);
      expect(entry?.status).toBe('signed');
      failSend = false;
      const restarted = await h2.restart();
      const confirmed = await settles(restarted, entry?.id as string, 'confirmed');
      expect((await chain.getTransactionReceipt(confirmed.tx?.hash as string))?.status).toBe(1);
    });

    it('pending transactions are followed after a restart; "speed up" replaces one (automine off, then mined)', async () => {
      await withoutAutomine(async () => {
        const sending = sendFromSite({ to: FRIEND, value: '0x8' });
        await h.wallet.decide(await nextApproval(h, 'sign'), true);
        const hash = (await sending) as string;
        const [original] = await activity(h);
        expect(original?.status).toBe('pending');
        const restarted = await h.restart();
        await restarted.wallet.trackPending();
        expect((await entryOf(restarted, original?.id as string))?.status).toBe('pending');
        await restarted.wallet.replaceTransaction(original?.id, 'speed-up');
        const id = await nextApproval(restarted, 'sign');
        const card = await shownCard(restarted, id);
        expect(card.display.title).toBe('Speed up: Send ETH');
        expect(card.originLabel).toBe('Duet (you, from the popup)');
        expect(card.display.warnings.filter((warning) => warning.startsWith('Nonce'))).toEqual([]);
        await restarted.wallet.decide(id, true);
        await until(async () => (await activity(restarted)).length === 2, 'the speed-up in the record');
        const [speedUp] = await activity(restarted);
        const sentTx = phoneView(restarted).request;
        expect(sentTx.kind === 'transaction' && original?.tx ? [sentTx.tx.nonce, maxFeePerGasOf(sentTx.tx) >= (BigInt(original.tx.maxFeePerGas) * 11n) / 10n] : null).toEqual([original?.tx?.nonce, true]);
        await anvilRpc('evm_mine');
        expect((await settles(restarted, speedUp?.id as string, 'confirmed')).tx?.replaces).toBe(original?.id);
        const replaced = await settles(restarted, original?.id as string, 'replaced');
        expect(replaced.detail).toMatch(/^Sped up: 0x[0-9a-f]{8}… took its place\.$/);
        expect(await chain.getTransactionReceipt(hash)).toBeNull();
      });
    });

    it('"cancel" sends 0 ETH to the account itself at the same nonce; the original is replaced', async () => {
      await withoutAutomine(async () => {
        const sending = sendFromSite({ to: FRIEND, value: '0x9' });
        await h.wallet.decide(await nextApproval(h, 'sign'), true);
        await sending;
        const [original] = await activity(h);
        await h.wallet.replaceTransaction(original?.id, 'cancel');
        const id = await nextApproval(h, 'sign');
        expect((await shownCard(h, id)).display.title).toBe('Cancel a pending transaction');
        await h.wallet.decide(id, true);
        await until(async () => (await activity(h)).length === 2, 'the cancellation in the record');
        const sent = phoneView(h).request;
        expect(sent.kind === 'transaction' ? [sent.tx.to, sent.tx.value, sent.tx.data, sent.tx.gas] : null).toEqual([address, 0n, '0x', 21_000n]);
        await anvilRpc('evm_mine');
        expect((await settles(h, original?.id as string, 'replaced')).detail).toMatch(/^Cancelled: /);
      });
    });

    it('a transaction waiting behind a nonce gap is shown as stuck', async () => {
      const next = await chain.getTransactionCount(address, 'pending');
      const sending = sendFromSite({ to: FRIEND, value: '0xa', nonce: `0x${(next + 1).toString(16)}` });
      await h.wallet.decide(await nextApproval(h, 'sign'), true);
      await sending;
      const [ahead] = await activity(h);
      await h.wallet.trackPending();
      expect((await entryOf(h, ahead?.id as string))?.tx?.stuck).toBe(`Waiting for nonce ${next}: no pending transaction of Duet's uses it. Cancel or speed up to fill it.`);
      // Fill the gap; both are then mined.
      const filling = sendFromSite({ to: FRIEND, value: '0xb', nonce: `0x${next.toString(16)}` });
      await h.wallet.decide(await nextApproval(h, 'sign'), true);
      await filling;
      expect((await settles(h, ahead?.id as string, 'confirmed')).tx?.stuck).toBeNull();
    });
  });

  describe('send from the popup', () => {
    it('ETH: from Duet’s own origin through the window and the phone; mined; the record shows it', async () => {
      const before = await chain.getBalance(FRIEND);
      await quoteAndSend(h, 'native', FRIEND, '0.25');
      const id = await nextApproval(h, 'sign');
      const card = await shownCard(h, id);
      expect([card.origin, card.display.title]).toEqual([WALLET_ORIGIN, 'Send ETH']);
      await h.wallet.decide(id, true);
      await until(async () => (await activity(h))[0]?.status === 'pending' || (await activity(h))[0]?.status === 'confirmed', 'sent');
      const [entry] = await activity(h);
      await settles(h, entry?.id as string, 'confirmed');
      expect((await chain.getBalance(FRIEND)) - before).toBe(parseEther('0.25'));
    });

    it('a token: transfer(to, amount) in token units', async () => {
      const recipient = Wallet.createRandom().address;
      await h.wallet.addTokenFromUi(tokenAddress);
      await quoteAndSend(h, tokenAddress, recipient, '1.5');
      const id = await nextApproval(h, 'sign');
      expect((await shownCard(h, id)).display.title).toBe('Send tokens (ERC-20 transfer)');
      await h.wallet.decide(id, true);
      await until(async () => (await activity(h)).length > 0, 'sent');
      await settles(h, (await activity(h))[0]?.id as string, 'confirmed');
      expect(await new Contract(tokenAddress, DEMO_TOKEN.abi, chain).getFunction('balanceOf')(recipient)).toBe(15n * 10n ** 17n);
    });

    it('"max" leaves exactly the maximum fee; one wei more is refused as insufficient funds', async () => {
      await h.wallet.addAccount('Spending');
      const spending = (await h.view()).state.accounts[1]?.address as string;
      await (await helper.sendTransaction({ to: spending, value: parseEther('1') })).wait();
      const quote = await h.wallet.sendQuote('native', FRIEND);
      expect(BigInt(quote.max)).toBe(parseEther('1') - BigInt(quote.gas) * BigInt(quote.maxFeePerGas));
      const fees = { gas: quote.gas, maxFeePerGas: quote.maxFeePerGas, maxPriorityFeePerGas: quote.maxPriorityFeePerGas };
      const tooMuch = (BigInt(quote.max) + 1n).toString();
      await expect(h.wallet.send({ asset: 'native', to: FRIEND, amount: `0.${tooMuch.padStart(18, '0')}`, ...fees })).rejects.toMatchObject({ code: 'insufficient_funds', field: 'amount' });
      await h.wallet.send({ asset: 'native', to: FRIEND, amount: `0.${quote.max.padStart(18, '0')}`, ...fees });
      await h.wallet.decide(await nextApproval(h, 'sign'), true);
      await until(async () => (await activity(h)).length > 0, 'sent');
      await settles(h, (await activity(h))[0]?.id as string, 'confirmed');
      const left = await chain.getBalance(spending);
      expect(left >= 0n && left < BigInt(quote.maxFee)).toBe(true);
    });
  });

  describe('tokens', () => {
    it('added by contract address: symbol and decimals from the chain, the balance per account; a duplicate or a non-contract is refused', async () => {
      await h.wallet.addTokenFromUi(tokenAddress.toLowerCase());
      const [listed] = await h.wallet.tokensView();
      expect(listed).toMatchObject({ address: getAddress(tokenAddress), symbol: 'DEMO', decimals: 18 });
      expect(BigInt(listed?.balance ?? '0')).toBeGreaterThan(0n);
      await expect(h.wallet.addTokenFromUi(tokenAddress)).rejects.toMatchObject({ code: 'invalid_input', message: 'DEMO is already in your list.' });
      await expect(h.wallet.addTokenFromUi(FRIEND)).rejects.toMatchObject({ code: 'invalid_input', message: `${FRIEND} is not a contract on this network.` });
      await h.wallet.addAccount('Empty');
      expect((await h.wallet.tokensView())[0]?.balance).toBe('0');
    });

    it('wallet_watchAsset: approved in the window, the token joins the list; asked again, it is there at once', async () => {
      const second = await deployDemoToken(helper, address, 7n);
      const watching = h.request('wallet_watchAsset', { type: 'ERC20', options: { address: second, symbol: 'DEMO', decimals: 18 } });
      const id = await nextApproval(h, 'watch-asset');
      const card = await shownCard(h, id);
      expect([card.display.title, card.display.fields.find((f) => f.label === 'Symbol')?.value, card.display.warnings]).toEqual(['Add a token (ERC-20)', 'DEMO', []]);
      await h.wallet.decide(id, true);
      expect(await watching).toBe(true);
      expect((await h.wallet.tokensView()).map((entry) => [entry.address, entry.balance])).toEqual([[second, '7']]);
      const opens = h.windowOpens.count;
      expect(await h.request('wallet_watchAsset', [{ type: 'ERC20', options: { address: second } }])).toBe(true);
      expect(h.windowOpens.count).toBe(opens);
    });

    it('wallet_watchAsset: rejected is 4001 and lists nothing; wrong decimals or symbol (as MetaMask), another type or a non-contract are -32602', async () => {
      const watching = h.request('wallet_watchAsset', { type: 'ERC20', options: { address: tokenAddress, symbol: 'DEMO', decimals: '18' } });
      const id = await nextApproval(h, 'watch-asset');
      expect((await shownCard(h, id)).display.warnings).toEqual([]);
      await h.wallet.decide(id, false);
      await expect(watching).rejects.toMatchObject({ code: RpcErrorCode.userRejected });
      expect(await h.wallet.tokensView()).toEqual([]);
      await expect(h.request('wallet_watchAsset', { type: 'ERC20', options: { address: tokenAddress, decimals: 6 } })).rejects.toMatchObject({ code: RpcErrorCode.invalidParams, message: 'options.decimals: the token has 18 decimals, not 6.' });
      await expect(h.request('wallet_watchAsset', { type: 'ERC20', options: { address: tokenAddress, symbol: 'USDC' } })).rejects.toMatchObject({ code: RpcErrorCode.invalidParams, message: "The symbol in the request (USDC) is not the token's (DEMO)." });
      await expect(h.request('wallet_watchAsset', { type: 'ERC721', options: { address: tokenAddress } })).rejects.toMatchObject({ code: RpcErrorCode.invalidParams });
      await expect(h.request('wallet_watchAsset', { type: 'ERC20', options: { address: FRIEND } })).rejects.toMatchObject({ code: RpcErrorCode.invalidParams });
    });
  });
});

describe('with a scripted node', () => {
  it('three transactions sent at once get consecutive nonces', async () => {
    const { h, node, address } = await scriptedWallet();
    node.handlers.eth_sendRawTransaction = () => `0x${'11'.repeat(32)}`;
    const sends = ['0x1', '0x2', '0x3'].map((value) => h.request('eth_sendTransaction', [{ from: address, to: FRIEND, value }]));
    await until(async () => (await openApprovals(h)).length === 3, 'three approvals');
    for (const { id } of await openApprovals(h)) await h.wallet.decide(id, true);
    await Promise.all(sends);
    expect(h.phone.received.map((request) => (request.kind === 'transaction' ? request.tx.nonce : -1)).sort()).toEqual([3, 4, 5]);
  });

  it('send: a bad address, a wrong checksum, a bad amount, too little ETH or tokens, and a node that is down are each a clear error', async () => {
    const { h, node } = await scriptedWallet();
    const fees = { gas: '21000', maxFeePerGas: '5000000000', maxPriorityFeePerGas: '1000000000' };
    const send = (to: string, amount: string) => h.wallet.send({ asset: 'native', to, amount, ...fees });
    await expect(send('0x1234', '1')).rejects.toMatchObject({ code: 'invalid_input', field: 'to' });
    await expect(send(FRIEND.replace('C44', 'c44'), '1')).rejects.toMatchObject({ code: 'invalid_input', field: 'to', message: expect.stringContaining('wrong checksum') });
    await expect(send(FRIEND.toLowerCase(), 'lots')).rejects.toMatchObject({ code: 'invalid_input', field: 'amount' });
    await expect(send(FRIEND, '0')).rejects.toMatchObject({ code: 'invalid_input', field: 'amount' });
    await expect(send(FRIEND, '1')).rejects.toMatchObject({ code: 'insufficient_funds', field: 'amount', message: expect.stringMatching(/^Insufficient funds: this needs 1\.000105 ETH .* the balance is 1\.0 ETH\.$/) });
    await expect(h.wallet.send({ asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3', to: FRIEND, amount: '1', ...fees })).rejects.toMatchObject({ code: 'invalid_input', field: 'asset' });
    node.down = true;
    await expect(send(FRIEND, '0.1')).rejects.toMatchObject({ code: 'unreachable' });
    expect(await openApprovals(h)).toEqual([]);
  });

  it('requests from the popup are never throttled: three rejections in a row do not block it', async () => {
    const { h } = await scriptedWallet();
    const fees = { gas: '21000', maxFeePerGas: '5000000000', maxPriorityFeePerGas: '1000000000' };
    for (const amount of ['0.1', '0.2', '0.3', '0.4']) {
      await h.wallet.send({ asset: 'native', to: FRIEND, amount, ...fees });
      await h.wallet.decide(await nextApproval(h, 'sign'), false);
    }
    expect((await h.wallet.activityView()).entries.map((entry) => entry.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
  });

  it('a request by a site cannot carry facts of its own: the window shows what Duet observed', async () => {
    const { h, address } = await scriptedWallet();
    await expect(h.request('eth_sendTransaction', [{ from: address, to: FRIEND, facts: { simulation: { outcome: 'success' } } }])).rejects.toMatchObject({ code: RpcErrorCode.invalidParams });
    expect(await openApprovals(h)).toEqual([]);
  });
});
