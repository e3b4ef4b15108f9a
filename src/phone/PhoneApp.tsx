/** The phone co-signer's views. Logic lives in phone-controller.ts. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { browserRtcSessions } from '../channel/rtc-session.ts';
import type { DisplayModel } from '../wallet/decode.ts';
import { relayAllowed } from './app-security.ts';
import { browserDeviceKey } from './device-key.ts';
import { AUTO_LOCK_MS, PHONE_ATTEMPTS_DB, PhoneController, type PhoneView } from './phone-controller.ts';
import type { ReleaseId } from './release-check.ts';
import { indexedDbAttemptStore } from './unlock-throttle.ts';
import { reviewedDisplay } from '../wallet/reviewed-display.ts';
import { browserLockScheduler, InactivityLock } from './inactivity-lock.ts';
import { scanPairingLink, type ScanSession } from './qr-scanner.ts';
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
      <h3>Move your funds to a new wallet</h3>
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

function Home({ controller, view }: { controller: PhoneController; view: PhoneView }) {
  const [link, setLink] = useState('');
  const [scanning, setScanning] = useState(false);
  const [confirmUnpair, setConfirmUnpair] = useState(false);
  return (
    <div class="stack">
      {view.address ? (
        <section class="card">
          <h3>Your wallet</h3>
          <p class="address" data-testid="phone-address">{view.address}</p>
          <p class="lede" data-testid="phone-connection" data-path={view.path}>
            {!view.online ? 'Connecting to the relay…' : view.path === 'direct' ? 'Connected directly to your browser.' : 'Connected to the relay.'}
          </p>
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
      {view.extension && (
        <section class="card">
          <h3>Paired devices</h3>
          <p data-testid="phone-devices">
            {view.extension.name} — paired {new Date(view.extension.pairedAt).toLocaleString()}, last seen {new Date(view.extension.lastSeen).toLocaleTimeString()}
          </p>
          {confirmUnpair ? (
            <div class="stack">
              <p class="warning">Unpairing deletes this phone's half of the key. Without it the wallet cannot sign again. Move your funds first.</p>
              <div class="row">
                <button class="secondary" onClick={() => setConfirmUnpair(false)}>
                  Keep
                </button>
                <button class="danger" data-testid="unpair-confirm" onClick={() => void controller.unpair().then(() => setConfirmUnpair(false))}>
                  Delete and unpair
                </button>
              </div>
            </div>
          ) : (
            <button class="secondary" data-testid="unpair" onClick={() => setConfirmUnpair(true)}>
              Unpair
            </button>
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
      {release && (
        <p class="lede release" data-testid="app-release">
          Phone app {release.version} · bundle {release.bundleHash}
        </p>
      )}
    </main>
  );
}
