/**
 * Provider parameters → frozen SigningRequests. Every field is checked (-32602 naming it, nothing
 * changed); what the network decides (nonce, gas, fees) is filled in before the user sees it, so
 * the window shows exactly what will be signed. For a transaction the node's own figures (next
 * nonce, fees) are asked for even when the site set them, and kept beside the request as advice:
 * the window warns when the site's values stray from them, and the user may edit them.
 */
import { getAddress, isHexString } from 'ethers';
import { ProviderRpcError, RpcErrorCode, rpcErrors } from '../provider/rpc-error.ts';
import { parsePersonalSignParams } from '../wallet/personal-message.ts';
import { type AccountRef, type SigningRequest } from '../wallet/signing-request.ts';
import { checkTypedData, parseTypedDataParam } from '../wallet/typed-data.ts';
import { WalletError } from '../wallet/wallet-error.ts';

export type RpcCall = (method: string, params: readonly unknown[]) => Promise<unknown>;

export interface RequestBase {
  readonly id: string;
  readonly origin: string;
  readonly chainId: number;
  readonly createdAt: number;
}

/** Maps a requested address to a connected account, or throws 4100. */
export type AccountLookup = (address: string, field: string) => AccountRef;

type TransactionRequest = Extract<SigningRequest, { kind: 'transaction' }>;

/** What the node says now about a transaction (0x-hex wei), or null where it could not say. */
export interface TransactionAdvice {
  /** The account's next nonce: its pending count, after transactions already queued in Duet. */
  readonly nextNonce: number | null;
  /** 2 × base fee + tip: what Duet would set itself. */
  readonly maxFeePerGas: string | null;
  readonly maxPriorityFeePerGas: string | null;
  /** Duet chose the nonce (the site gave none): Duet keeps such nonces consecutive while they wait. */
  readonly duetNonce?: boolean;
}

export interface BuiltTransaction {
  readonly request: TransactionRequest;
  readonly advice: TransactionAdvice;
}

type Answer<T> = { readonly value: T } | { readonly error: unknown };

function answer<T>(promise: Promise<T>): Promise<Answer<T>> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** The node's answer where the request needs it (its failure is the request's failure). */
function needed<T>(result: Answer<T>): T {
  if ('error' in result) throw result.error;
  return result.value;
}

const adviceOf = <T>(result: Answer<T>): T | null => ('value' in result ? result.value : null);
const hexWei = (value: bigint | null) => (value === null ? null : `0x${value.toString(16)}`);

const TRANSACTION_KEYS = new Set(['from', 'to', 'value', 'data', 'input', 'gas', 'gasLimit', 'gasPrice', 'maxFeePerGas', 'maxPriorityFeePerGas', 'nonce', 'chainId', 'type', 'accessList']);
const SUPPORTED_TYPES = new Set(['0x0', '0x00', '0x2', '0x02']);
/** Used when a node does not implement eth_maxPriorityFeePerGas: 1 gwei. */
export const FALLBACK_PRIORITY_FEE_WEI = 1_000_000_000n;
/** maxFeePerGas = 2 × base fee + tip: stays valid through six full blocks of +12.5 %. */
const BASE_FEE_MULTIPLIER = 2n;
/**
 * When eth_estimateGas fails (the transaction reverts now), the gas limit is 35 % of the latest
 * block's: MetaMask's fallback (DEFAULT_GAS_ESTIMATE_FALLBACK_BLOCK_PERCENT in
 * @metamask/transaction-controller). The window then shows why the simulation failed.
 */
const FALLBACK_GAS_BLOCK_PERCENT = 35n;
/** Used when the block does not say its gas limit. */
const FALLBACK_GAS_LIMIT = 1_000_000n;

export function addressParam(value: unknown, field: string): string {
  if (typeof value !== 'string') throw rpcErrors.invalidParams(`${field} must be an address.`);
  try {
    return getAddress(value);
  } catch {
    throw rpcErrors.invalidParams(`${field} is not a valid address.`);
  }
}

function quantityParam(value: unknown, field: string): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(value)) throw rpcErrors.invalidParams(`${field} must be a 0x-hex quantity.`);
  return BigInt(value);
}

function bytesParam(value: unknown, field: string): string {
  if (typeof value !== 'string' || !isHexString(value) || value.length % 2 !== 0) throw rpcErrors.invalidParams(`${field} must be 0x-prefixed hex bytes.`);
  return value.toLowerCase();
}

