/**
 * Reviewing a transaction's fees, gas and nonce before it is approved: warnings where the values
 * (usually the site's) stray from what the node says now, and the user's edits. The edited
 * request replaces the queued one, so it is what the user approves, what is frozen and what the
 * phone shows and signs.
 *
 * "Far above" is 1.5× what Duet would set itself (2 × base fee + tip, and the node's tip): the
 * multiplier MetaMask warns at (HIGH_FEE_WARNING_MULTIPLIER, metamask-extension
 * ui/pages/send/send.constants.js). A legacy transaction (type 0 or 1) has one gas price, checked
 * against the node's eth_gasPrice and edited in the max-fee field.
 */
import { formatEther, formatUnits, parseUnits } from 'ethers';
import { maxFeePerGasOf, priorityFeePerGasOf, type TransactionRequest } from '../wallet/signing-request.ts';
import type { TransactionAdvice } from './request-builders.ts';
import { WalletActionError } from './wallet-action-error.ts';

/** Warn when a fee is above 3/2 of the node's figure. */
const HIGH_FEE_NUMERATOR = 3n;
const HIGH_FEE_DENOMINATOR = 2n;
/** The least gas any transaction uses (a plain transfer). */
export const MIN_GAS_LIMIT = 21_000n;
const MAX_GAS_LIMIT = (1n << 64n) - 1n;
/** Fees are uint256 in the transaction; anything near that is a typo anyway. */
const MAX_FEE_WEI = 10n ** 76n;

/** The values the window lets the user edit (wei and gas as decimal strings), with the node's. */
export interface EditableTransaction {
  /** 0 and 1 have a single gas price (shown as maxFeePerGas = maxPriorityFeePerGas). */
  readonly type: 0 | 1 | 2;
  readonly nonce: number;
  readonly gas: string;
  readonly maxFeePerGas: string;
  readonly maxPriorityFeePerGas: string;
  readonly suggested: { readonly nonce: number | null; readonly maxFeePerGas: string | null; readonly maxPriorityFeePerGas: string | null };
}

/** The user's edits as typed: fees in gwei (decimals allowed), the gas limit and the nonce. */
export interface TransactionEdits {
  readonly maxFeeGwei: string;
  readonly priorityFeeGwei: string;
  readonly gasLimit: string;
  readonly nonce: number;
}

const weiOrNull = (hex: string | null) => (hex === null ? null : BigInt(hex));
const gwei = (wei: bigint) => formatUnits(wei, 'gwei');

function isFarAbove(value: bigint, reference: bigint): boolean {
  return value * HIGH_FEE_DENOMINATOR > reference * HIGH_FEE_NUMERATOR;
}

function times(value: bigint, reference: bigint): string {
  return reference === 0n ? 'far above' : `${(Number((value * 10n) / reference) / 10).toString()}×`;
}

export function editableTransaction(request: TransactionRequest, advice: TransactionAdvice | undefined): EditableTransaction {
  const { tx } = request;
  return {
    type: tx.type ?? 2,
    nonce: tx.nonce,
    gas: tx.gas.toString(),
    maxFeePerGas: maxFeePerGasOf(tx).toString(),
    maxPriorityFeePerGas: priorityFeePerGasOf(tx).toString(),
    suggested: {
      nonce: advice?.nextNonce ?? null,
      maxFeePerGas: weiOrNull(advice?.maxFeePerGas ?? null)?.toString() ?? null,
      maxPriorityFeePerGas: weiOrNull(advice?.maxPriorityFeePerGas ?? null)?.toString() ?? null,
    },
  };
}

