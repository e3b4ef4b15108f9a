/**
 * The Guard's policy as the extension's editor holds it: text fields the user types (amounts in
 * ETH, hours, chains, allow-list entries), and the exact conversion to a `Policy` (policy.ts) with
 * a typed error naming the field at fault. ETH becomes wei by decimal arithmetic on the digits —
 * never through a float — so "0.1" is exactly 10^17 wei; more than 18 decimals is refused rather
 * than rounded. Token limits are not edited here: they pass through from the policy the edit
 * started from.
 *
 *   form field          policy field       rule
 *   dailyEth[]          dailyNative        rows {chain, eth}; chain "*" (every chain not listed) must be present
 *   perTransactionEth[] perTransaction     the same
 *   allowList[]         allowList          {address, label, chain}; chain "" or "*" = every chain;
 *                                          a mixed-case address must carry a valid EIP-55 checksum
 *   messages            messages           "allow" | "second_factor"
 *   delayHours          delayHours         whole hours, at least 1
 *   recoveryHours       recoveryHours      whole hours, at least 24
 */
import { formatEther, getAddress, isHexString } from 'ethers';
import { MAX_SAFE_CHAIN_ID } from '../wallet/chains.ts';
import { ANY_CHAIN, decodePolicy, encodePolicy, isAtLeastAsStrict, MIN_DELAY_HOURS, MIN_RECOVERY_HOURS, POLICY_VERSION, type AllowedDestination, type Policy } from './policy.ts';

export interface ChainAmountRow {
  /** "*" or a chain id in decimal. */
  readonly chain: string;
  readonly eth: string;
}

export interface AllowRow {
  readonly address: string;
  readonly label: string;
  /** "" or "*": every chain; else a chain id in decimal. */
  readonly chain: string;
}

export interface PolicyForm {
  readonly dailyEth: readonly ChainAmountRow[];
  readonly perTransactionEth: readonly ChainAmountRow[];
  readonly allowList: readonly AllowRow[];
  readonly messages: string;
  readonly delayHours: string;
  readonly recoveryHours: string;
}

export class PolicyFormError extends Error {
  /** The form field at fault, e.g. "allowList[1].address" or "dailyEth[0].eth". */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.name = 'PolicyFormError';
    this.field = field;
  }
}

const WEI_DECIMALS = 18;
const MAX_UINT256 = (1n << 256n) - 1n;
const MAX_HOURS = 24 * 90;
const MAX_LABEL = 64;
const MAX_ALLOW_LIST = 256;
const MAX_CHAINS = 64;

/** "1.5" ETH → 1500000000000000000n wei, exactly; a typed error for anything else. */
export function ethToWei(text: string, field: string): bigint {
  const value = text.trim();
  if (value === '') throw new PolicyFormError(field, 'Enter an amount of ETH.');
  if (value.startsWith('-')) throw new PolicyFormError(field, 'An amount cannot be negative.');
  const match = /^([0-9]+)(?:\.([0-9]+))?$/.exec(value);
  if (!match) throw new PolicyFormError(field, `"${value.slice(0, 32)}" is not an amount of ETH (digits and one decimal point).`);
  const fraction = match[2] ?? '';
  if (fraction.length > WEI_DECIMALS) throw new PolicyFormError(field, 'Too precise: at most 18 decimals (1 wei).');
  const wei = BigInt(match[1] as string) * 10n ** BigInt(WEI_DECIMALS) + BigInt(fraction.padEnd(WEI_DECIMALS, '0') || '0');
  if (wei > MAX_UINT256) throw new PolicyFormError(field, 'Too large an amount.');
  return wei;
}

/** Wei → the shortest exact ETH text ("1", "0.1"). */
export function weiToEth(wei: bigint): string {
  const text = formatEther(wei);
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}

function chainId(text: string, field: string): number {
  const value = text.trim();
  if (!/^[1-9][0-9]{0,15}$/.test(value) || Number(value) > MAX_SAFE_CHAIN_ID) throw new PolicyFormError(field, `"${value.slice(0, 32)}" is not a chain id (a whole number such as 1).`);
  return Number(value);
}

function chainTable(rows: readonly ChainAmountRow[], field: string): Record<string, bigint> {
  if (rows.length > MAX_CHAINS) throw new PolicyFormError(field, `At most ${MAX_CHAINS} chains.`);
  const table: Record<string, bigint> = {};
  rows.forEach((row, index) => {
    const key = row.chain.trim() === ANY_CHAIN ? ANY_CHAIN : String(chainId(row.chain, `${field}[${index}].chain`));
    if (Object.hasOwn(table, key)) throw new PolicyFormError(`${field}[${index}].chain`, key === ANY_CHAIN ? 'Other chains are listed twice.' : `Chain ${key} is listed twice.`);
    table[key] = ethToWei(row.eth, `${field}[${index}].eth`);
  });
  if (!Object.hasOwn(table, ANY_CHAIN)) throw new PolicyFormError(field, 'The limit for other chains ("*") is missing.');
  return table;
}

/** An address as typed: 0x and 40 hex digits; mixed case must be its EIP-55 checksum. */
export function checkedAddress(text: string, field: string): string {
  const value = text.trim();
  if (!isHexString(value, 20)) throw new PolicyFormError(field, 'Not an address (0x and 40 hexadecimal digits).');
  const digits = value.slice(2);
  const mixedCase = digits !== digits.toLowerCase() && digits !== digits.toUpperCase();
  const checksummed = getAddress(value.toLowerCase());
  if (mixedCase && checksummed !== value) throw new PolicyFormError(field, 'The address checksum does not match (its upper and lower case letters): check for a typo.');
  return checksummed;
}

