import type { WalletView } from '../../../src/background/wallet-service.ts';
import { formatDate, shortAddress } from '../../ui/format.ts';
import { useAction } from '../../ui/wallet-client.ts';

export function SitesScreen({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const { error, busy, run } = useAction(refresh);
  const sites = Object.entries(view.state.permissions);
  return (
    <div class="stack">
      <h2>Connected sites</h2>
      {sites.length === 0 && (
        <p class="lede" data-testid="no-sites">
          No site is connected.
        </p>
      )}
      <ul class="list">
        {sites.map(([origin, permission]) => (
          <li class="item" key={origin} data-testid="site">
            <div class="row spread">
              <div>
                <strong data-testid="site-origin">{origin}</strong>
                <p class="muted small">
                  {permission.accounts.map(shortAddress).join(', ')} · since {formatDate(permission.grantedAt)}
                </p>
              </div>
              <button class="secondary small" data-testid="site-disconnect" disabled={busy} onClick={() => void run({ action: 'revoke', origin })}>
                Disconnect
              </button>
            </div>
          </li>
        ))}
      </ul>
      {error && <p class="error">{error}</p>}
    </div>
  );
}
