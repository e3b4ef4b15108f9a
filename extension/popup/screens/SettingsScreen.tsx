import { useState } from 'preact/hooks';
import { formatIceServerLines } from '../../../src/channel/ice-servers.ts';
import { MIN_PASSWORD_LENGTH } from '../../../src/background/password-policy.ts';
import { AUTO_LOCK_CHOICES_MINUTES } from '../../../src/background/wallet-state.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import { useAction } from '../../ui/wallet-client.ts';

function autoLockLabel(minutes: number): string {
  if (minutes === 0) return 'Never';
  if (minutes < 60) return `After ${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `After ${minutes / 60} hour${minutes === 60 ? '' : 's'}`;
}

function ChangePasswordForm({ refresh }: { refresh: (view: WalletView) => void }) {
  const { error, busy, run } = useAction(refresh);
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [changed, setChanged] = useState(false);
  const mismatch = confirmation.length > 0 && confirmation !== newPassword;
  return (
    <form
      class="stack"
      onSubmit={(event) => {
        event.preventDefault();
        setChanged(false);
        void run({ action: 'change-password', currentPassword, newPassword }).then((ok) => {
          if (!ok) return;
          setCurrentPassword('');
          setNewPassword('');
          setConfirmation('');
          setChanged(true);
        });
      }}
    >
      <h3>Change password</h3>
      <input type="password" data-testid="current-password" autocomplete="current-password" placeholder="Current password" value={currentPassword} onInput={(e) => setCurrentPassword(e.currentTarget.value)} />
      <input type="password" data-testid="new-password" autocomplete="new-password" placeholder={`New password (${MIN_PASSWORD_LENGTH}+ characters)`} value={newPassword} onInput={(e) => setNewPassword(e.currentTarget.value)} />
      <input type="password" data-testid="new-password-confirm" autocomplete="new-password" placeholder="Repeat the new password" value={confirmation} onInput={(e) => setConfirmation(e.currentTarget.value)} />
      {mismatch && <p class="error">The new passwords differ.</p>}
      <button type="submit" data-testid="change-password" disabled={busy || mismatch || confirmation.length === 0 || currentPassword.length === 0}>
        {busy ? 'Re-encrypting…' : 'Change password'}
      </button>
      {changed && <p class="hint" data-testid="password-changed">Password changed. Use the new one to unlock.</p>}
      {error && <p class="error" data-testid="change-password-error">{error}</p>}
    </form>
  );
}

/** The direct WebRTC path to the phone: on or off, and ICE servers (none by default: host candidates only). */
function DirectPathForm({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const { error, busy, run } = useAction(refresh);
  const { enabled, iceServers } = view.state.directPath;
  const [on, setOn] = useState(enabled);
  const [lines, setLines] = useState(formatIceServerLines(iceServers));
  const [saved, setSaved] = useState(false);
  return (
    <details>
      <summary>Advanced</summary>
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          setSaved(false);
          void run({ action: 'set-direct-path', enabled: on, iceServers: lines }).then((ok) => setSaved(ok));
        }}
      >
        <h3>Direct connection to your phone</h3>
        <label class="row">
          <input type="checkbox" data-testid="direct-path-enabled" checked={on} onChange={(e) => setOn(e.currentTarget.checked)} />
          Connect directly (WebRTC) when the phone is on the same network
        </label>
        <p class="hint">Messages still travel end-to-end encrypted; the relay remains the fallback. Without ICE servers only this network's addresses are tried, and no other server is contacted.</p>
        <label>
          ICE servers, one per line: <code>stun:host:port</code>, or <code>turn:host:port username credential</code>
          <textarea data-testid="ice-servers" rows={3} value={lines} onInput={(e) => setLines(e.currentTarget.value)} placeholder="none" />
        </label>
        <button type="submit" data-testid="direct-path-save" disabled={busy}>
          Save
        </button>
        {saved && <p class="hint" data-testid="direct-path-saved">Saved.</p>}
        {error && <p class="error" data-testid="direct-path-error">{error}</p>}
      </form>
    </details>
  );
}

/** How Duet presents itself to pages (src/background/page-settings.ts); applies to pages loaded from now on. */
function PageSettingsForm({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const { error, busy, run } = useAction(refresh);
  const settings = view.pageSettings;
  const set = (change: Partial<typeof settings>) => void run({ action: 'set-page-settings', ...settings, ...change });
  return (
    <fieldset class="choices">
      <legend>Sites</legend>
      <label class="choice">
        <input type="checkbox" data-testid="setting-metamask-flag" disabled={busy} checked={settings.metaMaskFlag} onChange={(e) => set({ metaMaskFlag: e.currentTarget.checked })} />
        <span>Tell sites Duet works like MetaMask (isMetaMask), so sites made for MetaMask enable their buttons</span>
      </label>
      <label class="choice">
        <input type="checkbox" data-testid="setting-keep-window-ethereum" disabled={busy} checked={settings.keepWindowEthereum} onChange={(e) => set({ keepWindowEthereum: e.currentTarget.checked })} />
        <span>Keep Duet as the page's wallet (window.ethereum) when a site's own script replaces it</span>
      </label>
      <p class="hint">Applies to pages you open or reload from now on.</p>
      {error && <p class="error">{error}</p>}
    </fieldset>
  );
}

export function SettingsScreen({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const { error, busy, run } = useAction(refresh);
  return (
    <div class="stack">
      <h2>Settings</h2>
      <label>
        Lock automatically
        <select data-testid="auto-lock-select" disabled={busy} value={view.state.autoLockMinutes} onChange={(e) => void run({ action: 'set-auto-lock', minutes: Number(e.currentTarget.value) })}>
          {AUTO_LOCK_CHOICES_MINUTES.map((minutes) => (
            <option key={minutes} value={minutes}>
              {autoLockLabel(minutes)}
            </option>
          ))}
        </select>
      </label>
      <p class="hint">Duet also locks when the browser closes.</p>
      <PageSettingsForm view={view} refresh={refresh} />
      <ChangePasswordForm refresh={refresh} />
      <dl class="facts">
        <dt>Relay</dt>
        <dd>{view.state.relayUrl}</dd>
        <dt>Phone app</dt>
        <dd>{view.state.phoneAppUrl}</dd>
      </dl>
      <DirectPathForm view={view} refresh={refresh} />
      {error && <p class="error">{error}</p>}
    </div>
  );
}
