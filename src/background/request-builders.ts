/**
 * Provider parameters → frozen SigningRequests. Every field is checked (-32602 naming it, nothing
 * changed); what the network decides (nonce, gas, fees) is filled in before the user sees it, so
 * the window shows exactly what will be signed. For a transaction the node's own figures (next
 * nonce, fees) are asked for even when the site set them, and kept beside the request as advice:
 * the window warns when the site's values stray from them, and the user may edit them. The token
 * contracts a request's display describes are read from the network (symbol, decimals) and
 * travel in the request to both screens.
 */
import { getAddress, isHexString } from 'ethers';
import { ProviderRpcError, RpcErrorCode, rpcErrors } from '../provider/rpc-error.ts';
import { checkLegacyTypedData } from '../wallet/legacy-typed-data.ts';
import { parsePersonalSignParams } from '../wallet/personal-message.ts';
import { MAX_ACCESS_LIST_ADDRESSES, MAX_ACCESS_LIST_KEYS, type AccessList, type AccountRef, type SigningRequest, type TransactionFields } from '../wallet/signing-request.ts';
import { describedTokenContracts } from '../wallet/token-contracts.ts';
import { checkTypedData, parseTypedDataParam, type TypedDataVersion } from '../wallet/typed-data.ts';
import { WalletError } from '../wallet/wallet-error.ts';
import { readTokens, type KnownToken } from './token-reader.ts';

export type RpcCall = (method: string, params: readonly unknown[]) => Promise<unknown>;

