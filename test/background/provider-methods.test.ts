/**
 * Every EIP-1193 method the service worker handles, through the wallet service as pages reach
 * it: answers, permission rules, approvals, standard error codes, and bad parameters (-32602,
 * nothing changed).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { DAPP, OTHER_DAPP, connect, createHarness, nextApproval, rejects, setUpWallet, shownCard, type Harness } from './harness.ts';
import { NodeError, chainNode, type ScriptedNode } from './scripted-node.ts';

const LOCAL_RPC = 'http://127.0.0.1:8545';
let node: ScriptedNode;
let h: Harness;
let address: string;

beforeEach(async () => {
  node = chainNode(31337);
  h = await createHarness(node.fetch);
  address = await setUpWallet(h, LOCAL_RPC);
});


describe('chain and account reads', () => {
  it('eth_chainId and net_version answer the active chain', async () => {
    expect(await h.request('eth_chainId')).toBe('0x7a69');
    expect(await h.request('net_version', [])).toBe('31337');
  });

  it('eth_chainId with parameters is -32602', async () => {
    await rejects(h.request('eth_chainId', ['0x1']), RpcErrorCode.invalidParams);
  });

  it('eth_accounts is empty for an origin that is not connected, and when locked', async () => {
    expect(await h.request('eth_accounts')).toEqual([]);
    await connect(h);
    expect(await h.request('eth_accounts')).toEqual([address.toLowerCase()]);
    expect(await h.request('eth_accounts', [], OTHER_DAPP)).toEqual([]);
    await h.wallet.lock();
    expect(await h.request('eth_accounts')).toEqual([]);
    expect(await h.request('eth_coinbase')).toBeNull();
  });
});

describe('eth_requestAccounts (EIP-1102)', () => {
  it('asks the user once, then answers from the permission', async () => {
    const pending = h.request('eth_requestAccounts');
    const id = await nextApproval(h, 'connect');
    const card = await shownCard(h, id);
    expect(card?.origin).toBe(DAPP);
    expect(card?.choices?.map((c) => [c.address, c.selected])).toEqual([[address, true]]);
    expect(h.windowOpens.count).toBe(1);
    await h.wallet.decide(id, true);
    expect(await pending).toEqual([address.toLowerCase()]);
    expect(h.events).toContainEqual({ to: DAPP, event: 'accountsChanged', payload: [address.toLowerCase()] });
    expect(await h.request('eth_requestAccounts')).toEqual([address.toLowerCase()]);
    expect(h.windowOpens.count).toBe(1);
  });

  it('rejecting gives 4001 and grants nothing', async () => {
    const pending = h.request('eth_requestAccounts');
    await h.wallet.decide(await nextApproval(h), false);
    await rejects(pending, RpcErrorCode.userRejected);
    expect((await h.view()).state.permissions).toEqual({});
  });

  it('a second request from the same origin while the first waits is -32002', async () => {
    const first = h.request('eth_requestAccounts');
    const id = await nextApproval(h);
    await rejects(h.request('eth_requestAccounts'), RpcErrorCode.resourceUnavailable);
    expect((await h.view()).approvals).toHaveLength(1);
    await h.wallet.decide(id, true);
    await first;
  });

  it('another origin queues its own request behind the first', async () => {
    const first = h.request('eth_requestAccounts', [], DAPP);
    const second = h.request('eth_requestAccounts', [], OTHER_DAPP);
    await until2(h);
    const cards = (await h.view()).approvals;
    expect(cards.map((c) => c.origin)).toEqual([DAPP, OTHER_DAPP]);
    await h.wallet.decide(cards[0]?.id as string, true);
    await h.wallet.decide(cards[1]?.id as string, false);
    expect(await first).toEqual([address.toLowerCase()]);
    await rejects(second, RpcErrorCode.userRejected);
  });

  it('before the wallet is set up it is 4100', async () => {
    const fresh = await createHarness(node.fetch);
    await rejects(fresh.request('eth_requestAccounts'), RpcErrorCode.unauthorized, /not set up/);
  });

  it('parameters are -32602', async () => {
    await rejects(h.request('eth_requestAccounts', [{ x: 1 }]), RpcErrorCode.invalidParams);
    expect((await h.view()).approvals).toHaveLength(0);
  });

  it('the user may share only some accounts; an unknown account changes nothing', async () => {
    await h.wallet.addAccount('Second');
    const second = (await h.view()).state.accounts[1]?.address as string;
    const pending = h.request('eth_requestAccounts');
    const id = await nextApproval(h);
    await expect(h.wallet.decide(id, true, ['0x0000000000000000000000000000000000000001'])).rejects.toMatchObject({ code: 'invalid_input', field: 'accounts' });
    await expect(h.wallet.decide(id, true, [])).rejects.toMatchObject({ code: 'invalid_input', field: 'accounts' });
    expect((await h.view()).state.permissions).toEqual({});
    expect((await h.view()).approvals.find((card) => card.id === id)?.status).toBe('awaiting-user');
    await h.wallet.decide(id, true, [second]);
    expect(await pending).toEqual([second.toLowerCase()]);
  });
});

async function until2(harness: Harness): Promise<void> {
  for (let i = 0; i < 200 && (await harness.view()).approvals.length < 2; i++) await new Promise((r) => setTimeout(r, 2));
}

describe('EIP-2255 permissions', () => {
  it('wallet_requestPermissions returns the granted permission; get and revoke follow', async () => {
    const pending = h.request('wallet_requestPermissions', [{ eth_accounts: {} }]);
    await h.wallet.decide(await nextApproval(h), true);
    const granted = (await pending) as { parentCapability: string; invoker: string; caveats: { type: string; value: string[] }[] }[];
    expect(granted).toHaveLength(1);
    expect(granted[0]).toMatchObject({ parentCapability: 'eth_accounts', invoker: DAPP, caveats: [{ type: 'restrictReturnedAccounts', value: [address.toLowerCase()] }] });
    expect(await h.request('wallet_getPermissions')).toEqual(granted);
    expect(await h.request('wallet_getPermissions', [], OTHER_DAPP)).toEqual([]);
    expect(await h.request('wallet_revokePermissions', [{ eth_accounts: {} }])).toBeNull();
    expect(await h.request('wallet_getPermissions')).toEqual([]);
    expect(await h.request('eth_accounts')).toEqual([]);
    expect(h.events.at(-1)).toEqual({ to: DAPP, event: 'accountsChanged', payload: [] });
  });

  it('an unknown permission or a malformed request is -32602 and nothing is queued', async () => {
    await rejects(h.request('wallet_requestPermissions', [{ eth_signTransaction: {} }]), RpcErrorCode.invalidParams, /eth_signTransaction/);
    await rejects(h.request('wallet_requestPermissions', []), RpcErrorCode.invalidParams);
    await rejects(h.request('wallet_requestPermissions', [[]]), RpcErrorCode.invalidParams);
    await rejects(h.request('wallet_revokePermissions', [{}]), RpcErrorCode.invalidParams);
    expect((await h.view()).approvals).toHaveLength(0);
  });

  it('revoking one origin leaves the others connected', async () => {
    await connect(h, DAPP);
    await connect(h, OTHER_DAPP);
    await h.request('wallet_revokePermissions', [{ eth_accounts: {} }], OTHER_DAPP);
    expect(await h.request('eth_accounts', [], DAPP)).toEqual([address.toLowerCase()]);
    expect(await h.request('eth_accounts', [], OTHER_DAPP)).toEqual([]);
  });
});

describe('wallet_switchEthereumChain (EIP-3326)', () => {
  it('an unknown chain is 4902', async () => {
    await connect(h);
    await rejects(h.request('wallet_switchEthereumChain', [{ chainId: '0x539' }]), RpcErrorCode.unrecognizedChain);
  });

  it('a connected site switches to a known chain of its own; only it hears chainChanged', async () => {
    await connect(h);
    expect(await h.request('wallet_switchEthereumChain', [{ chainId: '0xaa36a7' }])).toBeNull();
    expect(await h.request('eth_chainId')).toBe('0xaa36a7');
    expect(await h.request('eth_chainId', [], OTHER_DAPP)).toBe('0x7a69');
    expect(h.events.filter((event) => event.event === 'chainChanged')).toEqual([{ to: DAPP, event: 'chainChanged', payload: '0xaa36a7' }]);
  });

  it('a site that is not connected must ask the user', async () => {
    const pending = h.request('wallet_switchEthereumChain', [{ chainId: '0x1' }], OTHER_DAPP);
    const id = await nextApproval(h, 'switch-chain');
    expect(await h.request('eth_chainId')).toBe('0x7a69');
    await h.wallet.decide(id, true);
    expect(await pending).toBeNull();
    expect(await h.request('eth_chainId')).toBe('0x1');
  });

  it('bad chain ids are -32602 and the chain stays', async () => {
    await connect(h);
    for (const params of [[{ chainId: '0x01' }], [{ chainId: 1 }], [{ chainId: '0x1', extra: true }], [], [{ chainId: '0xzz' }], [{ chainId: '0x' + 'f'.repeat(15) }]]) {
      await rejects(h.request('wallet_switchEthereumChain', params), RpcErrorCode.invalidParams);
    }
    expect(await h.request('eth_chainId')).toBe('0x7a69');
  });
});

describe('wallet_addEthereumChain (EIP-3085)', () => {
  const LOCAL_RPC_9545 = 'http://127.0.0.1:9545';
  const chain = { chainId: '0x539', chainName: 'Test chain', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: [LOCAL_RPC_9545] };
  /** A page served from this computer may add a local network. */
  const LOCAL_SITE = 'http://localhost:3000';
  const rpcCalls = (url: string) => node.calls.filter((call) => call.url === url);

  it('asks the user before contacting the RPC, then checks its chain id, adds and switches', async () => {
    node.handlers.eth_chainId = () => '0x539';
    const pending = h.request('wallet_addEthereumChain', [chain], LOCAL_SITE);
    const id = await nextApproval(h, 'add-chain');
    expect(rpcCalls(LOCAL_RPC_9545)).toEqual([]);
    const card = await shownCard(h, id);
    expect(card?.display.fields.find((f) => f.label === 'Chain ID')?.value).toBe('1337 (0x539)');
    await h.wallet.decide(id, true);
    expect(await pending).toBeNull();
    const state = (await h.view()).state;
    expect(state.networks.find((n) => n.chainId === 1337)).toMatchObject({ name: 'Test chain', rpcUrl: LOCAL_RPC_9545, preset: false });
    expect(state.activeChainId).toBe(1337);
    expect(rpcCalls(LOCAL_RPC_9545).map((call) => call.method)).toEqual(['eth_chainId']);
  });

  it('a probe of another chain or of a dead port: the user sees why, the page learns nothing of the answer', async () => {
    node.handlers.eth_chainId = () => '0x1';
    const mismatch = h.request('wallet_addEthereumChain', [chain], LOCAL_SITE).catch((error: unknown) => error);
    const id = await nextApproval(h, 'add-chain');
    await h.wallet.decide(id, true);
    const mismatchError = (await mismatch) as Error & { code: number };
    expect((await h.view()).approval).toMatchObject({ id, status: 'failed', message: expect.stringMatching(/is chain 1, not 1337/) });
    node.down = true;
    const dead = h.request('wallet_addEthereumChain', [{ ...chain, chainId: '0x53a' }], LOCAL_SITE).catch((error: unknown) => error);
    await h.wallet.decide(await nextApproval(h, 'add-chain'), true);
    const deadError = (await dead) as Error & { code: number };
    expect(mismatchError).toMatchObject({ code: RpcErrorCode.internal, message: 'Duet could not add this network.' });
    expect(deadError).toMatchObject({ code: mismatchError.code, message: mismatchError.message });
    expect((await h.view()).state.networks.some((n) => n.chainId === 1337 || n.chainId === 1338)).toBe(false);
  });

  it('a web site cannot name an RPC on this computer: -32602 at once, nothing sent, nothing asked', async () => {
    for (const rpcUrl of ['http://127.0.0.1:8545', 'http://localhost:9545', 'https://127.1.2.3/', 'http://[::1]:8545', 'https://0x7f.1:8545/', 'https://api.localhost/', 'https://[::ffff:127.0.0.1]/']) {
      await rejects(h.request('wallet_addEthereumChain', [{ ...chain, rpcUrls: [rpcUrl] }], DAPP), RpcErrorCode.invalidParams, /cannot add a network on this computer/);
    }
    expect(node.calls.filter((call) => call.method === 'eth_chainId')).toEqual([]);
    expect((await h.view()).approvals).toHaveLength(0);
  });

  it('rejecting adds nothing (4001) and contacts nothing', async () => {
    node.handlers.eth_chainId = () => '0x539';
    const pending = h.request('wallet_addEthereumChain', [chain], LOCAL_SITE);
    await h.wallet.decide(await nextApproval(h), false);
    await rejects(pending, RpcErrorCode.userRejected);
    expect((await h.view()).state.networks.some((n) => n.chainId === 1337)).toBe(false);
    expect(rpcCalls(LOCAL_RPC_9545)).toEqual([]);
  });

  it('a chain Duet knows is a switch', async () => {
    await connect(h);
    expect(await h.request('wallet_addEthereumChain', [{ ...chain, chainId: '0xaa36a7', chainName: 'Sepolia', rpcUrls: ['https://rpc.sepolia.example'] }])).toBeNull();
    expect(await h.request('eth_chainId')).toBe('0xaa36a7');
  });

  it.each([
    ['chainId', { ...chain, chainId: '1337' }],
    ['chainName', { ...chain, chainName: '' }],
    ['nativeCurrency.symbol', { ...chain, nativeCurrency: { name: 'E', symbol: 'E', decimals: 18 } }],
    ['nativeCurrency.decimals', { ...chain, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 6 } }],
    ['rpcUrls', { ...chain, rpcUrls: [] }],
    ['rpcUrls[0]', { ...chain, rpcUrls: ['http://rpc.example.com'] }],
    ['blockExplorerUrls[0]', { ...chain, blockExplorerUrls: ['javascript:alert(1)'] }],
    ['Unexpected keys', { ...chain, rpcUrl: 'x' }],
  ])('bad %s is -32602 naming it, and nothing changes', async (field, param) => {
    const before = JSON.stringify((await h.view()).state);
    await rejects(h.request('wallet_addEthereumChain', [param]), RpcErrorCode.invalidParams, new RegExp(field.replace(/[[\].]/g, '\\$&')));
    expect(JSON.stringify((await h.view()).state)).toBe(before);
    expect(node.calls.some((call) => call.method === 'eth_chainId')).toBe(false);
  });
});

