/**
 * The Guard section of the Devices page (docs/guard.md, "In the apps"): the Guard's rules in words
 * and as the editor's starting form, its pending change with when it applies, its delayed queue
 * in words; and saving an edit. While the Guard is still joining it applies any policy at once;
 * once it is a member, an edit that loosens the rules (policy-form.ts `changeKind`, the Guard's own
 * order) needs the authenticator's code — asked before sending — and waits the Guard's delay.
 */
import { describeTime } from '../guard/decision-reasons.ts';
import { GuardRequestError } from '../guard/guard-client.ts';
import { changeKind, formFromPolicy, parsePolicyForm, policyFromForm, PolicyFormError, type PolicyForm } from '../guard/policy-form.ts';
import { describePolicy, describePolicyChange, type PolicyInWords } from '../guard/policy-words.ts';
import { describeQueueItem } from '../guard/queue-words.ts';
import type { GuardDriver, GuardPanel } from './pairing.ts';
import { WalletActionError } from './wallet-action-error.ts';

export interface GuardQueueEntryView {
  readonly item: string;
  readonly kind: string;
  readonly title: string;
  readonly details: readonly string[];
  readonly ready: string;
  readonly until: number;
}

export interface GuardPanelView {
  readonly member: boolean;
  /** Null until the Guard answered with its policy. */
  readonly rules: PolicyInWords | null;
  /** The policy in force as a form (what the editor compares a draft with). */
  readonly current: PolicyForm | null;
  /** Where an edit starts: the pending change if there is one (saving replaces it), else the policy. */
  readonly form: PolicyForm | null;
  readonly pending: { readonly item: string; readonly ready: string; readonly changes: readonly string[] } | null;
  readonly queue: readonly GuardQueueEntryView[];
}

export function guardPanelView(panel: GuardPanel, now: number): GuardPanelView {
  const state = panel.policy;
  const pending = state?.pending ?? null;
  return {
    member: panel.member,
    rules: state ? describePolicy(state.policy) : null,
    current: state ? formFromPolicy(state.policy) : null,
    form: state ? formFromPolicy(pending?.policy ?? state.policy) : null,
    pending: state && pending ? { item: `policy:${pending.id}`, ready: `Applies at ${describeTime(pending.effectiveAt, { now })}`, changes: describePolicyChange(state.policy, pending.policy) } : null,
    queue: panel.queue.map((entry) => ({ item: entry.item, kind: entry.kind, until: entry.until, ...describeQueueItem(entry, { now }, state?.policy ?? null) })),
  };
}

const CODE_NEEDED = 'This change loosens your rules: enter the code from your authenticator app. It applies after the Guard\'s delay.';

/** Saves the editor's form (checked here: a typed error names the field) as the Guard's new policy. */
export async function saveGuardPolicy(guard: GuardDriver, rawForm: unknown, code: string | undefined): Promise<void> {
  const panel = guard.panel();
  if (!panel?.policy) throw new WalletActionError('not_paired', 'The Guard\'s rules are not loaded yet: try again in a moment.');
  let policy;
  try {
    policy = policyFromForm(parsePolicyForm(rawForm), panel.policy.pending?.policy ?? panel.policy.policy);
  } catch (error) {
    if (error instanceof PolicyFormError) throw new WalletActionError('invalid_input', error.message, error.field);
    throw error;
  }
  const typed = code?.trim() ? code.trim() : undefined;
  if (panel.member && !typed && changeKind(policy, panel.policy.policy) === 'loosens') throw new WalletActionError('invalid_input', CODE_NEEDED, 'code');
  try {
    await guard.setPolicy(policy, typed);
  } catch (error) {
    // The Guard's own order decides: it may find a loosening this device's copy of the policy did not.
    if (error instanceof GuardRequestError && error.code === 'code_required') throw new WalletActionError('invalid_input', CODE_NEEDED, 'code');
    throw error;
  }
}
