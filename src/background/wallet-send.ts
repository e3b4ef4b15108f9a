/**
 * Sending from the popup: the recipient and amount as the user typed them, the fee quote (EIP-1559:
 * the latest base fee, the node's tip, max fee = 2 × base fee + tip, the gas limit from
 * eth_estimateGas), the largest amount that can be sent ("max": the native balance minus the
 * maximum fee, or the whole token balance), and the checks before anything is queued. The
 * transaction itself goes through the same pipeline as a site's: the approval window, the phone.
 */
import { formatUnits, getAddress, isAddress, parseUnits } from 'ethers';
import { ProviderRpcError, RpcErrorCode } from '../provider/rpc-error.ts';
import { encodeTokenTransfer } from '../wallet/token-call.ts';
import { FALLBACK_PRIORITY_FEE_WEI, type RpcCall } from './request-builders.ts';
import { tokenBalance } from './token-reader.ts';
import { WalletActionError } from './wallet-action-error.ts';
import type { TokenEntry } from './wallet-state.ts';

/** A plain ETH transfer to an account. */
const TRANSFER_GAS = 21_000n;
/** When a token transfer cannot be estimated before the recipient is known. */
const TOKEN_TRANSFER_GAS_FALLBACK = 100_000n;
const TOKEN_GAS_MARGIN_PERCENT = 150n;

export interface SendQuote {
  /** Wei and gas as decimal strings (JSON-safe). */
  readonly gas: string;
  readonly baseFeePerGas: string;
  readonly maxPriorityFeePerGas: string;
  readonly maxFeePerGas: string;
  /** gas × maxFeePerGas: the most the fee can be. */
  readonly maxFee: string;
  /** gas × (base fee + tip): the fee at today's base fee. */
  readonly likelyFee: string;
  readonly nativeBalance: string;
  /** The sent asset's balance (raw units). */
  readonly balance: string;
  /** The largest amount that can be sent with this fee (raw units). */
  readonly max: string;
  readonly decimals: number;
  readonly symbol: string;
  readonly nativeSymbol: string;
}

export interface SendPlan {
  readonly to: string;
  readonly value: bigint;
  readonly data: string;
}

/** A recipient: a 0x address; mixed case must carry a valid EIP-55 checksum. */
export function parseRecipient(value: unknown): string {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value.trim())) throw new WalletActionError('invalid_input', 'Enter an address: 0x followed by 40 hexadecimal characters.', 'to');
  const text = value.trim();
  if (!isAddress(text)) throw new WalletActionError('invalid_input', 'This address has a wrong checksum (upper and lower case letters): a letter was probably mistyped.', 'to');
  return getAddress(text);
}

/** An amount in the asset's units (e.g. "0.5"), above zero. */
export function parseAmount(value: unknown, decimals: number): bigint {
  let amount: bigint;
  try {
    amount = parseUnits(typeof value === 'string' ? value.trim() : '', decimals);
  } catch {
    throw new WalletActionError('invalid_input', `Enter an amount, e.g. 0.5 (at most ${decimals} decimals).`, 'amount');
  }
  if (amount <= 0n) throw new WalletActionError('invalid_input', 'Enter an amount above 0.', 'amount');
  return amount;
}

/** A node that cannot be reached becomes the popup's "unreachable"; other errors pass. */
export async function reachable<T>(task: Promise<T>): Promise<T> {
  try {
    return await task;
  } catch (error) {
    if (error instanceof ProviderRpcError && error.code === RpcErrorCode.chainDisconnected) throw new WalletActionError('unreachable', `The network cannot be reached: ${error.message}`);
    throw error;
  }
}

function hex(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(value)) throw new WalletActionError('unreachable', `The network returned a malformed ${what}.`);
  return BigInt(value);
}

export function sendPlan(token: TokenEntry | null, to: string, amount: bigint): SendPlan {
  return token ? { to: token.address, value: 0n, data: encodeTokenTransfer(to, amount) } : { to, value: amount, data: '0x' };
}

