/**
 * The wallet's members: this browser, each phone, the Guard when there is one; which pairs can
 * sign; the key version (epoch); the default co-signer; adding a device (an add-member code, a code
 * compared on each dealer, the reshare step by step), removing one (complete only once every
 * remaining device deleted its old share), replacing one (both in one reshare), and the health of
 * the quorum (each device's last proof that its share works).
 */
import { useState } from 'preact/hooks';
import type { MemberRowView, MembersView } from '../../../src/background/pairing.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import type { ChangeProgress } from '../../../src/session/wallet-member.ts';
import { MAX_PROOF_AGE_MS } from '../../../src/session/share-health.ts';
import { formatDate } from '../../ui/format.ts';
import { useAction } from '../../ui/wallet-client.ts';
import { DecisionCard, PairingQr, PairingSas, fingerprint } from '../PairingSteps.tsx';
import { GuardSection } from '../GuardSection.tsx';
import { GuardRecoveryCard } from '../GuardRecoveryCard.tsx';
import { GuardSetup } from '../GuardSetup.tsx';
import { TaintedNotice } from '../TaintedNotice.tsx';

type Refresh = (view: WalletView) => void;

const ROLE: Record<MemberRowView['role'], string> = { extension: 'browser', phone: 'phone', guard: 'Duet Guard' };

const STEPS: readonly { step: ChangeProgress['step']; words: string }[] = [
  { step: 'waiting-device', words: 'The new device scanned the code' },
  { step: 'linking', words: 'It connects to each device of your wallet' },
  { step: 'verifying', words: 'Each dealing device and the new one compare a code' },
  { step: 'proposed', words: 'The new member set is proposed' },
  { step: 'dealt', words: 'New key shares are dealt' },
  { step: 'received', words: 'Every device received its share' },
  { step: 'paired', words: 'Every pair of devices set up its key' },
  { step: 'confirmed', words: 'Every device confirmed' },
  { step: 'committed', words: 'Done: old key shares deleted' },
];

