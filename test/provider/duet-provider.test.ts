import { describe, expect, it } from 'vitest';
import { DuetProvider, type PageTransport } from '../../src/provider/duet-provider.ts';
import { BRIDGE_TO_PAGE, parsePageRequest, type BridgeToPageMessage, type RpcRequestMessage } from '../../src/provider/page-messages.ts';
import { ProviderRpcError, RpcErrorCode, rpcErrors, toProviderRpcError } from '../../src/provider/rpc-error.ts';
import { RECONNECT_IDLE_DELAY_MS, bridgeRequestKey, reconnectDelayMs } from '../../src/provider/bridge-session.ts';

function pipe(): { transport: PageTransport; sent: RpcRequestMessage[]; deliver(message: BridgeToPageMessage): void } {
  const sent: RpcRequestMessage[] = [];
  let handler: (message: BridgeToPageMessage) => void = () => undefined;
  return {
    sent,
    transport: { post: (message) => sent.push(message), subscribe: (h) => (handler = h) },
    deliver: (message) => handler(message),
  };
}

describe('DuetProvider', () => {
  it('forwards a request and resolves with the bridge response', async () => {
    const wire = pipe();
    const provider = new DuetProvider(wire.transport);
    const pending = provider.request({ method: 'eth_chainId' });
    expect(wire.sent).toHaveLength(1);
    const request = wire.sent[0] as RpcRequestMessage;
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'response', id: request.id, result: '0x7a69' });
    await expect(pending).resolves.toBe('0x7a69');
  });

  it('rejects with the standard error code the bridge returns', async () => {
    const wire = pipe();
    const provider = new DuetProvider(wire.transport);
    const pending = provider.request({ method: 'eth_sign', params: [] });
    const request = wire.sent[0] as RpcRequestMessage;
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'error', id: request.id, error: { code: 4200, message: 'unsupported' } });
    await expect(pending).rejects.toMatchObject({ code: 4200 });
    await expect(pending).rejects.toBeInstanceOf(ProviderRpcError);
  });

  it('refuses malformed arguments with -32602 and sends nothing', async () => {
    const wire = pipe();
    const provider = new DuetProvider(wire.transport);
    await expect(provider.request({ method: '' })).rejects.toMatchObject({ code: -32602 });
    await expect(provider.request({ method: 'eth_call', params: 'x' as never })).rejects.toMatchObject({ code: -32602 });
    await expect(provider.request(null as never)).rejects.toMatchObject({ code: -32602 });
    expect(wire.sent).toHaveLength(0);
  });

  it('emits connect, chainChanged and accountsChanged once per change', () => {
    const wire = pipe();
    const provider = new DuetProvider(wire.transport);
    const events: string[] = [];
    provider.on('connect', () => events.push('connect'));
    provider.on('chainChanged', (id) => events.push(`chain:${String(id)}`));
    provider.on('accountsChanged', (accounts) => events.push(`accounts:${(accounts as string[]).join()}`));
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'connect', payload: { chainId: '0x1' } });
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'chainChanged', payload: '0x1' });
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'chainChanged', payload: '0x5' });
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'accountsChanged', payload: ['0xabc'] });
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'accountsChanged', payload: ['0xabc'] });
    expect(events).toEqual(['connect', 'chain:0x5', 'accounts:0xabc']);
    expect(provider.isConnected()).toBe(true);
    expect(provider.selectedAddress).toBe('0xabc');
    expect(provider.chainId).toBe('0x5');
  });

  it('a connect event after a reconnection announces a chain that changed meanwhile, once', () => {
    const wire = pipe();
    const provider = new DuetProvider(wire.transport);
    const events: string[] = [];
    provider.on('connect', () => events.push('connect'));
    provider.on('chainChanged', (id) => events.push(`chain:${String(id)}`));
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'connect', payload: { chainId: '0x7a69' } });
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'connect', payload: { chainId: '0x7a69' } });
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'connect', payload: { chainId: '0x1' } });
    expect(events).toEqual(['connect', 'chain:0x1']);
  });

  it('disconnect (4900) marks the provider disconnected until the next connect', () => {
    const wire = pipe();
    const provider = new DuetProvider(wire.transport);
    const seen: unknown[] = [];
    provider.on('disconnect', (error) => seen.push(error));
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'connect', payload: { chainId: '0x1' } });
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'disconnect', payload: { code: 4900, message: 'gone' } });
    expect(provider.isConnected()).toBe(false);
    expect(seen).toEqual([{ code: 4900, message: 'gone' }]);
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'connect', payload: { chainId: '0x1' } });
    expect(provider.isConnected()).toBe(true);
  });

  it('answers for unknown request ids are ignored', async () => {
    const wire = pipe();
    const provider = new DuetProvider(wire.transport);
    const pending = provider.request({ method: 'eth_chainId' });
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'response', id: 999, result: 'forged' });
    const request = wire.sent[0] as RpcRequestMessage;
    wire.deliver({ target: BRIDGE_TO_PAGE, kind: 'response', id: request.id, result: '0x1' });
    await expect(pending).resolves.toBe('0x1');
  });
});

describe('bridge session', () => {
  it('keys requests by page session and reconnects at once only when answers are awaited', () => {
    expect(bridgeRequestKey('abc', 7)).toBe('abc:7');
    expect(reconnectDelayMs(2)).toBe(0);
    expect(reconnectDelayMs(0)).toBe(RECONNECT_IDLE_DELAY_MS);
  });
});

describe('parsePageRequest', () => {
  it('accepts only well-formed requests addressed to the bridge', () => {
    expect(parsePageRequest({ target: 'duet:page-to-bridge', id: 1, method: 'eth_chainId' })).not.toBeNull();
    expect(parsePageRequest({ target: 'other', id: 1, method: 'eth_chainId' })).toBeNull();
    expect(parsePageRequest({ target: 'duet:page-to-bridge', id: 1.5, method: 'eth_chainId' })).toBeNull();
    expect(parsePageRequest({ target: 'duet:page-to-bridge', id: 1, method: 'x'.repeat(200) })).toBeNull();
    expect(parsePageRequest('string')).toBeNull();
  });
});

describe('rpc errors', () => {
  it('carry the standard codes and serialise without a stack', () => {
    expect(rpcErrors.userRejected().toJSON()).toEqual({ code: 4001, message: 'The user rejected the request.' });
    expect(rpcErrors.internal('x', { reason: 'r' }).toJSON()).toEqual({ code: RpcErrorCode.internal, message: 'x', data: { reason: 'r' } });
    expect(toProviderRpcError(new Error('secret detail')).toJSON()).toEqual({ code: -32603, message: 'Internal error in Duet.' });
  });
});
