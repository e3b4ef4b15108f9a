/**
 * Tokens: the active network's ERC-20 list with the active account's balances; add by contract
 * address, remove. Below, the active account's NFTs that sites added (wallet_watchAsset).
 */
import { useState } from 'preact/hooks';
import { activeAccountEntry, type TokenEntry } from '../../../src/background/wallet-state.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';
import { formatBalance, shortAddress } from '../../ui/format.ts';
import { useAction, usePolled } from '../../ui/wallet-client.ts';

type Token = TokenEntry & { readonly balance: string | null };
const TOKENS_REFRESH_MS = 5_000;

/** A listed contract's short address and its Remove button. */
function ContractRow({ address, detail, testId, busy, onRemove }: { address: string; detail: string; testId: string; busy: boolean; onRemove: () => void }) {
  return (
    <div class="row spread">
      <p class="address small" title={address}>
        {shortAddress(address)}
        {detail}
      </p>
      <button class="secondary small" data-testid={testId} disabled={busy} onClick={onRemove}>
        Remove
      </button>
    </div>
  );
}

export function TokensScreen({ view, refresh }: { view: WalletView; refresh: (view: WalletView) => void }) {
  const { value, reload } = usePolled<Token[]>({ action: 'tokens' }, TOKENS_REFRESH_MS, `${view.state.activeChainId}:${view.state.activeAccount}:${JSON.stringify(view.state.tokens)}`);
  const { error, busy, run } = useAction(refresh);
  const [address, setAddress] = useState('');
  const owner = activeAccountEntry(view.state)?.address;
  const nfts = (view.state.nfts[String(view.state.activeChainId)] ?? []).filter((nft) => nft.account === owner);
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
              <ContractRow address={token.address} detail={` · ${token.decimals} decimals`} testId="token-remove" busy={busy} onRemove={() => void run({ action: 'remove-token', address: token.address }).then(reload)} />
            </li>
          ))}
        </ul>
      )}
      {nfts.length > 0 && (
        <>
          <h3>NFTs</h3>
          <ul class="list" data-testid="nft-list">
            {nfts.map((nft) => (
              <li class="item" key={`${nft.address}:${nft.tokenId}`} data-testid="nft-entry" data-address={nft.address} data-token-id={nft.tokenId}>
                <div class="row spread">
                  <strong>{nft.symbol ?? shortAddress(nft.address)}</strong>
                  <span>
                    {nft.standard === 'erc721' ? 'ERC-721' : 'ERC-1155'} · token ID {nft.tokenId}
                  </span>
                </div>
                <ContractRow address={nft.address} detail="" testId="nft-remove" busy={busy} onRemove={() => void run({ action: 'remove-nft', address: nft.address, tokenId: nft.tokenId })} />
              </li>
            ))}
          </ul>
        </>
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
