import { useState } from 'preact/hooks';
import type { WalletView } from '../../src/background/wallet-service.ts';
import { useAction } from './wallet-client.ts';

/** Password entry, shared by the popup and the approval window. A wrong password changes nothing. */
export function UnlockForm({ refresh, lede }: { refresh: (view: WalletView) => void; lede?: string }) {
  const { error, busy, run } = useAction(refresh);
  const [password, setPassword] = useState('');
  return (
    <form
      class="stack"
      onSubmit={(event) => {
        event.preventDefault();
        void run({ action: 'unlock', password }).then((ok) => ok && setPassword(''));
      }}
    >
      <h2>Unlock Duet</h2>
      {lede && <p class="lede">{lede}</p>}
      <input data-testid="unlock-password" type="password" autoFocus placeholder="Password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      {error && (
        <p class="error" data-testid="error">
          {error}
        </p>
      )}
      <button data-testid="unlock-submit" type="submit" disabled={busy || password.length === 0}>
        {busy ? 'Unlocking…' : 'Unlock'}
      </button>
    </form>
  );
}