function ChangeSteps({ change, refresh }: { change: ChangeProgress; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const at = STEPS.findIndex((entry) => entry.step === change.step);
  return (
    <section class="card stack" data-testid="member-change" data-step={change.step}>
      <h3>
        {change.candidate ? `Adding ${change.candidate.name}` : 'Changing your wallet'}
        {change.remove.length > 0 ? ` (removing ${change.remove.length} device${change.remove.length > 1 ? 's' : ''})` : ''}
      </h3>
      <ol class="steps">
        {STEPS.filter((entry) => change.candidate || !['waiting-device', 'linking', 'verifying'].includes(entry.step)).map((entry, k) => (
          <li key={entry.step} class={STEPS.indexOf(entry) < at || change.step === 'committed' ? 'done' : STEPS.indexOf(entry) === at ? 'current' : ''} data-testid={`change-step-${k}`}>
            {entry.words}
          </li>
        ))}
      </ol>
      {change.step === 'verifying' && change.candidate && <p class="lede">On each device that deals, check that the code there is the one the new device shows, then approve.</p>}
      {change.error && (
        <p class="error" data-testid="member-change-error">
          {change.error}
        </p>
      )}
      {error && <p class="error">{error}</p>}
      {(change.step === 'failed' || change.error || at >= STEPS.findIndex((entry) => entry.step === 'proposed')) && (
        <div class="row">
          <button class="secondary" data-testid="member-change-cancel" disabled={busy} onClick={() => void run({ action: 'member-cancel' })}>
            Cancel
          </button>
          <button data-testid="member-change-retry" disabled={busy} onClick={() => void run({ action: 'member-retry' })}>
            {change.step === 'failed' ? 'Run it again' : 'Stuck? Run it again'}
          </button>
        </div>
      )}
    </section>
  );
}

function LastChange({ last, refresh }: { last: NonNullable<MembersView['last']>; refresh: Refresh }) {
  const { busy, run } = useAction(refresh);
  if (last.removed.length === 0) return null;
  return (
    <section class={last.complete ? 'card stack' : 'card stack attention'} data-testid="removal-status" data-complete={String(last.complete)}>
      <h3>Removed: {last.removed.join(', ')}</h3>
      {last.complete ? (
        <p data-testid="removal-complete">Complete: every remaining device deleted its old key share. A copy of an old share that the removed device kept is now useless.</p>
      ) : (
        <p data-testid="removal-waiting">Not complete yet: waiting for {last.waitingFor.join(', ')} to confirm it deleted its old key share. Until every old share is gone, the removed device could still sign together with one.</p>
      )}
      <p class="muted small">Removal protects you only once every old share is deleted. The removed device still knows your addresses. Moving your funds to a new wallet is the only complete protection.</p>
      <button class="secondary small" data-testid="removal-cut-off" disabled={busy} onClick={() => void run({ action: 'member-cut-off' })}>
        End the removed device's connection now
      </button>
    </section>
  );
}

function MemberRow({ member, members, view, refresh }: { member: MemberRowView; members: MembersView; view: WalletView; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [editing, setEditing] = useState(false);
  const [removing, setRemoving] = useState(false);
  const [name, setName] = useState(member.name);
  const dealers = members.members.filter((other) => !other.self && other.key !== member.key && !other.suspect && !other.blocked);
  // The Guard deals only in a recovery its gates opened (docs/guard.md, "Recovery"): a removal with it is a replacement.
  const removalDealers = dealers.filter((other) => other.role !== 'guard');
  const isDefault = view.state.defaultCoSigner === member.key;
  const working = member.healthAt !== null && Date.now() - member.healthAt < MAX_PROOF_AGE_MS;
  return (
    <li class="item stack" data-testid={`member-${member.index}`} data-role={member.role}>
      {editing ? (
        <form
          class="row"
          onSubmit={(event) => {
            event.preventDefault();
            void run({ action: 'member-rename', key: member.key, name }).then((ok) => ok && setEditing(false));
          }}
        >
          <input data-testid="member-name-input" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-label="Device name" />
          <button data-testid="member-rename-save" type="submit" disabled={busy}>
            Save
          </button>
        </form>
      ) : (
        <div class="row spread">
          <strong data-testid="member-name">
            {member.name}
            {member.self ? ' (this browser)' : ''}
          </strong>
          <button class="secondary small" data-testid="member-rename" onClick={() => setEditing(true)}>
            Rename
          </button>
        </div>
      )}
      <p class="muted small">
        {ROLE[member.role]} · key {fingerprint(member.key)}
      </p>
      {!member.self && (
        <p class="muted small" data-testid="member-status">
          {member.online ? (
            <>
              online now, <span data-testid="device-path">{member.path === 'direct' ? 'direct' : 'via relay'}</span>
            </>
          ) : (
            `last seen ${member.lastSeen === null ? 'never' : formatDate(member.lastSeen)}`
          )}{' '}
          · {working ? `share proven ${formatDate(member.healthAt as number)}` : 'no recent proof of its share'}
          {member.coSigns ? ' · co-signs with this browser' : ''}
          {isDefault ? ' · default co-signer' : ''}
        </p>
      )}
      {member.problem && <p class="warning small">{member.problem}</p>}
      {member.suspect && (
        <p class="warning" data-testid="member-suspect">
          A signature with this device failed its check: it may be compromised and trying to learn your key. Remove it.
        </p>
      )}
      {member.blocked && <p class="muted">Being removed: no pair with it signs.</p>}
      {!member.self && (
        <div class="row wrap">
          {member.coSigns && !isDefault && (
            <button class="secondary small" data-testid="member-make-default" disabled={busy} onClick={() => void run({ action: 'default-cosigner', key: member.key })}>
              Ask it first
            </button>
          )}
          {!member.blocked && removalDealers.length > 0 && (
            <button class={member.suspect ? 'danger small' : 'secondary small'} data-testid="member-remove" onClick={() => setRemoving(true)}>
              Remove this device
            </button>
          )}
          {!member.blocked && dealers.length > 0 && (
            <button class="secondary small" data-testid="member-replace" disabled={busy} onClick={() => void run({ action: 'start-pairing', kind: 'add-member', replace: member.key })}>
              Replace
            </button>
          )}
        </div>
      )}
      {!member.self && !member.blocked && removalDealers.length === 0 && dealers.length > 0 && (
        <p class="muted small" data-testid="member-remove-by-recovery">
          Only the Duet Guard could deal with this browser, and it deals only in a recovery: to remove this device, replace it (the Guard's security period applies).
        </p>
      )}
      {removing && (
        <div class="stack" data-testid="member-remove-confirm">
          <p class="warning">
            Removing {member.name} gives the other devices new key shares (the address stays) and ends its connection. Its old share becomes useless only once every remaining device deleted its own old share — this page says when. The removed device still knows your addresses; moving your funds to a new wallet is the only complete protection.
          </p>
          <p class="lede">A second device that stays deals the new shares with this browser:</p>
          {removalDealers.map((dealer) => (
            <button key={dealer.key} class="danger" data-testid="member-remove-with" disabled={busy} onClick={() => void run({ action: 'member-remove', key: member.key, dealer: dealer.key }).then(() => setRemoving(false))}>
              Remove with {dealer.name}
            </button>
          ))}
          <button class="secondary" onClick={() => setRemoving(false)}>
            Keep it
          </button>
        </div>
      )}
      {error && <p class="error">{error}</p>}
    </li>
  );
}

function AddDevice({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const { pairing } = view;
  if (pairing.kind === 'add-member' && pairing.phase === 'showing-code') return <PairingQr view={view} refresh={refresh} prompt="Scan with the new phone" />;
  if (pairing.kind === 'add-member' && pairing.phase === 'confirm-sas') return <PairingSas view={view} refresh={refresh} />;
  return (
    <section class="card stack">
      <h3>Add a device</h3>
      <p class="lede">A second phone or a tablet: open Duet's phone app on it and scan the code. Every device that deals it a key share shows a code to compare.</p>
      {pairing.kind === 'add-member' && pairing.error && <p class="error" data-testid="pairing-error">{pairing.error}</p>}
      {error && <p class="error">{error}</p>}
      <button data-testid="add-device" disabled={busy} onClick={() => void run({ action: 'start-pairing', kind: 'add-member' })}>
        Add a device
      </button>
    </section>
  );
}

export function DevicesScreen({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const members = view.members;
  if (!members) {
    return (
      <div class="stack">
        <h2>Devices</h2>
        <TaintedNotice state={view.state} />
        <p class="lede">{view.phone.problem ?? 'Your wallet is loading…'}</p>
      </div>
    );
  }
  if (members.removed) {
    return (
      <div class="stack" data-testid="devices-removed">
        <h2>Devices</h2>
        <p class="warning">This browser was removed from your wallet. It cannot sign any more.</p>
        {members.decisions.map((decision) => (
          <DecisionCard key={decision.id} decision={decision} refresh={refresh} />
        ))}
      </div>
    );
  }
  const working = members.members.filter((member) => !member.suspect && !member.blocked && member.healthAt !== null && Date.now() - member.healthAt < MAX_PROOF_AGE_MS).length;
  return (
    <div class="stack" data-testid="devices">
      <h2>Devices</h2>
      <TaintedNotice state={view.state} />
      {members.members.length < 3 && (
        <p class="warning" data-testid="backup-banner">
          Add a backup device — with two devices, losing one loses your funds.
        </p>
      )}
      {working < 2 && (
        <p class="warning" data-testid="health-warning">
          Fewer than two devices proved recently that their key share works. If only one works, your wallet cannot sign: open Duet on your other devices.
        </p>
      )}
      {members.decisions.map((decision) => (
        <DecisionCard key={decision.id} decision={decision} refresh={refresh} />
      ))}
      {members.change && members.change.step !== 'committed' && <ChangeSteps change={members.change} refresh={refresh} />}
      <GuardRecoveryCard view={view} refresh={refresh} />
      {members.last && <LastChange last={members.last} refresh={refresh} />}
      <p class="lede">
        Any two of these devices can sign together. Key version <span data-testid="epoch">{members.epoch}</span>.
      </p>
      <ul class="list" data-testid="member-list">
        {members.members.map((member) => (
          <MemberRow key={member.key} member={member} members={members} view={view} refresh={refresh} />
        ))}
      </ul>
      <GuardSection view={view} refresh={refresh} />
      <AddDevice view={view} refresh={refresh} />
      {!members.members.some((member) => member.role === 'guard') && <GuardSetup view={view} refresh={refresh} />}
      <section class="card stack">
        <h3>Pairs</h3>
        <ul class="pairs" data-testid="pair-list">
          {members.pairs.map((pair) => {
            const name = (key: string) => members.members.find((member) => member.key === key)?.name ?? key.slice(0, 8);
            return (
              <li key={`${pair.a}/${pair.b}`} data-testid="pair" data-can-sign={String(pair.canSign)}>
                {name(pair.a)} + {name(pair.b)}: {pair.canSign ? 'can sign' : `cannot sign now (${pair.why})`}
              </li>
            );
          })}
        </ul>
      </section>
    </div>
  );
}
