import { useState } from 'preact/hooks';
import type { WalletNetwork } from '../../../src/background/wallet-state.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import { useAction } from '../../ui/wallet-client.ts';

type Refresh = (view: WalletView) => void;

function NetworkRow({ network, active, refresh }: { network: WalletNetwork; active: boolean; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [rpcUrl, setRpcUrl] = useState(network.rpcUrl);
  return (
    <li class={active ? 'item active' : 'item'} data-testid={`network-${network.chainId}`}>
      <div class="row spread">
        <div>
          <strong>{network.name}</strong>
          <p class="muted small">
            Chain {network.chainId} · {network.symbol}
            {active ? ' · active' : ''}
          </p>
        </div>
        <div class="row">
          {!active && (
            <button class="small" data-testid={`network-use-${network.chainId}`} disabled={busy || !network.rpcUrl} onClick={() => void run({ action: 'switch-chain', chainId: network.chainId })}>
              Use
            </button>
          )}
          {!network.preset && !active && (
            <button class="danger small" data-testid={`network-remove-${network.chainId}`} disabled={busy} onClick={() => void run({ action: 'remove-network', chainId: network.chainId })}>
              Remove
            </button>
          )}
        </div>
      </div>
      <form
        class="row"
        onSubmit={(event) => {
          event.preventDefault();
          void run({ action: 'set-network-rpc', chainId: network.chainId, rpcUrl });
        }}
      >
        <input data-testid={`network-rpc-${network.chainId}`} placeholder="https://… RPC URL" value={rpcUrl} onInput={(e) => setRpcUrl(e.currentTarget.value)} aria-label={`${network.name} RPC URL`} />
        <button class="secondary small" data-testid={`network-rpc-save-${network.chainId}`} type="submit" disabled={busy || rpcUrl === network.rpcUrl}>
          Save
        </button>
      </form>
      {error && <p class="error">{error}</p>}
    </li>
  );
}

function AddNetworkForm({ refresh }: { refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [form, setForm] = useState({ name: '', chainId: '', rpcUrl: '', symbol: 'ETH', explorerUrl: '' });
  const field = (key: keyof typeof form, label: string, placeholder = '') => (
    <label>
      {label}
      <input data-testid={`new-network-${key}`} placeholder={placeholder} value={form[key]} onInput={(e) => setForm({ ...form, [key]: e.currentTarget.value })} />
    </label>
  );
  return (
    <details class="card">
      <summary data-testid="add-network-toggle">Add a network</summary>
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          const chainId = Number(form.chainId);
          void run({ action: 'add-network', name: form.name, chainId, rpcUrl: form.rpcUrl, symbol: form.symbol, ...(form.explorerUrl ? { explorerUrl: form.explorerUrl } : {}) }).then(
            (ok) => ok && setForm({ name: '', chainId: '', rpcUrl: '', symbol: 'ETH', explorerUrl: '' }),
          );
        }}
      >
        {field('name', 'Name')}
        {field('chainId', 'Chain ID', 'e.g. 10')}
        {field('rpcUrl', 'RPC URL', 'https://…')}
        {field('symbol', 'Currency symbol')}
        {field('explorerUrl', 'Block explorer (optional)', 'https://…')}
        <p class="hint">Duet asks the RPC for its chain ID before adding it.</p>
        {error && (
          <p class="error" data-testid="add-network-error">
            {error}
          </p>
        )}
        <button data-testid="add-network-submit" type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Add network'}
        </button>
      </form>
    </details>
  );
}

export function NetworksScreen({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  return (
    <div class="stack">
      <h2>Networks</h2>
      <ul class="list">
        {view.state.networks.map((network) => (
          <NetworkRow key={`${network.chainId}:${network.rpcUrl}`} network={network} active={network.chainId === view.state.activeChainId} refresh={refresh} />
        ))}
      </ul>
      <AddNetworkForm refresh={refresh} />
    </div>
  );
}
