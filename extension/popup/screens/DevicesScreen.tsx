import { useState } from 'preact/hooks';
import type { PairedDevice } from '../../../src/background/wallet-state.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import { formatDate } from '../../ui/format.ts';
import { useAction } from '../../ui/wallet-client.ts';
import { TaintedNotice } from '../TaintedNotice.tsx';

type Refresh = (view: WalletView) => void;

function DeviceRow({ device, reachable, problem, refresh }: { device: PairedDevice; reachable: boolean; problem: string | null; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [confirming, setConfirming] = useState(false);
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(device.name);
  return (
    <li class="item" data-testid={`device-${device.id}`}>
      {editing ? (
        <form
          class="row"
          onSubmit={(event) => {
            event.preventDefault();
            void run({ action: 'rename-device', id: device.id, name }).then((ok) => ok && setEditing(false));
          }}
        >
          <input data-testid="device-name-input" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-label="Device name" />
          <button data-testid="device-rename-save" type="submit" disabled={busy}>
            Save
          </button>
        </form>
      ) : (
        <div class="row spread">
          <strong data-testid="device-name">{device.name}</strong>
          <button
            class="secondary small"
            data-testid="device-rename"
            onClick={() => {
              setName(device.name);
              setEditing(true);
            }}
          >
            Rename
          </button>
        </div>
      )}
      <p class="muted small">Paired {formatDate(device.pairedAt)}</p>
      <p class="muted small" data-testid="device-last-seen">
        Last seen {device.lastSeen === null ? 'never' : formatDate(device.lastSeen)} · {reachable ? 'relay connected' : 'relay offline'}
      </p>
      {problem && (
        <p class="warning small" data-testid="device-problem">
          {problem}
        </p>
      )}
      {confirming ? (
        <div class="stack">
          <p class="warning">Unpairing deletes this browser's key share. These accounts can then no longer sign from this browser. Continue?</p>
          <div class="row">
            <button class="secondary" onClick={() => setConfirming(false)}>
              Keep
            </button>
            <button class="danger" data-testid="unpair-confirm" disabled={busy} onClick={() => void run({ action: 'unpair-device', id: device.id })}>
              Unpair
            </button>
          </div>
        </div>
      ) : (
        <button class="danger small" data-testid="unpair" onClick={() => setConfirming(true)}>
          Unpair
        </button>
      )}
      {error && <p class="error">{error}</p>}
    </li>
  );
}

export function DevicesScreen({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  return (
    <div class="stack">
      <h2>Devices</h2>
      <TaintedNotice state={view.state} />
      <p class="lede">The phone that holds the other half of your key.</p>
      <ul class="list">
        {view.state.devices.map((device) => (
          <DeviceRow key={device.id} device={device} reachable={view.phone.reachable} problem={view.phone.problem ?? null} refresh={refresh} />
        ))}
      </ul>
    </div>
  );
}
