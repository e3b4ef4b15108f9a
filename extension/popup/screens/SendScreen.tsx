/**
 * Send ETH or a listed token: recipient (checksum checked), amount with "Max" (leaving the maximum
 * fee), the fee at today's base fee and at most, then a review; "Continue" queues it for the
 * approval window and the phone, like any site's transaction. The result appears in Activity.
 */
import { formatUnits } from 'ethers';
import { useEffect, useState } from 'preact/hooks';
import type { TokenEntry } from '../../../src/background/wallet-state.ts';
import type { SendQuote } from '../../../src/background/wallet-send.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import { formatBalance, shortAddress } from '../../ui/format.ts';
import { UiError, sendUi, usePolled } from '../../ui/wallet-client.ts';

type Token = TokenEntry & { readonly balance: string | null };

const QUOTE_REFRESH_MS = 12_000;

function useQuote(asset: string, to: string, chainKey: string): { quote: SendQuote | null; error: string | null } {
  const [state, setState] = useState<{ quote: SendQuote | null; error: string | null }>({ quote: null, error: null });
  useEffect(() => {
    let alive = true;
    const load = () =>
      void sendUi<SendQuote>({ action: 'send-quote', asset, ...(/^0x[0-9a-fA-F]{40}$/.test(to.trim()) ? { to: to.trim() } : {}) }).then(
        (quote) => alive && setState({ quote, error: null }),
        (error: unknown) => alive && setState({ quote: null, error: error instanceof Error ? error.message : 'No fee quote.' }),
      );
    load();
    const timer = setInterval(load, QUOTE_REFRESH_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [asset, to, chainKey]);
  return state;
}

const gwei = (wei: string) => `${Number(formatUnits(BigInt(wei), 'gwei')).toFixed(3)} gwei`;

export function SendScreen({ view, onDone }: { view: WalletView; onDone(): void }) {
  const chainKey = `${view.state.activeChainId}:${view.state.activeAccount}`;
  const tokens = (usePolled<Token[]>({ action: 'tokens' }, 30_000, chainKey).value ?? []) as Token[];
  const [asset, setAsset] = useState('native');
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('');
  const [reviewing, setReviewing] = useState(false);
  const [error, setError] = useState<{ message: string; field: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const [queued, setQueued] = useState(false);
  const { quote, error: quoteError } = useQuote(asset, to, chainKey);

  const maxAmount = quote ? formatUnits(BigInt(quote.max), quote.decimals) : null;
  const send = async () => {
    if (!quote) return;
    setBusy(true);
    setError(null);
    try {
      await sendUi({ action: 'send', asset, to: to.trim(), amount: amount.trim(), gas: quote.gas, maxFeePerGas: quote.maxFeePerGas, maxPriorityFeePerGas: quote.maxPriorityFeePerGas });
      setQueued(true);
    } catch (caught) {
      setReviewing(false);
      setError({ message: caught instanceof Error ? caught.message : 'Could not send.', field: caught instanceof UiError ? caught.field : null });
    } finally {
      setBusy(false);
    }
  };

  if (queued) {
    return (
      <div class="stack" data-testid="send-queued">
        <h2>Approve it in the window</h2>
        <p class="lede">Duet opened the approval window: check the transaction there, then approve it on your phone. Its progress shows in Activity.</p>
        <button onClick={onDone} data-testid="send-done">
          Done
        </button>
      </div>
    );
  }

  const symbol = quote?.symbol ?? (asset === 'native' ? view.state.networks.find((n) => n.chainId === view.state.activeChainId)?.symbol ?? 'ETH' : tokens.find((t) => t.address === asset)?.symbol ?? '');
  return (
    <div class="stack" data-testid="send-screen">
      <div class="row spread">
        <h2>Send</h2>
        <button class="secondary small" onClick={onDone} data-testid="send-back">
          Back
        </button>
      </div>
      <label>
        Asset
        <select data-testid="send-asset" value={asset} onChange={(e) => (setAsset(e.currentTarget.value), setReviewing(false))}>
          <option value="native">{view.state.networks.find((n) => n.chainId === view.state.activeChainId)?.symbol ?? 'ETH'}</option>
          {tokens.map((token) => (
            <option key={token.address} value={token.address}>
              {token.symbol}
            </option>
          ))}
        </select>
      </label>
      <label>
        To
        <input data-testid="send-to" placeholder="0x… address" spellcheck={false} value={to} onInput={(e) => (setTo(e.currentTarget.value), setReviewing(false))} />
      </label>
      {error?.field === 'to' && (
        <p class="error" data-testid="send-error">
          {error.message}
        </p>
      )}
      <label>
        Amount ({symbol})
        <div class="row">
          <input data-testid="send-amount" inputMode="decimal" placeholder="0.0" value={amount} onInput={(e) => (setAmount(e.currentTarget.value), setReviewing(false))} />
          <button type="button" class="secondary small" data-testid="send-max" disabled={!maxAmount} onClick={() => maxAmount && (setAmount(maxAmount), setReviewing(false))}>
            Max
          </button>
        </div>
      </label>
      {quote && (
        <p class="muted" data-testid="send-balance">
          Available: {formatBalance(quote.balance, quote.symbol, quote.decimals)}
        </p>
      )}
      {error && error.field !== 'to' && (
        <p class="error" data-testid="send-error">
          {error.message}
        </p>
      )}
      {quoteError && !error && (
        <p class="error" data-testid="send-quote-error">
          {quoteError}
        </p>
      )}
      {quote && (
        <dl class="facts" data-testid="send-fee">
          <dt>Network fee</dt>
          <dd data-testid="send-fee-likely">≈ {formatUnits(BigInt(quote.likelyFee), 18)} {quote.nativeSymbol}</dd>
          <dt>At most</dt>
          <dd data-testid="send-fee-max">{formatUnits(BigInt(quote.maxFee), 18)} {quote.nativeSymbol}</dd>
          <dt>Base fee</dt>
          <dd data-testid="send-base-fee">{gwei(quote.baseFeePerGas)} + tip {gwei(quote.maxPriorityFeePerGas)}</dd>
          <dt>Gas limit</dt>
          <dd>{quote.gas}</dd>
        </dl>
      )}
      {reviewing && quote ? (
        <section class="card" data-testid="send-review">
          <h3>Review</h3>
          <dl class="facts">
            <dt>Send</dt>
            <dd data-testid="send-review-amount">
              {amount.trim()} {quote.symbol}
            </dd>
            <dt>To</dt>
            <dd data-testid="send-review-to" title={to.trim()}>
              {to.trim()}
            </dd>
            <dt>Network</dt>
            <dd>{view.state.networks.find((n) => n.chainId === view.state.activeChainId)?.name}</dd>
            <dt>Fee at most</dt>
            <dd>
              {formatUnits(BigInt(quote.maxFee), 18)} {quote.nativeSymbol}
            </dd>
          </dl>
          <p class="hint">Next: the approval window shows the checks Duet ran; then approve on your phone.</p>
          <div class="row actions">
            <button class="secondary" onClick={() => setReviewing(false)}>
              Edit
            </button>
            <button data-testid="send-confirm" disabled={busy} onClick={() => void send()}>
              Continue
            </button>
          </div>
        </section>
      ) : (
        <button data-testid="send-review-button" disabled={!quote || to.trim() === '' || amount.trim() === ''} onClick={() => (setError(null), setReviewing(true))}>
          Review {to.trim() && /^0x[0-9a-fA-F]{40}$/.test(to.trim()) ? `send to ${shortAddress(to.trim())}` : ''}
        </button>
      )}
    </div>
  );
}
