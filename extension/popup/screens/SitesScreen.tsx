import { siteChainId } from '../../../src/background/permissions.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import { formatDate, shortAddress } from '../../ui/format.ts';
import { useAction } from '../../ui/wallet-client.ts';

export function SitesScreen({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const { error, busy, run } = useAction(refresh);
  const sites = Object.entries(view.state.permissions);
  return (
    <div class="stack">
      <h2>Connected sites</h2>
      <p class="muted small">Each site has its own network. The one at the top is Duet's: for its own screens and sites not connected.</p>
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
                <select
                  class="small"
                  data-testid="site-network"
                  aria-label={`Network of ${origin}`}
                  disabled={busy}
                  value={siteChainId(view.state, origin)}
                  onChange={(e) => void run({ action: 'set-site-network', origin, chainId: Number(e.currentTarget.value) })}
                >
                  {view.state.networks.map((network) => (
                    <option value={network.chainId} key={network.chainId} disabled={!network.rpcUrl}>
                      {network.rpcUrl ? network.name : `${network.name} (set RPC)`}
                    </option>
                  ))}
                </select>
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
