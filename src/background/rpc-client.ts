/**
 * JSON-RPC over HTTP to a network's node. Transport failures become 4901 (the wallet is
 * disconnected from that chain); a node's own JSON-RPC error is passed through with its code.
 */
import { ProviderRpcError, rpcErrors } from '../provider/rpc-error.ts';

export interface HttpResponseLike {
  readonly ok: boolean;
  readonly status: number;
  json(): Promise<unknown>;
}

export type FetchLike = (url: string, init: { method: 'POST'; headers: Record<string, string>; body: string; signal?: AbortSignal }) => Promise<HttpResponseLike>;

export interface RpcEndpoint {
  readonly name: string;
  readonly rpcUrl: string;
}

/** How long a node may take before the request counts as failed. */
export const RPC_TIMEOUT_MS = 30_000;

export async function callRpc(fetch: FetchLike, endpoint: RpcEndpoint, method: string, params: readonly unknown[]): Promise<unknown> {
  if (!endpoint.rpcUrl) throw rpcErrors.chainDisconnected(`No RPC URL is set for ${endpoint.name}. Set one in Duet → Networks.`);
  let response: HttpResponseLike;
  try {
    response = await fetch(endpoint.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
    });
  } catch {
    throw rpcErrors.chainDisconnected(`${endpoint.name} cannot be reached at ${endpoint.rpcUrl}.`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw rpcErrors.chainDisconnected(`${endpoint.name} answered with HTTP ${response.status} and no JSON-RPC body.`);
  }
  if (typeof body !== 'object' || body === null) throw rpcErrors.internal(`${endpoint.name} sent a malformed JSON-RPC answer.`);
  const answer = body as { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
  if (answer.error !== undefined) {
    const code = typeof answer.error?.code === 'number' && Number.isInteger(answer.error.code) ? answer.error.code : -32603;
    const message = typeof answer.error?.message === 'string' ? answer.error.message : 'The node returned an error.';
    throw new ProviderRpcError(code, message, answer.error?.data);
  }
  if (!('result' in answer)) throw rpcErrors.internal(`${endpoint.name} sent a JSON-RPC answer without a result.`);
  return answer.result;
}

/** The chain id a node reports (eth_chainId), as a number. */
export async function fetchChainId(fetch: FetchLike, endpoint: RpcEndpoint): Promise<number> {
  const result = await callRpc(fetch, endpoint, 'eth_chainId', []);
  if (typeof result !== 'string' || !/^0x[0-9a-f]+$/i.test(result)) throw rpcErrors.internal(`${endpoint.name} returned a malformed chain id.`);
  return Number.parseInt(result, 16);
}
