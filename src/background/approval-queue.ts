/**
 * The requests waiting for the user, persisted in chrome.storage.session so they survive a
 * service-worker restart (and vanish when the browser closes).
 *
 * Rules:
 * - one approval window shows the records in arrival order;
 * - a request whose fingerprint (a SHA-256 over origin, method and parameters) matches one still
 *   awaiting the user is refused with -32002, as MetaMask does;
 * - limits, so that no site can fill the storage or starve the others (-32005, nothing stored):
 *   per site (origin) and per browser tab (all frames of a page together), at most
 *   `requestsPerSite` requests awaiting the user and `bytesPerSite` bytes stored; for all sites
 *   together at most `totalBytes`, well below chrome.storage.session's 10 MiB quota;
 * - a page's request is identified by (origin, requestKey): when the content script re-sends it
 *   after a restart, the caller attaches to the existing record instead of creating a second one;
 * - finished records stay visible for RESULT_DISPLAY_MS, and their outcome is kept for
 *   RESULT_TTL_MS so a page that reconnects late still gets its answer.
 *
 * Storage: one small index (the records without their payloads, and the outcomes) and one key per
 * payload, so a change writes the index and at most one payload, never the whole queue. A write
 * that fails is rolled back in memory (the stored index is the previous one); finishing a record
 * answers the page first and then writes.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { rpcErrors, type SerializedRpcError } from '../provider/rpc-error.ts';
import type { AddChainRequest } from './chain-params.ts';
import type { TransactionAdvice } from './request-builders.ts';
import { storedBytes, type KeyValueStore } from './storage.ts';
import type { WatchAssetRequest } from './watch-asset.ts';

export type SigningMethod = 'personal_sign' | 'eth_signTypedData' | 'eth_signTypedData_v3' | 'eth_signTypedData_v4' | 'eth_sendTransaction';

export type ApprovalPayload =
  | { readonly kind: 'connect'; readonly method: 'eth_requestAccounts' | 'wallet_requestPermissions' }
  | { readonly kind: 'switch-chain'; readonly chainId: number }
  | { readonly kind: 'add-chain'; readonly network: AddChainRequest }
  | { readonly kind: 'watch-asset'; readonly asset: WatchAssetRequest }
  /**
   * `request` is the canonical JSON of the SigningRequest (encodeSigningRequest), frozen when the
   * user approves; `advice` is what the node said about a transaction when it was built; `batch`
   * says which call of a wallet_sendCalls batch it is.
   */
  /** `via`: the member the user chose to co-sign with ("ask another device"), by identity key. */
  | {
      readonly kind: 'sign';
      readonly method: SigningMethod;
      readonly request: Record<string, unknown>;
      readonly advice?: TransactionAdvice;
      readonly batch?: { readonly index: number; readonly count: number };
      readonly via?: string;
    };

export type SignPayload = Extract<ApprovalPayload, { kind: 'sign' }>;

export type ApprovalStatus = 'awaiting-user' | 'co-signing' | 'done' | 'failed';

export interface ApprovalRecord {
  readonly id: string;
  readonly origin: string;
  /** The browser tab the request came from (null when unknown): a page's frames share its limits. */
  readonly tabId: number | null;
  readonly requestKey: string;
  /** The top-level site when the request came from an embedded frame. */
  readonly embeddedIn?: string;
  readonly fingerprint: string;
  readonly payload: ApprovalPayload;
  readonly createdAt: number;
  readonly status: ApprovalStatus;
  /** While co-signing: when Duet stops waiting for the phone (the user can extend it). */
  readonly deadline: number | null;
  readonly finishedAt: number | null;
  /** What the window shows once finished (or while co-signing). */
  readonly message: string | null;
  /** What the record costs in storage: its payload and its index entry. */
  readonly bytes: number;
}

export type ApprovalOutcome = { readonly result: unknown } | { readonly error: SerializedRpcError };

export interface QueueLimits {
  /** Requests awaiting the user, per site and per tab. */
  readonly requestsPerSite: number;
  /** Bytes stored, per site and per tab. */
  readonly bytesPerSite: number;
  /** Bytes stored for all sites together. */
  readonly totalBytes: number;
}

const MiB = 1024 * 1024;
/** 10 requests and 2 MiB per site (two typed-data requests at the bridge's 1 MB limit); 6 MiB of the 10 MiB quota in all. */
export const DEFAULT_QUEUE_LIMITS: QueueLimits = { requestsPerSite: 10, bytesPerSite: 2 * MiB, totalBytes: 6 * MiB };

