/**
 * The activity record: every signing request this wallet handled — transactions (signed → pending
 * → confirmed / failed / replaced / dropped), signed messages, rejections in Duet, refusals by the
 * phone (or a co-signer such as the Guard), failures — per account and network, newest first.
 *
 * It is private (addresses, sites, amounts), so it lives in the vault as one encrypted record
 * (`activity`) and is readable only while Duet is unlocked; requests that end while Duet is locked
 * are not recorded. A co-signed transaction is recorded as `signed`, with its raw bytes, before
 * it is handed to the node: a worker that stops right after signing finds it again and sends it
 * again (the same bytes, so at most one of them is ever mined). Writes are serialised and each is
 * durable before the caller goes on; a failed write leaves memory as the vault has it.
 *
 * At most MAX_ACTIVITY_ENTRIES entries: the oldest settled ones go first; open transactions are
 * never dropped.
 */
import { getAddress } from 'ethers';
import type { SecretRecords } from './pairing.ts';

export const ACTIVITY_RECORD = 'activity';
export const MAX_ACTIVITY_ENTRIES = 500;

export type ActivityStatus =
  /** Co-signed; being handed to the node (the raw transaction is kept until it accepts it). */
  | 'signed'
  /** Accepted by the node, not yet in a block. */
  | 'pending'
  /** Mined, and it succeeded. */
  | 'confirmed'
  /** Mined, and it reverted (the fee was paid). */
  | 'failed'
  /** Another transaction of Duet's with the same nonce was mined instead (speed up, cancel). */
  | 'replaced'
  /** Its nonce was used by a transaction Duet did not send, or the node refused it. */
  | 'dropped'
  /** A message or typed data was signed. */
  | 'signed-message'
  /** The user rejected it in Duet (window, "Reject all", closing the window). */
  | 'rejected'
  /** The phone (or another co-signer) refused it. */
  | 'refused'
  /** Co-signing failed, timed out or was cancelled; nothing was signed. */
  | 'error';

export interface ActivityTransaction {
  readonly hash: string | null;
  /** The signed transaction until the node accepted it. */
  readonly raw: string | null;
  readonly to: string | null;
  /** The address the transaction deals with (token-call.ts counterparty). */
  readonly counterparty: string | null;
  readonly value: string;
  /** What it moves, in units ("0.5 ETH", "100.0 DEMO"), or null. */
  readonly amount: string | null;
  readonly data: string;
  readonly nonce: number;
  readonly gas: string;
  readonly maxFeePerGas: string;
  readonly maxPriorityFeePerGas: string;
  readonly blockNumber: number | null;
  /** The entry this one replaces (same nonce), and how. */
  readonly replaces: string | null;
  readonly action: 'speed-up' | 'cancel' | null;
  /** Why a pending transaction is not moving, when Duet can tell. */
  readonly stuck: string | null;
}

export interface ActivityEntry {
  /** The signing request's id. */
  readonly id: string;
  readonly chainId: number;
  readonly account: string;
  readonly origin: string;
  readonly kind: 'transaction' | 'message';
  readonly title: string;
  readonly status: ActivityStatus;
  /** The outcome in words (the node's or phone's reason, what replaced it…). */
  readonly detail: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly tx: ActivityTransaction | null;
}

export type ActivityPatch = Partial<Pick<ActivityEntry, 'status' | 'detail' | 'updatedAt'>> & { readonly tx?: Partial<ActivityTransaction> };

const OPEN: ReadonlySet<ActivityStatus> = new Set(['signed', 'pending']);
/** Statuses in which the transaction reached the network: its counterparty counts as known. */
const SENT: ReadonlySet<ActivityStatus> = new Set(['signed', 'pending', 'confirmed', 'failed', 'replaced']);

export const isOpenTransaction = (entry: ActivityEntry): boolean => entry.tx !== null && OPEN.has(entry.status);

interface StoredActivity {
  readonly entries: readonly ActivityEntry[];
}

