/**
 * Turns provider parameters into frozen signing requests, validating every field (-32602 on bad
 * input, nothing changed) and filling what the network decides (nonce, gas, fees).
 */
import { getAddress, isHexString, hexlify, toUtf8Bytes } from 'ethers';
import { ProviderRpcError, RpcErrorCode } from '../provider/rpc-error.ts';
import type { AccountRef, SigningRequest, TypedDataPayload } from '../wallet/signing-request.ts';
import { signingDigest } from '../wallet/signing-request.ts';

export type RpcCall = (method: string, params: unknown[]) => Promise<unknown>;
type RequestBase = { id: string; origin: string; chainId: number; createdAt: number };
type AccountLookup = (address: string) => AccountRef;

const invalid = (message: string) => new ProviderRpcError(RpcErrorCode.invalidParams, message);

function addressParam(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalid(`${what} must be an address.`);
  try {
    return getAddress(value);
  } catch {
    throw invalid(`${what} is not a valid address.`);
  }
}

function quantityParam(value: unknown, what: string): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(value)) throw invalid(`${what} must be a 0x-hex quantity.`);
  return BigInt(value);
}

/** personal_sign [message, address]: message as hex bytes or UTF-8 text. */
export function personalSignRequest(params: unknown[], base: RequestBase, accountFor: AccountLookup): SigningRequest {
  const [message, address] = params;
  if (typeof message !== 'string') throw invalid('personal_sign expects [message, address].');
  const hex = isHexString(message) && message.length % 2 === 0 ? message.toLowerCase() : hexlify(toUtf8Bytes(message));
  return { ...base, kind: 'personal_sign', account: accountFor(addressParam(address, 'address')), message: hex };
}

/** eth_signTypedData_v4 [address, typedData]; the domain's chainId must be the active chain. */
export function typedDataRequest(params: unknown[], base: RequestBase, accountFor: AccountLookup): SigningRequest {
  const [address, raw] = params;
  let parsed: unknown;
  try {
    parsed = typeof raw === 'string' ? JSON.parse(raw) : raw;
  } catch {
    throw invalid('Typed data must be JSON.');
  }
  const typed = parsed as Partial<TypedDataPayload> | null;
  if (!typed || typeof typed !== 'object' || typeof typed.primaryType !== 'string' || typeof typed.types !== 'object' || typeof typed.domain !== 'object' || typeof typed.message !== 'object' || !typed.types || !typed.domain || !typed.message) {
    throw invalid('Typed data needs types, primaryType, domain and message.');
  }
  const domainChain = (typed.domain as { chainId?: unknown }).chainId;
  if (domainChain !== undefined && Number(domainChain) !== base.chainId) throw invalid(`The typed data is for chain ${String(domainChain)}, but the active chain is ${base.chainId}.`);
  const request: SigningRequest = { ...base, kind: 'typed_data', account: accountFor(addressParam(address, 'address')), typedData: typed as TypedDataPayload };
  try {
    signingDigest(request);
  } catch {
    throw invalid('The typed data is not valid EIP-712.');
  }
  return request;
}

/** eth_sendTransaction [tx] as EIP-1559 with nonce, gas and fees filled from the network. */
export async function buildTransactionRequest(params: unknown[], base: RequestBase, accountFor: AccountLookup, rpc: RpcCall): Promise<SigningRequest> {
  const tx = params[0] as Record<string, unknown> | undefined;
  if (!tx || typeof tx !== 'object') throw invalid('eth_sendTransaction expects [transaction].');
  const account = accountFor(addressParam(tx.from, 'from'));
  const to = tx.to === undefined || tx.to === null ? null : addressParam(tx.to, 'to');
  const data = tx.data ?? tx.input ?? '0x';
  if (typeof data !== 'string' || !isHexString(data) || data.length % 2 !== 0) throw invalid('data must be 0x-hex bytes.');
  const value = quantityParam(tx.value, 'value') ?? 0n;
  if (tx.chainId !== undefined && quantityParam(tx.chainId, 'chainId') !== BigInt(base.chainId)) throw invalid('chainId does not match the active chain.');
  const nonce = quantityParam(tx.nonce, 'nonce') ?? BigInt(String(await rpc('eth_getTransactionCount', [account.address, 'pending'])));
  const gasLimit = quantityParam(tx.gas ?? tx.gasLimit, 'gas') ?? BigInt(String(await rpc('eth_estimateGas', [{ from: account.address, to, value: `0x${value.toString(16)}`, data }])));
  let maxPriorityFeePerGas = quantityParam(tx.maxPriorityFeePerGas, 'maxPriorityFeePerGas');
  let maxFeePerGas = quantityParam(tx.maxFeePerGas, 'maxFeePerGas') ?? quantityParam(tx.gasPrice, 'gasPrice');
  if (maxPriorityFeePerGas === undefined) maxPriorityFeePerGas = BigInt(String(await rpc('eth_maxPriorityFeePerGas', [])));
  if (maxFeePerGas === undefined) {
    const block = (await rpc('eth_getBlockByNumber', ['latest', false])) as { baseFeePerGas?: string };
    maxFeePerGas = BigInt(block.baseFeePerGas ?? '0x0') * 2n + maxPriorityFeePerGas;
  }
  if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = maxFeePerGas;
  return { ...base, kind: 'transaction', account, tx: { to, value, data: data.toLowerCase(), nonce: Number(nonce), gasLimit, maxFeePerGas, maxPriorityFeePerGas } };
}
