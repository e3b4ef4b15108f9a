/**
 * The provider as dApps written for MetaMask use it: the isMetaMask / isDuet flags and the popup
 * setting that turns the first off, the legacy API (enable, send in its three forms, sendAsync
 * with batches, isConnected, _metamask.isUnlocked, networkVersion, selectedAddress) with
 * MetaMask's return shapes, and window.ethereum kept pointing at Duet without being locked.
 */
import { describe, expect, it } from 'vitest';
import { DuetProvider, type PageTransport } from '../../src/provider/duet-provider.ts';
import { BRIDGE_TO_PAGE, type BridgeToPageMessage, type RpcRequestMessage } from '../../src/provider/page-messages.ts';
import { installWindowEthereum } from '../../src/provider/window-ethereum.ts';

/** A bridge that answers every request with `answer(method, params)` (throwing → an error answer). */
function bridge(answer: (method: string, params: unknown) => unknown) {
  let handler: (message: BridgeToPageMessage) => void = () => undefined;
  const sent: RpcRequestMessage[] = [];
  const transport: PageTransport = {
    post: (message) => {
      sent.push(message);
      queueMicrotask(() => {
        try {
          handler({ target: BRIDGE_TO_PAGE, kind: 'response', id: message.id, result: answer(message.method, message.params) });
        } catch (error) {
          handler({ target: BRIDGE_TO_PAGE, kind: 'error', id: message.id, error: error as { code: number; message: string } });
        }
      });
    },
    subscribe: (h) => (handler = h),
  };
  return { transport, sent, deliver: (message: BridgeToPageMessage) => handler(message) };
}

const ACCOUNT = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';
const answers = (method: string) => {
  if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [ACCOUNT];
  if (method === 'eth_chainId') return '0x7a69';
  throw { code: 4200, message: `no ${method}` };
};
const event = (name: 'connect' | 'accountsChanged' | 'chainChanged' | 'unlockStateChanged' | 'disconnect', payload: unknown): BridgeToPageMessage => ({ target: BRIDGE_TO_PAGE, kind: 'event', event: name, payload });

describe('flags', () => {
  it('isMetaMask is true by default, isDuet always; the popup setting turns isMetaMask off', () => {
    const wire = bridge(answers);
    const provider = new DuetProvider(wire.transport);
    expect([provider.isMetaMask, provider.isDuet]).toEqual([true, true]);
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'config', config: { metaMaskFlag: false, keepWindowEthereum: true } });
    expect([provider.isMetaMask, provider.isDuet]).toEqual([false, true]);
  });
});

