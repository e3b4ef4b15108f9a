import { AUTO_LOCK_CHOICES_MINUTES } from '../../../src/background/public-state.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import { useAction } from '../../ui/wallet-client.ts';

function autoLockLabel(minutes: number): string {
  if (minutes === 0) return 'Never';
  if (minutes < 60) return `After ${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `After ${minutes / 60} hour${minutes === 60 ? '' : 's'}`;
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
      <dl class="facts">
        <dt>Relay</dt>
        <dd>{view.state.relayUrl}</dd>
        <dt>Phone app</dt>
        <dd>{view.state.phoneAppUrl}</dd>
      </dl>
      {error && <p class="error">{error}</p>}
    </div>
  );
}