describe('refused and unknown methods', () => {
  it('eth_sign is refused with 4200 and a reason', async () => {
    await connect(h);
    await rejects(h.request('eth_sign', [address, '0x' + '11'.repeat(32)]), RpcErrorCode.unsupportedMethod, /eth_sign is disabled/);
  });

  it('methods Duet does not know are 4200, and nothing reaches the node', async () => {
    await rejects(h.request('eth_signTransaction', [{}]), RpcErrorCode.unsupportedMethod);
    await rejects(h.request('debug_traceTransaction', ['0x00']), RpcErrorCode.unsupportedMethod);
    await rejects(h.request('wallet_showCallsStatus', ['0x01']), RpcErrorCode.unsupportedMethod);
    await rejects(h.request('wallet_scanQRCode', [{}]), RpcErrorCode.unsupportedMethod);
    expect(node.calls.map((call) => call.method)).not.toContain('debug_traceTransaction');
  });
});

describe('read methods proxied to the active network', () => {
  it('passes allow-listed reads to the node of the active chain', async () => {
    expect(await h.request('eth_blockNumber')).toBe('0x10');
    expect(await h.request('eth_getBalance', [address, 'latest'])).toBe('0xde0b6b3a7640000');
    expect(node.calls.at(-1)).toEqual({ url: LOCAL_RPC, method: 'eth_getBalance', params: [address, 'latest'] });
  });

  it('passes a node error through with its code', async () => {
    node.handlers.eth_call = () => {
      throw new NodeError(-32000, 'execution reverted');
    };
    await rejects(h.request('eth_call', [{ to: address, data: '0x' }, 'latest']), -32000, /execution reverted/);
  });

  it('an unreachable node is 4901', async () => {
    node.down = true;
    await rejects(h.request('eth_blockNumber'), RpcErrorCode.chainDisconnected);
  });

  it('a network without an RPC URL is 4901', async () => {
    await connect(h);
    await h.request('wallet_switchEthereumChain', [{ chainId: '0x1' }]);
    await rejects(h.request('eth_blockNumber'), RpcErrorCode.chainDisconnected, /No RPC URL/);
  });

  it('non-array parameters are -32602 and nothing is sent', async () => {
    await rejects(h.request('eth_getBalance', { address }), RpcErrorCode.invalidParams);
    expect(node.calls.some((call) => call.method === 'eth_getBalance')).toBe(false);
  });
});