function allowList(rows: readonly AllowRow[], field: string): AllowedDestination[] {
  if (rows.length > MAX_ALLOW_LIST) throw new PolicyFormError(field, `At most ${MAX_ALLOW_LIST} destinations.`);
  const entries = rows.map((row, index) => {
    const label = row.label.trim();
    if (label.length > MAX_LABEL) throw new PolicyFormError(`${field}[${index}].label`, `A label has at most ${MAX_LABEL} characters.`);
    const chain = row.chain.trim();
    return { address: checkedAddress(row.address, `${field}[${index}].address`), chainId: chain === '' || chain === ANY_CHAIN ? null : chainId(chain, `${field}[${index}].chain`), label };
  });
  entries.forEach((entry, index) => {
    if (entries.findIndex((other) => other.address === entry.address && other.chainId === entry.chainId) !== index) throw new PolicyFormError(`${field}[${index}].address`, 'This destination is listed twice.');
  });
  return entries;
}

function hours(text: string, field: string, min: number): number {
  const value = text.trim();
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < min || Number(value) > MAX_HOURS) throw new PolicyFormError(field, `Enter whole hours from ${min} to ${MAX_HOURS}.`);
  return Number(value);
}

/** The form as a policy; `base` gives what the form does not edit (token limits). */
export function policyFromForm(form: PolicyForm, base: Policy): Policy {
  if (form.messages !== 'allow' && form.messages !== 'second_factor') throw new PolicyFormError('messages', 'Choose whether messages need your code.');
  const policy: Policy = {
    version: POLICY_VERSION,
    dailyNative: chainTable(form.dailyEth, 'dailyEth'),
    perTransaction: chainTable(form.perTransactionEth, 'perTransactionEth'),
    dailyToken: base.dailyToken,
    allowList: allowList(form.allowList, 'allowList'),
    messages: form.messages,
    delayHours: hours(form.delayHours, 'delayHours', MIN_DELAY_HOURS),
    recoveryHours: hours(form.recoveryHours, 'recoveryHours', MIN_RECOVERY_HOURS),
  };
  // What the Guard will check, checked here too: a form this module accepts is a policy it accepts.
  return decodePolicy(encodePolicy(policy));
}

const rows = (table: Readonly<Record<string, bigint>>): ChainAmountRow[] =>
  Object.entries(table)
    .sort(([a], [b]) => (a === ANY_CHAIN ? -1 : b === ANY_CHAIN ? 1 : Number(a) - Number(b)))
    .map(([chain, wei]) => ({ chain, eth: weiToEth(wei) }));

export function formFromPolicy(policy: Policy): PolicyForm {
  return {
    dailyEth: rows(policy.dailyNative),
    perTransactionEth: rows(policy.perTransaction),
    allowList: policy.allowList.map((entry) => ({ address: entry.address, label: entry.label, chain: entry.chainId === null ? ANY_CHAIN : String(entry.chainId) })),
    messages: policy.messages,
    delayHours: String(policy.delayHours),
    recoveryHours: String(policy.recoveryHours),
  };
}

/** A policy form from the popup, as plain data: the shape checked before anything reads it. */
export function parsePolicyForm(value: unknown): PolicyForm {
  const object = (candidate: unknown, field: string): Record<string, unknown> => {
    if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) throw new PolicyFormError(field, 'Malformed form.');
    return candidate as Record<string, unknown>;
  };
  const text = (candidate: unknown, field: string): string => {
    if (typeof candidate !== 'string' || candidate.length > 256) throw new PolicyFormError(field, 'Malformed form.');
    return candidate;
  };
  const list = <T>(candidate: unknown, field: string, item: (entry: Record<string, unknown>, itemField: string) => T): T[] => {
    if (!Array.isArray(candidate) || candidate.length > MAX_ALLOW_LIST + 1) throw new PolicyFormError(field, 'Malformed form.');
    return candidate.map((entry, index) => item(object(entry, `${field}[${index}]`), `${field}[${index}]`));
  };
  const form = object(value, 'form');
  const amountRow = (entry: Record<string, unknown>, field: string) => ({ chain: text(entry.chain, `${field}.chain`), eth: text(entry.eth, `${field}.eth`) });
  return {
    dailyEth: list(form.dailyEth, 'dailyEth', amountRow),
    perTransactionEth: list(form.perTransactionEth, 'perTransactionEth', amountRow),
    allowList: list(form.allowList, 'allowList', (entry, field) => ({ address: text(entry.address, `${field}.address`), label: text(entry.label, `${field}.label`), chain: text(entry.chain, `${field}.chain`) })),
    messages: text(form.messages, 'messages'),
    delayHours: text(form.delayHours, 'delayHours'),
    recoveryHours: text(form.recoveryHours, 'recoveryHours'),
  };
}

/** Whether saving `next` over the Guard's `current` policy tightens (applies at once) or loosens (the code, then the delay). */
export function changeKind(next: Policy, current: Policy): 'tightens' | 'loosens' {
  return isAtLeastAsStrict(next, current) ? 'tightens' : 'loosens';
}
