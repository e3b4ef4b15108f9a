/** JSON-RPC to a node: answers, node errors passed through, transport failures as 4901. */
import { describe, expect, it } from 'vitest';
import { callRpc, fetchChainId, type FetchLike } from '../../src/background/rpc-client.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';

const endpoint = { name: 'Local', rpcUrl: 'http://127.0.0.1:8545' };
const answering = (body: unknown, status = 200): FetchLike => async () => ({ ok: status === 200, status, json: async () => body });

describe('callRpc', () => {
  it('returns the result and sends a JSON-RPC 2.0 body', async () => {
    let sent: unknown;
    const fetch: FetchLike = async (_url, init) => {
      sent = JSON.parse(init.body);
      return { ok: true, status: 200, json: async () => ({ jsonrpc: '2.0', id: 1, result: '0x1' }) };
    };
    expect(await callRpc(fetch, endpoint, 'eth_blockNumber', [])).toBe('0x1');
    expect(sent).toEqual({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
  });

  it('passes a node error through with its code, message and data', async () => {
    await expect(callRpc(answering({ error: { code: 3, message: 'execution reverted', data: '0x08c379a0' } }), endpoint, 'eth_call', [])).rejects.toMatchObject({ code: 3, message: 'execution reverted', data: '0x08c379a0' });
  });

  it('maps transport failures to 4901 and malformed answers to errors', async () => {
    await expect(callRpc(async () => Promise.reject(new TypeError('down')), endpoint, 'eth_blockNumber', [])).rejects.toMatchObject({ code: RpcErrorCode.chainDisconnected });
    await expect(callRpc(async () => ({ ok: false, status: 502, json: async () => Promise.reject(new SyntaxError('html')) }), endpoint, 'x', [])).rejects.toMatchObject({ code: RpcErrorCode.chainDisconnected, message: expect.stringMatching(/HTTP 502/) });
    await expect(callRpc(answering('nope'), endpoint, 'x', [])).rejects.toMatchObject({ code: RpcErrorCode.internal });
    await expect(callRpc(answering({ jsonrpc: '2.0', id: 1 }), endpoint, 'x', [])).rejects.toMatchObject({ code: RpcErrorCode.internal });
    await expect(callRpc(answering({ error: { code: 'x' } }), endpoint, 'x', [])).rejects.toMatchObject({ code: RpcErrorCode.internal });
    await expect(callRpc(answering({ result: 1 }), { name: 'Mainnet', rpcUrl: '' }, 'x', [])).rejects.toMatchObject({ code: RpcErrorCode.chainDisconnected, message: expect.stringMatching(/No RPC URL/) });
  });

  it('reads a chain id and refuses a malformed one', async () => {
    expect(await fetchChainId(answering({ result: '0x7a69' }), endpoint)).toBe(31337);
    await expect(fetchChainId(answering({ result: 31337 }), endpoint)).rejects.toMatchObject({ code: RpcErrorCode.internal });
  });
});
