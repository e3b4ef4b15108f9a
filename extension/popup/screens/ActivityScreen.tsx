/**
 * Activity: every request this wallet handled for the active account on the active network,
 * newest first — transactions with their state (pending, confirmed or failed with the block, and a
 * link to the explorer when the network has one), signatures, rejections, refusals — with "Speed
 * up" and "Cancel" on pending transactions and the reason when one is stuck.
 */
import type { ActivityEntry, ActivityStatus } from '../../../src/background/activity.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import { WALLET_ORIGIN } from '../../../src/wallet/signing-request.ts';
import { formatDate, shortAddress } from '../../ui/format.ts';
import { useAction, usePolled } from '../../ui/wallet-client.ts';

const ACTIVITY_REFRESH_MS = 2_000;

const STATUS_LABELS: Record<ActivityStatus, string> = {
  signed: 'Sending',
  pending: 'Pending',
  confirmed: 'Confirmed',
  failed: 'Failed',
  replaced: 'Replaced',
  dropped: 'Dropped',
  'signed-message': 'Signed',
  rejected: 'Rejected',
  refused: 'Refused on phone',
  error: 'Not signed',
};

function Entry({ entry, explorerUrl, refresh, onChange }: { entry: ActivityEntry; explorerUrl: string | null; refresh: (view: WalletView) => void; onChange(): void }) {
  const { error, busy, run } = useAction(refresh);
  const tx = entry.tx;
  const open = entry.status === 'pending' || entry.status === 'signed';
  const act = (action: 'speed-up' | 'cancel-transaction') => void run({ action, id: entry.id }).then(onChange);
  return (
    <li class="item" data-testid="activity-entry" data-status={entry.status} data-id={entry.id}>
      <div class="row spread">
        <strong data-testid="activity-title">{entry.title}</strong>
        <span class={`badge ${entry.status}`} data-testid="activity-status">
          {STATUS_LABELS[entry.status]}
        </span>
      </div>
      {tx && (
        <p class="muted" data-testid="activity-summary">
          {tx.amount ? `${tx.amount} · ` : ''}
          {tx.counterparty ? `to ${shortAddress(tx.counterparty)} · ` : ''}nonce {tx.nonce}
          {tx.blockNumber !== null ? ` · block ${tx.blockNumber}` : ''}
        </p>
      )}
      <p class="muted small">
        {formatDate(entry.createdAt)} · {entry.origin === WALLET_ORIGIN ? 'from Duet' : entry.origin}
      </p>
      {tx?.hash &&
        (explorerUrl ? (
          <a class="small" data-testid="activity-explorer" href={`${explorerUrl.replace(/\/$/, '')}/tx/${tx.hash}`} target="_blank" rel="noreferrer">
            {shortAddress(tx.hash)} on the explorer
          </a>
        ) : (
          <p class="address small" data-testid="activity-hash">
            {tx.hash}
          </p>
        ))}
      {entry.detail && entry.status !== 'pending' && (
        <p class="small" data-testid="activity-detail">
          {entry.detail}
        </p>
      )}
      {tx?.stuck && (
        <p class="warning small" data-testid="activity-stuck">
          Stuck: {tx.stuck}
        </p>
      )}
      {open && tx?.hash && (
        <div class="row actions">
          <button class="small" data-testid="activity-speed-up" disabled={busy} onClick={() => act('speed-up')}>
            Speed up
          </button>
          <button class="secondary small" data-testid="activity-cancel" disabled={busy} onClick={() => act('cancel-transaction')}>
            Cancel
          </button>
        </div>
      )}
      {error && <p class="error">{error}</p>}
    </li>
  );
}

export function ActivityScreen({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const { value, reload } = usePolled<{ entries: ActivityEntry[]; explorerUrl: string | null }>({ action: 'activity' }, ACTIVITY_REFRESH_MS, `${view.state.activeChainId}:${view.state.activeAccount}`);
  return (
    <div class="stack">
      <h2>Activity</h2>
      {value === undefined && <p class="muted">…</p>}
      {value === null && <p class="error">Activity is unavailable.</p>}
      {value && value.entries.length === 0 && (
        <p class="lede" data-testid="activity-empty">
          Nothing yet on this network for this account.
        </p>
      )}
      {value && value.entries.length > 0 && (
        <ul class="list" data-testid="activity-list">
          {value.entries.map((entry) => (
            <Entry key={entry.id} entry={entry} explorerUrl={value.explorerUrl} refresh={refresh} onChange={reload} />
          ))}
        </ul>
      )}
    </div>
  );
}
