/**
 * Follows the open transactions of the activity record until they settle. One pass per call
 * (the wallet service repeats it while any is open, and after a service-worker restart):
 * - `signed` (co-signed, the node's answer never recorded): sent again — the same raw bytes, so
 *   it can be mined once at most; "already known" counts as accepted;
 * - `pending`: its receipt settles it (status 1 confirmed, 0 failed, with the block); when
 *   another of Duet's transactions with the same nonce has a receipt, it was replaced; when the
 *   account's mined nonce passed it without any receipt of Duet's, it was dropped;
 * - still pending: "stuck" when its nonce is above the next one to be mined and no open
 *   transaction of Duet's fills the gap, or when its max fee is below the latest base fee.
 */
import { formatUnits } from 'ethers';
import { ProviderRpcError, RpcErrorCode } from '../provider/rpc-error.ts';
import { isOpenTransaction, type ActivityEntry, type ActivityLog, type ActivityPatch, type ActivityTransaction } from './activity.ts';

export type ChainRpc = (chainId: number, method: string, params: readonly unknown[]) => Promise<unknown>;

interface Receipt {
  readonly status: 'confirmed' | 'failed';
  readonly blockNumber: number;
}

function parseReceipt(value: unknown): Receipt | null {
  if (typeof value !== 'object' || value === null) return null;
  const { status, blockNumber } = value as { status?: unknown; blockNumber?: unknown };
  if (typeof blockNumber !== 'string' || !/^0x[0-9a-f]+$/i.test(blockNumber)) return null;
  return { status: status === '0x1' ? 'confirmed' : 'failed', blockNumber: Number.parseInt(blockNumber, 16) };
}

function quantity(value: unknown): bigint | null {
  return typeof value === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(value) ? BigInt(value) : null;
}

const txOf = (entry: ActivityEntry) => entry.tx as ActivityTransaction;
const shortHash = (hash: string | null) => (hash ? `${hash.slice(0, 10)}…` : 'another transaction');

function replacedDetail(entry: ActivityEntry, winner: ActivityEntry): string {
  if (txOf(winner).replaces === entry.id) return txOf(winner).action === 'cancel' ? `Cancelled: ${shortHash(txOf(winner).hash)} took its place.` : `Sped up: ${shortHash(txOf(winner).hash)} took its place.`;
  return `Not needed: ${shortHash(txOf(winner).hash)}, with the same nonce, was mined first.`;
}

/** The node took (or already had) the raw transaction. */
async function resend(rpc: ChainRpc, entry: ActivityEntry): Promise<ActivityPatch | null> {
  const { raw } = txOf(entry);
  if (raw === null) return { status: 'pending', tx: { raw: null } };
  try {
    await rpc(entry.chainId, 'eth_sendRawTransaction', [raw]);
    return { status: 'pending', tx: { raw: null } };
  } catch (error) {
    if (!(error instanceof ProviderRpcError) || error.code === RpcErrorCode.chainDisconnected) return null;
    if (/already known|known transaction|already imported/i.test(error.message)) return { status: 'pending', tx: { raw: null } };
    // Nonce too low and the like: the receipt check below decides; anything else is the node's refusal.
    if (/nonce/i.test(error.message)) return { status: 'pending', tx: { raw: null } };
    return { status: 'dropped', detail: `The network refused it: ${error.message}`, tx: { raw: null } };
  }
}

/** One pass over one account's open transactions on one network. */
async function trackGroup(rpc: ChainRpc, log: ActivityLog, entries: ActivityEntry[], now: number): Promise<void> {
  const { chainId, account } = entries[0] as ActivityEntry;
  const resent = new Map<string, ActivityEntry>();
  for (const entry of entries.filter((candidate) => candidate.status === 'signed')) {
    const patch = await resend(rpc, entry);
    const updated = patch ? await log.update(entry.id, { ...patch, updatedAt: now }) : undefined;
    if (updated) resent.set(entry.id, updated);
  }
  const [latestNonce, block] = await Promise.all([
    rpc(chainId, 'eth_getTransactionCount', [account, 'latest']).then(quantity, () => null),
    rpc(chainId, 'eth_getBlockByNumber', ['latest', false]).then((value) => quantity((value as { baseFeePerGas?: unknown } | null)?.baseFeePerGas), () => null),
  ]);
  const pending = entries.map((entry) => resent.get(entry.id) ?? entry).filter((entry) => entry.status === 'pending');
  const receipts = await Promise.all(pending.map((entry) => (txOf(entry).hash ? rpc(chainId, 'eth_getTransactionReceipt', [txOf(entry).hash]).then(parseReceipt, () => null) : null)));
  const mined = new Map<number, ActivityEntry>();
  for (const [index, entry] of pending.entries()) {
    const receipt = receipts[index];
    if (!receipt) continue;
    mined.set(txOf(entry).nonce, entry);
    await log.update(entry.id, { status: receipt.status, detail: receipt.status === 'failed' ? 'Mined, but it reverted: the fee was paid.' : null, updatedAt: now, tx: { blockNumber: receipt.blockNumber, stuck: null } });
  }
  const openNonces = new Set(pending.filter((_, index) => !receipts[index]).map((entry) => txOf(entry).nonce));
  for (const [index, entry] of pending.entries()) {
    if (receipts[index]) continue;
    const { nonce, maxFeePerGas, stuck } = txOf(entry);
    const winner = mined.get(nonce);
    if (winner) {
      await log.update(entry.id, { status: 'replaced', detail: replacedDetail(entry, winner), updatedAt: now, tx: { stuck: null } });
      continue;
    }
    if (latestNonce === null) continue;
    if (BigInt(nonce) < latestNonce) {
      // Mined nonces are final, but a receipt may lag the count by a poll: drop only on the next pass.
      if (stuck === DROPPING) await log.update(entry.id, { status: 'dropped', detail: `Another transaction with nonce ${nonce}, not sent by Duet, was mined instead.`, updatedAt: now, tx: { stuck: null } });
      else await log.update(entry.id, { tx: { stuck: DROPPING } });
      continue;
    }
    let reason: string | null = null;
    const gap = [...Array(Math.max(0, nonce - Number(latestNonce))).keys()].map((offset) => Number(latestNonce) + offset).find((missing) => !openNonces.has(missing));
    if (gap !== undefined) reason = `Waiting for nonce ${gap}: no pending transaction of Duet's uses it. Cancel or speed up to fill it.`;
    else if (block !== null && BigInt(maxFeePerGas) < block) reason = `Its max fee (${formatUnits(BigInt(maxFeePerGas), 'gwei')} gwei) is below the network's base fee (${formatUnits(block, 'gwei')} gwei). Speed it up.`;
    if (reason !== stuck) await log.update(entry.id, { tx: { stuck: reason } });
  }
}

/** The marker of a transaction whose nonce was passed without a receipt (dropped on the next pass). */
const DROPPING = 'Its nonce was used by another transaction; checking…';

/** One pass over every open transaction; returns how many are still open. */
export async function trackTransactions(rpc: ChainRpc, log: ActivityLog, now: number): Promise<number> {
  const groups = new Map<string, ActivityEntry[]>();
  for (const entry of await log.open()) {
    const key = `${entry.chainId}:${entry.account}`;
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  for (const entries of groups.values()) {
    try {
      await trackGroup(rpc, log, entries, now);
    } catch {
      // A network that cannot be reached is tried again on the next pass.
    }
  }
  return (await log.all()).filter(isOpenTransaction).length;
}
