/**
 * The requests waiting for the user, persisted in chrome.storage.session so they survive a
 * service-worker restart (and vanish when the browser closes).
 *
 * Rules:
 * - one approval window shows the records in arrival order;
 * - a request whose fingerprint (origin, method, parameters) matches one still awaiting the user
 *   is refused with -32002, as MetaMask does;
 * - a page's request is identified by (origin, requestKey): when the content script re-sends it
 *   after a restart, the caller attaches to the existing record instead of creating a second one;
 * - finished records stay visible for RESULT_DISPLAY_MS, and their outcome is kept for
 *   RESULT_TTL_MS so a page that reconnects late still gets its answer.
 */
import { rpcErrors, type SerializedRpcError } from '../provider/rpc-error.ts';
import type { AddChainRequest } from './chain-params.ts';
import type { KeyValueStore } from './storage.ts';

export type SigningMethod = 'personal_sign' | 'eth_signTypedData_v4' | 'eth_sendTransaction';

export type ApprovalPayload =
  | { readonly kind: 'connect'; readonly method: 'eth_requestAccounts' | 'wallet_requestPermissions' }
  | { readonly kind: 'switch-chain'; readonly chainId: number }
  | { readonly kind: 'add-chain'; readonly network: AddChainRequest }
  /** `request` is the canonical JSON of the frozen SigningRequest (encodeSigningRequest). */
  | { readonly kind: 'sign'; readonly method: SigningMethod; readonly request: Record<string, unknown> };

export type ApprovalStatus = 'awaiting-user' | 'co-signing' | 'done' | 'failed';

export interface ApprovalRecord {
  readonly id: string;
  readonly origin: string;
  readonly requestKey: string;
  readonly fingerprint: string;
  readonly payload: ApprovalPayload;
  readonly createdAt: number;
  readonly status: ApprovalStatus;
  /** While co-signing: when Duet stops waiting for the phone (the user can extend it). */
  readonly deadline: number | null;
  readonly finishedAt: number | null;
  /** What the window shows once finished (or while co-signing). */
  readonly message: string | null;
}

export type ApprovalOutcome = { readonly result: unknown } | { readonly error: SerializedRpcError };

interface StoredOutcome {
  readonly origin: string;
  readonly requestKey: string;
  readonly outcome: ApprovalOutcome;
  readonly at: number;
}

interface StoredQueue {
  readonly records: readonly ApprovalRecord[];
  readonly outcomes: readonly StoredOutcome[];
}

export const RESULT_DISPLAY_MS = 4_000;
export const RESULT_TTL_MS = 5 * 60_000;
const QUEUE_KEY = 'duet/approvals/v1';

export type NewApproval = Pick<ApprovalRecord, 'id' | 'origin' | 'requestKey' | 'fingerprint' | 'payload' | 'createdAt'>;

export class ApprovalQueue {
  private readonly store: KeyValueStore;
  private readonly now: () => number;
  private records: ApprovalRecord[] = [];
  private outcomes: StoredOutcome[] = [];
  private readonly waiters = new Map<string, ((outcome: ApprovalOutcome) => void)[]>();
  private readonly listeners = new Set<() => void>();
  private writes: Promise<void> = Promise.resolve();

  constructor(store: KeyValueStore, now: () => number) {
    this.store = store;
    this.now = now;
  }

  async load(): Promise<void> {
    const stored = await this.store.get<StoredQueue>(QUEUE_KEY);
    this.records = [...(stored?.records ?? [])];
    this.outcomes = [...(stored?.outcomes ?? [])];
    this.prune();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Records the window shows: open ones, and finished ones for a few seconds. */
  visible(): readonly ApprovalRecord[] {
    const now = this.now();
    return this.records.filter((record) => record.finishedAt === null || now - record.finishedAt < RESULT_DISPLAY_MS);
  }

  open(): readonly ApprovalRecord[] {
    return this.records.filter((record) => record.status === 'awaiting-user' || record.status === 'co-signing');
  }

  get(id: string): ApprovalRecord | undefined {
    return this.records.find((record) => record.id === id);
  }

  findOpen(origin: string, requestKey: string): ApprovalRecord | undefined {
    return this.open().find((record) => record.origin === origin && record.requestKey === requestKey);
  }

  findOutcome(origin: string, requestKey: string): ApprovalOutcome | undefined {
    return this.outcomes.find((entry) => entry.origin === origin && entry.requestKey === requestKey)?.outcome;
  }

  async add(approval: NewApproval): Promise<ApprovalRecord> {
    if (this.records.some((record) => record.status === 'awaiting-user' && record.fingerprint === approval.fingerprint)) {
      throw rpcErrors.resourceUnavailable('The same request from this site is already waiting for your approval in Duet.');
    }
    const record: ApprovalRecord = { ...approval, status: 'awaiting-user', deadline: null, finishedAt: null, message: null };
    this.records.push(record);
    await this.persist();
    return record;
  }

  async update(id: string, patch: Partial<Pick<ApprovalRecord, 'status' | 'deadline' | 'message' | 'payload'>>): Promise<ApprovalRecord | undefined> {
    const index = this.records.findIndex((record) => record.id === id);
    const existing = this.records[index];
    if (!existing) return undefined;
    const updated = { ...existing, ...patch };
    this.records[index] = updated;
    await this.persist();
    return updated;
  }

  /** Resolves when the record finishes (immediately if its outcome is already known). */
  wait(id: string): Promise<ApprovalOutcome> {
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  async finish(id: string, outcome: ApprovalOutcome, message: string): Promise<void> {
    const record = this.get(id);
    if (!record || record.finishedAt !== null) return;
    const now = this.now();
    const status: ApprovalStatus = 'error' in outcome ? 'failed' : 'done';
    this.records = this.records.map((candidate) => (candidate.id === id ? { ...candidate, status, finishedAt: now, deadline: null, message } : candidate));
    this.outcomes.push({ origin: record.origin, requestKey: record.requestKey, outcome, at: now });
    await this.persist();
    const waiting = this.waiters.get(id) ?? [];
    this.waiters.delete(id);
    for (const resolve of waiting) resolve(outcome);
  }

  private prune(): void {
    const now = this.now();
    this.records = this.records.filter((record) => record.finishedAt === null || now - record.finishedAt < RESULT_DISPLAY_MS);
    this.outcomes = this.outcomes.filter((entry) => now - entry.at < RESULT_TTL_MS);
  }

  private persist(): Promise<void> {
    this.prune();
    const snapshot: StoredQueue = { records: this.records, outcomes: this.outcomes };
    this.writes = this.writes.catch(() => undefined).then(() => this.store.set(QUEUE_KEY, snapshot));
    for (const listener of this.listeners) listener();
    return this.writes;
  }
}
