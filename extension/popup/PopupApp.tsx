/** The popup: onboarding (password, pairing with the phone), unlock, accounts, networks, devices, sites. */
import { useEffect, useState } from 'preact/hooks';
import QRCode from 'qrcode';
import type { WalletView } from '../../src/background/wallet-service.ts';
import { sendUi, useWalletView } from '../ui/wallet-client.ts';

function useAction(refresh: (view: WalletView) => void) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (request: Parameters<typeof sendUi>[0]) => {
    setBusy(true);
    setError(null);
    try {
      refresh(await sendUi(request));
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Something went wrong.');
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

function CreateWallet({ refresh }: { refresh: (view: WalletView) => void }) {
  const { error, busy, run } = useAction(refresh);
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [relayUrl, setRelayUrl] = useState('ws://127.0.0.1:8787');
  const [phoneAppUrl, setPhoneAppUrl] = useState('http://127.0.0.1:8787/');
  const [rpcUrl, setRpcUrl] = useState('http://127.0.0.1:8545');
  const mismatch = confirm.length > 0 && confirm !== password;
  return (
    <form
      class="stack"
      onSubmit={(event) => {
        event.preventDefault();
        if (!mismatch) void run({ action: 'create', password, relayUrl, phoneAppUrl, rpcUrl });
      }}
    >
      <h2>Create your wallet</h2>
      <p class="lede">This password protects the extension's half of your key on this computer.</p>
      <label>
        Password
        <input data-testid="create-password" type="password" minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
      </label>
      <label>
        Confirm password
        <input data-testid="create-confirm" type="password" value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} required />
      </label>
      {mismatch && <p class="error">The passwords differ.</p>}
      <details>
        <summary>Advanced</summary>
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
      </details>
      {error && <p class="error" data-testid="error">{error}</p>}
      <button data-testid="create-submit" type="submit" disabled={busy || mismatch}>
        Create wallet
      </button>
    </form>
  );
}

function Unlock({ refresh }: { refresh: (view: WalletView) => void }) {
  const { error, busy, run } = useAction(refresh);
  const [password, setPassword] = useState('');
  return (
    <form
      class="stack"
      onSubmit={(event) => {
        event.preventDefault();
        void run({ action: 'unlock', password });
      }}
    >
      <h2>Unlock Duet</h2>
      <input data-testid="unlock-password" type="password" placeholder="Password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      {error && <p class="error" data-testid="error">{error}</p>}
      <button data-testid="unlock-submit" type="submit" disabled={busy}>
        Unlock
      </button>
    </form>
  );
}

function Pairing({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const { error, busy, run } = useAction(refresh);
  const [qr, setQr] = useState<string | null>(null);
  const { pairing } = view;
  useEffect(() => {
    if (pairing.link) void QRCode.toDataURL(pairing.link, { errorCorrectionLevel: 'M', margin: 2, width: 280 }).then(setQr);
  }, [pairing.link]);
  if (pairing.phase === 'idle' || pairing.phase === 'failed') {
    return (
      <div class="stack">
        <h2>Pair your phone</h2>
        <p class="lede">Your phone keeps the other half of the key. Open the pairing code with your phone's camera.</p>
        {pairing.error && <p class="error" data-testid="pairing-error">{pairing.error}</p>}
        {error && <p class="error">{error}</p>}
        <button data-testid="start-pairing" disabled={busy} onClick={() => void run({ action: 'start-pairing' })}>
          Show pairing code
        </button>
      </div>
    );
  }
  if (pairing.phase === 'waiting-for-phone') {
    return (
      <div class="stack center">
        <h2>Scan with your phone</h2>
        {qr && <img data-testid="pairing-qr" src={qr} alt="Pairing code" width={280} height={280} />}
        <p class="lede">Waiting for your phone… The code expires in 5 minutes.</p>
        <input class="link" data-testid="pairing-link" readOnly value={pairing.link ?? ''} />
      </div>
    );
  }
  if (pairing.phase === 'confirm-sas') {
    return (
      <div class="stack center">
        <h2>Do both screens show this code?</h2>
        <p class="sas" data-testid="pairing-sas">{pairing.sas}</p>
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
      <p class="lede" data-testid="pairing-progress">Your phone and this browser are generating the two halves of your key…</p>
    </div>
  );
}

function Home({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const { error, run } = useAction(refresh);
  const { state } = view;
  const active = state.accounts.find((a) => a.index === state.activeAccount) ?? state.accounts[0];
  const network = state.networks.find((n) => n.chainId === state.activeChainId);
  const [balance, setBalance] = useState<string | null>(null);
  useEffect(() => {
    if (!active || !network?.rpcUrl) return;
    void fetch(network.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: [active.address, 'latest'] }) })
      .then((r) => r.json() as Promise<{ result?: string }>)
      .then((body) => setBalance(body.result ? `${(Number(BigInt(body.result) / 10n ** 12n) / 1e6).toFixed(4)} ETH` : null))
      .catch(() => setBalance(null));
  }, [active?.address, network?.rpcUrl]);
  return (
    <div class="stack">
      <div class="row spread">
        <select data-testid="network-select" value={state.activeChainId} onChange={(e) => void run({ action: 'switch-chain', chainId: Number(e.currentTarget.value) })}>
          {state.networks.map((n) => (
            <option value={n.chainId} key={n.chainId}>
              {n.name}
            </option>
          ))}
        </select>
        <button class="secondary" data-testid="lock" onClick={() => void run({ action: 'lock' })}>
          Lock
        </button>
      </div>
      <section class="card">
        <select data-testid="account-select" value={state.activeAccount} onChange={(e) => void run({ action: 'select-account', index: Number(e.currentTarget.value) })}>
          {state.accounts.map((a) => (
            <option value={a.index} key={a.index}>
              {a.name}
            </option>
          ))}
        </select>
        <p class="address" data-testid="address">{active?.address}</p>
        <p class="balance" data-testid="balance">{balance ?? '—'}</p>
        <button class="secondary" data-testid="add-account" onClick={() => void run({ action: 'add-account', name: '' })}>
          Add account
        </button>
      </section>
      <section class="card">
        <h3>Signer devices</h3>
        <p data-testid="phone-status">
          {state.phone ? `${state.phone.name}, paired ${new Date(state.phone.pairedAt).toLocaleDateString()} — ${view.phoneOnline ? 'relay connected' : 'relay offline'}` : 'No phone paired'}
        </p>
      </section>
      <section class="card">
        <h3>Connected sites</h3>
        {Object.keys(state.permissions).length === 0 && <p class="lede">None yet.</p>}
        {Object.keys(state.permissions).map((origin) => (
          <div class="row spread" key={origin}>
            <span>{origin}</span>
            <button class="secondary" onClick={() => void run({ action: 'revoke', origin })}>
              Disconnect
            </button>
          </div>
        ))}
      </section>
      {error && <p class="error">{error}</p>}
    </div>
  );
}

export function PopupApp() {
  const { view, refresh } = useWalletView();
  return (
    <main class="popup" data-testid="popup-root">
      <header class="brand">
        <span class="logo" aria-hidden="true" />
        <h1>Duet</h1>
      </header>
      {!view && <p class="lede">Your browser and your phone co-sign every transaction. Neither holds the whole key.</p>}
      {view && !view.vaultExists && <CreateWallet refresh={refresh} />}
      {view && view.vaultExists && !view.unlocked && <Unlock refresh={refresh} />}
      {view && view.unlocked && view.state.accounts.length === 0 && <Pairing view={view} refresh={refresh} />}
      {view && view.unlocked && view.state.accounts.length > 0 && <Home view={view} refresh={refresh} />}
    </main>
  );
}
