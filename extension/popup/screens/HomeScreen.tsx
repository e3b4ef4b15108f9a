import { useState } from 'preact/hooks';
import { activeAccountEntry, activeNetwork } from '../../../src/background/wallet-state.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import { formatBalance, formatDate } from '../../ui/format.ts';
import { usePolled } from '../../ui/wallet-client.ts';
import { TaintedNotice } from '../TaintedNotice.tsx';

const BALANCE_REFRESH_MS = 5_000;

export function HomeScreen({ view, onSend, onReceive, onDevices }: { view: WalletView; onSend(): void; onReceive(): void; onDevices(): void }) {
  const account = activeAccountEntry(view.state);
  const network = activeNetwork(view.state);
  const balance = usePolled<string | null>({ action: 'balance' }, BALANCE_REFRESH_MS, `${account?.address}:${network.chainId}`).value;
  const [copied, setCopied] = useState(false);
  const device = view.state.devices[0];
  const atGuard = view.guardPanel?.queue.length ?? 0;
  const waiting = view.approvals.filter((card) => card.status === 'awaiting-user' || card.status === 'co-signing').length;
  return (
    <div class="stack">
      <TaintedNotice state={view.state} />
      <section class="card">
        <p class="muted" data-testid="account-name">
          {account?.name}
        </p>
        <p class="balance" data-testid="balance">
          {balance === undefined ? '…' : balance === null ? 'Balance unavailable' : formatBalance(balance, network.symbol)}
        </p>
        <p class="address" data-testid="address">
          {account?.address}
        </p>
        <button
          class="secondary small"
          data-testid="copy-address"
          onClick={() => {
            if (account) void navigator.clipboard.writeText(account.address).then(() => setCopied(true));
          }}
        >
          {copied ? 'Copied' : 'Copy address'}
        </button>
        <p class="muted" data-testid="network-name">
          {network.name}
          {network.rpcUrl ? '' : ' — no RPC URL set (Networks)'}
        </p>
        <div class="row actions">
          <button data-testid="open-send" onClick={onSend}>
            Send
          </button>
          <button class="secondary" data-testid="open-receive" onClick={onReceive}>
            Receive
          </button>
        </div>
      </section>
      <section class="card">
        <h3>Signer phone</h3>
        <p data-testid="phone-status">
          {device ? `${device.name}, paired ${formatDate(device.pairedAt)} — ${!view.phone.reachable ? 'offline' : view.phone.path === 'direct' ? 'connected directly' : 'connected via relay'}` : 'No phone paired'}
        </p>
      </section>
      {waiting > 0 && (
        <p class="notice" data-testid="pending-approvals">
          {waiting === 1 ? '1 request is' : `${waiting} requests are`} waiting in the approval window.
        </p>
      )}
      {atGuard > 0 && (
        <p class="notice" data-testid="guard-waiting-hint">
          {atGuard === 1 ? '1 item waits' : `${atGuard} items wait`} at your Duet Guard (delayed, cancellable from any of your devices).{' '}
          <button class="secondary small" data-testid="guard-waiting-open" onClick={onDevices}>
            See them
          </button>
        </p>
      )}
    </div>
  );
}
