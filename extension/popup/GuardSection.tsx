/**
 * The Duet Guard on the Devices page (docs/guard.md, "In the apps"): its rules in words with the
 * editor (src/guard/policy-form.ts converts and checks; the service worker checks again before
 * sending), the pending change with when it applies, and what waits at the Guard (its delayed
 * queue), each cancellable. Also the editor alone, for the enrolment's policy step.
 */
import { useState } from 'preact/hooks';
import type { GuardPanelView } from '../../src/background/guard-panel.ts';
import type { WalletView } from '../../src/background/wallet-service.ts';
import { changeKind, checkedAddress, policyFromForm, PolicyFormError, type ChainAmountRow, type PolicyForm } from '../../src/guard/policy-form.ts';
import { DEFAULT_POLICY } from '../../src/guard/policy.ts';
import { useAction } from '../ui/wallet-client.ts';

type Refresh = (view: WalletView) => void;

function AmountRows({ name, rows, onChange }: { name: string; rows: readonly ChainAmountRow[]; onChange(rows: ChainAmountRow[]): void }) {
  const set = (index: number, change: Partial<ChainAmountRow>) => onChange(rows.map((row, k) => (k === index ? { ...row, ...change } : row)));
  return (
    <>
      {rows.map((row, index) => (
        <div class="row" key={index}>
          {row.chain === '*' ? (
            <span class="muted small">{rows.length > 1 ? 'Other chains' : 'Every chain'}</span>
          ) : (
            <input data-testid={`${name}-${index}-chain`} value={row.chain} placeholder="Chain id" aria-label="Chain id" onInput={(event) => set(index, { chain: event.currentTarget.value })} />
          )}
          <input data-testid={`${name}-${index}-eth`} value={row.eth} inputMode="decimal" aria-label="ETH" onInput={(event) => set(index, { eth: event.currentTarget.value })} />
          <span class="muted small">ETH</span>
          {row.chain !== '*' && (
            <button class="secondary small" onClick={() => onChange(rows.filter((_, k) => k !== index))}>
              Remove
            </button>
          )}
        </div>
      ))}
      <button class="secondary small" data-testid={`${name}-add-chain`} onClick={() => onChange([...rows, { chain: '', eth: '' }])}>
        Add a limit for one chain
      </button>
    </>
  );
}

/**
 * The draft as a policy and what saving it does, or why it cannot be saved yet. Token limits are
 * not edited (both sides leave them out here); the service worker decides with the Guard's own.
 */
function draftOutcome(draft: PolicyForm, current: PolicyForm | null, member: boolean): { kind: 'tightens' | 'loosens' | null; problem: string | null } {
  try {
    const next = policyFromForm(draft, DEFAULT_POLICY);
    return { kind: member && current ? changeKind(next, policyFromForm(current, DEFAULT_POLICY)) : 'tightens', problem: null };
  } catch (error) {
    return { kind: null, problem: error instanceof PolicyFormError ? error.message : 'This cannot be saved.' };
  }
}