function quantityResult(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(value)) throw rpcErrors.internal(`The node returned a malformed ${what}.`);
  return BigInt(value);
}

/** Runs a src/wallet parser; its WalletError (naming the refused field) becomes -32602. */
function walletParam<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof WalletError) throw rpcErrors.invalidParams(error.message);
    throw error;
  }
}

/** personal_sign [message, address]: a 0x-hex message is bytes, anything else UTF-8 text. */
export function personalSignRequest(params: unknown, base: RequestBase, accountFor: AccountLookup): SigningRequest {
  const { message, address } = walletParam(() => parsePersonalSignParams(params));
  return { ...base, kind: 'personal_sign', account: accountFor(address, 'address'), message };
}

/**
 * eth_signTypedData_v4 [address, typedData]: the typed data is checked strictly (declared
 * primaryType and EIP712Domain are what is hashed and shown); a domain chainId other than the
 * active chain is refused.
 */
export function typedDataRequest(params: unknown, base: RequestBase, accountFor: AccountLookup): SigningRequest {
  if (!Array.isArray(params) || params.length !== 2) throw rpcErrors.invalidParams('eth_signTypedData_v4 expects [address, typedData].');
  const [address, raw] = params;
  const account = accountFor(addressParam(address, 'params[0] (address)'), 'params[0] (address)');
  const { payload } = walletParam(() => checkTypedData(parseTypedDataParam(raw, 'params[1]'), base.chainId, 'params[1]'));
  return { ...base, kind: 'typed_data', account, typedData: payload };
}

export interface TransactionContext {
  readonly rpc: RpcCall;
  /** The next nonce after the account's transactions already waiting in the approval queue. */
  readonly queuedNonce: number | null;
}

/**
 * eth_estimateGas, or — when the node says the transaction fails now — the fallback limit, so the
 * window can still show the request with the simulation's reason (the user decides). An
 * unreachable node is still the request's failure.
 */
async function estimateGas(rpc: RpcCall, call: Record<string, string>, blockGasLimit: bigint | null): Promise<bigint> {
  try {
    return quantityResult(await rpc('eth_estimateGas', [call]), 'gas estimate');
  } catch (error) {
    if (!(error instanceof ProviderRpcError) || error.code === RpcErrorCode.chainDisconnected || error.code === RpcErrorCode.internal) throw error;
    return blockGasLimit === null ? FALLBACK_GAS_LIMIT : (blockGasLimit * FALLBACK_GAS_BLOCK_PERCENT) / 100n;
  }
}

