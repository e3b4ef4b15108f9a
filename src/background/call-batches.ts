/**
 * EIP-5792 (wallet_sendCalls, wallet_getCallsStatus, wallet_getCapabilities), version 2.0.0, as
 * far as an account without a smart-contract wallet can honestly go: the calls of a batch are
 * sent one after the other, each as its own transaction that the user approves and the phone
 * co-signs, the next one built once the previous one is mined (its gas estimate may depend on
 * it). Nothing is atomic, and wallet_getCapabilities says so ("atomic": "unsupported").
 *
 * Batches are kept in chrome.storage.session (a restarted service worker goes on with them and
 * still answers wallet_getCallsStatus), at most MAX_KEPT_BATCHES, the oldest finished ones
 * dropped first. Error codes are EIP-5792's.
 */
import { getAddress, isHexString } from 'ethers';
import { ProviderRpcError, rpcErrors } from '../provider/rpc-error.ts';
import { toHexChainId } from '../wallet/chains.ts';
import { parseHexChainId } from './chain-params.ts';
import { addressParam } from './request-builders.ts';
import type { KeyValueStore } from './storage.ts';

export const EIP5792_VERSION = '2.0.0';
/** Calls in one batch: each is approved and co-signed on its own, so a small number. */
export const MAX_CALLS = 10;
export const MAX_KEPT_BATCHES = 50;
const MAX_ID_LENGTH = 4096;
const STORE_KEY = 'duet/call-batches/v1';

export const Eip5792ErrorCode = {
  unsupportedNonOptionalCapability: 5700,
  unsupportedChainId: 5710,
  duplicateId: 5720,
  unknownBundleId: 5730,
  batchTooLarge: 5740,
  atomicityNotSupported: 5760,
} as const;

export interface BatchCall {
  readonly to: string | null;
  readonly data: string;
  readonly value: string;
}

export interface CallBatch {
  readonly origin: string;
  readonly id: string;
  /** The key of the page's wallet_sendCalls request; call i is requested as `${requestKey}/${i}`. */
  readonly requestKey: string;
  readonly tabId: number | null;
  readonly embeddedIn: string | null;
  readonly chainId: number;
  readonly from: string;
  readonly calls: readonly BatchCall[];
  /** Hashes of the calls sent so far, in order. */
  readonly hashes: readonly string[];
  /** running: more calls to send; done: all sent; stopped: a call was refused, failed or reverted. */
  readonly state: 'running' | 'done' | 'stopped';
  readonly createdAt: number;
}

export interface SendCallsRequest {
  readonly id: string | null;
  readonly chainId: number;
  readonly from: string | null;
  readonly calls: readonly BatchCall[];
}

function error5792(code: number, message: string): ProviderRpcError {
  return new ProviderRpcError(code, message);
}

function objectParam(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw rpcErrors.invalidParams(`${field} must be an object.`);
  return value as Record<string, unknown>;
}

/** Capabilities Duet does not have may be asked for only as optional (EIP-5792: else 5700). */
function checkCapabilities(value: unknown, field: string): void {
  if (value === undefined) return;
  const capabilities = objectParam(value, field);
  for (const [name, capability] of Object.entries(capabilities)) {
    const optional = typeof capability === 'object' && capability !== null && (capability as { optional?: unknown }).optional === true;
    if (!optional) throw error5792(Eip5792ErrorCode.unsupportedNonOptionalCapability, `Duet does not support the capability ${name}.`);
  }
}

function hexQuantity(value: unknown, field: string): string {
  if (value === undefined || value === null) return '0x0';
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(value)) throw rpcErrors.invalidParams(`${field} must be a 0x-hex quantity.`);
  return `0x${BigInt(value).toString(16)}`;
}

