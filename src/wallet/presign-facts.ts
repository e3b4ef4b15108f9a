/**
 * What the extension observed before showing a request: the simulation's outcome on the current
 * block, the account's balance, whether the addresses the request names are contracts and whether
 * this account dealt with them before (the wallet's own activity record), the network Duet was
 * on, and whether the request replaces a pending transaction. The symbol and decimals of the
 * tokens a request names are not facts: they travel in the request's `tokens` (signing-request.ts),
 * which the display and the balance change both read.
 *
 * The facts travel inside the frozen SigningRequest (key `facts`), so the phone — which cannot
 * reach the network or the extension's records — applies the same warning rules
 * (presign-warnings.ts) to its own decoding of the request. They are the extension's observations:
 * the phone shows them, it does not verify them (docs/threat-model.md). They are not part of the
 * digest; they are part of the short code.
 *
 * Wire form: every key present, bigints as minimal 0x-hex, addresses checksummed, texts already
 * made safe for display (safeDisplayText). The decoder is strict and names the refused field.
 */
import { getAddress } from 'ethers';
import { MAX_SAFE_CHAIN_ID } from './chains.ts';
import { WalletError } from './wallet-error.ts';

export type Simulation =
  /** eth_call on the current block did not revert. */
  | { readonly outcome: 'success' }
  /** It reverted, or the node refused it (insufficient funds…): `reason` as the node or the contract put it. */
  | { readonly outcome: 'revert'; readonly reason: string }
  /** The node could not simulate it (an RPC error other than a revert). */
  | { readonly outcome: 'unavailable'; readonly reason: string };

export interface AddressFacts {
  readonly address: string;
  /** Has code (an EIP-7702 delegation designator alone does not count: that is still an account). */
  readonly contract: boolean;
  /** This account sent a transaction to or for this address before (Duet's activity record). */
  readonly interacted: boolean;
}

export interface Replacement {
  readonly action: 'speed-up' | 'cancel';
  /** The pending transaction it replaces (same nonce). */
  readonly hash: string;
}

export interface PresignFacts {
  /** The network Duet was on when the facts were taken. */
  readonly currentChainId: number;
  /** The block the checks ran on (null for messages). */
  readonly block: number | null;
  /** The account's native balance at that block, in wei. */
  readonly balance: bigint | null;
  /** Null for messages, or when the extension could not run it. */
  readonly simulation: Simulation | null;
  readonly addresses: readonly AddressFacts[];
  readonly replaces: Replacement | null;
}

export interface PresignFactsJson {
  currentChainId: number;
  block: number | null;
  balance: string | null;
  simulation: { outcome: 'success' } | { outcome: 'revert' | 'unavailable'; reason: string } | null;
  addresses: { address: string; contract: boolean; interacted: boolean }[];
  replaces: { action: 'speed-up' | 'cancel'; hash: string } | null;
}

/** A revert reason longer than this is cut (with "…"): it is the contract's text, shown to the user. */
export const MAX_REASON_CHARS = 200;
const MAX_ADDRESSES = 8;
const MAX_UINT256 = (1n << 256n) - 1n;
const KEYS = ['currentChainId', 'block', 'balance', 'simulation', 'addresses', 'replaces'] as const;
/** Control and format characters (bidirectional overrides, zero-width…) could disguise a text. */
const UNSAFE_CHARACTERS = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/**
 * Text from a contract or a node, made safe to show: unsafe characters become U+FFFD, whitespace
 * runs one space, at most `max` characters (cut with "…").
 */
export function safeDisplayText(text: string, max: number): string {
  const cleaned = text.replace(/\s+/g, ' ').replace(UNSAFE_CHARACTERS, '\uFFFD').trim();
  const characters = [...cleaned];
  return characters.length > max ? `${characters.slice(0, max - 1).join('')}…` : cleaned;
}

function factsError(field: string, reason: string): WalletError {
  return new WalletError('bad_request', field, reason);
}

function object(value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw factsError(field, 'expected an object');
  const unexpected = Object.keys(value).find((key) => !keys.includes(key));
  if (unexpected !== undefined) throw factsError(`${field}.${unexpected}`, 'unexpected key');
  const missing = keys.find((key) => !Object.hasOwn(value, key));
  if (missing !== undefined) throw factsError(`${field}.${missing}`, 'missing');
  return value as Record<string, unknown>;
}

function integer(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) throw factsError(field, `expected an integer in [0, ${max}]`);
  return value;
}

function boolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw factsError(field, 'expected true or false');
  return value;
}

