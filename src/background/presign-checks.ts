/**
 * Takes the facts a request is shown with (src/wallet/presign-facts.ts), before the user sees it:
 * - simulation: eth_call of the exact transaction (from, to, value, data, gas limit) on the
 *   latest block; a node error there means the transaction fails now (a revert, with its reason
 *   decoded, or the node's refusal), except an unreachable node or an unknown method, which only
 *   mean it could not be simulated;
 * - the account's balance on that block;
 * - for the address the transaction deals with and for the contract it calls: eth_getCode
 *   (contract or not) and whether this account dealt with it before (the activity record);
 * A check that cannot be made is left out (no fact, no warning); only the simulation reports it.
 */
import { getAddress } from 'ethers';
import { ProviderRpcError, RpcErrorCode } from '../provider/rpc-error.ts';
import type { AddressFacts, PresignFacts, Replacement, Simulation } from '../wallet/presign-facts.ts';
import { revertReason } from '../wallet/revert-reason.ts';
import type { TransactionRequest } from '../wallet/signing-request.ts';
import { counterparty } from '../wallet/token-call.ts';
import type { RpcCall } from './request-builders.ts';
import { isContractCode } from './token-reader.ts';

export interface FactSources {
  readonly rpc: RpcCall;
  /** The network Duet is on now. */
  readonly currentChainId: number;
  /** Whether the request's account dealt with `address` before (activity record). */
  interacted(address: string): Promise<boolean>;
}

const quantity = (value: bigint) => `0x${value.toString(16)}`;
/** JSON-RPC "method not found" and "invalid params": the node cannot simulate, the transaction may be fine. */
const CANNOT_SIMULATE = new Set([-32601, -32602]);

function hexNumber(value: unknown): bigint | null {
  return typeof value === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(value) ? BigInt(value) : null;
}

export async function simulate(rpc: RpcCall, request: TransactionRequest): Promise<Simulation> {
  const { tx } = request;
  const call = { from: request.account.address, ...(tx.to ? { to: tx.to } : {}), value: quantity(tx.value), data: tx.data, gas: quantity(tx.gas) };
  try {
    await rpc('eth_call', [call, 'latest']);
    return { outcome: 'success' };
  } catch (error) {
    if (!(error instanceof ProviderRpcError)) return { outcome: 'unavailable', reason: 'the node gave no usable answer' };
    if (error.code === RpcErrorCode.chainDisconnected) return { outcome: 'unavailable', reason: 'the node cannot be reached' };
    if (CANNOT_SIMULATE.has(error.code)) return { outcome: 'unavailable', reason: revertReason(undefined, error.message) };
    return { outcome: 'revert', reason: revertReason(error.data, error.message) };
  }
}

async function addressFacts(sources: FactSources, address: string): Promise<AddressFacts | null> {
  try {
    const [code, interacted] = await Promise.all([sources.rpc('eth_getCode', [address, 'latest']), sources.interacted(address)]);
    if (typeof code !== 'string') return null;
    return { address, contract: isContractCode(code), interacted };
  } catch {
    return null;
  }
}

export async function transactionFacts(request: TransactionRequest, sources: FactSources, replaces: Replacement | null = null): Promise<PresignFacts> {
  const named = [counterparty(request), request.tx.to].filter((address): address is string => address !== null).map((address) => getAddress(address));
  const addresses = [...new Set(named)];
  const [block, balance, simulation, facts] = await Promise.all([
    sources.rpc('eth_blockNumber', []).then(hexNumber, () => null),
    sources.rpc('eth_getBalance', [request.account.address, 'latest']).then(hexNumber, () => null),
    simulate(sources.rpc, request),
    Promise.all(addresses.map((address) => addressFacts(sources, address))),
  ]);
  return {
    currentChainId: sources.currentChainId,
    block: block === null || block > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(block),
    balance,
    simulation,
    addresses: facts.filter((fact): fact is AddressFacts => fact !== null),
    replaces,
  };
}

/** Messages (typed data): only the network Duet is on. */
export function messageFacts(currentChainId: number): PresignFacts {
  return { currentChainId, block: null, balance: null, simulation: null, addresses: [], replaces: null };
}
