/**
 * Issue 17's transaction methods: legacy types 0 and 1 sent as that type, EIP-5792 batches
 * executed call by call (each one approved and co-signed) with an honest capabilities answer, and
 * wallet_watchAsset for ERC-20, ERC-721 and ERC-1155 — on a scripted node for the rules and on a
 * real anvil chain for what is mined.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ContractFactory, JsonRpcProvider, NonceManager, Wallet, getAddress, parseEther } from 'ethers';
import { startAnvil, ANVIL_DEV_PRIVATE_KEY, type RunningAnvil } from '../../src/devstack/anvil.ts';
import type { FetchLike } from '../../src/background/rpc-client.ts';
import { BATCH_RECEIPT_POLL_MS } from '../../src/background/wallet-service.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { connect, createHarness, nextApproval, openApprovals, rejects, scriptedWallet, setUpWallet, shownCard, until, type Harness } from './harness.ts';
import type { ScriptedNode } from './scripted-node.ts';

const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
/** anvil's second dev key (public knowledge): deploys the test tokens, as the test phone's account 0 is the first one. */
const DEPLOYER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const artifact = (name: string) => JSON.parse(readFileSync(resolve(`e2e/fixtures/${name}.json`), 'utf8')) as { abi: object[]; bytecode: string };


/** Cards that follow node reads on anvil may take more than the harness's default wait on a busy machine. */
const CHAIN_WAIT_MS = 10_000;

/** The next call of a batch: its runner polls for the previous call's receipt on the wallet's clock, which the test moves. */
async function nextBatchCall(h: Harness): Promise<string> {
  let id: string | undefined;
  await until(async () => {
    h.clock.advance(BATCH_RECEIPT_POLL_MS);
    id = (await openApprovals(h)).find((card) => card.kind === 'sign' && card.status === 'awaiting-user')?.id;
    return id !== undefined;
  }, 'the next call of the batch', CHAIN_WAIT_MS);
  return id as string;
}

async function approveNext(h: Harness, kind = 'sign'): Promise<string> {
  const id = await nextApproval(h, kind, CHAIN_WAIT_MS);
  await h.wallet.decide(id, true);
  return id;
}

describe('legacy transaction types (scripted node)', () => {
  let h: Harness;
  let node: ScriptedNode;
  let account: string;

  beforeEach(async () => {
    ({ h, node } = await scriptedWallet());
    node.handlers.eth_gasPrice = () => '0x4a817c800';
    account = ((await h.request('eth_accounts')) as string[])[0] as string;
  });

  async function frozen(tx: Record<string, unknown>) {
    const pending = h.request('eth_sendTransaction', [{ from: account, to: RECIPIENT, value: '0x1', ...tx }]);
    const card = await shownCard(h, await nextApproval(h, 'sign'));
    await h.wallet.decide(card.id, false);
    await pending.catch(() => undefined);
    return card;
  }

  it('gasPrice alone makes a type 0 transaction with that gas price', async () => {
    const card = await frozen({ gasPrice: '0x3b9aca00' });
    expect(card.transaction).toMatchObject({ type: 0, maxFeePerGas: '1000000000' });
    expect(card.display.fields).toContainEqual({ label: 'Transaction type', value: 'legacy (type 0, EIP-155)' });
  });

  it('type 0x0 without a gas price takes the node eth_gasPrice', async () => {
    const card = await frozen({ type: '0x0' });
    expect(card.transaction).toMatchObject({ type: 0, maxFeePerGas: '20000000000' });
  });

  it('an access list with gasPrice, or type 0x1, makes a type 1 transaction', async () => {
    const accessList = [{ address: RECIPIENT, storageKeys: [`0x${'00'.repeat(32)}`] }];
    expect((await frozen({ gasPrice: '0x3b9aca00', accessList })).transaction).toMatchObject({ type: 1 });
    expect((await frozen({ type: '0x1', accessList })).transaction).toMatchObject({ type: 1, maxFeePerGas: '20000000000' });
  });

  it('an access list without fees stays EIP-1559 with the list', async () => {
    const card = await frozen({ accessList: [{ address: RECIPIENT, storageKeys: [] }] });
    expect(card.transaction).toMatchObject({ type: 2 });
    expect(card.display.fields).toContainEqual({ label: 'Access list', value: `${RECIPIENT}: 0 storage keys` });
  });

  it('a network without EIP-1559 gets a type 0 transaction at the node gas price', async () => {
    node.handlers.eth_getBlockByNumber = () => ({ number: '0x10' });
    expect((await frozen({})).transaction).toMatchObject({ type: 0, maxFeePerGas: '20000000000' });
  });

  it('refuses contradictions with -32602 before any window', async () => {
    const cases: Record<string, unknown>[] = [
      { type: '0x0', accessList: [{ address: RECIPIENT, storageKeys: [] }] },
      { type: '0x0', maxFeePerGas: '0x1' },
      { type: '0x1', maxPriorityFeePerGas: '0x1' },
      { type: '0x3' },
      { accessList: [{ address: 'nope', storageKeys: [] }] },
      { accessList: [{ address: RECIPIENT, storageKeys: ['0x01'] }] },
    ];
    for (const tx of cases) await rejects(h.request('eth_sendTransaction', [{ from: account, to: RECIPIENT, ...tx }]), RpcErrorCode.invalidParams);
    expect(await openApprovals(h)).toEqual([]);
  });
});

