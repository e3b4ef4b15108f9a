/**
 * Speeding up and cancelling a pending transaction: a new transaction with the same nonce and
 * higher fees, co-signed like any other; whichever of the two is mined first wins.
 * - speed up: the same recipient, value, data and gas limit;
 * - cancel: 0 ETH to the account itself, no data, 21,000 gas.
 * Fees: each of max fee and priority fee rises by at least 10 % — geth's transaction pool refuses
 * a replacement below that (txpool.pricebump, default 10) — and is never below what the network
 * asks now (the node's tip; 2 × base fee + tip).
 */
import { getAddress } from 'ethers';
import type { ActivityTransaction } from './activity.ts';

/** geth's default txpool.pricebump: a replacement raises both fee caps by at least 10 %. */
export const REPLACEMENT_BUMP_PERCENT = 10n;
const CANCEL_GAS = 21_000n;

/** ⌈value × 1.1⌉. */
export function bumped(value: bigint): bigint {
  return value + (value * REPLACEMENT_BUMP_PERCENT + 99n) / 100n;
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);

export interface ReplacementParams {
  /** null: a contract deployment (sped up as one). */
  readonly to: string | null;
  readonly value: bigint;
  readonly data: string;
  readonly gas: bigint;
  readonly nonce: number;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

/** The replacing transaction's fields from the pending one and the network's figures now. */
export function replacementParams(pending: ActivityTransaction, account: string, action: 'speed-up' | 'cancel', network: { readonly baseFee: bigint; readonly tip: bigint }): ReplacementParams {
  const maxPriorityFeePerGas = max(bumped(BigInt(pending.maxPriorityFeePerGas)), network.tip);
  const maxFeePerGas = max(max(bumped(BigInt(pending.maxFeePerGas)), 2n * network.baseFee + maxPriorityFeePerGas), maxPriorityFeePerGas);
  const fees = { nonce: pending.nonce, maxFeePerGas, maxPriorityFeePerGas };
  if (action === 'cancel') return { ...fees, to: getAddress(account), value: 0n, data: '0x', gas: CANCEL_GAS };
  return { ...fees, to: pending.to, value: BigInt(pending.value), data: pending.data, gas: BigInt(pending.gas) };
}
