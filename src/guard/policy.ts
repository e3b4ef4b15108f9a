/**
 * A wallet's policy: what the Guard co-signs without asking more (docs/guard.md, "The policy
 * language"). Pure data with a strict JSON codec (what devices send and the database stores) and
 * the order "at least as strict as" that decides whether a change tightens (applies at once) or
 * loosens (needs the second factor and waits the delay).
 *
 *   dailyNative     per account and chain, native currency (wei) over any 24 hours: value + max fee
 *                   of every transaction; "*" covers every chain not listed (it must be present)
 *   perTransaction  per chain, the most one transaction may move (value + max fee, wei); "*" likewise
 *   dailyToken      per account, chain and ERC-20 token, raw units over any 24 hours; a token not
 *                   listed has limit 0 (any amount waits the delay)
 *   allowList       destinations (recipients, spenders, operators, contracts called) that need no
 *                   second factor, each on one chain or on every chain (chainId null)
 *   messages        personal_sign and typed data other than permits: "allow" or "second_factor"
 *   delayHours      how long anything above the limits waits (default 24)
 *   recoveryHours   the security period before the Guard deals in a recovery (default 48)
 */
import { getAddress, isAddress } from 'ethers';
import { MAX_SAFE_CHAIN_ID } from '../wallet/chains.ts';

export const POLICY_VERSION = 1;
export const ANY_CHAIN = '*';
const HOUR_MS = 3_600_000;
const MAX_UINT256 = (1n << 256n) - 1n;
const MAX_ALLOW_LIST = 256;
const MAX_TOKENS = 256;
const MAX_CHAINS = 64;
const MAX_LABEL = 64;
export const MIN_DELAY_HOURS = 1;
export const MIN_RECOVERY_HOURS = 24;
const MAX_HOURS = 24 * 90;

export interface AllowedDestination {
  /** EIP-55 checksummed. */
  readonly address: string;
  /** null: every chain. */
  readonly chainId: number | null;
  readonly label: string;
}

export interface TokenLimit {
  readonly chainId: number;
  /** EIP-55 checksummed token contract. */
  readonly token: string;
  /** Raw units over any 24 hours, per account. */
  readonly limit: bigint;
}

export interface Policy {
  readonly version: typeof POLICY_VERSION;
  /** Chain id (decimal) or "*" → wei. */
  readonly dailyNative: Readonly<Record<string, bigint>>;
  readonly perTransaction: Readonly<Record<string, bigint>>;
  readonly dailyToken: readonly TokenLimit[];
  readonly allowList: readonly AllowedDestination[];
  readonly messages: 'allow' | 'second_factor';
  readonly delayHours: number;
  readonly recoveryHours: number;
}

const ETH = 10n ** 18n;

/** Until the user sets one: 1 ETH a day and per transaction, no tokens, an empty allow-list. */
export const DEFAULT_POLICY: Policy = {
  version: POLICY_VERSION,
  dailyNative: { [ANY_CHAIN]: ETH },
  perTransaction: { [ANY_CHAIN]: ETH },
  dailyToken: [],
  allowList: [],
  messages: 'allow',
  delayHours: 24,
  recoveryHours: 48,
};

export class PolicyError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'PolicyError';
    this.field = field;
  }
}

export const delayMs = (policy: Policy) => policy.delayHours * HOUR_MS;
export const recoveryMs = (policy: Policy) => policy.recoveryHours * HOUR_MS;

/** The limit of `chainId` in a per-chain table (its own entry, else "*"). */
export function chainLimit(table: Readonly<Record<string, bigint>>, chainId: number): bigint {
  return table[String(chainId)] ?? (table[ANY_CHAIN] as bigint);
}

/** The daily limit of a token on a chain (0 when not listed). */
export function tokenLimit(policy: Policy, chainId: number, token: string): bigint {
  return policy.dailyToken.find((entry) => entry.chainId === chainId && entry.token === token)?.limit ?? 0n;
}

export function isAllowed(policy: Policy, chainId: number, address: string): boolean {
  return policy.allowList.some((entry) => entry.address === address && (entry.chainId === null || entry.chainId === chainId));
}

// ---- codec --------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function object(value: unknown, field: string, keys: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PolicyError(field, 'expected an object');
  const extra = Object.keys(value).find((key) => !keys.includes(key));
  if (extra !== undefined) throw new PolicyError(`${field}.${extra}`, 'unexpected key');
  const missing = keys.find((key) => !Object.hasOwn(value, key));
  if (missing !== undefined) throw new PolicyError(`${field}.${missing}`, 'missing');
  return value as Json;
}

