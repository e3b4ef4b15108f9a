/** Receive: the active account's address as a QR code and as text, with a copy button and the network named. */
import QRCode from 'qrcode';
import { useEffect, useState } from 'preact/hooks';
import { activeAccountEntry, activeNetwork } from '../../../src/background/wallet-state.ts';
import type { WalletView } from '../../../src/background/wallet-service.ts';

export function ReceiveScreen({ view, onDone }: { view: WalletView; onDone(): void }) {
  const account = activeAccountEntry(view.state);
  const network = activeNetwork(view.state);
  const [qr, setQr] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    setCopied(false);
    // The plain address (not an EIP-681 URI): every wallet's scanner reads it.
    if (account) void QRCode.toDataURL(account.address, { errorCorrectionLevel: 'M', margin: 2, width: 220 }).then(setQr);
  }, [account?.address]);
  if (!account) return null;
  return (
    <div class="stack center" data-testid="receive-screen">
      <div class="row spread" style="align-self: stretch">
        <h2>Receive</h2>
        <button class="secondary small" onClick={onDone} data-testid="receive-back">
          Back
        </button>
      </div>
      <p class="lede" data-testid="receive-network">
        {account.name} on {network.name} (chain {network.chainId}). Send only {network.symbol} and tokens of this network to this address.
      </p>
      {qr && <img class="qr" data-testid="receive-qr" src={qr} alt={`QR code of ${account.address}`} width={220} height={220} />}
      <p class="address big" data-testid="receive-address">
        {account.address}
      </p>
      <button class="secondary" data-testid="receive-copy" onClick={() => void navigator.clipboard.writeText(account.address).then(() => setCopied(true))}>
        {copied ? 'Copied' : 'Copy address'}
      </button>
    </div>
  );
}
