/** First run: create the password, pair the phone (QR link + SAS), see the first address. */
import { useEffect, useState } from 'preact/hooks';
import QRCode from 'qrcode';
import { DEFAULT_PHONE_APP_URL, DEFAULT_RELAY_URL } from '../../src/background/wallet-state.ts';
import { MIN_PASSWORD_LENGTH } from '../../src/background/password-policy.ts';
import type { WalletView } from '../../src/background/wallet-service.ts';
import { LOCAL_CHAIN_ID } from '../../src/wallet/chains.ts';
import { formatCountdown } from '../ui/format.ts';
import { useAction } from '../ui/wallet-client.ts';

type Refresh = (view: WalletView) => void;

export function CreateWallet({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const localRpc = view.state.networks.find((network) => network.chainId === LOCAL_CHAIN_ID)?.rpcUrl ?? '';
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [relayUrl, setRelayUrl] = useState(DEFAULT_RELAY_URL);
  const [phoneAppUrl, setPhoneAppUrl] = useState(DEFAULT_PHONE_APP_URL);
  const [rpcUrl, setRpcUrl] = useState(localRpc);
  const tooShort = password.length > 0 && password.length < MIN_PASSWORD_LENGTH;
  const mismatch = confirm.length > 0 && confirm !== password;
  return (
    <form
      class="stack"
      onSubmit={(event) => {
        event.preventDefault();
        if (!mismatch && !tooShort) void run({ action: 'create', password, relayUrl, phoneAppUrl, rpcUrl });
      }}
    >
      <p class="step">Step 1 of 3</p>
      <h2>Create your password</h2>
      <p class="lede">It protects this browser's half of your key. Your phone keeps the other half: neither can sign alone.</p>
      <label>
        Password
        <input data-testid="create-password" type="password" autoFocus value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
      </label>
      {tooShort && <p class="hint">At least {MIN_PASSWORD_LENGTH} characters.</p>}
      <label>
        Confirm password
        <input data-testid="create-confirm" type="password" value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} required />
      </label>
      {mismatch && <p class="error">The passwords differ.</p>}
      <details>
        <summary>Advanced</summary>
        <div class="stack">
          <label>
            Relay
            <input data-testid="create-relay" value={relayUrl} onInput={(e) => setRelayUrl(e.currentTarget.value)} />
          </label>
          <label>
            Phone app
            <input data-testid="create-phone-app" value={phoneAppUrl} onInput={(e) => setPhoneAppUrl(e.currentTarget.value)} />
          </label>
          <label>
            Local chain RPC
            <input data-testid="create-rpc" value={rpcUrl} onInput={(e) => setRpcUrl(e.currentTarget.value)} />
          </label>
        </div>
      </details>
      {error && (
        <p class="error" data-testid="error">
          {error}
        </p>
      )}
      <button data-testid="create-submit" type="submit" disabled={busy || mismatch || tooShort || password.length === 0}>
        {busy ? 'Creating…' : 'Create wallet'}
      </button>
    </form>
  );
}

function useCountdown(until: number | null): string | null {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return until === null ? null : formatCountdown(until - now);
}

export function Pairing({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [qr, setQr] = useState<string | null>(null);
  const { pairing } = view;
  const left = useCountdown(pairing.expiresAt);
  useEffect(() => {
    if (pairing.link) void QRCode.toDataURL(pairing.link, { errorCorrectionLevel: 'M', margin: 2, width: 240 }).then(setQr);
    else setQr(null);
  }, [pairing.link]);

  if (pairing.phase === 'idle' || pairing.phase === 'failed') {
    return (
      <div class="stack">
        <p class="step">Step 2 of 3</p>
        <h2>Pair your phone</h2>
        <p class="lede">Your phone keeps the other half of the key and approves every signature. Open Duet's pairing code with your phone's camera.</p>
        {pairing.error && (
          <p class="error" data-testid="pairing-error">
            {pairing.error}
          </p>
        )}
        {error && <p class="error">{error}</p>}
        <button data-testid="start-pairing" disabled={busy} onClick={() => void run({ action: 'start-pairing' })}>
          {pairing.phase === 'failed' ? 'Try again' : 'Show pairing code'}
        </button>
      </div>
    );
  }
  if (pairing.phase === 'showing-code') {
    return (
      <div class="stack center">
        <p class="step">Step 2 of 3</p>
        <h2>Scan with your phone</h2>
        {qr && <img class="qr" data-testid="pairing-qr" src={qr} alt="Pairing code" width={240} height={240} />}
        <p class="lede">Waiting for your phone… {left && <span data-testid="pairing-expiry">Expires in {left}.</span>}</p>
        <input class="link" data-testid="pairing-link" readOnly value={pairing.link ?? ''} aria-label="Pairing link" />
        <button class="secondary" data-testid="cancel-pairing" onClick={() => void run({ action: 'cancel-pairing' })}>
          Cancel
        </button>
      </div>
    );
  }
  if (pairing.phase === 'confirm-sas') {
    return (
      <div class="stack center">
        <h2>Do both screens show this code?</h2>
        <p class="sas" data-testid="pairing-sas">
          {pairing.sas}
        </p>
        <p class="lede">If the codes differ, someone may be between your devices: stop.</p>
        <div class="row">
          <button class="secondary" data-testid="sas-mismatch" onClick={() => void run({ action: 'confirm-sas', matches: false })}>
            No, they differ
          </button>
          <button data-testid="sas-match" onClick={() => void run({ action: 'confirm-sas', matches: true })}>
            Yes, they match
          </button>
        </div>
      </div>
    );
  }
  return (
    <div class="stack center">
      <h2>Creating your key</h2>
      <div class="spinner" aria-label="working" />
      <p class="lede" data-testid="pairing-progress">
        Your phone and this browser are generating the two halves of your key…
      </p>
    </div>
  );
}

export function FirstAddress({ view, onDone }: { view: WalletView; onDone: () => void }) {
  const first = view.state.accounts[0];
  return (
    <div class="stack center">
      <p class="step">Step 3 of 3</p>
      <h2>Your wallet is ready</h2>
      <p class="lede">This is your first address. Every signature needs this browser and your phone.</p>
      <p class="address big" data-testid="address">
        {first?.address}
      </p>
      <button data-testid="first-address-continue" onClick={onDone}>
        Continue
      </button>
    </div>
  );
}
