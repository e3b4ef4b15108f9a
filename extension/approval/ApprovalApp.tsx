/**
 * The approval window: one request at a time (oldest first), decoded, with Approve / Reject (and
 * "Reject all" when a site has several waiting); then "waiting for your phone" with the request's
 * code and a timeout the user can extend or cancel; then the result. When Duet is locked it asks
 * for the password first.
 *
 * Clicks are ignored for CLICK_GUARD_MS after a card appears or changes (another request, another
 * status, an edited request) and after the window gains focus, so a double click or a click aimed
 * at the card before never lands on the one that replaced it.
 */
import { formatUnits } from 'ethers';
import { useEffect, useState } from 'preact/hooks';
import type { ApprovalCard, ApprovalSummary } from '../../src/background/approval-view.ts';
import type { UiRequest } from '../../src/background/ui-messages.ts';
import type { WalletView } from '../../src/background/wallet-service.ts';
import { DisplayFields } from '../ui/DisplayFields.tsx';
import { formatCountdown, shortAddress } from '../ui/format.ts';
import { UnlockForm } from '../ui/UnlockForm.tsx';
import { useAction, useWalletView } from '../ui/wallet-client.ts';

type Refresh = (view: WalletView) => void;

/** How long clicks are ignored after the card changes or the window gains focus. */
const CLICK_GUARD_MS = 600;

const APPROVE_LABELS: Record<ApprovalCard['kind'], string> = {
  connect: 'Connect',
  'switch-chain': 'Switch network',
  'add-chain': 'Add network',
  'watch-asset': 'Add',
  sign: 'Approve',
};

function isOpen(card: ApprovalSummary): boolean {
  return card.status === 'awaiting-user' || card.status === 'co-signing';
}

/** True while clicks must be ignored: for CLICK_GUARD_MS after `key` changes or the window gains focus. */
function useClickGuard(key: string): boolean {
  const [settled, setSettled] = useState<string | null>(null);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      setSettled(null);
      clearTimeout(timer);
      timer = setTimeout(() => setSettled(key), CLICK_GUARD_MS);
    };
    arm();
    window.addEventListener('focus', arm);
    return () => {
      clearTimeout(timer);
      window.removeEventListener('focus', arm);
    };
  }, [key]);
  return settled !== key;
}

function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, []);
  return now;
}