/**
 * The gas limit: 21,000 for ETH to an account; otherwise eth_estimateGas of a transfer of one unit
 * to the recipient (a first credit to a new holder costs the most storage), and for tokens 1.5×
 * that — MetaMask's DEFAULT_GAS_MULTIPLIER (@metamask/transaction-controller, utils/gas.ts) —
 * since a token's costs can depend on the amount. Unused gas is not paid.
 */
async function estimate(rpc: RpcCall, account: string, token: TokenEntry | null, to: string | null): Promise<bigint> {
  if (!token && to === null) return TRANSFER_GAS;
  const plan = sendPlan(token, to ?? account, 1n);
  try {
    const estimated = hex(await rpc('eth_estimateGas', [{ from: account, to: plan.to, value: `0x${plan.value.toString(16)}`, data: plan.data }]), 'gas estimate');
    return token ? (estimated * TOKEN_GAS_MARGIN_PERCENT) / 100n : estimated;
  } catch (error) {
    if (error instanceof ProviderRpcError && error.code === RpcErrorCode.chainDisconnected) throw error;
    return token ? TOKEN_TRANSFER_GAS_FALLBACK : TRANSFER_GAS;
  }
}

export async function quoteSend(rpc: RpcCall, account: string, token: TokenEntry | null, to: string | null, nativeSymbol: string): Promise<SendQuote> {
  return reachable(
    (async () => {
      const [block, tip, nativeBalance, gas, tokenHeld] = await Promise.all([
        rpc('eth_getBlockByNumber', ['latest', false]),
        rpc('eth_maxPriorityFeePerGas', []).then((fee) => hex(fee, 'priority fee'), () => FALLBACK_PRIORITY_FEE_WEI),
        rpc('eth_getBalance', [account, 'latest']).then((balance) => hex(balance, 'balance')),
        estimate(rpc, account, token, to),
        token ? tokenBalance(rpc, token.address, account) : Promise.resolve(null),
      ]);
      const baseFee = hex((block as { baseFeePerGas?: unknown } | null)?.baseFeePerGas, 'base fee');
      const maxFeePerGas = 2n * baseFee + tip;
      const maxFee = gas * maxFeePerGas;
      if (token && tokenHeld === null) throw new WalletActionError('unreachable', `${token.symbol} did not answer balanceOf().`, 'asset');
      const balance = token ? (tokenHeld as bigint) : nativeBalance;
      const max = token ? balance : nativeBalance > maxFee ? nativeBalance - maxFee : 0n;
      return {
        gas: gas.toString(),
        baseFeePerGas: baseFee.toString(),
        maxPriorityFeePerGas: tip.toString(),
        maxFeePerGas: maxFeePerGas.toString(),
        maxFee: maxFee.toString(),
        likelyFee: (gas * (baseFee + tip)).toString(),
        nativeBalance: nativeBalance.toString(),
        balance: balance.toString(),
        max: max.toString(),
        decimals: token ? token.decimals : 18,
        symbol: token ? token.symbol : nativeSymbol,
        nativeSymbol,
      };
    })(),
  );
}

/** Refuses a send the account cannot pay for, saying what is missing. */
export function checkFunds(quote: SendQuote, token: TokenEntry | null, amount: bigint, gas: bigint, maxFeePerGas: bigint): void {
  const nativeBalance = BigInt(quote.nativeBalance);
  const fee = gas * maxFeePerGas;
  const native = (wei: bigint) => `${formatUnits(wei, 18)} ${quote.nativeSymbol}`;
  if (token && amount > BigInt(quote.balance)) throw new WalletActionError('insufficient_funds', `Insufficient funds: you have ${formatUnits(BigInt(quote.balance), token.decimals)} ${token.symbol}.`, 'amount');
  const needed = (token ? 0n : amount) + fee;
  if (needed > nativeBalance) {
    throw new WalletActionError('insufficient_funds', `Insufficient funds: this needs ${native(needed)} (amount and maximum network fee of ${native(fee)}); the balance is ${native(nativeBalance)}.`, 'amount');
  }
}