export function PolicyEditor({ panel, refresh, onSaved }: { panel: GuardPanelView; refresh: Refresh; onSaved?(): void }) {
  const { error, busy, run } = useAction(refresh);
  const [draft, setDraft] = useState<PolicyForm>(panel.form as PolicyForm);
  const [address, setAddress] = useState('');
  const [label, setLabel] = useState('');
  const [chain, setChain] = useState('');
  const [addError, setAddError] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const edit = (change: Partial<PolicyForm>) => setDraft({ ...draft, ...change });
  const outcome = draftOutcome(draft, panel.current, panel.member);
  const addEntry = () => {
    try {
      checkedAddress(address, 'address');
      edit({ allowList: [...draft.allowList, { address: address.trim(), label, chain: chain.trim() }] });
      setAddress('');
      setLabel('');
      setChain('');
      setAddError(null);
    } catch (caught) {
      setAddError(caught instanceof PolicyFormError ? caught.message : 'Not an address.');
    }
  };
  return (
    <div class="stack" data-testid="guard-policy-editor">
      <strong>Daily limit</strong>
      <AmountRows name="guard-daily" rows={draft.dailyEth} onChange={(rows) => edit({ dailyEth: rows })} />
      <strong>Per transaction</strong>
      <AmountRows name="guard-per-tx" rows={draft.perTransactionEth} onChange={(rows) => edit({ perTransactionEth: rows })} />
      <strong>Allow-list (no code needed)</strong>
      <ul class="list" data-testid="guard-allow-list">
        {draft.allowList.map((entry, index) => (
          <li class="item" key={`${entry.address}/${entry.chain}`} data-testid="guard-allow-entry">
            <span class="small">
              {entry.label ? `${entry.label} — ` : ''}
              <span class="address">{entry.address}</span> · {entry.chain === '' || entry.chain === '*' ? 'every chain' : `chain ${entry.chain}`}
            </span>
            <button class="secondary small" data-testid="guard-allow-remove" onClick={() => edit({ allowList: draft.allowList.filter((_, k) => k !== index) })}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      <input data-testid="guard-allow-address" value={address} placeholder="0x… address" aria-label="Address to allow" onInput={(event) => setAddress(event.currentTarget.value)} />
      <div class="row">
        <input data-testid="guard-allow-label" value={label} placeholder="Label" aria-label="Label" onInput={(event) => setLabel(event.currentTarget.value)} />
        <input data-testid="guard-allow-chain" value={chain} placeholder="All chains, or a chain id" aria-label="Chain" onInput={(event) => setChain(event.currentTarget.value)} />
      </div>
      {addError && (
        <p class="error" data-testid="guard-allow-error">
          {addError}
        </p>
      )}
      <button class="secondary small" data-testid="guard-allow-add" onClick={addEntry}>
        Add to the allow-list
      </button>
      <label>
        Messages and sign-ins
        <select data-testid="guard-messages" value={draft.messages} onChange={(event) => edit({ messages: event.currentTarget.value })}>
          <option value="allow">Signed without a code</option>
          <option value="second_factor">Need my code</option>
        </select>
      </label>
      <div class="row">
        <label>
          Delay above a limit (hours)
          <input data-testid="guard-delay-hours" inputMode="numeric" value={draft.delayHours} onInput={(event) => edit({ delayHours: event.currentTarget.value })} />
        </label>
        <label>
          Recovery period (hours)
          <input data-testid="guard-recovery-hours" inputMode="numeric" value={draft.recoveryHours} onInput={(event) => edit({ recoveryHours: event.currentTarget.value })} />
        </label>
      </div>
      <p class="muted small" data-testid="guard-policy-outcome" data-kind={outcome.kind ?? 'invalid'}>
        {outcome.problem ??
          (!panel.member
            ? 'The Guard is not a member yet: these rules apply at once.'
            : outcome.kind === 'loosens'
              ? 'This loosens your rules: it needs your code and applies after the Guard\'s delay (the stricter part at once).'
              : 'This only tightens your rules: it applies at once.')}
      </p>
      {panel.member && outcome.kind === 'loosens' && (
        <input data-testid="guard-policy-code" inputMode="numeric" autocomplete="one-time-code" value={code} placeholder="Code from your authenticator app" aria-label="Code from your authenticator app" onInput={(event) => setCode(event.currentTarget.value)} />
      )}
      {error && (
        <p class="error" data-testid="guard-policy-error">
          {error}
        </p>
      )}
      <button
        data-testid="guard-policy-save"
        disabled={busy}
        onClick={() =>
          void run({ action: 'guard-policy-set', form: draft, ...(code.trim() ? { code: code.trim() } : {}) }).then((ok) => {
            if (!ok) return;
            setCode('');
            onSaved?.();
          })
        }
      >
        Save the rules
      </button>
    </div>
  );
}

/** The rules in words, the pending change, and the editor. */
export function GuardRules({ panel, refresh, editing }: { panel: GuardPanelView; refresh: Refresh; editing: boolean }) {
  const { error, busy, run } = useAction(refresh);
  const [open, setOpen] = useState(editing);
  const rules = panel.rules;
  return (
    <section class="card stack" data-testid="guard-rules">
      <h3>Your Guard's rules</h3>
      {!rules ? (
        <p class="lede">Asking the Guard for its rules…</p>
      ) : (
        <ul class="small" data-testid="guard-rules-words">
          {[rules.daily, rules.perTransaction, ...rules.tokens, ...rules.allowList, rules.messages, rules.delay, rules.recovery].map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
      {panel.pending && (
        <div class="notice stack" data-testid="guard-policy-pending">
          <strong>A change waits: {panel.pending.ready}</strong>
          <ul class="small">
            {panel.pending.changes.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          <button class="secondary small" data-testid="guard-policy-pending-cancel" disabled={busy} onClick={() => void run({ action: 'guard-queue-cancel', item: panel.pending?.item ?? '' })}>
            Cancel this change
          </button>
          {error && <p class="error">{error}</p>}
        </div>
      )}
      {panel.form &&
        (open ? (
          // A new starting form (the Guard's answer) starts a new draft.
          <PolicyEditor key={JSON.stringify(panel.form)} panel={panel} refresh={refresh} onSaved={() => setOpen(editing)} />
        ) : (
          <button class="secondary" data-testid="guard-policy-edit" onClick={() => setOpen(true)}>
            Change the rules
          </button>
        ))}
    </section>
  );
}

/**
 * What waits out a delay at the Guard; any device of the wallet may cancel it. A recovery that removes
 * this browser needs the authenticator's code as well (docs/guard.md, "Recovery"): typed once, sent
 * with the cancel.
 */
export function GuardQueue({ panel, refresh }: { panel: GuardPanelView; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [code, setCode] = useState('');
  if (panel.queue.length === 0) return null;
  return (
    <section class="card stack" data-testid="guard-waiting">
      <h3>Waiting at the Duet Guard</h3>
      <ul class="list">
        {panel.queue.map((entry) => (
          <li class="item" key={entry.item} data-testid="guard-waiting-item" data-kind={entry.kind}>
            <strong>{entry.title}</strong>
            {entry.details.map((line) => (
              <span class="small" key={line}>
                {line}
              </span>
            ))}
            <span class="muted small">{entry.ready}</span>
            <button class="secondary small" data-testid="guard-waiting-cancel" disabled={busy} onClick={() => void run({ action: 'guard-queue-cancel', item: entry.item, ...(code.trim() ? { code: code.trim() } : {}) })}>
              Cancel
            </button>
          </li>
        ))}
      </ul>
      {panel.queue.some((entry) => entry.kind === 'recovery') && (
        <label class="small">
          Authenticator code (a recovery that removes this browser needs it to be cancelled)
          <input data-testid="guard-waiting-code" value={code} inputMode="numeric" autocomplete="one-time-code" onInput={(event) => setCode(event.currentTarget.value)} />
        </label>
      )}
      {error && <p class="error">{error}</p>}
    </section>
  );
}

/** The Guard section of the Devices page, once the Guard is a member. */
export function GuardSection({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const panel = view.guardPanel;
  if (!panel?.member) return null;
  return (
    <div class="stack" data-testid="guard-section">
      <GuardQueue panel={panel} refresh={refresh} />
      <GuardRules panel={panel} refresh={refresh} editing={false} />
    </div>
  );
}