function amount(value: unknown, field: string): bigint {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,77})$/.test(value)) throw new PolicyError(field, 'expected a whole number as a decimal string');
  const parsed = BigInt(value);
  if (parsed > MAX_UINT256) throw new PolicyError(field, 'larger than uint256');
  return parsed;
}

function chainId(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_SAFE_CHAIN_ID) throw new PolicyError(field, 'expected a chain id');
  return value;
}

function address(value: unknown, field: string): string {
  if (typeof value !== 'string' || !isAddress(value)) throw new PolicyError(field, 'expected an address');
  return getAddress(value);
}

function hours(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_HOURS) throw new PolicyError(field, `expected whole hours in [${min}, ${MAX_HOURS}]`);
  return value;
}

function chainTable(value: unknown, field: string): Record<string, bigint> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PolicyError(field, 'expected an object of chain ids');
  const entries = Object.entries(value);
  if (entries.length > MAX_CHAINS) throw new PolicyError(field, `at most ${MAX_CHAINS} chains`);
  if (!Object.hasOwn(value, ANY_CHAIN)) throw new PolicyError(`${field}.${ANY_CHAIN}`, 'missing (the limit of every chain not listed)');
  const table: Record<string, bigint> = {};
  for (const [key, limit] of entries) {
    if (key !== ANY_CHAIN && String(chainId(Number(key), `${field}.${key}`)) !== key) throw new PolicyError(`${field}.${key}`, 'expected a chain id in decimal');
    table[key] = amount(limit, `${field}.${key}`);
  }
  return table;
}

function list<T>(value: unknown, field: string, max: number, item: (entry: unknown, itemField: string) => T): T[] {
  if (!Array.isArray(value)) throw new PolicyError(field, 'expected a list');
  if (value.length > max) throw new PolicyError(field, `at most ${max} entries`);
  return value.map((entry, index) => item(entry, `${field}[${index}]`));
}

export function decodePolicy(value: unknown, field = 'policy'): Policy {
  const json = object(value, field, ['version', 'dailyNative', 'perTransaction', 'dailyToken', 'allowList', 'messages', 'delayHours', 'recoveryHours']);
  if (json.version !== POLICY_VERSION) throw new PolicyError(`${field}.version`, `expected ${POLICY_VERSION}`);
  const dailyToken = list(json.dailyToken, `${field}.dailyToken`, MAX_TOKENS, (entry, itemField) => {
    const token = object(entry, itemField, ['chainId', 'token', 'limit']);
    return { chainId: chainId(token.chainId, `${itemField}.chainId`), token: address(token.token, `${itemField}.token`), limit: amount(token.limit, `${itemField}.limit`) };
  });
  if (new Set(dailyToken.map((entry) => `${entry.chainId}:${entry.token}`)).size !== dailyToken.length) throw new PolicyError(`${field}.dailyToken`, 'a token is listed twice');
  const allowList = list(json.allowList, `${field}.allowList`, MAX_ALLOW_LIST, (entry, itemField) => {
    const destination = object(entry, itemField, ['address', 'chainId', 'label']);
    const label = destination.label;
    if (typeof label !== 'string' || label.length > MAX_LABEL) throw new PolicyError(`${itemField}.label`, `expected text of at most ${MAX_LABEL} characters`);
    return { address: address(destination.address, `${itemField}.address`), chainId: destination.chainId === null ? null : chainId(destination.chainId, `${itemField}.chainId`), label };
  });
  if (json.messages !== 'allow' && json.messages !== 'second_factor') throw new PolicyError(`${field}.messages`, 'expected "allow" or "second_factor"');
  return {
    version: POLICY_VERSION,
    dailyNative: chainTable(json.dailyNative, `${field}.dailyNative`),
    perTransaction: chainTable(json.perTransaction, `${field}.perTransaction`),
    dailyToken,
    allowList,
    messages: json.messages,
    delayHours: hours(json.delayHours, `${field}.delayHours`, MIN_DELAY_HOURS),
    recoveryHours: hours(json.recoveryHours, `${field}.recoveryHours`, MIN_RECOVERY_HOURS),
  };
}

const tableJson = (table: Readonly<Record<string, bigint>>) => Object.fromEntries(Object.entries(table).map(([key, limit]) => [key, limit.toString()]));

