/**
 * "Add Duet Guard" on the Devices page (docs/guard.md, "In the apps"): the Guard's address and the
 * code it printed → the six digits both show → the second factor (a QR code for an authenticator
 * app, then its first code) → the Guard link the phone opens → the reshare that adds the Guard.
 */
import { useState } from 'preact/hooks';
import type { WalletView } from '../../src/background/wallet-service.ts';
import { useAction } from '../ui/wallet-client.ts';
import { GuardRules } from './GuardSection.tsx';
import { fingerprint, useCountdown, useQr } from './PairingSteps.tsx';

type Refresh = (view: WalletView) => void;

/** The key an authenticator app takes by hand (the otpauth URI's secret): it is on screen only while the QR code is. */
function manualKey(uri: string | null): string | null {
  try {
    return uri ? new URL(uri).searchParams.get('secret') : null;
  } catch {
    return null;
  }
}

export function GuardSetup({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [url, setUrl] = useState('');
  const [code, setCode] = useState('');
  const [totp, setTotp] = useState('');
  const guard = view.guard;
  const totpQr = useQr(guard.totpUri);
  const phoneQr = useQr(guard.phoneLink);
  const left = useCountdown(guard.expiresAt);
  const cancel = (
    <button class="secondary" data-testid="guard-cancel" disabled={busy} onClick={() => void run({ action: 'guard-cancel' })}>
      Cancel
    </button>
  );
  let body;
  switch (guard.step) {
    case 'idle':
    case 'failed':
      body = (
        <>
          <p class="lede">A server you or a provider runs that co-signs under rules you set (daily limits, an allow-list, a code from your authenticator app, delays). It never signs alone.</p>
          <label>
            The Guard's address
            <input data-testid="guard-url" value={url} placeholder="https://guard.example" onInput={(event) => setUrl(event.currentTarget.value)} />
          </label>
          <label>
            The code it printed
            <input data-testid="guard-code" value={code} placeholder="XXXX-XXXX-XXXX-XXXX" autocomplete="off" onInput={(event) => setCode(event.currentTarget.value)} />
          </label>
          {guard.error && (
            <p class="error" data-testid="guard-error">
              {guard.error}
            </p>
          )}
          <button data-testid="guard-enrol" disabled={busy} onClick={() => void run({ action: 'guard-enrol', url, code }).then((ok) => ok && setCode(''))}>
            Link the Guard
          </button>
        </>
      );
      break;
    case 'connecting':
    case 'linking':
      body = <p class="lede">Connecting to the Guard…</p>;
      break;
    case 'confirm-sas':
      body = (
        <>
          <p class="lede">Does the Guard show this code?</p>
          <p class="sas" data-testid="guard-sas">
            {guard.sas}
          </p>
          <div class="row">
            <button class="secondary" data-testid="guard-sas-mismatch" disabled={busy} onClick={() => void run({ action: 'guard-sas', matches: false })}>
              No, they differ
            </button>
            <button data-testid="guard-sas-match" disabled={busy} onClick={() => void run({ action: 'guard-sas', matches: true })}>
              Codes match
            </button>
          </div>
        </>
      );
      break;
    case 'second-factor':
      body = (
        <>
          <p class="lede">Scan this with your authenticator app, then type the code it shows. The Guard asks for it before anything outside your rules.</p>
          {totpQr && <img class="qr" data-testid="guard-totp-qr" src={totpQr} alt="Authenticator setup code" width={240} height={240} />}
          <p class="lede">
            Can't scan? Enter this key: <code data-testid="guard-totp-key">{manualKey(guard.totpUri)}</code>
          </p>
          <input data-testid="guard-totp-code" inputMode="numeric" autocomplete="one-time-code" value={totp} onInput={(event) => setTotp(event.currentTarget.value)} aria-label="Code from your authenticator app" />
          <button data-testid="guard-totp-confirm" disabled={busy} onClick={() => void run({ action: 'guard-totp', code: totp }).then(() => setTotp(''))}>
            Confirm the code
          </button>
        </>
      );
      break;
    case 'phone-code':
    case 'linked':
      body = (
        <>
          <p class="lede">
            Guard linked (key <span class="address">{fingerprint(guard.guardKey ?? '')}</span>). Now scan this with your phone's Duet app: the phone links to the Guard too and compares a code with it.
          </p>
          {phoneQr && <img class="qr" data-testid="guard-phone-qr" src={phoneQr} alt="Guard link for the phone" width={240} height={240} />}
          <input class="link" data-testid="guard-phone-link" readOnly value={guard.phoneLink ?? ''} aria-label="Guard link for the phone" />
          {left && <p class="lede">Expires in {left}.</p>}
          <div class="row">
            <button class="secondary" data-testid="guard-phone-code" disabled={busy} onClick={() => void run({ action: 'guard-phone-code' })}>
              New code
            </button>
            <button data-testid="guard-add" disabled={busy} onClick={() => void run({ action: 'guard-add' })}>
              Add the Guard to your wallet
            </button>
          </div>
          <p class="lede">Your phone asks you to approve the Guard once you add it.</p>
          {view.guardPanel && (
            <>
              <p class="lede">Before you add it, set its rules: put the addresses you trust on the allow-list, and the limits it co-signs without asking. Until the Guard is a member they apply at once; later, loosening them needs your code and waits the delay.</p>
              <GuardRules panel={view.guardPanel} refresh={refresh} editing />
            </>
          )}
        </>
      );
      break;
  }
  return (
    <section class="card stack" data-testid="guard-setup" data-step={guard.step}>
      <h3>Add Duet Guard</h3>
      {body}
      {error && (
        <p class="error" data-testid="guard-action-error">
          {error}
        </p>
      )}
      {guard.step !== 'idle' && guard.step !== 'failed' && cancel}
    </section>
  );
}