describe('the legacy API', () => {
  it('enable() is eth_requestAccounts', async () => {
    const wire = bridge(answers);
    expect(await new DuetProvider(wire.transport).enable()).toEqual([ACCOUNT]);
    expect(wire.sent.map((message) => message.method)).toEqual(['eth_requestAccounts']);
  });

  it('send(method, params) resolves with the whole JSON-RPC response, as MetaMask', async () => {
    const provider = new DuetProvider(bridge(answers).transport);
    expect(await provider.send('eth_chainId')).toEqual({ id: undefined, jsonrpc: '2.0', result: '0x7a69' });
    await expect(provider.send('eth_nope', [])).rejects.toMatchObject({ code: 4200 });
  });

  it('send(payload, callback) and sendAsync(payload, callback) call back with (error, response)', async () => {
    const provider = new DuetProvider(bridge(answers).transport);
    const viaSend = await new Promise((resolve) => provider.send({ id: 7, jsonrpc: '2.0', method: 'eth_accounts' }, (error, response) => resolve([error, response])));
    expect(viaSend).toEqual([null, { id: 7, jsonrpc: '2.0', result: [ACCOUNT] }]);
    const failed = await new Promise<[unknown, unknown]>((resolve) => provider.sendAsync({ id: 8, jsonrpc: '2.0', method: 'eth_nope', params: [] }, (error, response) => resolve([error, response])));
    expect(failed[0]).toMatchObject({ code: 4200 });
    expect(failed[1]).toEqual({ id: 8, jsonrpc: '2.0', error: { code: 4200, message: 'no eth_nope' } });
  });

  it('sendAsync takes a batch and answers it in order', async () => {
    const provider = new DuetProvider(bridge(answers).transport);
    const batch = await new Promise((resolve) =>
      provider.sendAsync([{ id: 1, jsonrpc: '2.0', method: 'eth_chainId' }, { id: 2, jsonrpc: '2.0', method: 'eth_nope' }], (error, responses) => resolve([error, responses])),
    );
    expect(batch).toEqual([null, [{ id: 1, jsonrpc: '2.0', result: '0x7a69' }, { id: 2, jsonrpc: '2.0', error: { code: 4200, message: 'no eth_nope' } }]]);
  });

  it('send(payload) without a callback answers the few methods MetaMask answers synchronously, and throws for others', () => {
    const wire = bridge(answers);
    const provider = new DuetProvider(wire.transport);
    wire.deliver(event('connect', { chainId: '0x7a69' }));
    wire.deliver(event('accountsChanged', [ACCOUNT]));
    expect(provider.send({ id: 3, jsonrpc: '2.0', method: 'eth_accounts' })).toEqual({ id: 3, jsonrpc: '2.0', result: [ACCOUNT] });
    expect(provider.send({ id: 4, jsonrpc: '2.0', method: 'eth_coinbase' })).toEqual({ id: 4, jsonrpc: '2.0', result: ACCOUNT });
    expect(provider.send({ id: 5, jsonrpc: '2.0', method: 'net_version' })).toEqual({ id: 5, jsonrpc: '2.0', result: '31337' });
    expect(() => provider.send({ id: 6, jsonrpc: '2.0', method: 'eth_sendTransaction' })).toThrow(/synchronous/);
  });

  it('isConnected, selectedAddress, chainId and networkVersion follow the events; events carry MetaMask payloads', () => {
    const wire = bridge(answers);
    const provider = new DuetProvider(wire.transport);
    const seen: unknown[] = [];
    for (const name of ['connect', 'disconnect', 'chainChanged', 'accountsChanged']) provider.on(name, (payload) => seen.push([name, payload]));
    expect([provider.isConnected(), provider.selectedAddress, provider.chainId, provider.networkVersion]).toEqual([false, null, null, null]);
    wire.deliver(event('connect', { chainId: '0x7a69' }));
    wire.deliver(event('accountsChanged', [ACCOUNT]));
    wire.deliver(event('chainChanged', '0x1'));
    expect([provider.isConnected(), provider.selectedAddress, provider.chainId, provider.networkVersion]).toEqual([true, ACCOUNT, '0x1', '1']);
    wire.deliver(event('disconnect', { code: 4900, message: 'gone' }));
    expect(seen).toEqual([['connect', { chainId: '0x7a69' }], ['accountsChanged', [ACCOUNT]], ['chainChanged', '0x1'], ['disconnect', { code: 4900, message: 'gone' }]]);
    expect(provider.isConnected()).toBe(false);
  });

  it('_metamask.isUnlocked() waits for the lock state, follows it, and is not a public event', async () => {
    const wire = bridge(answers);
    const provider = new DuetProvider(wire.transport);
    const heard: unknown[] = [];
    provider.on('unlockStateChanged', (value) => heard.push(value));
    const first = provider._metamask.isUnlocked();
    wire.deliver(event('unlockStateChanged', true));
    expect(await first).toBe(true);
    wire.deliver(event('unlockStateChanged', false));
    expect(await provider._metamask.isUnlocked()).toBe(false);
    expect(heard).toEqual([]);
  });
});

describe('window.ethereum', () => {
  const duet = { name: 'duet' };
  const sdk = { name: 'bundled MetaMask SDK' };
  const other = { name: 'another wallet' };

  it('stays Duet when a page script assigns its own provider after load, and stays configurable', () => {
    const page: Record<string, unknown> = {};
    installWindowEthereum(page, duet);
    page.ethereum = sdk;
    expect(page.ethereum).toBe(duet);
    expect(Object.getOwnPropertyDescriptor(page, 'ethereum')?.configurable).toBe(true);
  });

  it('the page assignment wins when the user turned keeping off, also after the fact', () => {
    const page: Record<string, unknown> = {};
    const control = installWindowEthereum(page, duet);
    page.ethereum = sdk;
    control.setKeep(false);
    expect(page.ethereum).toBe(sdk);
    page.ethereum = other;
    expect(page.ethereum).toBe(other);
    control.setKeep(true);
    expect(page.ethereum).toBe(duet);
  });

  it('another wallet may still redefine it: Duet never locks window.ethereum', () => {
    const page: Record<string, unknown> = {};
    installWindowEthereum(page, duet);
    Object.defineProperty(page, 'ethereum', { value: other, writable: false, configurable: false });
    expect(page.ethereum).toBe(other);
  });

  it('a wallet that was there first is taken over while keeping, and given back when not', () => {
    const page: Record<string, unknown> = { ethereum: other };
    const control = installWindowEthereum(page, duet);
    expect(page.ethereum).toBe(duet);
    control.setKeep(false);
    expect(page.ethereum).toBe(other);
  });

  it('a window.ethereum another wallet made non-configurable is left alone', () => {
    const page: Record<string, unknown> = {};
    Object.defineProperty(page, 'ethereum', { value: other, writable: false, configurable: false });
    const control = installWindowEthereum(page, duet);
    expect(control.installed).toBe(false);
    expect(page.ethereum).toBe(other);
  });
});