export function encodePolicy(policy: Policy): Json {
  return {
    version: policy.version,
    dailyNative: tableJson(policy.dailyNative),
    perTransaction: tableJson(policy.perTransaction),
    dailyToken: policy.dailyToken.map((entry) => ({ chainId: entry.chainId, token: entry.token, limit: entry.limit.toString() })),
    allowList: policy.allowList.map((entry) => ({ address: entry.address, chainId: entry.chainId, label: entry.label })),
    messages: policy.messages,
    delayHours: policy.delayHours,
    recoveryHours: policy.recoveryHours,
  };
}

// ---- tightening and loosening ---------------------------------------------------------------

const bigMin = (a: bigint, b: bigint) => (a < b ? a : b);

/** Every chain named by either table (with "*"), each at its smaller limit. */
function minTable(a: Readonly<Record<string, bigint>>, b: Readonly<Record<string, bigint>>): Record<string, bigint> {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return Object.fromEntries([...keys].map((key) => [key, key === ANY_CHAIN ? bigMin(a[ANY_CHAIN] as bigint, b[ANY_CHAIN] as bigint) : bigMin(chainLimit(a, Number(key)), chainLimit(b, Number(key)))]));
}

function tableAtMost(next: Readonly<Record<string, bigint>>, current: Readonly<Record<string, bigint>>): boolean {
  const keys = new Set([...Object.keys(next), ...Object.keys(current)]);
  return [...keys].every((key) => (key === ANY_CHAIN ? (next[ANY_CHAIN] as bigint) <= (current[ANY_CHAIN] as bigint) : chainLimit(next, Number(key)) <= chainLimit(current, Number(key))));
}

/** `entry` is allowed by `list` wherever `entry` allows. */
function covered(list: readonly AllowedDestination[], entry: AllowedDestination): boolean {
  return list.some((other) => other.address === entry.address && (other.chainId === null || other.chainId === entry.chainId));
}

/**
 * Whether `next` allows nothing that `current` does not: every limit at most the current one,
 * every allow-list entry already allowed, messages no freer, delays no shorter.
 */
export function isAtLeastAsStrict(next: Policy, current: Policy): boolean {
  const tokens = [...next.dailyToken, ...current.dailyToken];
  return (
    tableAtMost(next.dailyNative, current.dailyNative) &&
    tableAtMost(next.perTransaction, current.perTransaction) &&
    tokens.every((entry) => tokenLimit(next, entry.chainId, entry.token) <= tokenLimit(current, entry.chainId, entry.token)) &&
    next.allowList.every((entry) => covered(current.allowList, entry)) &&
    (next.messages === 'second_factor' || current.messages === 'allow') &&
    next.delayHours >= current.delayHours &&
    next.recoveryHours >= current.recoveryHours
  );
}

/** The strictest policy allowing only what both allow: the tightening part of a change, applied at once. */
export function strictest(a: Policy, b: Policy): Policy {
  const tokenKeys = new Map([...a.dailyToken, ...b.dailyToken].map((entry) => [`${entry.chainId}:${entry.token}`, entry]));
  const dailyToken = [...tokenKeys.values()]
    .map((entry) => ({ chainId: entry.chainId, token: entry.token, limit: bigMin(tokenLimit(a, entry.chainId, entry.token), tokenLimit(b, entry.chainId, entry.token)) }))
    .filter((entry) => entry.limit > 0n);
  // An entry both allow, on the chains both allow it.
  const allowList = a.allowList.flatMap((entry) =>
    b.allowList
      .filter((other) => other.address === entry.address && (entry.chainId === null || other.chainId === null || other.chainId === entry.chainId))
      .map((other) => ({ address: entry.address, chainId: entry.chainId ?? other.chainId, label: entry.label })),
  );
  const unique = allowList.filter((entry, index) => allowList.findIndex((other) => other.address === entry.address && other.chainId === entry.chainId) === index);
  return {
    version: POLICY_VERSION,
    dailyNative: minTable(a.dailyNative, b.dailyNative),
    perTransaction: minTable(a.perTransaction, b.perTransaction),
    dailyToken,
    allowList: unique,
    messages: a.messages === 'second_factor' || b.messages === 'second_factor' ? 'second_factor' : 'allow',
    delayHours: Math.max(a.delayHours, b.delayHours),
    recoveryHours: Math.max(a.recoveryHours, b.recoveryHours),
  };
}