function parseCall(value: unknown, field: string): BatchCall {
  const call = objectParam(value, field);
  const extra = Object.keys(call).find((key) => !['to', 'data', 'value', 'capabilities'].includes(key));
  if (extra !== undefined) throw rpcErrors.invalidParams(`${field}.${extra} is not a call field.`);
  checkCapabilities(call.capabilities, `${field}.capabilities`);
  const to = call.to === undefined || call.to === null ? null : addressParam(call.to, `${field}.to`);
  const data = call.data === undefined ? '0x' : call.data;
  if (typeof data !== 'string' || !isHexString(data) || data.length % 2 !== 0) throw rpcErrors.invalidParams(`${field}.data must be 0x-prefixed hex bytes.`);
  if (to === null && data === '0x') throw rpcErrors.invalidParams(`${field}: a call without "to" creates a contract and needs data.`);
  return { to, data: data.toLowerCase(), value: hexQuantity(call.value, `${field}.value`) };
}

/** wallet_sendCalls [{ version, id?, from?, chainId, atomicRequired, calls, capabilities? }]. */
export function parseSendCalls(params: unknown, knownChain: (chainId: number) => boolean): SendCallsRequest {
  if (!Array.isArray(params) || params.length !== 1) throw rpcErrors.invalidParams('wallet_sendCalls expects [{ version, chainId, atomicRequired, calls }].');
  const raw = objectParam(params[0], 'params[0]');
  const extra = Object.keys(raw).find((key) => !['version', 'id', 'from', 'chainId', 'atomicRequired', 'calls', 'capabilities'].includes(key));
  if (extra !== undefined) throw rpcErrors.invalidParams(`Unexpected field ${extra}.`);
  if (raw.version !== EIP5792_VERSION) throw rpcErrors.invalidParams(`version must be "${EIP5792_VERSION}".`);
  if (typeof raw.atomicRequired !== 'boolean') throw rpcErrors.invalidParams('atomicRequired must be true or false.');
  if (raw.atomicRequired) throw error5792(Eip5792ErrorCode.atomicityNotSupported, 'Duet cannot execute calls atomically: it sends them one after the other.');
  checkCapabilities(raw.capabilities, 'capabilities');
  let chainId: number;
  try {
    chainId = parseHexChainId(raw.chainId, 'chainId');
  } catch {
    throw rpcErrors.invalidParams('chainId must be a 0x-hex chain id.');
  }
  if (!knownChain(chainId)) throw error5792(Eip5792ErrorCode.unsupportedChainId, `Duet has no network with chain ID ${toHexChainId(chainId)}.`);
  if (raw.id !== undefined && (typeof raw.id !== 'string' || raw.id.length === 0 || raw.id.length > MAX_ID_LENGTH)) throw rpcErrors.invalidParams(`id must be a string of 1 to ${MAX_ID_LENGTH} characters.`);
  if (!Array.isArray(raw.calls) || raw.calls.length === 0) throw rpcErrors.invalidParams('calls must be a non-empty array.');
  if (raw.calls.length > MAX_CALLS) throw error5792(Eip5792ErrorCode.batchTooLarge, `Duet takes at most ${MAX_CALLS} calls in a batch: each one is approved on its own.`);
  return {
    id: (raw.id as string | undefined) ?? null,
    chainId,
    from: raw.from === undefined ? null : addressParam(raw.from, 'from'),
    calls: raw.calls.map((call: unknown, index) => parseCall(call, `calls[${index}]`)),
  };
}

interface Receipt {
  readonly status?: unknown;
  readonly logs?: readonly { address: unknown; data: unknown; topics: unknown }[];
  readonly blockHash?: unknown;
  readonly blockNumber?: unknown;
  readonly gasUsed?: unknown;
  readonly transactionHash?: unknown;
}

/** EIP-5792 status: 100 pending, 200 all confirmed, 400 nothing included, 500 all reverted, 600 partly. */
export function batchStatus(batch: CallBatch, receipts: readonly (Receipt | null)[]): number {
  if (batch.state === 'running' || receipts.some((receipt) => receipt === null)) return 100;
  const included = receipts as readonly Receipt[];
  const succeeded = included.filter((receipt) => receipt.status === '0x1').length;
  if (batch.state === 'done' && succeeded === batch.calls.length) return 200;
  if (included.length === 0) return 400;
  if (succeeded === 0 && included.length === batch.calls.length) return 500;
  return 600;
}

