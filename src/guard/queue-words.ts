/**
 * What waits at the Guard (its delayed queue, guard-messages.ts QueueItem) in words, the same on
 * the phone and in the extension: a transfer's title with its amount, recipient and network (the
 * request decoded for display as both screens show it, src/wallet/decode.ts), a policy change with
 * what it changes, a recovery with its new member set; and when it becomes ready.
 */
import { displayModel } from '../wallet/decode.ts';
import { reviewedDisplay } from '../wallet/reviewed-display.ts';
import { decodeSigningRequest } from '../wallet/signing-request.ts';
import { describeTime, type DescribeOptions } from './decision-reasons.ts';
import { decodePolicy, type Policy } from './policy.ts';
import { describePolicyChange } from './policy-words.ts';

export interface QueueItemInWords {
  readonly title: string;
  readonly details: readonly string[];
  /** "Ready at 14:05 tomorrow". */
  readonly ready: string;
}

/**
 * The fields of a request that say what it moves, where, on which network: the ETH a call sends
 * beside its tokens (what the Guard counts), and the raw token units and the token's contract
 * beside the amount in the symbol and decimals the sending device supplied (which may lie).
 */
const KEY_FIELDS = [
  'Network',
  'To',
  'Amount',
  'Amount (raw units)',
  'Recipient',
  'Spender',
  'Allowance',
  'Allowance (raw units)',
  'Token contract',
  'Token',
  'From holder',
  'Approved address',
  'Access',
  'Collection',
  'Contract',
  'Operator',
  'Token ID',
  'Value',
  'ETH sent',
  'Max total',
];

function requestWords(detail: unknown): Pick<QueueItemInWords, 'title' | 'details'> {
  try {
    const request = decodeSigningRequest(detail);
    const display = reviewedDisplay(displayModel(request), request);
    const fields = display.fields.filter((field) => KEY_FIELDS.includes(field.label)).map((field) => `${field.label}: ${field.value}`);
    return { title: display.title, details: [...(display.alerts ?? []).map((alert) => `Alert: ${alert}`), ...fields, ...display.warnings.map((warning) => `Warning: ${warning}`)] };
  } catch {
    return { title: 'A signing request', details: [] };
  }
}

function policyWords(detail: unknown, current: Policy | null): Pick<QueueItemInWords, 'title' | 'details'> {
  try {
    return { title: 'A change of your Guard rules', details: current ? describePolicyChange(current, decodePolicy(detail)) : [] };
  } catch {
    return { title: 'A change of your Guard rules', details: [] };
  }
}

function recoveryWords(detail: unknown): Pick<QueueItemInWords, 'title' | 'details'> {
  const members = (detail as { members?: unknown } | null)?.members;
  return { title: 'A recovery of your wallet', details: Array.isArray(members) ? [`${members.length} devices after it, the Guard dealing`] : [] };
}

/** `current`: the Guard's policy now (for a policy change, what it changes). */
export function describeQueueItem(entry: { readonly kind: string; readonly detail: unknown; readonly until: number }, options: DescribeOptions, current: Policy | null = null): QueueItemInWords {
  const words = entry.kind === 'policy' ? policyWords(entry.detail, current) : entry.kind === 'recovery' ? recoveryWords(entry.detail) : requestWords(entry.detail);
  return { ...words, ready: `Ready at ${describeTime(entry.until, options)}` };
}