function ConnectChoices({ card, selected, onChange }: { card: ApprovalCard; selected: readonly string[]; onChange: (next: string[]) => void }) {
  return (
    <fieldset class="choices">
      <legend>Accounts to share</legend>
      {(card.choices ?? []).map((choice) => (
        <label class="choice" key={choice.address}>
          <input
            type="checkbox"
            data-testid={`connect-account-${choice.index}`}
            checked={selected.includes(choice.address)}
            onChange={(e) => onChange(e.currentTarget.checked ? [...selected, choice.address] : selected.filter((address) => address !== choice.address))}
          />
          <span>
            {choice.name} <span class="muted">{shortAddress(choice.address)}</span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}

const gweiText = (wei: string) => formatUnits(BigInt(wei), 'gwei');

/** The fee, gas limit and nonce of a transaction, editable; saving replaces the request (and its code). */
function TransactionEditor({ card, refresh, guarded }: { card: ApprovalCard; refresh: Refresh; guarded: boolean }) {
  const tx = card.transaction;
  const { error, busy, run } = useAction(refresh);
  const [form, setForm] = useState(() => ({
    maxFeeGwei: tx ? gweiText(tx.maxFeePerGas) : '',
    priorityFeeGwei: tx ? gweiText(tx.maxPriorityFeePerGas) : '',
    gasLimit: tx?.gas ?? '',
    nonce: String(tx?.nonce ?? ''),
  }));
  if (!tx) return null;
  const { suggested } = tx;
  const field = (key: keyof typeof form, label: string, testId: string) => (
    <label>
      {label}
      <input data-testid={testId} inputMode="decimal" value={form[key]} onInput={(e) => setForm({ ...form, [key]: e.currentTarget.value })} />
    </label>
  );
  const useNetworkValues = () =>
    setForm({
      ...form,
      ...(suggested.maxFeePerGas !== null ? { maxFeeGwei: gweiText(suggested.maxFeePerGas) } : {}),
      ...(suggested.maxPriorityFeePerGas !== null ? { priorityFeeGwei: gweiText(suggested.maxPriorityFeePerGas) } : {}),
      ...(suggested.nonce !== null ? { nonce: String(suggested.nonce) } : {}),
    });
  return (
    <details class="card" data-testid="edit-transaction" open={card.display.warnings.some((warning) => /fee|Nonce/.test(warning))}>
      <summary>Edit fee, gas limit and nonce</summary>
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          const nonce = form.nonce.trim() === '' ? Number.NaN : Number(form.nonce);
          void run({ action: 'edit-transaction', id: card.id, maxFeeGwei: form.maxFeeGwei, priorityFeeGwei: form.priorityFeeGwei, gasLimit: form.gasLimit, nonce });
        }}
      >
        {field('maxFeeGwei', tx.type === 2 ? 'Max fee per gas (gwei)' : 'Gas price (gwei)', 'edit-max-fee')}
        {tx.type === 2 && field('priorityFeeGwei', 'Priority fee per gas (gwei)', 'edit-priority-fee')}
        {field('gasLimit', 'Gas limit', 'edit-gas-limit')}
        {field('nonce', 'Nonce', 'edit-nonce')}
        {error && (
          <p class="error" data-testid="edit-error">
            {error}
          </p>
        )}
        <div class="row actions">
          <button type="button" class="secondary small" data-testid="edit-use-network" disabled={busy} onClick={useNetworkValues}>
            Use the network's values
          </button>
          <button type="submit" class="small" data-testid="edit-save" disabled={busy || guarded}>
            Save
          </button>
        </div>
      </form>
    </details>
  );
}

function Decision({ card, refresh, guarded }: { card: ApprovalCard; refresh: Refresh; guarded: boolean }) {
  const { error, busy, run } = useAction(refresh);
  const idle = busy || guarded;
  const [selected, setSelected] = useState<string[]>(() => (card.choices ?? []).filter((choice) => choice.selected).map((choice) => choice.address));
  const decide = (approved: boolean) => void run({ action: 'decide', id: card.id, approved, ...(card.kind === 'connect' && approved ? { accounts: selected } : {}) });
  return (
    <div class="stack">
      {card.kind === 'connect' && <ConnectChoices card={card} selected={selected} onChange={setSelected} />}
      {card.kind === 'sign' && <p class="hint">After you approve here, approve the same request (code {card.code}) on your phone.</p>}
      {error && (
        <p class="error" data-testid="approval-error">
          {error}
        </p>
      )}
      <div class="row actions">
        <button class="secondary" data-testid="reject" disabled={idle} onClick={() => decide(false)}>
          Reject
        </button>
        <button data-testid="approve" disabled={idle || (card.kind === 'connect' && selected.length === 0)} onClick={() => decide(true)}>
          {APPROVE_LABELS[card.kind]}
        </button>
      </div>
      {card.siteWaiting > 1 && (
        <button class="secondary small" data-testid="reject-site" disabled={idle} onClick={() => void run({ action: 'reject-site', origin: card.origin })}>
          Reject all {card.siteWaiting} from this site (and pause it for a minute)
        </button>
      )}
    </div>
  );
}

/** "Ask another device": the other members this browser co-signs with, when the one asked is away. */
function OtherCoSigners({ card, view, run, idle }: { card: ApprovalCard; view: WalletView; run: (request: UiRequest) => Promise<boolean>; idle: boolean }) {
  const asked = card.via ?? view.state.defaultCoSigner;
  const others = (view.members?.members ?? []).filter((member) => member.coSigns && member.key !== asked && !member.suspect && !member.blocked);
  if (others.length === 0) return null;
  return (
    <div class="stack" data-testid="ask-another">
      <p class="muted">{view.phone.reachable ? 'Or ask another device:' : 'This device seems away. Ask another device:'}</p>
      {others.map((member) => (
        <button key={member.key} class="secondary" data-testid="ask-another-device" disabled={idle} onClick={() => void run({ action: 'cosign-with', id: card.id, key: member.key })}>
          Ask {member.name}
          {member.online ? '' : ' (offline)'}
        </button>
      ))}
    </div>
  );
}

/** The Duet Guard's decision on this request, in words; the authenticator app's code when it asks for it. */
function GuardVerdict({ card, view, refresh }: { card: ApprovalCard; view: WalletView; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [code, setCode] = useState('');
  const decision = view.guardDecision;
  if (!decision) return null;
  return (
    <section class="card stack" data-testid="guard-decision" data-verdict={decision.verdict}>
      <h3>Duet Guard</h3>
      <ul data-testid="guard-reasons">
        {decision.reasons.map((reason) => (
          <li key={reason}>{reason}</li>
        ))}
      </ul>
      {decision.verdict === 'second_factor' && (
        <div class="row">
          <input data-testid="guard-request-code" inputMode="numeric" autocomplete="one-time-code" value={code} onInput={(event) => setCode(event.currentTarget.value)} aria-label="Code from your authenticator app" />
          <button data-testid="guard-request-code-submit" disabled={busy} onClick={() => void run({ action: 'guard-request-code', id: card.id, code }).then(() => setCode(''))}>
            Send the code
          </button>
        </div>
      )}
      {error && (
        <p class="error" data-testid="guard-request-code-error">
          {error}
        </p>
      )}
    </section>
  );
}

function WaitingForPhone({ card, view, refresh, guarded }: { card: ApprovalCard; view: WalletView; refresh: Refresh; guarded: boolean }) {
  const { error, busy, run } = useAction(refresh);
  const idle = busy || guarded;
  const now = useNow();
  return (
    <div class="stack waiting" data-testid="waiting-for-phone">
      <div class="row">
        <div class="spinner small" aria-hidden="true" />
        <p data-testid="approval-status">Waiting for your phone… Approve the request with code {card.code} there.</p>
      </div>
      <p class={view.phone.reachable ? 'muted' : 'warning'} data-testid="phone-reachability">
        {view.phone.reachable
          ? 'Connected to the relay; your phone gets the request as soon as it is online.'
          : (view.phone.problem ?? 'The relay is offline: the request waits until your phone can be reached.')}
      </p>
      {view.phone.lastSeen !== null && (
        <p class="muted" data-testid="phone-last-seen">
          Last heard from your phone {formatCountdown(now - view.phone.lastSeen)} ago.
        </p>
      )}
      {card.deadline !== null && (
        <p class="muted" data-testid="approval-deadline">
          Duet stops waiting in {formatCountdown(card.deadline - now)}.
        </p>
      )}
      <GuardVerdict card={card} view={view} refresh={refresh} />
      <OtherCoSigners card={card} view={view} run={run} idle={idle} />
      {error && <p class="error">{error}</p>}
      <div class="row actions">
        <button class="secondary" data-testid="cancel-wait" disabled={idle} onClick={() => void run({ action: 'cancel-wait', id: card.id })}>
          Cancel
        </button>
        <button class="secondary" data-testid="extend-wait" disabled={idle} onClick={() => void run({ action: 'extend-wait', id: card.id })}>
          Wait 2 more minutes
        </button>
      </div>
    </div>
  );
}

function Request({ card, view, refresh }: { card: ApprovalCard; view: WalletView; refresh: Refresh }) {
  const waiting = view.approvals.filter(isOpen).length - (isOpen(card) ? 1 : 0);
  const guarded = useClickGuard(`${card.id}:${card.status}:${card.code ?? ''}`);
  return (
    <div class="stack" data-testid="approval-card" data-id={card.id} data-kind={card.kind} data-status={card.status} data-guarded={guarded}>
      <dl class="context">
        <div>
          <dt>Site</dt>
          <dd data-testid="approval-origin">{card.originLabel}</dd>
        </div>
        {card.embeddedIn && (
          <div>
            <dt>Embedded in</dt>
            <dd data-testid="approval-embedded-in">{card.embeddedIn}</dd>
          </div>
        )}
        <div>
          <dt>Network</dt>
          <dd data-testid="approval-network">{card.network}</dd>
        </div>
        {card.account && (
          <div>
            <dt>Account</dt>
            <dd data-testid="approval-account" title={card.account.address}>
              {card.account.name} · {shortAddress(card.account.address)}
            </dd>
          </div>
        )}
      </dl>
      {card.batch && (
        <p class="notice" data-testid="approval-batch">
          Call {card.batch.index + 1} of {card.batch.count} of a batch the site sent (wallet_sendCalls). Duet sends the calls one after the other, each approved here and on your phone; they are not atomic.
        </p>
      )}
      <DisplayFields model={card.display} />
      {card.code && (
        <p class="code">
          Request code <strong data-testid="approval-code">{card.code}</strong>
        </p>
      )}
      {card.status === 'awaiting-user' && card.transaction && <TransactionEditor key={`${card.id}:${card.code ?? ''}`} card={card} refresh={refresh} guarded={guarded} />}
      {card.status === 'awaiting-user' && <Decision key={card.id} card={card} refresh={refresh} guarded={guarded} />}
      {card.status === 'co-signing' && <WaitingForPhone card={card} view={view} refresh={refresh} guarded={guarded} />}
      {(card.status === 'done' || card.status === 'failed') && (
        <p class={card.status === 'failed' ? 'error result' : 'success result'} data-testid="approval-status">
          {card.message}
        </p>
      )}
      {waiting > 0 && (
        <p class="muted" data-testid="approval-more">
          {waiting} more waiting.
        </p>
      )}
    </div>
  );
}

export function ApprovalApp() {
  const { view, refresh } = useWalletView();
  const card = view?.approval ?? undefined;
  const needsUnlock = view !== null && !view.unlocked && (view.unlockRequested || view.approvals.some((candidate) => candidate.status === 'awaiting-user'));
  return (
    <main class="popup approval" data-testid="approval-root">
      <header class="brand">
        <span class="logo" aria-hidden="true" />
        <h1>Duet</h1>
      </header>
      {view && needsUnlock && <UnlockForm refresh={refresh} lede="A site is waiting for your approval." />}
      {view && !needsUnlock && !card && (
        <div class="stack">
          <p class="lede" data-testid="approval-empty">
            No request is waiting for your approval.
          </p>
          <button class="secondary" onClick={() => window.close()}>
            Close
          </button>
        </div>
      )}
      {view && !needsUnlock && card && <Request card={card} view={view} refresh={refresh} />}
    </main>
  );
}