/** Warnings for fees far above the node's figures and for a nonce that is not the next one. */
export function transactionWarnings(request: TransactionRequest, advice: TransactionAdvice | undefined): string[] {
  const { tx } = request;
  const warnings: string[] = [];
  const maxFee = maxFeePerGasOf(tx);
  const tip = priorityFeePerGasOf(tx);
  const legacy = tx.type === 0 || tx.type === 1;
  const suggestedMaxFee = weiOrNull(advice?.maxFeePerGas ?? null);
  const suggestedTip = legacy ? null : weiOrNull(advice?.maxPriorityFeePerGas ?? null);
  if (suggestedMaxFee !== null && isFarAbove(maxFee, suggestedMaxFee)) {
    warnings.push(
      `High fee: the ${legacy ? 'gas price' : 'max fee'} of ${gwei(maxFee)} gwei per gas is ${times(maxFee, suggestedMaxFee)} the ${gwei(suggestedMaxFee)} gwei the network needs now; this transaction may cost up to ${formatEther(tx.gas * maxFee)} ETH in fees. Edit the fee below.`,
    );
  }
  if (suggestedTip !== null && isFarAbove(tip, suggestedTip)) {
    warnings.push(`High priority fee: ${gwei(tip)} gwei per gas is ${times(tip, suggestedTip)} the ${gwei(suggestedTip)} gwei the network asks now. Edit the fee below.`);
  }
  const next = advice?.nextNonce ?? null;
  if (next !== null && tx.nonce < next) warnings.push(`Nonce ${tx.nonce} is not the next one (${next}): it replaces a transaction already sent or waiting, or fails. Edit the nonce below.`);
  if (next !== null && tx.nonce > next) warnings.push(`Nonce ${tx.nonce} is not the next one (${next}): this transaction waits until nonce${tx.nonce - 1 > next ? `s ${next}–${tx.nonce - 1} are` : ` ${next} is`} used. Edit the nonce below.`);
  return warnings;
}

function parseGwei(value: string, field: string): bigint {
  let wei: bigint;
  try {
    wei = parseUnits(value.trim(), 'gwei');
  } catch {
    throw new WalletActionError('invalid_input', 'Enter a fee in gwei, e.g. 1.5.', field);
  }
  if (wei < 0n || wei >= MAX_FEE_WEI) throw new WalletActionError('invalid_input', 'Enter a fee between 0 and 10^67 gwei.', field);
  return wei;
}

/**
 * The request with the user's fee, gas limit and nonce; bad input is a typed error and changes
 * nothing. For types 0 and 1 the max fee is the gas price and the priority fee is not used.
 */
export function editTransaction(request: TransactionRequest, edits: TransactionEdits): TransactionRequest {
  const maxFeePerGas = parseGwei(edits.maxFeeGwei, 'maxFeeGwei');
  if (maxFeePerGas === 0n) throw new WalletActionError('invalid_input', 'The max fee must be above 0.', 'maxFeeGwei');
  const legacy = request.tx.type === 0 || request.tx.type === 1;
  const maxPriorityFeePerGas = legacy ? maxFeePerGas : parseGwei(edits.priorityFeeGwei, 'priorityFeeGwei');
  if (maxPriorityFeePerGas > maxFeePerGas) throw new WalletActionError('invalid_input', 'The priority fee cannot be above the max fee.', 'priorityFeeGwei');
  if (!/^\d{1,20}$/.test(edits.gasLimit.trim())) throw new WalletActionError('invalid_input', 'Enter the gas limit as a whole number.', 'gasLimit');
  const gas = BigInt(edits.gasLimit.trim());
  if (gas < MIN_GAS_LIMIT || gas > MAX_GAS_LIMIT) throw new WalletActionError('invalid_input', `The gas limit must be at least ${MIN_GAS_LIMIT}.`, 'gasLimit');
  if (!Number.isSafeInteger(edits.nonce) || edits.nonce < 0) throw new WalletActionError('invalid_input', 'The nonce must be a whole number, 0 or more.', 'nonce');
  const { tx } = request;
  const common = { gas, nonce: edits.nonce };
  if (tx.type === 0 || tx.type === 1) return { ...request, tx: { ...tx, ...common, gasPrice: maxFeePerGas } };
  return { ...request, tx: { ...tx, ...common, maxFeePerGas, maxPriorityFeePerGas } };
}