export class ActivityLog {
  private readonly vault: SecretRecords;
  private entries: ActivityEntry[] | null = null;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(vault: SecretRecords) {
    this.vault = vault;
  }

  private async loaded(): Promise<ActivityEntry[]> {
    this.entries ??= [...((await this.vault.get<StoredActivity>(ACTIVITY_RECORD))?.entries ?? [])];
    return this.entries;
  }

  private serial<R>(task: () => Promise<R>): Promise<R> {
    const run = this.writes.catch(() => undefined).then(task);
    this.writes = run;
    return run;
  }

  private async store(next: ActivityEntry[]): Promise<void> {
    await this.vault.putMany({ [ACTIVITY_RECORD]: { entries: next } satisfies StoredActivity });
    this.entries = next;
  }

  async all(): Promise<readonly ActivityEntry[]> {
    await this.writes.catch(() => undefined);
    return this.loaded();
  }

  /** One account's entries on one network, newest first. */
  async list(account: string, chainId: number): Promise<ActivityEntry[]> {
    const wanted = getAddress(account);
    return (await this.all()).filter((entry) => entry.account === wanted && entry.chainId === chainId).reverse();
  }

  async get(id: string): Promise<ActivityEntry | undefined> {
    return (await this.all()).find((entry) => entry.id === id);
  }

  /** Adds an entry (or replaces the one with its id), pruning the oldest settled entries beyond the cap. */
  add(entry: ActivityEntry): Promise<void> {
    return this.serial(async () => {
      const kept = (await this.loaded()).filter((candidate) => candidate.id !== entry.id);
      kept.push(entry);
      let excess = kept.length - MAX_ACTIVITY_ENTRIES;
      const next = kept.filter((candidate) => excess <= 0 || isOpenTransaction(candidate) || (excess--, false));
      await this.store(next);
    });
  }

  /** Changes an entry; unknown ids are ignored. */
  update(id: string, patch: ActivityPatch): Promise<ActivityEntry | undefined> {
    return this.serial(async () => {
      const entries = await this.loaded();
      const current = entries.find((entry) => entry.id === id);
      if (!current) return undefined;
      const { tx, ...rest } = patch;
      const updated: ActivityEntry = { ...current, ...rest, tx: current.tx && tx ? { ...current.tx, ...tx } : current.tx };
      await this.store(entries.map((entry) => (entry === current ? updated : entry)));
      return updated;
    });
  }

  /** Whether this account sent a transaction to or for `address` on this network before. */
  async interacted(account: string, chainId: number, address: string): Promise<boolean> {
    const wanted = getAddress(address);
    return (await this.list(account, chainId)).some((entry) => entry.tx !== null && SENT.has(entry.status) && (entry.tx.counterparty === wanted || entry.tx.to === wanted));
  }

  /** The nonce after this account's open transactions on this network, or null. */
  async nextOpenNonce(account: string, chainId: number): Promise<number | null> {
    const nonces = (await this.list(account, chainId)).filter(isOpenTransaction).map((entry) => (entry.tx as ActivityTransaction).nonce);
    return nonces.length === 0 ? null : Math.max(...nonces) + 1;
  }

  /**
   * The same from what is in memory, without waiting: for numbering a request right before it is
   * queued (call all() first so the record is loaded). A transaction leaves the approval queue
   * only after its entry here is stored, so queue and record together see every open nonce.
   */
  nextOpenNonceNow(account: string, chainId: number): number | null {
    const wanted = getAddress(account);
    const nonces = (this.entries ?? []).filter((entry) => entry.account === wanted && entry.chainId === chainId && isOpenTransaction(entry)).map((entry) => (entry.tx as ActivityTransaction).nonce);
    return nonces.length === 0 ? null : Math.max(...nonces) + 1;
  }

  async open(): Promise<ActivityEntry[]> {
    return (await this.all()).filter(isOpenTransaction);
  }
}