/** eth_sendTransaction [tx] → an EIP-1559 transaction on the active chain, fully specified, and the node's advice. */
export async function transactionRequest(params: unknown, base: RequestBase, accountFor: AccountLookup, context: TransactionContext): Promise<BuiltTransaction> {
  if (!Array.isArray(params) || params.length !== 1 || typeof params[0] !== 'object' || params[0] === null || Array.isArray(params[0])) {
    throw rpcErrors.invalidParams('eth_sendTransaction expects [transaction].');
  }
  const tx = params[0] as Record<string, unknown>;
  const unexpected = Object.keys(tx).filter((key) => !TRANSACTION_KEYS.has(key));
  if (unexpected.length > 0) throw rpcErrors.invalidParams(`Unexpected transaction fields: ${unexpected.join(', ')}.`);
  if (tx.from === undefined) throw rpcErrors.invalidParams('from is required.');
  const account = accountFor(addressParam(tx.from, 'from'), 'from');
  const to = tx.to === undefined || tx.to === null ? null : addressParam(tx.to, 'to');
  if (tx.data !== undefined && tx.input !== undefined && String(tx.data).toLowerCase() !== String(tx.input).toLowerCase()) throw rpcErrors.invalidParams('data and input differ.');
  const data = bytesParam(tx.data ?? tx.input ?? '0x', tx.data !== undefined ? 'data' : 'input');
  if (to === null && data === '0x') throw rpcErrors.invalidParams('A contract creation (no "to") needs data.');
  const value = quantityParam(tx.value, 'value') ?? 0n;
  if (tx.type !== undefined && (typeof tx.type !== 'string' || !SUPPORTED_TYPES.has(tx.type.toLowerCase()))) throw rpcErrors.invalidParams('type must be 0x2 (EIP-1559) or 0x0; Duet sends EIP-1559 transactions.');
  if (tx.accessList !== undefined && !(Array.isArray(tx.accessList) && tx.accessList.length === 0)) throw rpcErrors.invalidParams('accessList is not supported.');
  const chainId = quantityParam(tx.chainId, 'chainId');
  if (chainId !== undefined && chainId !== BigInt(base.chainId)) throw rpcErrors.invalidParams(`chainId ${chainId} is not the active chain ${base.chainId}.`);
  const requestedNonce = quantityParam(tx.nonce, 'nonce');
  if (requestedNonce !== undefined && requestedNonce > BigInt(Number.MAX_SAFE_INTEGER)) throw rpcErrors.invalidParams('nonce is too large.');
  const gasParam = quantityParam(tx.gas ?? tx.gasLimit, tx.gas !== undefined ? 'gas' : 'gasLimit');
  const gasPrice = quantityParam(tx.gasPrice, 'gasPrice');
  let maxFeePerGas = quantityParam(tx.maxFeePerGas, 'maxFeePerGas');
  let maxPriorityFeePerGas = quantityParam(tx.maxPriorityFeePerGas, 'maxPriorityFeePerGas');
  if (gasPrice !== undefined && (maxFeePerGas !== undefined || maxPriorityFeePerGas !== undefined)) throw rpcErrors.invalidParams('Give either gasPrice or maxFeePerGas/maxPriorityFeePerGas, not both.');
  if (maxFeePerGas !== undefined && maxPriorityFeePerGas !== undefined && maxPriorityFeePerGas > maxFeePerGas) throw rpcErrors.invalidParams('maxPriorityFeePerGas is larger than maxFeePerGas.');

  const { rpc } = context;
  const [nodeNonce, nodeTip, nodeBaseFee] = await Promise.all([
    answer(rpc('eth_getTransactionCount', [account.address, 'pending']).then((count) => Math.max(Number(quantityResult(count, 'nonce')), context.queuedNonce ?? 0))),
    answer(rpc('eth_maxPriorityFeePerGas', []).then((fee) => quantityResult(fee, 'priority fee'), () => FALLBACK_PRIORITY_FEE_WEI)),
    answer(
      rpc('eth_getBlockByNumber', ['latest', false]).then((block) => {
        const { baseFeePerGas, gasLimit } = (block ?? {}) as { baseFeePerGas?: unknown; gasLimit?: unknown };
        if (baseFeePerGas === undefined) throw rpcErrors.internal('The network has no EIP-1559 base fee; Duet sends EIP-1559 transactions only.');
        return { baseFee: quantityResult(baseFeePerGas, 'base fee'), gasLimit: gasLimit === undefined ? null : quantityResult(gasLimit, 'block gas limit') };
      }),
    ),
  ]);
  const suggestedTip = adviceOf(nodeTip);
  const baseFee = adviceOf(nodeBaseFee)?.baseFee ?? null;
  const suggestedMaxFee = baseFee !== null && suggestedTip !== null ? baseFee * BASE_FEE_MULTIPLIER + suggestedTip : null;
  const advice: TransactionAdvice = { nextNonce: adviceOf(nodeNonce), maxFeePerGas: hexWei(suggestedMaxFee), maxPriorityFeePerGas: hexWei(suggestedTip), duetNonce: requestedNonce === undefined };

  const nonce = requestedNonce !== undefined ? Number(requestedNonce) : needed(nodeNonce);
  const gas = gasParam ?? (await estimateGas(rpc, { from: account.address, ...(to ? { to } : {}), value: `0x${value.toString(16)}`, data }, adviceOf(nodeBaseFee)?.gasLimit ?? null));
  if (gasPrice !== undefined) {
    maxFeePerGas = gasPrice;
    maxPriorityFeePerGas = gasPrice;
  }
  maxPriorityFeePerGas ??= needed(nodeTip);
  maxFeePerGas ??= needed(nodeBaseFee).baseFee * BASE_FEE_MULTIPLIER + maxPriorityFeePerGas;
  if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = maxFeePerGas;
  return { request: { ...base, kind: 'transaction', account, tx: { to, value, data, nonce, gas, maxFeePerGas, maxPriorityFeePerGas, chainId: base.chainId } }, advice };
}