interface StoredOutcome {
  readonly origin: string;
  readonly requestKey: string;
  readonly outcome: ApprovalOutcome;
  readonly at: number;
}

type StoredRecord = Omit<ApprovalRecord, 'payload'>;

interface StoredIndex {
  readonly records: readonly StoredRecord[];
  readonly outcomes: readonly StoredOutcome[];
}

export const RESULT_DISPLAY_MS = 4_000;
export const RESULT_TTL_MS = 5 * 60_000;
const INDEX_KEY = 'duet/approvals/v2';
const payloadKey = (id: string) => `${INDEX_KEY}/payload/${id}`;

export type NewApproval = Pick<ApprovalRecord, 'id' | 'origin' | 'tabId' | 'requestKey' | 'embeddedIn' | 'fingerprint' | 'payload' | 'createdAt'>;

/** A request's fingerprint: SHA-256 over origin, method and the exact parameters, which are not kept. */
export function requestFingerprint(origin: string, method: string, params: unknown): string {
  return bytesToHex(sha256(new TextEncoder().encode(JSON.stringify([origin, method, params ?? null]))));
}

function withoutPayload(record: ApprovalRecord): StoredRecord {
  const { payload: _payload, ...stored } = record;
  return stored;
}

function recordBytes(record: Omit<ApprovalRecord, 'bytes'>): number {
  const { payload, ...meta } = record;
  return storedBytes(payloadKey(record.id), payload) + storedBytes('', meta);
}

const sumBytes = (records: readonly ApprovalRecord[]) => records.reduce((total, record) => total + record.bytes, 0);

export class ApprovalQueue {
  private readonly store: KeyValueStore;
  private readonly now: () => number;
  private readonly limits: QueueLimits;
  private records: ApprovalRecord[] = [];
  private outcomes: StoredOutcome[] = [];
  private readonly waiters = new Map<string, ((outcome: ApprovalOutcome) => void)[]>();
  private writes: Promise<void> = Promise.resolve();
  /** Payload keys of pruned records, removed once a stored index no longer names them. */
  private prunedPayloads: string[] = [];

  constructor(store: KeyValueStore, now: () => number, limits: QueueLimits = DEFAULT_QUEUE_LIMITS) {
    this.store = store;
    this.now = now;
    this.limits = limits;
  }

  async load(): Promise<void> {
    const index = await this.store.get<StoredIndex>(INDEX_KEY);
    const loaded = await Promise.all((index?.records ?? []).map(async (stored) => {
      const payload = await this.store.get<ApprovalPayload>(payloadKey(stored.id));
      return payload === undefined ? null : { ...stored, payload };
    }));
    this.records = loaded.filter((record): record is ApprovalRecord => record !== null);
    this.outcomes = [...(index?.outcomes ?? [])];
    this.prune();
  }

  /** Records the window can show: open ones, and finished ones for a few seconds. */
  visible(): readonly ApprovalRecord[] {
    const now = this.now();
    return this.records.filter((record) => record.finishedAt === null || now - record.finishedAt < RESULT_DISPLAY_MS);
  }

  /** The record on screen: the oldest open one, or else the latest result (shown for a few seconds). */
  current(): ApprovalRecord | undefined {
    return this.open()[0] ?? this.visible().at(-1);
  }

  open(): readonly ApprovalRecord[] {
    return this.records.filter((record) => record.status === 'awaiting-user' || record.status === 'co-signing');
  }