/** The wallet_getCallsStatus answer for a batch and the receipts of its sent calls. */
export function callsStatus(batch: CallBatch, receipts: readonly (Receipt | null)[]) {
  return {
    version: EIP5792_VERSION,
    id: batch.id,
    chainId: toHexChainId(batch.chainId),
    status: batchStatus(batch, receipts),
    atomic: false,
    receipts: receipts
      .filter((receipt): receipt is Receipt => receipt !== null)
      .map((receipt) => ({
        logs: (receipt.logs ?? []).map((log) => ({ address: log.address, data: log.data, topics: log.topics })),
        status: receipt.status,
        blockHash: receipt.blockHash,
        blockNumber: receipt.blockNumber,
        gasUsed: receipt.gasUsed,
        transactionHash: receipt.transactionHash,
      })),
  };
}

/** wallet_getCapabilities: no atomic batching on any chain Duet knows (EIP-5792 "unsupported"). */
export function capabilities(chainIds: readonly number[]): Record<string, { atomic: { status: 'unsupported' } }> {
  return Object.fromEntries(chainIds.map((chainId) => [toHexChainId(chainId), { atomic: { status: 'unsupported' as const } }]));
}

/** A fresh batch id: 32 random bytes, 0x-hex. */
export function newBatchId(): string {
  return `0x${Array.from(crypto.getRandomValues(new Uint8Array(32)), (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

/** The batches, persisted in session storage. */
export class CallBatchStore {
  private readonly store: KeyValueStore;
  private batches: CallBatch[] = [];

  constructor(store: KeyValueStore) {
    this.store = store;
  }

  async load(): Promise<void> {
    this.batches = [...((await this.store.get<CallBatch[]>(STORE_KEY)) ?? [])];
  }

  get(origin: string, id: string): CallBatch | undefined {
    return this.batches.find((batch) => batch.origin === origin && batch.id === id);
  }

  running(): readonly CallBatch[] {
    return this.batches.filter((batch) => batch.state === 'running');
  }

  async add(batch: CallBatch): Promise<void> {
    if (this.get(batch.origin, batch.id)) throw error5792(Eip5792ErrorCode.duplicateId, `A batch with the id ${batch.id} was already sent.`);
    const next = [...this.batches, batch];
    while (next.length > MAX_KEPT_BATCHES) {
      const oldest = next.findIndex((candidate) => candidate.state !== 'running');
      if (oldest === -1) throw rpcErrors.limitExceeded('Too many batches are being sent; try again once they are done.');
      next.splice(oldest, 1);
    }
    await this.save(next);
  }

  async update(origin: string, id: string, patch: Partial<Pick<CallBatch, 'hashes' | 'state'>>): Promise<CallBatch | undefined> {
    const current = this.get(origin, id);
    if (!current) return undefined;
    const updated = { ...current, ...patch };
    await this.save(this.batches.map((batch) => (batch === current ? updated : batch)));
    return updated;
  }

  async remove(origin: string, id: string): Promise<void> {
    await this.save(this.batches.filter((batch) => !(batch.origin === origin && batch.id === id)));
  }

  private async save(next: CallBatch[]): Promise<void> {
    await this.store.set(STORE_KEY, next);
    this.batches = next;
  }
}

/** Where a batch's first call comes from: the sender's account by default. */
export function batchSender(requested: string | null, permitted: readonly string[]): string {
  const sender = requested ?? permitted[0];
  if (sender === undefined || !permitted.some((address) => address.toLowerCase() === sender.toLowerCase())) throw rpcErrors.unauthorized('from is not an account connected to this site.');
  return getAddress(sender);
}
