import { useState } from 'preact/hooks';
import type { AccountEntry } from '../../../src/background/wallet-state.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import { shortAddress } from '../../ui/format.ts';
import { useAction } from '../../ui/wallet-client.ts';

type Refresh = (view: WalletView) => void;

function AccountRow({ account, active, refresh }: { account: AccountEntry; active: boolean; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(account.name);
  return (
    <li class={active ? 'item active' : 'item'} data-testid={`account-${account.index}`}>
      {editing ? (
        <form
          class="row"
          onSubmit={(event) => {
            event.preventDefault();
            void run({ action: 'rename-account', index: account.index, name }).then((ok) => ok && setEditing(false));
          }}
        >
          <input data-testid={`account-name-input-${account.index}`} value={name} onInput={(e) => setName(e.currentTarget.value)} aria-label="Account name" />
          <button data-testid={`account-rename-save-${account.index}`} type="submit" disabled={busy}>
            Save
          </button>
        </form>
      ) : (
        <div class="row spread">
          <div>
            <strong data-testid={`account-label-${account.index}`}>{account.name}</strong>
            <p class="address small" title={account.address}>
              {shortAddress(account.address)}
            </p>
          </div>
          <div class="row">
            <button class="secondary small" data-testid={`account-rename-${account.index}`} onClick={() => setEditing(true)}>
              Rename
            </button>
            {!active && (
              <button class="small" data-testid={`account-use-${account.index}`} onClick={() => void run({ action: 'select-account', index: account.index })}>
                Use
              </button>
            )}
          </div>
        </div>
      )}
      {error && <p class="error">{error}</p>}
    </li>
  );
}

export function AccountsScreen({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const [name, setName] = useState('');
  return (
    <div class="stack">
      <h2>Accounts</h2>
      <p class="lede">Every account comes from the same pairing: your phone co-signs for all of them.</p>
      <ul class="list">
        {view.state.accounts.map((account) => (
          <AccountRow key={account.index} account={account} active={account.index === view.state.activeAccount} refresh={refresh} />
        ))}
      </ul>
      <form
        class="row"
        onSubmit={(event) => {
          event.preventDefault();
          void run({ action: 'add-account', name }).then((ok) => ok && setName(''));
        }}
      >
        <input data-testid="add-account-name" placeholder="Name (optional)" value={name} onInput={(e) => setName(e.currentTarget.value)} aria-label="New account name" />
        <button data-testid="add-account" type="submit" disabled={busy}>
          Add account
        </button>
      </form>
      {error && <p class="error">{error}</p>}
    </div>
  );
}
