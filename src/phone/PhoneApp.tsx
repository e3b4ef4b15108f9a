/** The phone co-signer's views. Logic lives in phone-controller.ts. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { browserRtcSessions } from '../channel/rtc-session.ts';
import type { DisplayModel } from '../wallet/decode.ts';
import { relayAllowed } from './app-security.ts';
import { browserDeviceKey } from './device-key.ts';
import { AUTO_LOCK_MS, PHONE_ATTEMPTS_DB, PhoneController, type PhoneView } from './phone-controller.ts';
import type { MemberRole } from '../mpc/wallet-share.ts';
import type { MemberCard } from '../session/member-messages.ts';
import type { ChangeProgress, Decision } from '../session/wallet-member.ts';
import type { ReleaseId } from './release-check.ts';
import { indexedDbAttemptStore } from './unlock-throttle.ts';
import { reviewedDisplay } from '../wallet/reviewed-display.ts';
import { browserLockScheduler, InactivityLock } from './inactivity-lock.ts';
import { scanPairingLink, type ScanSession } from './qr-scanner.ts';
import { devPaillierKeys } from './dev-hooks.ts';
import { defaultPaillierKeySource } from './paillier-key-pool.ts';
import './phone.css';

function readPairingLink(): string | null {
  if (!location.hash.includes('p=')) return null;
  const link = location.href;
  // The offer is single-use: drop it from the address bar so a reload cannot replay it.
  history.replaceState(null, '', location.pathname);
  return link;
}

function Fields({ model }: { model: DisplayModel }) {
  return (
    <div class="request">
      {(model.alerts ?? []).map((alert) => (
        <p class="alert" role="alert" data-testid="phone-request-alert" key={alert}>
          {alert}
        </p>
      ))}
      <h3 data-testid="phone-request-title">{model.title}</h3>
      {model.warnings.map((w) => (
        <p class="warning" data-testid="phone-request-warning" key={w}>
          {w}
        </p>
      ))}
      <dl>
        {model.fields.map((f) => (
          <div class="field" key={f.label}>
            <dt>{f.label}</dt>
            <dd data-testid={`phone-field-${f.label}`}>{f.value}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

function KeyChoice({ controller, view, upgrade }: { controller: PhoneController; view: PhoneView; upgrade: boolean }) {
  const [usePassphrase, setUsePassphrase] = useState(!view.deviceKeyAvailable);
  const [passphrase, setPassphrase] = useState('');
  const [confirm, setConfirm] = useState('');
  return (
    <div class="stack" data-testid="key-choice">
      <h2>{upgrade ? 'Protect this phone better' : 'Protect this phone'}</h2>
      {upgrade && <p class="warning">A PIN is no longer enough: anyone who copies this phone's storage could try every PIN in hours. Choose a stronger protection now; the PIN will stop working.</p>}
      <p class="lede">It guards this phone's half of your wallet key.</p>
      {view.deviceKeyAvailable && !usePassphrase ? (
        <>
          <button data-testid="key-device" disabled={view.busy} onClick={() => void controller.chooseKey({ kind: 'device' })}>
            Use this phone's screen lock
          </button>
          <p class="lede">Face ID, fingerprint or the phone's own code: the key stays inside this phone.</p>
          <button class="secondary" data-testid="key-passphrase-instead" onClick={() => setUsePassphrase(true)}>
            Use a passphrase instead
          </button>
        </>
      ) : (
        <form
          class="stack"
          onSubmit={(event) => {
            event.preventDefault();
            void controller.chooseKey({ kind: 'passphrase', passphrase, confirmation: confirm });
          }}
        >
          <p class="lede">A passphrase of several random words. Write it down: nobody can recover it for you.</p>
          {view.suggestedPassphrase && (
            <div class="card">
              <h3>Suggested</h3>
              <p class="address" data-testid="suggested-passphrase">{view.suggestedPassphrase}</p>
              <button
                type="button"
                class="secondary"
                data-testid="use-suggested"
                onClick={() => {
                  setPassphrase(view.suggestedPassphrase ?? '');
                  setConfirm(view.suggestedPassphrase ?? '');
                }}
              >
                Use these words
              </button>
            </div>
          )}
          <input data-testid="passphrase" type="password" autoComplete="new-password" placeholder="Passphrase" value={passphrase} onInput={(e) => setPassphrase(e.currentTarget.value)} />
          <input data-testid="passphrase-confirm" type="password" autoComplete="new-password" placeholder="Repeat the passphrase" value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
          <button data-testid="passphrase-submit" type="submit" disabled={view.busy}>
            {view.busy ? 'Protecting…' : 'Continue'}
          </button>
        </form>
      )}
      {view.error && <p class="error" data-testid="phone-error">{view.error}</p>}
    </div>
  );
}

function Unlock({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  const [secret, setSecret] = useState('');
  const typed = view.unlockMethod !== 'device';
  return (
    <form
      class="stack"
      onSubmit={(event) => {
        event.preventDefault();
        void controller.unlock(typed ? secret : undefined);
      }}
    >
      <h2>Unlock</h2>
      {view.unlockMethod === 'device' && <p class="lede">With this phone's screen lock.</p>}
      {view.unlockMethod === 'passphrase' && <p class="lede">Enter your passphrase.</p>}
      {view.unlockMethod === 'pin' && <p class="lede">Enter your PIN. You will then choose a stronger protection: a PIN alone is no longer accepted.</p>}
      {typed && <input data-testid={view.unlockMethod === 'pin' ? 'pin' : 'passphrase'} type="password" autoComplete="current-password" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />}
      {view.error && <p class="error" data-testid="phone-error">{view.error}</p>}
      <button data-testid="unlock-submit" type="submit" disabled={view.busy}>
        {view.busy ? 'Unlocking…' : 'Unlock'}
      </button>
    </form>
  );
}

function Scanner({ controller }: { controller: PhoneController }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let session: ScanSession | null = null;
    if (video.current) void scanPairingLink(video.current, (link) => void controller.pair(link), setError).then((s) => (session = s));
    return () => session?.stop();
  }, [controller]);
  return (
    <div class="stack">
      <video class="scanner" data-testid="scanner-video" ref={video} muted />
      {error && <p class="error">{error}</p>}
    </div>
  );
}

function RequestCards({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  return (
    <>
      {view.requests.map((entry) => (
        <section class="card" data-testid="phone-request" data-status={entry.status} data-attempt={entry.attempt} key={entry.request.id}>
          <p class="origin" data-testid="phone-request-origin">{entry.request.origin}</p>
          {/* The pre-sign review (simulation, balance change, warnings) from the phone's own decoding of the request. */}
          <Fields model={reviewedDisplay(entry.display, entry.request)} />
          <p>
            Request code <strong data-testid="phone-request-code">{entry.code}</strong>
          </p>
          {entry.status === 'pending' ? (
            <div class="row">
              <button class="secondary" data-testid="phone-reject" onClick={() => controller.reject(entry.request.id)}>
                Reject
              </button>
              <button data-testid="phone-approve" onClick={() => controller.approve(entry.request.id)}>
                Approve
              </button>
            </div>
          ) : (
            <p class="lede" data-testid="phone-request-status">{entry.status === 'approved' ? 'Approved — waits for the request before it.' : 'Signing…'}</p>
          )}
        </section>
      ))}
    </>
  );
}

