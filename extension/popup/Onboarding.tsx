/** First run: create the password, pair the phone (QR link + SAS), see the first address. */
import { useState } from 'preact/hooks';
import { DEFAULT_PHONE_APP_URL, DEFAULT_RELAY_URL } from '../../src/background/wallet-state.ts';
import { MIN_PASSWORD_LENGTH } from '../../src/background/password-policy.ts';
import type { WalletView } from '../../src/background/wallet-service.ts';
import { LOCAL_CHAIN_ID } from '../../src/wallet/chains.ts';
import { useAction } from '../ui/wallet-client.ts';
import { DecisionCard, PairingQr, PairingSas } from './PairingSteps.tsx';

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

const JOIN_STEPS: Record<string, string> = {
  linking: 'Connecting to the devices of your wallet…',
  proposed: 'Your devices start sharing the key with this browser…',
  joined: 'Joining…',
  dealt: 'Receiving key shares…',
  received: 'Key shares received…',
  paired: 'Pair keys set up…',
  confirmed: 'Finishing…',
  committed: 'Done.',
  failed: 'Stopped.',
};

/** A recovery with the Duet Guard as dealer: this browser links to the Guard by the link the phone shows, and compares the Guard's code. */
function JoiningGuardLink({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [link, setLink] = useState('');
  const guard = view.guard;
  if (guard.step === 'linked') return <p class="lede" data-testid="joining-guard-linked">Linked to the Duet Guard. It deals this browser its share once your phone finishes the recovery (after its security period).</p>;
  if (guard.step === 'confirm-sas') {
    return (
      <section class="card stack">
        <p class="lede">Does the Guard show this code?</p>
        <p class="sas" data-testid="guard-sas">
          {guard.sas}
        </p>
        <div class="row">
          <button class="secondary" disabled={busy} onClick={() => void run({ action: 'guard-sas', matches: false })}>
            No, they differ
          </button>
          <button data-testid="guard-sas-match" disabled={busy} onClick={() => void run({ action: 'guard-sas', matches: true })}>
            Codes match
          </button>
        </div>
      </section>
    );
  }
  return (
    <details data-testid="joining-guard-link">
      <summary>Recovering with the Duet Guard?</summary>
      <p class="lede">Paste the Guard link your phone shows: this browser links to the Guard, which deals it its share with your phone.</p>
      <input data-testid="joining-guard-link-input" placeholder="https://…#guard=…" value={link} onInput={(event) => setLink(event.currentTarget.value)} />
      <button data-testid="joining-guard-link-submit" disabled={busy} onClick={() => void run({ action: 'guard-link-device', link }).then((ok) => ok && setLink(''))}>
        Link to the Guard
      </button>
      {(error ?? guard.error) && <p class="error">{error ?? guard.error}</p>}
    </details>
  );
}

/** A browser that joins an existing wallet: compare the code of each device that deals it a share. */
function Joining({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const joining = view.joining;
  return (
    <div class="stack" data-testid="recovery-joining" data-step={joining?.step ?? ''}>
      <h2>Recovering your wallet</h2>
      <p class="lede">Each device of your wallet that deals this browser its key share shows a code: compare it with the code here.</p>
      {joining?.decisions.map((decision) => <DecisionCard key={decision.id} decision={decision} refresh={refresh} />)}
      <JoiningGuardLink view={view} refresh={refresh} />
      <p data-testid="recovery-step">{JOIN_STEPS[joining?.step ?? 'linking'] ?? joining?.step}</p>
      {joining?.error && (
        <p class="error" data-testid="recovery-error">
          {joining.error}
        </p>
      )}
    </div>
  );
}

export function Pairing({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const { pairing } = view;
  const recovering = pairing.kind === 'recover';

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
        <section class="card stack">
          <h3>I already have a Duet wallet</h3>
          <p class="lede">Lost your computer or browser profile? Scan a code with a phone of your wallet: it and a second device of your wallet (another phone or Duet Guard) bring your wallet to this browser. Same address; your accounts and networks come back.</p>
          <button class="secondary" data-testid="start-recovery" disabled={busy} onClick={() => void run({ action: 'start-pairing', kind: 'recover' })}>
            Recover my wallet
          </button>
        </section>
      </div>
    );
  }
  if (pairing.phase === 'showing-code') return <PairingQr view={view} refresh={refresh} prompt={recovering ? 'Scan with a phone of your wallet' : 'Scan with your phone'} />;
  if (pairing.phase === 'confirm-sas') return <PairingSas view={view} refresh={refresh} />;
  if (pairing.phase === 'joining') return <Joining view={view} refresh={refresh} />;
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
      <p class="lede">This is your first address. Every signature needs this browser and a device of your wallet.</p>
      <p class="address big" data-testid="address">
        {first?.address}
      </p>
      <button data-testid="first-address-continue" onClick={onDone}>
        Continue
      </button>
    </div>
  );
}
