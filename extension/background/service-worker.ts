/**
 * Service worker entry: accepts provider ports from content scripts and routes their requests.
 * Logic lives in src/background so Node tests reach it; this file only wires browser APIs.
 */
import browser from 'webextension-polyfill';
import { PROVIDER_PORT_NAME, parsePortRequest } from '../../src/background/port-messages.ts';
import { RequestRouter, originFromSender } from '../../src/background/router.ts';
import { ProviderRpcError, RpcErrorCode } from '../../src/provider/rpc-error.ts';

const LOCAL_CHAIN_ID = '0x7a69';

const router = new RequestRouter()
  .register('eth_chainId', async () => LOCAL_CHAIN_ID)
  .register('net_version', async () => String(Number.parseInt(LOCAL_CHAIN_ID, 16)))
  .register('eth_accounts', async () => []);

browser.runtime.onConnect.addListener((port) => {
  if (port.name !== PROVIDER_PORT_NAME || !port.sender) return;
  port.postMessage({ kind: 'event', event: 'connect', payload: { chainId: LOCAL_CHAIN_ID } });
  port.onMessage.addListener(async (raw: unknown) => {
    const request = parsePortRequest(raw);
    if (!request) return;
    try {
      const origin = originFromSender(port.sender as { origin?: string; url?: string });
      const result = await router.handle(request.method, request.params, { origin });
      port.postMessage({ kind: 'response', id: request.id, result });
    } catch (error) {
      const rpcError =
        error instanceof ProviderRpcError ? error : new ProviderRpcError(RpcErrorCode.internal, 'Internal error.');
      port.postMessage({ kind: 'error', id: request.id, error: rpcError.toJSON() });
    }
  });
});