describe('on a real chain (anvil)', () => {
  let anvil: RunningAnvil;
  let h: Harness;
  let account: string;
  let chain: JsonRpcProvider;
  const realFetch: FetchLike = (url, init) => fetch(url, init);

  beforeAll(async () => {
    anvil = await startAnvil();
    h = await createHarness(realFetch);
    const address = await setUpWallet(h, anvil.rpcUrl);
    await connect(h);
    account = address.toLowerCase();
    chain = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1 });
    await (await new Wallet(ANVIL_DEV_PRIVATE_KEY, chain).sendTransaction({ to: address, value: parseEther('10') })).wait();
  });
  afterAll(async () => {
    chain.destroy();
    await anvil.stop();
  });

  it('type 0 and type 1 requests are mined as type 0 and type 1', async () => {
    for (const [tx, type] of [[{ gasPrice: '0x77359400' }, 0], [{ gasPrice: '0x77359400', accessList: [{ address: RECIPIENT, storageKeys: [] }] }, 1]] as const) {
      const pending = h.request('eth_sendTransaction', [{ from: account, to: RECIPIENT, value: '0x2', ...tx }]);
      await approveNext(h);
      const hash = (await pending) as string;
      // The node's own view of the mined transaction and its receipt.
      const mined = (await chain.send('eth_getTransactionByHash', [hash])) as { type: string; gasPrice: string };
      const receipt = (await chain.send('eth_getTransactionReceipt', [hash])) as { type: string; status: string };
      expect([mined.type, receipt.type, receipt.status, mined.gasPrice]).toEqual([`0x${type}`, `0x${type}`, '0x1', '0x77359400']);
    }
  });

  describe('EIP-5792', () => {
    it('wallet_getCapabilities answers honestly: no atomic batching on any chain', async () => {
      expect(await h.request('wallet_getCapabilities', [account])).toEqual({ '0x7a69': { atomic: { status: 'unsupported' } }, '0x1': { atomic: { status: 'unsupported' } }, '0xaa36a7': { atomic: { status: 'unsupported' } } });
      expect(await h.request('wallet_getCapabilities', [account, ['0x7a69', '0x999']])).toEqual({ '0x7a69': { atomic: { status: 'unsupported' } } });
      await rejects(h.request('wallet_getCapabilities', [RECIPIENT]), RpcErrorCode.unauthorized);
    });

    const batch = (calls: object[], extra: object = {}) => [{ version: '2.0.0', chainId: '0x7a69', from: account, atomicRequired: false, calls, ...extra }];

    it('refuses what Duet cannot do, with the EIP-5792 codes', async () => {
      const call = { to: RECIPIENT, value: '0x1' };
      await rejects(h.request('wallet_sendCalls', batch([call], { atomicRequired: true })), 5760);
      await rejects(h.request('wallet_sendCalls', batch([call], { capabilities: { paymasterService: { url: 'https://pay.example' } } })), 5700);
      await rejects(h.request('wallet_sendCalls', batch([{ ...call, capabilities: { auxiliaryFunds: {} } }])), 5700);
      await rejects(h.request('wallet_sendCalls', batch([call], { chainId: '0x1234' })), 5710);
      await rejects(h.request('wallet_sendCalls', batch(Array.from({ length: 11 }, () => call))), 5740);
      await rejects(h.request('wallet_sendCalls', batch([call], { version: '9.9' })), RpcErrorCode.invalidParams);
      await rejects(h.request('wallet_sendCalls', batch([{ to: 'nope' }])), RpcErrorCode.invalidParams);
      await rejects(h.request('wallet_getCallsStatus', ['0x1234']), 5730);
      expect(await openApprovals(h)).toEqual([]);
    });

    it('executes the calls one after the other, each approved and co-signed, and reports every receipt', async () => {
      const before = await chain.getBalance(RECIPIENT);
      const sending = h.request('wallet_sendCalls', batch([{ to: RECIPIENT, value: '0x64' }, { to: RECIPIENT, value: '0xc8' }], { capabilities: { auxiliaryFunds: { optional: true } } }));
      const first = await shownCard(h, await nextApproval(h, 'sign', CHAIN_WAIT_MS));
      expect(first.batch).toEqual({ index: 0, count: 2 });
      await h.wallet.decide(first.id, true);
      const { id } = (await sending) as { id: string };
      expect(id).toMatch(/^0x[0-9a-f]{64}$/);
      const second = await shownCard(h, await nextBatchCall(h));
      expect(second.batch).toEqual({ index: 1, count: 2 });
      await h.wallet.decide(second.id, true);
      let status: { status: number; receipts: { status: string; transactionHash: string }[]; atomic: boolean; chainId: string; version: string } | undefined;
      await until(async () => {
        status = (await h.request('wallet_getCallsStatus', [id])) as typeof status;
        return status?.status === 200;
      }, 'the batch to be confirmed', CHAIN_WAIT_MS);
      expect(status).toMatchObject({ version: '2.0.0', id, chainId: '0x7a69', atomic: false });
      expect(status?.receipts.map((receipt) => receipt.status)).toEqual(['0x1', '0x1']);
      expect(await chain.getBalance(RECIPIENT)).toBe(before + 300n);
      expect(h.phone.received.slice(-2).map((request) => request.kind)).toEqual(['transaction', 'transaction']);
    });

    it('a rejected first call rejects wallet_sendCalls (4001); a rejected later call leaves a partial batch (600)', async () => {
      const rejected = h.request('wallet_sendCalls', batch([{ to: RECIPIENT, value: '0x1' }, { to: RECIPIENT, value: '0x1' }]));
      await h.wallet.decide(await nextApproval(h, 'sign', CHAIN_WAIT_MS), false);
      await rejects(rejected, RpcErrorCode.userRejected);

      const partial = h.request('wallet_sendCalls', batch([{ to: RECIPIENT, value: '0x1' }, { to: RECIPIENT, value: '0x1' }], { id: 'my-batch' }));
      await approveNext(h);
      expect(await partial).toEqual({ id: 'my-batch' });
      await h.wallet.decide(await nextBatchCall(h), false);
      await until(async () => ((await h.request('wallet_getCallsStatus', ['my-batch'])) as { status: number }).status === 600, 'a partial batch', CHAIN_WAIT_MS);
      const status = (await h.request('wallet_getCallsStatus', ['my-batch'])) as { receipts: unknown[] };
      expect(status.receipts).toHaveLength(1);
      await rejects(h.request('wallet_sendCalls', batch([{ to: RECIPIENT, value: '0x1' }], { id: 'my-batch' })), 5720);
      await rejects(h.request('wallet_getCallsStatus', ['my-batch'], 'https://other.example'), 5730);
    });
  });

  describe('wallet_watchAsset (EIP-747)', () => {
    let erc20: string;
    let lookalike: string;
    let nft: string;
    let multi: string;

    beforeAll(async () => {
      const deployer = new NonceManager(new Wallet(DEPLOYER_KEY, chain));
      const deploy = async (name: string, arg: bigint) => {
        const contract = await new ContractFactory(artifact(name).abi, artifact(name).bytecode, deployer).deploy(arg);
        await contract.waitForDeployment();
        return contract;
      };
      erc20 = await (await deploy('DemoToken', 10n ** 24n)).getAddress();
      lookalike = await (await deploy('DemoToken', 10n ** 24n)).getAddress();
      // The batch tests rejected requests of this site: let its one-minute block (site-throttle.ts) pass.
      h.clock.advance(61_000);
      const nftContract = await deploy('DemoNft', 3n);
      nft = await nftContract.getAddress();
      await (await nftContract.getFunction('transferFrom')(await deployer.getAddress(), account, 2n)).wait();
      const multiContract = await deploy('DemoMultiToken', 10n);
      multi = await multiContract.getAddress();
      await (await multiContract.getFunction('safeTransferFrom')(await deployer.getAddress(), account, 1n, 4n, '0x')).wait();
    });

    it('ERC-20: the card shows what the chain says; approving adds it to the token list and answers true', async () => {
      const pending = h.request('wallet_watchAsset', { type: 'ERC20', options: { address: erc20, symbol: 'DEMO', decimals: 18, image: 'https://img.example/x.png' } });
      const card = await shownCard(h, await nextApproval(h, 'watch-asset', CHAIN_WAIT_MS));
      expect(card.display.title).toBe('Add a token (ERC-20)');
      expect(card.display.fields).toEqual(expect.arrayContaining([{ label: 'Token contract', value: erc20 }, { label: 'Symbol', value: 'DEMO' }, { label: 'Decimals', value: '18' }]));
      await h.wallet.decide(card.id, true);
      expect(await pending).toBe(true);
      expect((await h.wallet.view()).state.tokens['31337']).toContainEqual({ address: erc20, symbol: 'DEMO', decimals: 18 });
      // Already listed: true at once, no window.
      const opens = h.windowOpens.count;
      expect(await h.request('wallet_watchAsset', [{ type: 'ERC20', options: { address: erc20, symbol: 'DEMO', decimals: 18 } }])).toBe(true);
      expect(h.windowOpens.count).toBe(opens);
    });

    it('ERC-20: a symbol or decimals other than the contract ones are refused, as MetaMask refuses them', async () => {
      await rejects(h.request('wallet_watchAsset', { type: 'ERC20', options: { address: lookalike, symbol: 'USDC', decimals: 18 } }), RpcErrorCode.invalidParams, /symbol in the request \(USDC\) is not the token's \(DEMO\)/);
      await rejects(h.request('wallet_watchAsset', { type: 'ERC20', options: { address: lookalike, symbol: 'DEMO', decimals: 6 } }), RpcErrorCode.invalidParams, /decimals/);
      await rejects(h.request('wallet_watchAsset', { type: 'ERC20', options: { address: RECIPIENT, symbol: 'X', decimals: 18 } }), RpcErrorCode.invalidParams, /not an ERC-20/);
      await rejects(h.request('wallet_watchAsset', { type: 'ERC777', options: { address: erc20 } }), RpcErrorCode.invalidParams);
      expect(await openApprovals(h)).toEqual([]);
    });

    it('ERC-721 and ERC-1155: only a token the account holds is added', async () => {
      const pending = h.request('wallet_watchAsset', { type: 'ERC721', options: { address: nft, tokenId: '2' } });
      const card = await shownCard(h, await nextApproval(h, 'watch-asset', CHAIN_WAIT_MS));
      expect(card.display.title).toBe('Add an NFT (ERC-721)');
      expect(card.display.fields).toEqual(expect.arrayContaining([{ label: 'Collection', value: `${nft} (DNFT)` }, { label: 'Token ID', value: '2' }]));
      await h.wallet.decide(card.id, true);
      expect(await pending).toBe(true);
      await rejects(h.request('wallet_watchAsset', { type: 'ERC721', options: { address: nft, tokenId: '1' } }), RpcErrorCode.invalidParams, /not own/);
      await rejects(h.request('wallet_watchAsset', { type: 'ERC1155', options: { address: nft, tokenId: '2' } }), RpcErrorCode.invalidParams, /not an ERC-1155/);

      const multiPending = h.request('wallet_watchAsset', { type: 'ERC1155', options: { address: multi, tokenId: '1' } });
      await h.wallet.decide(await nextApproval(h, 'watch-asset', CHAIN_WAIT_MS), true);
      expect(await multiPending).toBe(true);
      await rejects(h.request('wallet_watchAsset', { type: 'ERC1155', options: { address: multi, tokenId: '2' } }), RpcErrorCode.invalidParams, /not own/);
      expect((await h.wallet.view()).state.nfts['31337']).toEqual([
        { address: nft, standard: 'erc721', tokenId: '2', account: getAddress(account), symbol: 'DNFT' },
        { address: multi, standard: 'erc1155', tokenId: '1', account: getAddress(account), symbol: null },
      ]);
      // Listed NFTs are answered at once, and the popup removes them.
      const opens = h.windowOpens.count;
      expect(await h.request('wallet_watchAsset', { type: 'ERC721', options: { address: nft, tokenId: '2' } })).toBe(true);
      expect(h.windowOpens.count).toBe(opens);
      await h.wallet.removeNftFromUi(multi, '1');
      expect((await h.wallet.view()).state.nfts['31337']?.map((entry) => entry.address)).toEqual([nft]);
    });

    it('a site that is not connected is refused (4100)', async () => {
      await rejects(h.request('wallet_watchAsset', { type: 'ERC20', options: { address: erc20, symbol: 'DEMO', decimals: 18 } }, 'https://stranger.example'), RpcErrorCode.unauthorized);
    });
  });
});
