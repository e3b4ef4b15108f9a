/**
 * The Guard's own messages, inside the same encrypted channel as the signing protocol
 * (src/session/messages.ts: sign-request, sign, sign-result, sign-failed, sign-reject,
 * sign-cancel) and the reshare messages (src/session/reshare-participant.ts). A device asks with
 * an operation and a request id of its choice; the Guard answers once, and pushes events:
 *
 *   device → Guard  {t:"guard", rid, op, …}
 *   Guard → device  {t:"guard-reply", rid, ok:true, result} | {t:"guard-reply", rid, ok:false, error:{code, message, reasons?}}
 *   Guard → device  {t:"guard-event", event}
 *
 *   op              fields                 result
 *   status          —                      GuardStatus
 *   totp-setup      —                      {uri}        (until the first code is confirmed)
 *   totp-confirm    code                   {}
 *   device-code     —                      {code, expiresAt}   a one-time code linking another device
 *   code            id, code               {}           the second factor for a waiting request
 *   delay           id                     {until}      wait out the delay instead of the code
 *   queue           —                      {items}      delayed requests, pending policy changes, recoveries
 *   cancel          item, code?            {}           any device of the wallet; see docs/guard.md
 *   policy          —                      {policy, pending}
 *   policy-set      policy, code?          {applied:"now"} | {applied:"after-delay", effectiveAt}
 *   recovery-open   members, dealers, code {id, readyAt}
 *   audit           limit?                 {entries}
 *
 *   event kinds     linked (the Guard stored this device's link) · totp-setup {uri} · decision {id, verdict, reasons, until?} · queue {items} ·
 *                   policy {policy, pending} · recovery {items} · reshare-failed {message} · taint {notice}
 *
 * During enrolment, before the SAS is confirmed, each side sends {t:"guard-enrol-proof", proof}
 * as an early message (enrolment-code.ts).
 */
import type { Decision } from './decision-reasons.ts';

export const GUARD_OPS = ['status', 'totp-setup', 'totp-confirm', 'device-code', 'code', 'delay', 'queue', 'cancel', 'policy', 'policy-set', 'recovery-open', 'audit'] as const;
export type GuardOp = (typeof GUARD_OPS)[number];

/** Largest message a device may send the Guard (a signing request with 128 KiB of calldata fits). */
export const MAX_MESSAGE_CHARS = 300_000;
/** Largest Guard operation (a policy with every list full fits). */
export const MAX_OP_CHARS = 64_000;
const MAX_RID = 64;

export type GuardRequest =
  | { readonly op: 'status' | 'totp-setup' | 'device-code' | 'queue' | 'policy' }
  | { readonly op: 'totp-confirm'; readonly code: string }
  | { readonly op: 'code'; readonly id: string; readonly code: string }
  | { readonly op: 'delay'; readonly id: string }
  | { readonly op: 'cancel'; readonly item: string; readonly code?: string }
  | { readonly op: 'policy-set'; readonly policy: unknown; readonly code?: string }
  | { readonly op: 'recovery-open'; readonly members: unknown; readonly dealers: unknown; readonly code: string }
  | { readonly op: 'audit'; readonly limit?: number };

export interface GuardOpMessage {
  readonly t: 'guard';
  readonly rid: string;
  readonly request: GuardRequest;
}

export type GuardErrorCode =
  | 'bad_message'
  | 'too_large'
  | 'rate_limited'
  | 'unknown_wallet'
  | 'not_enrolled'
  | 'unknown_item'
  | 'wrong_code'
  | 'code_locked'
  | 'code_required'
  | 'bad_policy'
  | 'bad_recovery'
  | 'not_allowed';

export interface GuardError {
  readonly code: GuardErrorCode;
  readonly message: string;
  readonly reasons?: Decision['reasons'];
}

export type GuardReply = { readonly t: 'guard-reply'; readonly rid: string; readonly ok: true; readonly result: unknown } | { readonly t: 'guard-reply'; readonly rid: string; readonly ok: false; readonly error: GuardError };

export interface QueueItem {
  /** "request:<id>", "policy:<id>" or "recovery:<id>": what `cancel` takes. */
  readonly item: string;
  readonly kind: 'request' | 'policy' | 'recovery';
  /** When it was queued or opened, and when it may go ahead (Unix ms). */
  readonly queuedAt: number;
  readonly until: number;
  /** The frozen request (request), the policy (policy), the new members and dealers (recovery). */
  readonly detail: unknown;
}

/** The latest time a JavaScript Date holds (ECMA-262 §21.4.1.1): a time past it cannot be shown. */
const LAST_DATE_MS = 8.64e15;

/** A time in Unix ms a device can show. */
export function isShowableTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= LAST_DATE_MS;
}

const QUEUE_KINDS: readonly QueueItem['kind'][] = ['request', 'policy', 'recovery'];
const MAX_ITEM_NAME = 200;

/**
 * The Guard's queue as a device takes it (a `queue` event or answer): a list of items, each named
 * by its kind, with showable times; anything else is null and the device keeps what it had. The
 * detail is left to the words (queue-words.ts), which take whatever it holds.
 */
