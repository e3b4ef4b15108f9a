/**
 * A JSON-RPC node in process, for tests that need precise answers (or failures) from "the
 * network": each method answers from a handler; calls are recorded.
 */
import type { FetchLike, HttpResponseLike } from '../../src/background/rpc-client.ts';

export type NodeHandler = (params: unknown[]) => unknown;

export interface ScriptedNode {
  readonly fetch: FetchLike;
  readonly calls: { url: string; method: string; params: unknown[] }[];
  handlers: Record<string, NodeHandler>;
  /** When set, the transport fails as if the host were down. */
  down: boolean;
}

export class NodeError extends Error {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

function json(body: unknown, status = 200): HttpResponseLike {
  return { ok: status === 200, status, json: async () => body };
}

export function scriptedNode(handlers: Record<string, NodeHandler>): ScriptedNode {
  const node: ScriptedNode = {
    calls: [],
    handlers,
    down: false,
    fetch: async (url, init) => {
      if (node.down) throw new TypeError('fetch failed');
      const request = JSON.parse(init.body) as { id: number; method: string; params: unknown[] };
      node.calls.push({ url, method: request.method, params: request.params });
      const handler = node.handlers[request.method];
      if (!handler) return json({ jsonrpc: '2.0', id: request.id, error: { code: -32601, message: `method ${request.method} not found` } });
      try {
        return json({ jsonrpc: '2.0', id: request.id, result: handler(request.params) });
      } catch (error) {
        const nodeError = error instanceof NodeError ? error : new NodeError(-32000, String(error));
        return json({ jsonrpc: '2.0', id: request.id, error: { code: nodeError.code, message: nodeError.message } });
      }
    },
  };
  return node;
}

/** A node for chain `chainId` with the answers a wallet needs to fill a transaction. */
export function chainNode(chainId: number, extra: Record<string, NodeHandler> = {}): ScriptedNode {
  return scriptedNode({
    eth_chainId: () => `0x${chainId.toString(16)}`,
    eth_blockNumber: () => '0x10',
    eth_getBalance: () => '0xde0b6b3a7640000',
    eth_getTransactionCount: () => '0x3',
    eth_estimateGas: () => '0x5208',
    eth_maxPriorityFeePerGas: () => '0x3b9aca00',
    eth_getBlockByNumber: () => ({ number: '0x10', baseFeePerGas: '0x77359400' }),
    eth_call: () => '0x',
    eth_getCode: () => '0x',
    ...extra,
  });
}