function checksummed(value: unknown, field: string): string {
  let address: string | null = null;
  try {
    address = typeof value === 'string' && /^0x[0-9a-fA-F]{40}$/.test(value) ? getAddress(value) : null;
  } catch {
    address = null;
  }
  if (address === null || address !== value) throw factsError(field, 'expected an EIP-55 checksummed address');
  return address;
}

function displayText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || safeDisplayText(value, max) !== value) throw factsError(field, `expected 1–${max} characters without control or format characters`);
  return value;
}

function list<T>(value: unknown, field: string, max: number, item: (entry: unknown, field: string) => T): T[] {
  if (!Array.isArray(value) || value.length > max) throw factsError(field, `expected an array of at most ${max} entries`);
  return value.map((entry, index) => item(entry, `${field}[${index}]`));
}

function nullable<T>(value: unknown, read: (value: unknown) => T): T | null {
  return value === null ? null : read(value);
}

function simulation(value: unknown, field: string): Simulation {
  const outcome = (value as { outcome?: unknown } | null)?.outcome;
  if (outcome === 'success') {
    object(value, field, ['outcome']);
    return { outcome };
  }
  if (outcome !== 'revert' && outcome !== 'unavailable') throw factsError(`${field}.outcome`, 'expected success, revert or unavailable');
  const raw = object(value, field, ['outcome', 'reason']);
  return { outcome, reason: displayText(raw.reason, `${field}.reason`, MAX_REASON_CHARS) };
}

/** Checks wire-form facts strictly and returns them typed. */
export function decodePresignFacts(value: unknown, field = 'facts'): PresignFacts {
  const raw = object(value, field, KEYS);
  const currentChainId = integer(raw.currentChainId, `${field}.currentChainId`, MAX_SAFE_CHAIN_ID);
  if (currentChainId === 0) throw factsError(`${field}.currentChainId`, `expected an integer in [1, ${MAX_SAFE_CHAIN_ID}]`);
  return {
    currentChainId,
    block: nullable(raw.block, (block) => integer(block, `${field}.block`, Number.MAX_SAFE_INTEGER)),
    balance: nullable(raw.balance, (balance) => {
      if (typeof balance !== 'string' || !/^0x(?:0|[1-9a-f][0-9a-f]{0,63})$/.test(balance)) throw factsError(`${field}.balance`, 'expected a minimal lowercase 0x-hex quantity');
      return BigInt(balance);
    }),
    simulation: nullable(raw.simulation, (entry) => simulation(entry, `${field}.simulation`)),
    addresses: list(raw.addresses, `${field}.addresses`, MAX_ADDRESSES, (entry, path) => {
      const fact = object(entry, path, ['address', 'contract', 'interacted']);
      return { address: checksummed(fact.address, `${path}.address`), contract: boolean(fact.contract, `${path}.contract`), interacted: boolean(fact.interacted, `${path}.interacted`) };
    }),
    replaces: nullable(raw.replaces, (entry) => {
      const replacement = object(entry, `${field}.replaces`, ['action', 'hash']);
      if (replacement.action !== 'speed-up' && replacement.action !== 'cancel') throw factsError(`${field}.replaces.action`, 'expected speed-up or cancel');
      if (typeof replacement.hash !== 'string' || !/^0x[0-9a-f]{64}$/.test(replacement.hash)) throw factsError(`${field}.replaces.hash`, 'expected a lowercase 32-byte transaction hash');
      return { action: replacement.action, hash: replacement.hash };
    }),
  };
}

/** The wire form; checked by the decoder, so facts that could not be decoded are never sent. */
export function encodePresignFacts(facts: PresignFacts): PresignFactsJson {
  const json: PresignFactsJson = {
    currentChainId: facts.currentChainId,
    block: facts.block,
    balance: facts.balance === null ? null : `0x${facts.balance.toString(16)}`,
    simulation: facts.simulation === null ? null : facts.simulation.outcome === 'success' ? { outcome: 'success' } : { outcome: facts.simulation.outcome, reason: facts.simulation.reason },
    addresses: facts.addresses.map(({ address, contract, interacted }) => ({ address: getAddress(address), contract, interacted })),
    replaces: facts.replaces === null ? null : { action: facts.replaces.action, hash: facts.replaces.hash.toLowerCase() },
  };
  if (facts.balance !== null && (facts.balance < 0n || facts.balance > MAX_UINT256)) throw factsError('facts.balance', 'out of range');
  decodePresignFacts(json);
  return json;
}

/** What the facts say about `address`, if they name it. */
export function addressFacts(facts: PresignFacts, address: string): AddressFacts | undefined {
  const wanted = getAddress(address);
  return facts.addresses.find((entry) => entry.address === wanted);
}
