/**
 * Replacing a lost phone with the Duet Guard as the second dealer, on the Devices page
 * (docs/guard.md, "Recovery"): the new phone paired ("Replace") → it links to the Guard (the
 * Guard's device code) → the authenticator's code opens the recovery at the Guard → its security
 * period, cancellable from any device → "Finish the recovery": the Guard and this browser deal
 * the new phone its share. Opening the page asks the Guard its clock and queue.
 */
import { useEffect, useState } from 'preact/hooks';
import type { WalletView } from '../../src/background/wallet-service.ts';
import { formatDate } from '../ui/format.ts';
import { useAction } from '../ui/wallet-client.ts';
import { useCountdown, useQr } from './PairingSteps.tsx';

type Refresh = (view: WalletView) => void;

export function GuardRecoveryCard({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [code, setCode] = useState('');
  const recovery = view.guardRecovery;
  const opened = recovery?.step === 'waiting' || recovery?.step === 'ready';
  useEffect(() => {
    if (opened) void run({ action: 'guard-recovery', op: 'refresh' });
  }, [opened]);
  const qr = useQr(recovery?.deviceLink ?? null);
  const left = useCountdown(recovery?.deviceLinkExpiresAt ?? null);
  if (!recovery) return null;
  const readyAt = recovery.readyAt === null ? '' : formatDate(recovery.readyAt);
  const cancel = (label: string) => (
    <button class="secondary" data-testid="guard-recovery-cancel" disabled={busy} onClick={() => void run({ action: 'guard-recovery', op: 'cancel' })}>
      {label}
    </button>
  );
  return (
    <section class="card stack attention" data-testid="guard-recovery" data-step={recovery.step}>
      <h3>Replace your lost phone with the Duet Guard</h3>
      {recovery.step === 'link-device' && (
        <>
          <p class="lede">{recovery.candidate.name} paired with this browser. It links to the Guard next: open "Link the Duet Guard" on it and scan this code (it compares a code with the Guard).</p>
          {qr && <img class="qr" data-testid="guard-recovery-qr" src={qr} alt="Guard link for the new phone" width={240} height={240} />}
          <input class="link" data-testid="guard-recovery-device-link" readOnly value={recovery.deviceLink ?? ''} aria-label="Guard link for the new phone" />
          {left && <p class="lede">Expires in {left}.</p>}
          <button class="secondary" data-testid="guard-recovery-new-link" disabled={busy} onClick={() => void run({ action: 'guard-recovery', op: 'link' })}>
            New code
          </button>
          <p class="lede">Once it is linked, type the code of your authenticator app: the Guard opens the recovery and waits out its security period (48 hours unless your rules say otherwise).</p>
          <input data-testid="guard-recovery-code" inputMode="numeric" autocomplete="one-time-code" value={code} onInput={(event) => setCode(event.currentTarget.value)} aria-label="Code from your authenticator app" />
          <button data-testid="guard-recovery-open" disabled={busy} onClick={() => void run({ action: 'guard-recovery', op: 'open', code }).then((ok) => ok && setCode(''))}>
            Open the recovery
          </button>
          {cancel('Cancel')}
        </>
      )}
      {opened && (
        <>
          <p class="lede">
            Recovery ready at <strong data-testid="guard-recovery-ready-at">{readyAt}</strong>.
          </p>
          <p class="lede">Until then any of your devices can cancel it (the lost phone only with your authenticator code): if you did not ask for it, cancel it now.</p>
          <button data-testid="guard-recovery-finish" disabled={busy || recovery.step !== 'ready'} onClick={() => void run({ action: 'guard-recovery', op: 'finish' })}>
            {recovery.step === 'ready' ? 'Finish the recovery' : `Finish the recovery (from ${readyAt})`}
          </button>
          <button class="secondary" data-testid="guard-recovery-refresh" disabled={busy} onClick={() => void run({ action: 'guard-recovery', op: 'refresh' })}>
            Check with the Guard
          </button>
          {cancel('Cancel the recovery')}
        </>
      )}
      {recovery.step === 'dealing' && <p class="lede">The Guard and this browser deal {recovery.candidate.name} its key share.</p>}
      {recovery.step === 'cancelled' && (
        <>
          <p class="warning" data-testid="guard-recovery-cancelled">
            The recovery was cancelled from one of your devices. Nothing changed.
          </p>
          <button data-testid="guard-recovery-reopen" disabled={busy} onClick={() => void run({ action: 'guard-recovery', op: 'reopen' })}>
            Open it again
          </button>
          {cancel('Close')}
        </>
      )}
      {(error ?? recovery.error) && (
        <p class="error" data-testid="guard-recovery-error">
          {error ?? recovery.error}
        </p>
      )}
    </section>
  );
}