export interface RequestBase {
  readonly id: string;
  readonly origin: string;
  /** The top-level site when the request comes from an embedded frame. */
  readonly embeddedIn?: string;
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
  /** 2 × base fee + tip (the node's gas price for types 0 and 1): what Duet would set itself. */
  readonly maxFeePerGas: string | null;
  /** The node's tip (null for types 0 and 1, which have none). */
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
const TRANSACTION_TYPES: Readonly<Record<string, 0 | 1 | 2>> = { '0x0': 0, '0x00': 0, '0x1': 1, '0x01': 1, '0x2': 2, '0x02': 2 };
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

/** EIP-2930 access list: [{ address, storageKeys: [32-byte hex] }], bounded. */
function accessListParam(value: unknown): AccessList | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length > MAX_ACCESS_LIST_ADDRESSES) throw rpcErrors.invalidParams(`accessList must be an array of at most ${MAX_ACCESS_LIST_ADDRESSES} entries.`);
  let keys = 0;
  return value.map((entry: unknown, index) => {
    const field = `accessList[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw rpcErrors.invalidParams(`${field} must be { address, storageKeys }.`);
    const { address, storageKeys, ...rest } = entry as Record<string, unknown>;
    if (Object.keys(rest).length > 0 || !Array.isArray(storageKeys)) throw rpcErrors.invalidParams(`${field} must be { address, storageKeys }.`);
    keys += storageKeys.length;
    if (keys > MAX_ACCESS_LIST_KEYS) throw rpcErrors.invalidParams(`accessList has more than ${MAX_ACCESS_LIST_KEYS} storage keys.`);
    return {
      address: addressParam(address, `${field}.address`),
      storageKeys: storageKeys.map((key: unknown, keyIndex) => {
        if (typeof key !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(key)) throw rpcErrors.invalidParams(`${field}.storageKeys[${keyIndex}] must be 32 bytes of 0x-hex.`);
        return key.toLowerCase();
      }),
    };
  });
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
 * eth_signTypedData_v3 / _v4 [address, typedData]: checked as MetaMask's signing library hashes
 * it (typed-data.ts); a domain chainId other than the active chain is refused.
 */
export function typedDataRequest(params: unknown, base: RequestBase, accountFor: AccountLookup, version: TypedDataVersion): SigningRequest {
  const method = version === 'v3' ? 'eth_signTypedData_v3' : 'eth_signTypedData_v4';
  if (!Array.isArray(params) || params.length !== 2) throw rpcErrors.invalidParams(`${method} expects [address, typedData].`);
  const [address, raw] = params;
  const account = accountFor(addressParam(address, 'params[0] (address)'), 'params[0] (address)');
  const { payload } = walletParam(() => checkTypedData(parseTypedDataParam(raw, 'params[1]'), base.chainId, 'params[1]', version));
  return { ...base, kind: 'typed_data', account, typedData: payload, ...(version === 'v3' ? { typedDataVersion: version } : {}) };
}

/** eth_signTypedData (v1, the legacy array form) [typedData, address], as MetaMask orders it. */
export function legacyTypedDataRequest(params: unknown, base: RequestBase, accountFor: AccountLookup): SigningRequest {
  if (!Array.isArray(params) || params.length !== 2) throw rpcErrors.invalidParams('eth_signTypedData expects [typedData, address].');
  const [raw, address] = params;
  const account = accountFor(addressParam(address, 'params[1] (address)'), 'params[1] (address)');
  const { payload } = walletParam(() => checkLegacyTypedData(parseTypedDataParam(raw, 'params[0]'), 'params[0]'));
  return { ...base, kind: 'typed_data_v1', account, typedData: payload };
}

/**
 * The request with the token details its display needs: from the user's token list (`known`), else
 * read from the network (none if unreadable).
 */
export async function withTokenDetails<R extends SigningRequest>(request: R, rpc: RpcCall, known: KnownToken): Promise<R> {
  const tokens = await readTokens(rpc, describedTokenContracts(request), known);
  return tokens.length > 0 ? { ...request, tokens } : request;
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
async function estimateGas(rpc: RpcCall, call: Record<string, unknown>, blockGasLimit: bigint | null): Promise<bigint> {
  try {
    return quantityResult(await rpc('eth_estimateGas', [call]), 'gas estimate');
  } catch (error) {
    if (!(error instanceof ProviderRpcError) || error.code === RpcErrorCode.chainDisconnected || error.code === RpcErrorCode.internal) throw error;
    return blockGasLimit === null ? FALLBACK_GAS_LIMIT : (blockGasLimit * FALLBACK_GAS_BLOCK_PERCENT) / 100n;
  }
}

/** The type a request asks for: explicit, or what its fee fields imply (null: whatever the network supports). */
function requestedType(tx: Record<string, unknown>, fees: { gasPrice?: bigint; maxFees: boolean }, accessList: AccessList | undefined): 0 | 1 | 2 | null {
  if (tx.type !== undefined) {
    const type = typeof tx.type === 'string' ? TRANSACTION_TYPES[tx.type.toLowerCase()] : undefined;
    if (type === undefined) throw rpcErrors.invalidParams('type must be 0x0 (legacy), 0x1 (access list) or 0x2 (EIP-1559).');
    if (type === 0 && (accessList?.length ?? 0) > 0) throw rpcErrors.invalidParams('A type 0x0 transaction has no access list; use type 0x1.');
    if (type !== 2 && fees.maxFees) throw rpcErrors.invalidParams('Types 0x0 and 0x1 take gasPrice, not maxFeePerGas / maxPriorityFeePerGas.');
    return type;
  }
  if (fees.maxFees) return 2;
  if (fees.gasPrice !== undefined) return (accessList?.length ?? 0) > 0 ? 1 : 0;
  return null;
}

/**
 * eth_sendTransaction [tx] → a fully specified transaction on the active chain, of the type the
 * site asked for (type, or gasPrice → 0, gasPrice and an access list → 1, else EIP-1559; a
 * network without a base fee gets type 0), and the node's advice.
 */
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
  const chainId = quantityParam(tx.chainId, 'chainId');
  if (chainId !== undefined && chainId !== BigInt(base.chainId)) throw rpcErrors.invalidParams(`chainId ${chainId} is not the active chain ${base.chainId}.`);
  const requestedNonce = quantityParam(tx.nonce, 'nonce');
  if (requestedNonce !== undefined && requestedNonce > BigInt(Number.MAX_SAFE_INTEGER)) throw rpcErrors.invalidParams('nonce is too large.');
  const gasParam = quantityParam(tx.gas ?? tx.gasLimit, tx.gas !== undefined ? 'gas' : 'gasLimit');
  const gasPrice = quantityParam(tx.gasPrice, 'gasPrice');
  let maxFeePerGas = quantityParam(tx.maxFeePerGas, 'maxFeePerGas');
  let maxPriorityFeePerGas = quantityParam(tx.maxPriorityFeePerGas, 'maxPriorityFeePerGas');
  const maxFees = maxFeePerGas !== undefined || maxPriorityFeePerGas !== undefined;
  if (gasPrice !== undefined && maxFees) throw rpcErrors.invalidParams('Give either gasPrice or maxFeePerGas/maxPriorityFeePerGas, not both.');
  if (maxFeePerGas !== undefined && maxPriorityFeePerGas !== undefined && maxPriorityFeePerGas > maxFeePerGas) throw rpcErrors.invalidParams('maxPriorityFeePerGas is larger than maxFeePerGas.');
  const accessList = accessListParam(tx.accessList);
  const asked = requestedType(tx, { maxFees, ...(gasPrice !== undefined ? { gasPrice } : {}) }, accessList);

  const { rpc } = context;
  const mayBeLegacy = asked !== 2;
  const [nodeNonce, nodeTip, nodeBlock, nodeGasPrice] = await Promise.all([
    answer(rpc('eth_getTransactionCount', [account.address, 'pending']).then((count) => Math.max(Number(quantityResult(count, 'nonce')), context.queuedNonce ?? 0))),
    answer(rpc('eth_maxPriorityFeePerGas', []).then((fee) => quantityResult(fee, 'priority fee'), () => FALLBACK_PRIORITY_FEE_WEI)),
    answer(
      rpc('eth_getBlockByNumber', ['latest', false]).then((block) => {
        const { baseFeePerGas, gasLimit } = (block ?? {}) as { baseFeePerGas?: unknown; gasLimit?: unknown };
        return {
          baseFee: baseFeePerGas === undefined || baseFeePerGas === null ? null : quantityResult(baseFeePerGas, 'base fee'),
          gasLimit: gasLimit === undefined || gasLimit === null ? null : quantityResult(gasLimit, 'block gas limit'),
        };
      }),
    ),
    mayBeLegacy ? answer(rpc('eth_gasPrice', []).then((price) => quantityResult(price, 'gas price'))) : Promise.resolve<Answer<bigint>>({ error: null }),
  ]);
  const baseFee = adviceOf(nodeBlock)?.baseFee ?? null;
  const type = asked ?? (needed(nodeBlock).baseFee === null ? 0 : 2);
  const duetNonce = requestedNonce === undefined;

  const nonce = requestedNonce !== undefined ? Number(requestedNonce) : needed(nodeNonce);
  // The access list is part of the estimate: each address and storage key it names costs gas (EIP-2930).
  const estimateFields = { from: account.address, ...(to ? { to } : {}), value: `0x${value.toString(16)}`, data, ...(accessList && accessList.length > 0 ? { accessList } : {}) };
  const gas = gasParam ?? (await estimateGas(rpc, estimateFields, adviceOf(nodeBlock)?.gasLimit ?? null));
  const common = { to, value, data, nonce, gas, chainId: base.chainId };
  if (type !== 2) {
    const price = gasPrice ?? needed(nodeGasPrice);
    const fields: TransactionFields = type === 0 ? { ...common, type, gasPrice: price } : { ...common, type, gasPrice: price, accessList: accessList ?? [] };
    const advice: TransactionAdvice = { nextNonce: adviceOf(nodeNonce), maxFeePerGas: hexWei(adviceOf(nodeGasPrice)), maxPriorityFeePerGas: null, duetNonce };
    return { request: { ...base, kind: 'transaction', account, tx: fields }, advice };
  }
  const suggestedTip = adviceOf(nodeTip);
  const suggestedMaxFee = baseFee !== null && suggestedTip !== null ? baseFee * BASE_FEE_MULTIPLIER + suggestedTip : null;
  const advice: TransactionAdvice = { nextNonce: adviceOf(nodeNonce), maxFeePerGas: hexWei(suggestedMaxFee), maxPriorityFeePerGas: hexWei(suggestedTip), duetNonce };
  if (gasPrice !== undefined) {
    maxFeePerGas = gasPrice;
    maxPriorityFeePerGas = gasPrice;
  }
  maxPriorityFeePerGas ??= needed(nodeTip);
  if (maxFeePerGas === undefined) {
    const latestBaseFee = needed(nodeBlock).baseFee;
    if (latestBaseFee === null) throw rpcErrors.internal('The network has no EIP-1559 base fee: send a legacy transaction (gasPrice, type 0x0) or give maxFeePerGas.');
    maxFeePerGas = latestBaseFee * BASE_FEE_MULTIPLIER + maxPriorityFeePerGas;
  }
  if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = maxFeePerGas;
  const fields: TransactionFields = { ...common, maxFeePerGas, maxPriorityFeePerGas, ...(accessList && accessList.length > 0 ? { accessList } : {}) };
  return { request: { ...base, kind: 'transaction', account, tx: fields }, advice };
}