export function decodeQueueItems(value: unknown): QueueItem[] | null {
  if (!Array.isArray(value)) return null;
  const items: QueueItem[] = [];
  for (const entry of value as unknown[]) {
    if (typeof entry !== 'object' || entry === null) return null;
    const { item, kind, queuedAt, until, detail } = entry as Record<string, unknown>;
    if (typeof kind !== 'string' || !QUEUE_KINDS.includes(kind as QueueItem['kind'])) return null;
    if (typeof item !== 'string' || item.length > MAX_ITEM_NAME || !item.startsWith(`${kind}:`) || item.length === kind.length + 1) return null;
    if (!isShowableTime(queuedAt) || !isShowableTime(until)) return null;
    items.push({ item, kind: kind as QueueItem['kind'], queuedAt, until, detail });
  }
  return items;
}

export type GuardEvent =
  | { readonly kind: 'linked' }
  | { readonly kind: 'totp-setup'; readonly uri: string }
  | { readonly kind: 'decision'; readonly id: string; readonly verdict: Decision['verdict']; readonly reasons: Decision['reasons']; readonly until?: number }
  | { readonly kind: 'queue'; readonly items: readonly QueueItem[] }
  | { readonly kind: 'policy'; readonly policy: unknown; readonly pending: unknown }
  | { readonly kind: 'reshare-failed'; readonly message: string }
  | { readonly kind: 'taint'; readonly notice: unknown };

export interface GuardStatus {
  readonly enrolled: boolean;
  readonly member: boolean;
  readonly removed: boolean;
  /** The Guard's identity key for this wallet (hex): its member key. */
  readonly identityKey: string;
  readonly epoch: number | null;
  readonly memberIndex: number | null;
  /** The Guard's clock (Unix ms): its security periods and request ages are measured by it. */
  readonly now: number;
}

export class GuardMessageError extends Error {
  readonly code: GuardErrorCode;

  constructor(code: GuardErrorCode, message: string) {
    super(message);
    this.name = 'GuardMessageError';
    this.code = code;
  }
}

type Json = Record<string, unknown>;
const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;

function fields(message: Json, allowed: readonly string[], required: readonly string[]): void {
  const extra = Object.keys(message).find((key) => !['t', 'rid', 'op', ...allowed].includes(key));
  if (extra !== undefined) throw new GuardMessageError('bad_message', `unexpected field ${extra}`);
  const missing = required.find((key) => message[key] === undefined);
  if (missing !== undefined) throw new GuardMessageError('bad_message', `missing ${missing}`);
}

function text(message: Json, key: string, max: number): string {
  const value = message[key];
  if (!isText(value, max)) throw new GuardMessageError('bad_message', `${key} must be text of at most ${max} characters`);
  return value;
}

/** A {t:"guard"} message with exactly its operation's fields; throws GuardMessageError otherwise. */
export function parseGuardOp(value: Json): GuardOpMessage {
  const rid = value.rid;
  if (!isText(rid, MAX_RID)) throw new GuardMessageError('bad_message', 'rid must be text of at most 64 characters');
  const op = value.op;
  if (typeof op !== 'string' || !(GUARD_OPS as readonly string[]).includes(op)) throw new GuardMessageError('bad_message', `unknown operation ${String(op)}`);
  const request = ((): GuardRequest => {
    switch (op as GuardOp) {
      case 'status':
      case 'totp-setup':
      case 'device-code':
      case 'queue':
      case 'policy':
        fields(value, [], []);
        return { op: op as 'status' };
      case 'totp-confirm':
        fields(value, ['code'], ['code']);
        return { op: 'totp-confirm', code: text(value, 'code', 16) };
      case 'code':
        fields(value, ['id', 'code'], ['id', 'code']);
        return { op: 'code', id: text(value, 'id', 64), code: text(value, 'code', 16) };
      case 'delay':
        fields(value, ['id'], ['id']);
        return { op: 'delay', id: text(value, 'id', 64) };
      case 'cancel':
        fields(value, ['item', 'code'], ['item']);
        return { op: 'cancel', item: text(value, 'item', 128), ...(value.code !== undefined ? { code: text(value, 'code', 16) } : {}) };
      case 'policy-set':
        fields(value, ['policy', 'code'], ['policy']);
        return { op: 'policy-set', policy: value.policy, ...(value.code !== undefined ? { code: text(value, 'code', 16) } : {}) };
      case 'recovery-open':
        fields(value, ['members', 'dealers', 'code'], ['members', 'dealers', 'code']);
        return { op: 'recovery-open', members: value.members, dealers: value.dealers, code: text(value, 'code', 16) };
      case 'audit': {
        fields(value, ['limit'], []);
        const limit = value.limit;
        if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 500)) throw new GuardMessageError('bad_message', 'limit must be a whole number in [1, 500]');
        return { op: 'audit', ...(limit !== undefined ? { limit } : {}) };
      }
    }
  })();
  return { t: 'guard', rid, request };
}