function Tainted({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  const [address, setAddress] = useState('');
  const rescue = view.taint?.rescueAddress ?? null;
  return (
    <div class="stack danger-screen" data-testid="phone-tainted">
      <h2>Stop: move your funds</h2>
      <p>
        A signature your browser extension computed failed this phone's check. That happens only if the extension (or the computer it runs on) is
        compromised: it may be trying to learn your key, one failed signature at a time. The phone stopped co-signing with it at the first failure,
        so at most a few bits of the key can have leaked — not enough to take your funds — but this pair of devices must not be used again.
      </p>
      <p data-testid="phone-taint-stored">{view.taint?.stored === false ? 'Saving this decision on the phone…' : 'This phone will never co-sign ordinary requests with that browser again.'}</p>
      {view.taint?.canRemove && (
        <section class="card">
          <h3>Remove this browser from your wallet</h3>
          <p>Your wallet has other devices: remove the suspect browser with one of them. The other devices get new key shares; the address stays the same.</p>
          {view.members
            .filter((member) => member.suspect)
            .map((member) =>
              controller.dealerChoices([member.key]).map((dealer) => (
                <button key={dealer.key} data-testid="tainted-remove" onClick={() => void controller.removeMember(member.key, dealer.key)}>
                  Remove {member.name} with {dealer.name}
                </button>
              )),
            )}
          <Decisions controller={controller} view={view} />
          {view.change && <ChangeCard controller={controller} change={view.change} />}
        </section>
      )}
      <h3>Or move your funds to a new wallet</h3>
      <ol>
        <li>Create a new Duet wallet on a clean computer and phone (or use another wallet you trust).</li>
        <li>Enter its address below. The phone will co-sign only transfers to it: ETH, or tokens sent with a plain transfer.</li>
        <li>In the browser extension, send everything to that address and approve each transfer here. If another signature fails, the phone stops for good.</li>
      </ol>
      {rescue ? (
        <p>
          Rescue address <strong class="address" data-testid="phone-rescue-address">{rescue}</strong>
        </p>
      ) : (
        <form
          class="stack"
          onSubmit={(event) => {
            event.preventDefault();
            void controller.setRescueAddress(address);
          }}
        >
          <input data-testid="phone-rescue-input" placeholder="0x… address of your new wallet" value={address} onInput={(e) => setAddress(e.currentTarget.value)} />
          <button data-testid="phone-rescue-submit" type="submit">
            Use this address
          </button>
        </form>
      )}
      {view.error && <p class="error" data-testid="phone-error">{view.error}</p>}
      <RequestCards controller={controller} view={view} />
    </div>
  );
}

/** The first bytes of a member's identity key, as the other screens show it: compare them. */
export function fingerprint(key: string): string {
  return (key.slice(0, 16).match(/.{4}/g) ?? []).join(' ');
}

function CardList({ cards, testId }: { cards: readonly MemberCard[]; testId: string }) {
  return (
    <ul class="members" data-testid={testId}>
      {cards.map((card) => (
        <li key={card.identityKey}>
          {card.name} <span class="muted">({roleName(card.role)})</span> <span class="address">{fingerprint(card.identityKey)}</span>
        </li>
      ))}
    </ul>
  );
}

function roleName(role: MemberRole): string {
  return role === 'extension' ? 'browser' : role === 'guard' ? 'Duet Guard' : 'phone';
}

/** The two answers of a decision card. */
function AnswerRow({ answer, refuse, approve }: { answer: (yes: boolean) => void; refuse: string; approve: string }) {
  return (
    <div class="row">
      <button class="secondary" data-testid="decision-refuse" onClick={() => answer(false)}>
        {refuse}
      </button>
      <button data-testid="decision-approve" onClick={() => answer(true)}>
        {approve}
      </button>
    </div>
  );
}

/** A question for this phone's user, from the wallet's other members. */
function DecisionCard({ controller, decision }: { controller: PhoneController; decision: Decision }) {
  const answer = (yes: boolean) => controller.decide(decision.id, yes);
  switch (decision.kind) {
    case 'candidate':
      return (
        <section class="card attention" data-testid="decision-candidate">
          <h3>Add a device to your wallet?</h3>
          <p>
            <strong data-testid="decision-candidate-name">{decision.candidate.name}</strong> ({roleName(decision.candidate.role)}, key <span class="address">{fingerprint(decision.candidate.identityKey)}</span>) wants to join. The new device shows a code: it must be this one.
          </p>
          <p class="sas" data-testid="decision-sas">{decision.sas}</p>
          <p class="lede">Your wallet afterwards:</p>
          <CardList cards={decision.members} testId="decision-members" />
          {decision.removed.length > 0 && <p class="warning">It also removes {decision.removed.map((card) => card.name).join(', ')}.</p>}
          <AnswerRow answer={answer} refuse="Different code: refuse" approve="Same code: add it" />
        </section>
      );
    case 'dealer-code':
      return (
        <section class="card attention" data-testid="decision-dealer">
          <h3>Compare this code with {decision.dealer.name}</h3>
          <p class="sas" data-testid="decision-sas">{decision.sas}</p>
          <p class="lede">
            {decision.dealer.name} ({roleName(decision.dealer.role)}, key <span class="address">{fingerprint(decision.dealer.identityKey)}</span>) shows a code too. Go on only if they are the same.
          </p>
          <AnswerRow answer={answer} refuse="Different" approve="Same code" />
        </section>
      );
    case 'guard':
      return (
        <section class="card attention" data-testid="decision-guard">
          <h3>Add the Duet Guard to your wallet?</h3>
          <p>
            This phone is linked to this Guard (key <span class="address">{fingerprint(decision.candidate.identityKey)}</span>). It co-signs under the rules you set, never alone. Your wallet afterwards:
          </p>
          <CardList cards={decision.members} testId="decision-members" />
          <AnswerRow answer={answer} refuse="Refuse" approve="Approve" />
        </section>
      );
    case 'reshare':
      return (
        <section class="card attention" data-testid="decision-reshare">
          <h3>{decision.removed.length > 0 ? `Remove ${decision.removed.map((card) => card.name).join(', ')}?` : 'Renew the keys of your wallet?'}</h3>
          <p>{decision.coordinator.name} asks to change your wallet's members. Your wallet afterwards:</p>
          <CardList cards={decision.members} testId="decision-members" />
          {decision.removed.length > 0 && (
            <p class="lede">A removed device can no longer sign with the others. If it kept a copy of its old key share, that copy is harmless only once every other device deleted its old share; moving your funds to a new wallet is the only complete protection.</p>
          )}
          <AnswerRow answer={answer} refuse="Refuse" approve="Approve" />
        </section>
      );
    case 'removed':
      return (
        <section class="card danger-screen" data-testid="decision-removed">
          <h3>This phone was removed from your wallet</h3>
          <p>Your other devices ({decision.members.map((card) => card.name).join(', ')}) removed it. It no longer signs. Delete the part of the key it still holds:</p>
          <button class="danger" data-testid="decision-approve" onClick={() => answer(true)}>
            Delete it from this phone
          </button>
        </section>
      );
  }
}

function Decisions({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  return (
    <>
      {view.decisions.map((decision) => (
        <DecisionCard key={decision.id} controller={controller} decision={decision} />
      ))}
    </>
  );
}

const STEP_WORDS: Record<string, string> = {
  'waiting-device': 'Waiting for the new device…',
  linking: 'Connecting the devices…',
  verifying: 'Comparing codes on each device…',
  proposed: 'Starting…',
  joined: 'Devices joined…',
  dealt: 'New key shares dealt…',
  received: 'Key shares received…',
  paired: 'Pair keys set up…',
  confirmed: 'Confirmed, finishing…',
  committed: 'Done.',
  failed: 'Stopped.',
};

function ChangeCard({ controller, change }: { controller: PhoneController; change: ChangeProgress }) {
  return (
    <section class="card" data-testid="change-progress" data-step={change.step}>
      <h3>{change.candidate ? `Adding ${change.candidate.name}` : 'Changing your wallet'}</h3>
      <p data-testid="change-step">{STEP_WORDS[change.step] ?? change.step}</p>
      {change.error && <p class="error" data-testid="change-error">{change.error}</p>}
      {change.step === 'failed' && (
        <div class="row">
          <button class="secondary" onClick={() => controller.cancelChange()}>
            Cancel
          </button>
          <button data-testid="change-retry" onClick={() => void controller.retryChange()}>
            Run it again
          </button>
        </div>
      )}
    </section>
  );
}

function MemberList({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  const [removing, setRemoving] = useState<string | null>(null);
  const working = view.members.filter((member) => member.healthAt !== null && !member.suspect && !member.blocked).length;
  return (
    <section class="card" data-testid="phone-members">
      <h3>Devices of this wallet {view.epoch !== null && <span class="muted">· key version {view.epoch}</span>}</h3>
      {view.members.length < 3 && <p class="warning" data-testid="phone-backup-banner">Add a backup device in the extension — with two devices, losing one loses your funds.</p>}
      {working < 2 && <p class="warning" data-testid="phone-health-warning">Fewer than two devices proved their key share works recently: check your devices.</p>}
      <ul class="members">
        {view.members.map((member) => {
          const dealers = controller.dealerChoices([member.key]);
          return (
            <li key={member.key} data-testid={`phone-member-${member.index}`}>
              <strong data-testid="phone-member-name">{member.name}</strong> <span class="muted">({roleName(member.role)}{member.self ? ', this phone' : ''})</span>
              <br />
              <span class="muted small">
                key {fingerprint(member.key)} · {member.online ? (member.self ? 'online' : <span data-testid="phone-member-path">{member.path === 'direct' ? 'online, direct' : 'online, via relay'}</span>) : `last seen ${member.lastSeen ? new Date(member.lastSeen).toLocaleString() : 'never'}`}
                {member.healthAt && !member.self ? ` · share proven ${new Date(member.healthAt).toLocaleString()}` : ''}
              </span>
              {member.suspect && <p class="warning">A signature with this device failed: it may be compromised.</p>}
              {member.blocked && <p class="lede">Being removed: it no longer signs.</p>}
              {!member.self && removing !== member.key && dealers.length > 0 && (
                <button class="secondary small" data-testid="phone-member-remove" onClick={() => setRemoving(member.key)}>
                  {member.role === 'extension' ? 'This browser is lost: remove it' : 'Remove this device'}
                </button>
              )}
              {removing === member.key && (
                <div class="stack">
                  <p class="lede">Removing needs a second device that stays. It removes {member.name} from the wallet; the other devices get new key shares, the address stays the same.</p>
                  {dealers.map((dealer) => (
                    <button key={dealer.key} data-testid="phone-member-remove-with" onClick={() => void controller.removeMember(member.key, dealer.key).then(() => setRemoving(null))}>
                      Remove it with {dealer.name}
                    </button>
                  ))}
                  <button class="secondary" onClick={() => setRemoving(null)}>
                    Keep it
                  </button>
                </div>
              )}
            </li>
          );
        })}
      </ul>
      <details>
        <summary>Renew the key shares</summary>
        <p class="lede">Every device gets a new key share and the old ones are deleted; the address stays. A second device deals with this phone:</p>
        {controller.dealerChoices([]).map((dealer) => (
          <button key={dealer.key} class="secondary" data-testid="phone-refresh-with" onClick={() => void controller.refreshKeys(dealer.key)}>
            Renew with {dealer.name}
          </button>
        ))}
      </details>
    </section>
  );
}

function Recovering({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  const browsers = view.members.filter((member) => member.role === 'extension' && !member.self);
  const [lost, setLost] = useState<string[]>(browsers.map((member) => member.key));
  const dealers = controller.dealerChoices(lost);
  const candidate = view.recovery?.candidate;
  return (
    <div class="stack" data-testid="phone-recovering">
      <h2>Recover your wallet in a new browser</h2>
      {candidate && (
        <p>
          The new browser's key is <span class="address">{fingerprint(candidate.identityKey)}</span>.
        </p>
      )}
      <GuardRecoveryCard controller={controller} view={view} />
      {view.change ? (
        <ChangeCard controller={controller} change={view.change} />
      ) : view.guardRecovery ? null : (
        <>
          <p class="lede">Remove the lost browser at the same time:</p>
          {browsers.map((member) => (
            <label key={member.key} class="row">
              <input type="checkbox" data-testid="recovery-remove" checked={lost.includes(member.key)} onChange={(event) => setLost(event.currentTarget.checked ? [...lost, member.key] : lost.filter((key) => key !== member.key))} />
              {member.name} ({fingerprint(member.key)})
            </label>
          ))}
          {dealers.length === 0 && <p class="error">Recovering needs a second device of this wallet (another phone or the Guard).</p>}
          {dealers.map((dealer) => (
            <button key={dealer.key} data-testid="recovery-start" onClick={() => void controller.startRecovery({ remove: lost, dealer: dealer.key })}>
              Recover with {dealer.name}
            </button>
          ))}
          <button class="secondary" onClick={() => controller.cancelChange()}>
            Cancel
          </button>
        </>
      )}
      <Decisions controller={controller} view={view} />
      {view.error && <p class="error" data-testid="phone-error">{view.error}</p>}
    </div>
  );
}

function Joining({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  const joining = view.joining;
  return (
    <div class="stack" data-testid="phone-joining" data-step={joining?.step ?? ''}>
      <h2>Joining your wallet</h2>
      <p class="lede">Each device that deals this phone its key share shows a code: compare it with the code here.</p>
      {joining && (
        <ul class="members">
          {joining.dealers.map((dealer) => (
            <li key={dealer.identityKey}>
              {dealer.name} — {joining.pinned.includes(dealer.identityKey) ? 'checked' : 'waiting for its code'}
            </li>
          ))}
        </ul>
      )}
      <GuardLink controller={controller} view={view} />
      {view.guard.step === 'idle' && <GuardLinkInput controller={controller} lede="Replacing a phone with the Duet Guard: your browser shows a Guard code — scan it, or paste its link." />}
      <Decisions controller={controller} view={view} />
      <p data-testid="phone-joining-step">{STEP_WORDS[joining?.step ?? ''] ?? joining?.step}</p>
      {joining?.error && <p class="error" data-testid="phone-error">{joining.error}</p>}
      {view.error && <p class="error" data-testid="phone-error">{view.error}</p>}
    </div>
  );
}

/** Recovering a lost browser with the Duet Guard as the second dealer: the new browser's Guard link, the code, the security period. */
function GuardRecoveryCard({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  const [code, setCode] = useState('');
  const recovery = view.guardRecovery;
  if (!recovery) return null;
  const readyAt = recovery.readyAt === null ? '' : new Date(recovery.readyAt).toLocaleString();
  return (
    <section class="card attention" data-testid="phone-guard-recovery" data-step={recovery.step}>
      <h3>Recovering with the Duet Guard</h3>
      {recovery.step === 'link-device' && (
        <>
          <p class="lede">The new browser links to the Guard: in its Duet window, paste this Guard link (it compares a code with the Guard). Then type your authenticator code here.</p>
          <input class="link" data-testid="phone-guard-recovery-link" readOnly value={recovery.deviceLink ?? ''} />
          <button class="secondary" onClick={() => void controller.guardRecoveryStep('link')}>
            New link
          </button>
          <input data-testid="phone-guard-recovery-code" inputMode="numeric" autocomplete="one-time-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} aria-label="Code from your authenticator app" />
          <button data-testid="phone-guard-recovery-open" onClick={() => void controller.guardRecoveryStep('open', code).then(() => setCode(''))}>
            Open the recovery
          </button>
        </>
      )}
      {(recovery.step === 'waiting' || recovery.step === 'ready') && (
        <>
          <p class="lede">
            Recovery ready at <strong data-testid="phone-guard-recovery-ready-at">{readyAt}</strong>. Any of your devices can cancel it until then.
          </p>
          <button data-testid="phone-guard-recovery-finish" disabled={recovery.step !== 'ready'} onClick={() => void controller.guardRecoveryStep('finish')}>
            Finish the recovery
          </button>
          <button class="secondary" data-testid="phone-guard-recovery-refresh" onClick={() => void controller.guardRecoveryStep('refresh')}>
            Check with the Guard
          </button>
        </>
      )}
      {recovery.step === 'dealing' && <p class="lede">The Guard and this phone deal the new browser its key share.</p>}
      {recovery.step === 'cancelled' && (
        <>
          <p class="warning">The recovery was cancelled from one of your devices. Nothing changed.</p>
          <button onClick={() => void controller.guardRecoveryStep('reopen')}>Open it again</button>
        </>
      )}
      {recovery.error && <p class="error">{recovery.error}</p>}
      <button class="secondary" onClick={() => void controller.guardRecoveryStep('cancel')}>
        {recovery.step === 'cancelled' ? 'Close' : 'Cancel the recovery'}
      </button>
    </section>
  );
}

/** Where the user scans or pastes the Guard link the browser shows. */
function GuardLinkInput({ controller, lede }: { controller: PhoneController; lede: string }) {
  const [link, setLink] = useState('');
  const [scanning, setScanning] = useState(false);
  return (
    <details data-testid="phone-guard-link">
      <summary>Link the Duet Guard</summary>
      <p class="lede">{lede}</p>
      {scanning ? (
        <Scanner controller={controller} />
      ) : (
        <button data-testid="guard-scan" onClick={() => setScanning(true)}>
          Scan with the camera
        </button>
      )}
      <input data-testid="guard-link-input" placeholder="https://…#guard=…" value={link} onInput={(e) => setLink(e.currentTarget.value)} />
      <button class="secondary" data-testid="guard-link-submit" onClick={() => void controller.pair(link).then(() => setLink(''))}>
        Link with a pasted link
      </button>
    </details>
  );
}

/** Linking this phone to the Duet Guard (a Guard link scanned from the browser): the Guard's code to compare. */
function GuardLink({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  const guard = view.guard;
  if (guard.step === 'idle') return null;
  return (
    <section class="card attention" data-testid="phone-guard" data-step={guard.step}>
      <h3>Link this phone to the Duet Guard</h3>
      {(guard.step === 'connecting' || guard.step === 'linking') && <p class="lede">Connecting to the Guard…</p>}
      {guard.step === 'confirm-sas' && (
        <>
          <p>Does the Guard show this code?</p>
          <p class="sas" data-testid="phone-guard-sas">{guard.sas}</p>
          <div class="row">
            <button class="secondary" data-testid="phone-guard-mismatch" onClick={() => controller.confirmGuardSas(false)}>
              No, they differ
            </button>
            <button data-testid="phone-guard-match" onClick={() => controller.confirmGuardSas(true)}>
              Codes match
            </button>
          </div>
        </>
      )}
      {guard.step === 'linked' && <p class="lede" data-testid="phone-guard-linked">Linked (key <span class="address">{fingerprint(guard.guardKey ?? '')}</span>). Your browser adds the Guard next: approve it here when asked.</p>}
      {guard.step === 'failed' && (
        <>
          <p class="error" data-testid="phone-guard-error">{guard.error}</p>
          <button class="secondary" onClick={() => controller.closeGuard()}>
            Close
          </button>
        </>
      )}
    </section>
  );
}

/** What waits out a delay at the Duet Guard: any device of the wallet may cancel it. */
function GuardQueue({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  const [code, setCode] = useState('');
  if (view.guardQueue.length === 0) return null;
  return (
    <section class="card" data-testid="guard-queue">
      <h3>Waiting at the Duet Guard</h3>
      <ul class="list">
        {view.guardQueue.map((entry) => (
          <li key={entry.item} data-testid="guard-queue-item">
            <strong>{entry.title}</strong> <span class="muted">until {new Date(entry.until).toLocaleString()}</span>
            {entry.kind === 'recovery' && (
              <input data-testid="guard-queue-code" inputMode="numeric" autocomplete="one-time-code" placeholder="Code (if it removes this phone)" value={code} onInput={(e) => setCode(e.currentTarget.value)} aria-label="Code from your authenticator app" />
            )}
            <button class="secondary small" data-testid="guard-queue-cancel" onClick={() => void controller.cancelGuardItem(entry.guardKey, entry.item, entry.kind === 'recovery' && code ? code : undefined).then(() => setCode(''))}>
              Cancel
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Home({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  const [link, setLink] = useState('');
  const [scanning, setScanning] = useState(false);
  const [confirmUnpair, setConfirmUnpair] = useState(false);
  return (
    <div class="stack">
      <GuardLink controller={controller} view={view} />
      {view.screen === 'home' && <GuardRecoveryCard controller={controller} view={view} />}
      <GuardQueue controller={controller} view={view} />
      <Decisions controller={controller} view={view} />
      {view.change && view.change.step !== 'committed' && <ChangeCard controller={controller} change={view.change} />}
      {!view.change && view.reshare && (
        <p class="lede" data-testid="phone-reshare" data-step={view.reshare.step}>
          Your devices are renewing the wallet's key shares: {STEP_WORDS[view.reshare.step] ?? view.reshare.step}
          {view.reshare.error ? ` (${view.reshare.error})` : ''}
        </p>
      )}
      {view.address ? (
        <section class="card">
          <h3>Your wallet</h3>
          <p class="address" data-testid="phone-address">{view.address}</p>
          <p class="lede" data-testid="phone-connection" data-path={view.path}>
            {!view.online ? 'Connecting to the relay…' : view.path === 'direct' ? 'Connected directly to your browser.' : 'Connected to the relay.'}
          </p>
          {view.guard.step === 'idle' && !view.members.some((member) => member.role === 'guard') && (
            <GuardLinkInput controller={controller} lede="Your browser shows a Guard code while it adds the Guard: scan it, or paste its link." />
          )}
        </section>
      ) : (
        <section class="card">
          <h3>Pair with your browser</h3>
          <p class="lede">Scan the code the Duet extension shows, or paste its link.</p>
          {scanning ? (
            <Scanner controller={controller} />
          ) : (
            <button data-testid="scan" onClick={() => setScanning(true)}>
              Scan with the camera
            </button>
          )}
          <input data-testid="pair-link" placeholder="https://…#p=…" value={link} onInput={(e) => setLink(e.currentTarget.value)} />
          <button class="secondary" data-testid="pair-submit" onClick={() => void controller.pair(link)}>
            Pair with a pasted link
          </button>
        </section>
      )}
      {view.error && <p class="error" data-testid="phone-error">{view.error}</p>}
      <RequestCards controller={controller} view={view} />
      {view.members.length > 0 && <MemberList controller={controller} view={view} />}
      {view.address && (
        <section class="card">
          <h3>Recover in a new browser</h3>
          <p class="lede">Lost the computer? In a new browser, choose "I already have a Duet wallet" and scan its code here (or paste the link above).</p>
          {!confirmUnpair && (
            <button class="secondary" data-testid="unpair" onClick={() => setConfirmUnpair(true)}>
              Delete this phone's key share
            </button>
          )}
          {confirmUnpair && (
            <div class="stack">
              <p class="warning">This deletes this phone's part of the key and ends its links. With two devices, the wallet cannot sign again: move your funds first, or remove this phone from the extension instead.</p>
              <div class="row">
                <button class="secondary" onClick={() => setConfirmUnpair(false)}>
                  Keep
                </button>
                <button class="danger" data-testid="unpair-confirm" onClick={() => void controller.unpair().then(() => setConfirmUnpair(false))}>
                  Delete and leave
                </button>
              </div>
            </div>
          )}
        </section>
      )}
      {view.history.length > 0 && (
        <section class="card">
          <h3>History</h3>
          <ul class="history" data-testid="phone-history">
            {view.history.map((h) => (
              <li key={h.id}>
                {new Date(h.at).toLocaleTimeString()} · {h.origin} · {h.title} · {h.outcome}
                {h.by ? ` · by ${h.by}` : ''}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}

export function PhoneApp({ release }: { release: ReleaseId | null }) {
  const controller = useMemo(
    () =>
      new PhoneController({
        pairingLink: readPairingLink(),
        deviceKey: browserDeviceKey,
        attempts: indexedDbAttemptStore(PHONE_ATTEMPTS_DB),
        relayAllowed: (relayUrl) => relayAllowed(relayUrl, new URL(location.href), __DUET_RELAY_ORIGINS__),
        // The default source, or in a development build the end-to-end tests' fixture keys (dev-hooks.ts).
        paillierKeys: devPaillierKeys(defaultPaillierKeySource),
        ...(typeof RTCPeerConnection === 'function' ? { rtc: browserRtcSessions(RTCPeerConnection) } : {}),
      }),
    [],
  );
  const [view, setView] = useState<PhoneView>(controller.view());
  useEffect(() => {
    const off = controller.onChange(() => setView(controller.view()));
    void controller.start();
    // A pairing link opened while the app runs changes only the fragment: no new page load.
    const onHashChange = () => {
      const link = readPairingLink();
      if (link) void controller.pair(link);
    };
    window.addEventListener('hashchange', onHashChange);
    return () => {
      off();
      window.removeEventListener('hashchange', onHashChange);
    };
  }, [controller]);
  useEffect(() => {
    const lock = new InactivityLock(browserLockScheduler, AUTO_LOCK_MS, () => controller.unlocked && controller.lock());
    const onActivity = () => lock.activity();
    const onVisible = () => document.visibilityState === 'visible' && lock.check();
    const events = ['pointerdown', 'keydown'] as const;
    for (const name of events) window.addEventListener(name, onActivity);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      lock.stop();
      for (const name of events) window.removeEventListener(name, onActivity);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [controller]);
  return (
    <main data-testid="phone-root" data-screen={view.screen}>
      <header class="brand">
        <span class="logo" aria-hidden="true" />
        <h1>Duet</h1>
      </header>
      {view.screen === 'loading' && <p class="lede">This phone co-signs your Duet wallet.</p>}
      {view.screen === 'create-key' && <KeyChoice controller={controller} view={view} upgrade={false} />}
      {view.screen === 'upgrade-key' && <KeyChoice controller={controller} view={view} upgrade />}
      {view.screen === 'unlock' && <Unlock controller={controller} view={view} />}
      {view.screen === 'pairing' && <p class="lede" data-testid="phone-pairing">Connecting to your browser…</p>}
      {view.screen === 'confirm-sas' && (
        <div class="stack center">
          <h2>Does your browser show this code?</h2>
          <p class="sas" data-testid="phone-sas">{view.sas}</p>
          <div class="row">
            <button class="secondary" data-testid="phone-sas-mismatch" onClick={() => controller.confirmSas(false)}>
              No
            </button>
            <button data-testid="phone-sas-match" onClick={() => controller.confirmSas(true)}>
              Yes, it matches
            </button>
          </div>
          {view.error && <p class="error">{view.error}</p>}
        </div>
      )}
      {view.screen === 'generating-key' && (
        <div class="stack center">
          <div class="spinner" />
          <p class="lede" data-testid="phone-progress">Creating your key together with your browser…</p>
        </div>
      )}
      {view.screen === 'tainted' && <Tainted controller={controller} view={view} />}
      {view.screen === 'home' && <Home controller={controller} view={view} />}
      {view.screen === 'joining' && <Joining controller={controller} view={view} />}
      {view.screen === 'recovering' && <Recovering controller={controller} view={view} />}
      {view.screen === 'removed' && (
        <div class="stack" data-testid="phone-removed">
          <h2>Removed from the wallet</h2>
          <p>This phone is no longer a member of your wallet{view.removed ? ` (the members now: ${view.removed.members.join(', ')})` : ''}. It cannot co-sign anything.</p>
          <Decisions controller={controller} view={view} />
          {view.decisions.length === 0 && <p class="lede" data-testid="phone-removed-done">Its key share is deleted.</p>}
        </div>
      )}
      {release && (
        <p class="lede release" data-testid="app-release">
          Phone app {release.version} · bundle {release.bundleHash}
        </p>
      )}
    </main>
  );
}
