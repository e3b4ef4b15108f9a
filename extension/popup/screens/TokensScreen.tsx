/** Tokens: the active network's ERC-20 list with the active account's balances; add by contract address, remove. */
import { useState } from 'preact/hooks';
import type { TokenEntry } from '../../../src/background/wallet-state.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import { formatBalance, shortAddress } from '../../ui/format.ts';
import { useAction, usePolled } from '../../ui/wallet-client.ts';

type Token = TokenEntry & { readonly balance: string | null };
const TOKENS_REFRESH_MS = 5_000;

export function TokensScreen({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const { value, reload } = usePolled<Token[]>({ action: 'tokens' }, TOKENS_REFRESH_MS, `${view.state.activeChainId}:${view.state.activeAccount}:${JSON.stringify(view.state.tokens)}`);
  const { error, busy, run } = useAction(refresh);
  const [address, setAddress] = useState('');
  return (
    <div class="stack">
      <h2>Tokens</h2>
      {value && value.length === 0 && (
        <p class="lede" data-testid="tokens-empty">
          No tokens on this network yet. Add one by its contract address; sites can suggest one too.
        </p>
      )}
      {value && value.length > 0 && (
        <ul class="list" data-testid="token-list">
          {value.map((token) => (
            <li class="item" key={token.address} data-testid="token-entry" data-address={token.address}>
              <div class="row spread">
                <strong data-testid="token-symbol">{token.symbol}</strong>
                <span data-testid="token-balance">{token.balance === null ? 'unavailable' : formatBalance(token.balance, token.symbol, token.decimals)}</span>
              </div>
              <div class="row spread">
                <p class="address small" title={token.address}>
                  {shortAddress(token.address)} · {token.decimals} decimals
                </p>
                <button class="secondary small" data-testid="token-remove" disabled={busy} onClick={() => void run({ action: 'remove-token', address: token.address }).then(reload)}>
                  Remove
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          void run({ action: 'add-token', address }).then((ok) => {
            if (ok) setAddress('');
            reload();
          });
        }}
      >
        <label>
          Token contract address
          <input data-testid="token-address" placeholder="0x…" spellcheck={false} value={address} onInput={(e) => setAddress(e.currentTarget.value)} />
        </label>
        <button data-testid="token-add" type="submit" disabled={busy || address.trim() === ''}>
          Add token
        </button>
        <p class="hint">Symbol and decimals are read from the contract.</p>
      </form>
      {error && (
        <p class="error" data-testid="token-error">
          {error}
        </p>
      )}
    </div>
  );
}
