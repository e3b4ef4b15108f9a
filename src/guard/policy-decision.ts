/**
 * The policy decision, pure: a request's effect (request-effect.ts), the policy, and what was
 * spent in the last 24 hours in each scope → sign, ask for the second factor, delay, or refuse,
 * with the reasons and the charges to record if it signs.
 *
 *   1. An unlimited allowance to a party not on the allow-list → refuse (no code or delay helps).
 *   2. Above a limit (per transaction, or over 24 hours per account, chain and token) → delay;
 *      a request whose delay ended signs whatever the limits and allow-list say (the delay was its way).
 *   3. A destination not on the allow-list, a deployment, or a message when the policy says so →
 *      the second factor (or the delay, if the user prefers).
 *   4. Otherwise → sign.
 *
 * The caller evaluates and records the charges in one database transaction, holding the wallet's
 * row lock (guard-store.ts), so two racing requests never both pass one limit.
 */
import type { Decision, DecisionReason, LimitFigures } from './decision-reasons.ts';
import { chainLimit, isAllowed, tokenLimit, type Policy } from './policy.ts';
import type { RequestEffect } from './request-effect.ts';

export interface Charge {
  readonly scope: string;
  readonly amount: bigint;
}

export interface PolicyOutcome extends Decision {
  /** What a signature of this request counts against the limits (recorded only if it signs). */
  readonly charges: readonly Charge[];
}

export interface DecisionContext {
  /** The user entered a valid second-factor code for this request. */
  readonly secondFactor: boolean;
  /** The request waited out its delay (queued then, not cancelled). */
  readonly delayEnded: { readonly queuedAt: number } | null;
}

export const nativeScope = (chainId: number, account: number) => `native:${chainId}:${account}`;
export const tokenScope = (chainId: number, token: string, account: number) => `token:${chainId}:${token}:${account}`;

/** The token spends of an effect, one per token. */
function tokenTotals(effect: RequestEffect): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const spend of effect.tokens) totals.set(spend.token, (totals.get(spend.token) ?? 0n) + spend.amount);
  return totals;
}

/** The scopes an effect charges: what the caller must sum (and lock) before deciding. */
export function chargedScopes(effect: RequestEffect): string[] {
  return [...(effect.kind === 'transaction' ? [nativeScope(effect.chainId, effect.account)] : []), ...[...tokenTotals(effect).keys()].map((token) => tokenScope(effect.chainId, token, effect.account))];
}

export function decide(policy: Policy, effect: RequestEffect, spent: ReadonlyMap<string, bigint>, context: DecisionContext): PolicyOutcome {
  const { chainId, account } = effect;
  const refused = effect.unlimited.filter((party) => !isAllowed(policy, chainId, party.address));
  if (refused.length > 0) {
    return { verdict: 'refuse', reasons: refused.map((party) => ({ code: 'unlimited_approval_refused', address: party.address, role: party.role })), charges: [] };
  }

  const reasons: DecisionReason[] = [];
  const charges: Charge[] = [];
  let overLimit = false;
  const weigh = (scope: string, limit: bigint, amount: bigint, token?: string) => {
    const before = spent.get(scope) ?? 0n;
    const figures: LimitFigures = { chainId, account, ...(token ? { token } : {}), limit: limit.toString(), spent: before.toString(), amount: amount.toString() };
    const over = before + amount > limit;
    overLimit ||= over;
    reasons.push({ code: over ? 'over_daily_limit' : 'within_limit', ...figures });
    charges.push({ scope, amount });
  };
  if (effect.kind === 'transaction') {
    const cap = chainLimit(policy.perTransaction, chainId);
    if (effect.native > cap) {
      overLimit = true;
      reasons.push({ code: 'over_transaction_cap', chainId, cap: cap.toString(), amount: effect.native.toString() });
    }
    weigh(nativeScope(chainId, account), chainLimit(policy.dailyNative, chainId), effect.native);
  }
  for (const [token, amount] of tokenTotals(effect)) weigh(tokenScope(chainId, token, account), tokenLimit(policy, chainId, token), amount, token);

  let needsCode = false;
  for (const destination of effect.destinations) {
    const allowed = isAllowed(policy, chainId, destination.address);
    needsCode ||= !allowed;
    reasons.push({ code: allowed ? 'destination_allowed' : 'destination_not_allowed', address: destination.address, role: destination.role });
  }
  if (effect.deploy) {
    needsCode = true;
    reasons.push({ code: 'deployment' });
  }
  if (effect.kind === 'message' && policy.messages === 'second_factor') {
    needsCode = true;
    reasons.push({ code: 'message_needs_code' });
  }

  if (context.delayEnded) return { verdict: 'sign', reasons: [...reasons, { code: 'delay_ended', queuedAt: context.delayEnded.queuedAt }], charges };
  if (overLimit) return { verdict: 'delay', reasons, charges };
  if (needsCode && !context.secondFactor) return { verdict: 'second_factor', reasons, charges };
  return { verdict: 'sign', reasons: needsCode ? [...reasons, { code: 'second_factor_accepted' }] : reasons, charges };
}