  awaitingUser(): readonly ApprovalRecord[] {
    return this.records.filter((record) => record.status === 'awaiting-user');
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

  /** Queues a request after the duplicate check and the limits; if it cannot be stored, nothing is kept. */
  async add(approval: NewApproval): Promise<ApprovalRecord> {
    const base = { ...approval, status: 'awaiting-user' as const, deadline: null, finishedAt: null, message: null };
    const record: ApprovalRecord = { ...base, bytes: recordBytes(base) };
    this.admit(record);
    this.records.push(record);
    await this.write({ [payloadKey(record.id)]: record.payload }, () => {
      this.records = this.records.filter((candidate) => candidate !== record);
    }).catch(() => {
      throw rpcErrors.limitExceeded('Duet could not store this request: its storage is full. Nothing was queued; try again later.');
    });
    return record;
  }

  /** Changes a record; if the change cannot be stored, the record stays as it was and this throws. */
  async update(id: string, patch: Partial<Pick<ApprovalRecord, 'status' | 'deadline' | 'message' | 'payload'>>): Promise<ApprovalRecord | undefined> {
    const existing = this.get(id);
    if (!existing) return undefined;
    const changed = { ...existing, ...patch };
    const updated: ApprovalRecord = patch.payload ? { ...changed, bytes: recordBytes(changed) } : changed;
    this.replace(existing, updated);
    await this.write(patch.payload ? { [payloadKey(id)]: patch.payload } : {}, () => this.replace(updated, existing));
    return updated;
  }

  /** Resolves when the record finishes (immediately if its outcome is already known). */
  wait(id: string): Promise<ApprovalOutcome> {
    const record = this.get(id);
    const known = record && record.finishedAt !== null ? this.findOutcome(record.origin, record.requestKey) : undefined;
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  /** Answers the page at once, then stores the outcome (a failed write cannot leave the page waiting). */
  async finish(id: string, outcome: ApprovalOutcome, message: string): Promise<void> {
    const record = this.get(id);
    if (!record || record.finishedAt !== null) return;
    const now = this.now();
    const status: ApprovalStatus = 'error' in outcome ? 'failed' : 'done';
    this.replace(record, { ...record, status, finishedAt: now, deadline: null, message });
    this.outcomes.push({ origin: record.origin, requestKey: record.requestKey, outcome, at: now });
    const waiting = this.waiters.get(id) ?? [];
    this.waiters.delete(id);
    for (const resolve of waiting) resolve(outcome);
    await this.write({}, () => undefined).catch(() => undefined);
  }

  private admit(record: ApprovalRecord): void {
    const awaiting = this.awaitingUser();
    if (awaiting.some((candidate) => candidate.fingerprint === record.fingerprint)) {
      throw rpcErrors.resourceUnavailable('The same request from this site is already waiting for your approval in Duet.');
    }
    const { requestsPerSite, bytesPerSite, totalBytes } = this.limits;
    const scopes: { name: string; holds: (candidate: ApprovalRecord) => boolean }[] = [{ name: 'this site', holds: (candidate) => candidate.origin === record.origin }];
    if (record.tabId !== null) scopes.push({ name: 'this tab', holds: (candidate) => candidate.tabId === record.tabId });
    for (const { name, holds } of scopes) {
      if (awaiting.filter(holds).length >= requestsPerSite) {
        throw rpcErrors.limitExceeded(`${requestsPerSite} requests from ${name} are already waiting for approval in Duet. Nothing was queued; try again once they are answered.`);
      }
      if (sumBytes(this.records.filter(holds)) + record.bytes > bytesPerSite) {
        throw rpcErrors.limitExceeded(`The requests from ${name} waiting in Duet would exceed ${Math.floor(bytesPerSite / 1024)} KiB. Nothing was queued; try again once they are answered.`);
      }
    }
    if (sumBytes(this.records) + storedBytes('', this.outcomes) + record.bytes > totalBytes) {
      throw rpcErrors.limitExceeded('Duet has too many requests waiting for approval. Nothing was queued; try again once they are answered.');
    }
  }

  private replace(current: ApprovalRecord, next: ApprovalRecord): void {
    this.records = this.records.map((candidate) => (candidate === current ? next : candidate));
  }

  private prune(): void {
    const now = this.now();
    const expired = this.records.filter((record) => record.finishedAt !== null && now - record.finishedAt >= RESULT_DISPLAY_MS);
    this.records = this.records.filter((record) => !expired.includes(record));
    this.outcomes = this.outcomes.filter((entry) => now - entry.at < RESULT_TTL_MS);
    this.prunedPayloads.push(...expired.map((record) => payloadKey(record.id)));
  }

  /**
   * Stores the index as it is when the write runs (writes run one at a time, in order) with
   * `payloads`; on failure runs `rollback` before the next write starts. Payloads of pruned
   * records are removed once the index no longer names them.
   */
  private write(payloads: Record<string, unknown>, rollback: () => void): Promise<void> {
    const run = this.writes.then(async () => {
      this.prune();
      const removed = this.prunedPayloads;
      const index: StoredIndex = { records: this.records.map(withoutPayload), outcomes: this.outcomes };
      try {
        await this.store.setMany({ ...payloads, [INDEX_KEY]: index });
      } catch (error) {
        rollback();
        throw error;
      }
      this.prunedPayloads = [];
      if (removed.length > 0) await this.store.remove(removed).catch(() => undefined);
    });
    this.writes = run.catch(() => undefined);
    return run;
  }
}
