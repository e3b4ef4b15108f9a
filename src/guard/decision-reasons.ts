/**
 * Why the Guard decided what it did, machine-readable: every decision carries a list of reasons,
 * each a `code` with the figures behind it (amounts as decimal strings in wei or raw token units,
 * times as Unix ms). Devices show them with `describeReason`, in the user's time zone:
 *
 *   within_limit              "Within today's limit: 0.3 of 1 ETH left"
 *   delayed_until             "Waiting until 14:05 tomorrow"
 *   destination_not_allowed   "0x70997…79C8 is not on your allow-list — enter your code"
 *
 * The codes are part of the Guard's protocol (docs/guard.md, "Decision reasons"): new codes may be
 * added; a device shows `fallbackText` for a code it does not know.
 */
import { presetNetwork } from '../wallet/chains.ts';
import { weiToEth } from './policy-form.ts';
import { isShowableTime } from './guard-messages.ts';

export type Verdict = 'sign' | 'second_factor' | 'delay' | 'refuse';

/** A limited amount: `limit` over any 24 hours, `spent` before this request, `amount` of this one. */
export interface LimitFigures {
  readonly chainId: number;
  readonly account: number;
  /** Absent for the native currency. */
  readonly token?: string;
  readonly limit: string;
  readonly spent: string;
  readonly amount: string;
}

export type DecisionReason =
  | ({ readonly code: 'within_limit' } & LimitFigures)
  | ({ readonly code: 'over_daily_limit' } & LimitFigures)
  | { readonly code: 'over_transaction_cap'; readonly chainId: number; readonly cap: string; readonly amount: string }
  | { readonly code: 'destination_allowed'; readonly address: string; readonly role: string }
  | { readonly code: 'destination_not_allowed'; readonly address: string; readonly role: string }
  | { readonly code: 'deployment' }
  | { readonly code: 'message_needs_code' }
  | { readonly code: 'unlimited_approval_refused'; readonly address: string; readonly role: string }
  | { readonly code: 'second_factor_accepted' }
  | { readonly code: 'delay_ended'; readonly queuedAt: number }
  | { readonly code: 'delayed_until'; readonly until: number }
  | { readonly code: 'cancelled' }
  | { readonly code: 'wrong_code'; readonly attemptsLeft: number }
  | { readonly code: 'code_locked'; readonly until: number }
  | { readonly code: 'rate_limited' }
  | { readonly code: 'replayed_request' }
  | { readonly code: 'stale_request' }
  | { readonly code: 'unknown_wallet' }
  | { readonly code: 'pair_tainted' }
  | { readonly code: 'bad_request'; readonly detail: string };

export type ReasonCode = DecisionReason['code'];

export interface Decision {
  readonly verdict: Verdict;
  readonly reasons: readonly DecisionReason[];
}

export interface DescribeOptions {
  /** "Now", to say today / tomorrow. */
  readonly now: number;
  /** IANA time zone of the user (default: the device's). */
  readonly timeZone?: string;
  readonly locale?: string;
}

export const short = (address: string) => `${address.slice(0, 7)}…${address.slice(-4)}`;

function nativeSymbol(chainId: number): string {
  return presetNetwork(chainId)?.symbol ?? 'native currency';
}

function limitAmount(figures: LimitFigures, value: bigint): string {
  return figures.token === undefined ? `${weiToEth(value)} ${nativeSymbol(figures.chainId)}` : `${value.toString()} units of token ${short(figures.token)}`;
}

function dayOffset(at: number, now: number, timeZone: string | undefined): number {
  const day = (time: number) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(time);
  return Math.round((Date.parse(day(at)) - Date.parse(day(now))) / 86_400_000);
}

/** "14:05 today", "14:05 tomorrow", or "14:05 on Mon 7 Dec" ("an unknown time" for one no date holds). */
export function describeTime(at: number, options: DescribeOptions): string {
  if (!isShowableTime(at) || !isShowableTime(options.now)) return 'an unknown time';
  const time = new Intl.DateTimeFormat(options.locale ?? 'en-GB', { timeZone: options.timeZone, hour: '2-digit', minute: '2-digit', hour12: false }).format(at);
  const offset = dayOffset(at, options.now, options.timeZone);
  if (offset === 0) return `${time} today`;
  if (offset === 1) return `${time} tomorrow`;
  return `${time} on ${new Intl.DateTimeFormat(options.locale ?? 'en-GB', { timeZone: options.timeZone, weekday: 'short', day: 'numeric', month: 'short' }).format(at)}`;
}

export function describeReason(reason: DecisionReason, options: DescribeOptions): string {
  switch (reason.code) {
    case 'within_limit': {
      const left = BigInt(reason.limit) - BigInt(reason.spent) - BigInt(reason.amount);
      return `Within today's limit: ${limitAmount(reason, left)} of ${limitAmount(reason, BigInt(reason.limit))} left`;
    }
    case 'over_daily_limit':
      return BigInt(reason.limit) === 0n && reason.token !== undefined
        ? `Token ${short(reason.token)} has no daily limit on this Guard: it waits the delay`
        : `Above today's limit: ${limitAmount(reason, BigInt(reason.amount))} asked, ${limitAmount(reason, BigInt(reason.limit) - BigInt(reason.spent) > 0n ? BigInt(reason.limit) - BigInt(reason.spent) : 0n)} left of ${limitAmount(reason, BigInt(reason.limit))}`;
    case 'over_transaction_cap':
      return `Above the limit per transaction: ${weiToEth(BigInt(reason.amount))} of at most ${weiToEth(BigInt(reason.cap))} ${nativeSymbol(reason.chainId)}`;
    case 'destination_allowed':
      return `${short(reason.address)} is on your allow-list`;
    case 'destination_not_allowed':
      return `Destination not on your allow-list — enter your code (${short(reason.address)})`;
    case 'deployment':
      return 'Deploying a contract — enter your code';
    case 'message_needs_code':
      return 'Signing messages needs your code on this Guard';
    case 'unlimited_approval_refused':
      return `Unlimited approval refused: ${short(reason.address)} is not on your allow-list`;
    case 'second_factor_accepted':
      return 'Code accepted';
    case 'delay_ended':
      return 'The waiting period is over';
    case 'delayed_until':
      return `Waiting until ${describeTime(reason.until, options)}`;
    case 'cancelled':
      return 'Cancelled';
    case 'wrong_code':
      return reason.attemptsLeft > 0 ? `Wrong code — ${reason.attemptsLeft} ${reason.attemptsLeft === 1 ? 'try' : 'tries'} left` : 'Wrong code';
    case 'code_locked':
      return `Too many wrong codes: try again after ${describeTime(reason.until, options)}`;
    case 'rate_limited':
      return 'Too many requests: try again in a minute';
    case 'replayed_request':
      return 'This request was already used';
    case 'stale_request':
      return 'This request is too old: start it again';
    case 'unknown_wallet':
      return 'The Guard is not a member of this wallet';
    case 'pair_tainted':
      return 'The Guard no longer co-signs with this device: a signature with it failed the check';
    case 'bad_request':
      return `The Guard cannot read this request (${reason.detail})`;
  }
}

/** For a reason whose code this device does not know. */
export function fallbackText(reason: { readonly code: string }): string {
  return `The Guard says: ${reason.code.replaceAll('_', ' ')}`;
}
