/** The steps of a pairing code every flow shares (new wallet, adding a device, recovery): the QR code, then the code both screens show. */
import { useEffect, useState } from 'preact/hooks';
import QRCode from 'qrcode';
import type { WalletView } from '../../src/background/wallet-service.ts';
import type { Decision } from '../../src/session/wallet-member.ts';
import { formatCountdown } from '../ui/format.ts';
import { useAction } from '../ui/wallet-client.ts';

type Refresh = (view: WalletView) => void;

export function useCountdown(until: number | null): string | null {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return until === null ? null : formatCountdown(until - now);
}

/** A QR code (data URL) of `text`, or null while it is drawn or when there is no text. */
export function useQr(text: string | null): string | null {
  const [qr, setQr] = useState<string | null>(null);
  useEffect(() => {
    if (text) void QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 2, width: 240 }).then(setQr);
    else setQr(null);
  }, [text]);
  return qr;
}

export function PairingQr({ view, refresh, prompt }: { view: WalletView; refresh: Refresh; prompt: string }) {
  const { run } = useAction(refresh);
  const { pairing } = view;
  const qr = useQr(pairing.link);
  const left = useCountdown(pairing.expiresAt);
  return (
    <div class="stack center">
      <h2>{prompt}</h2>
      {qr && <img class="qr" data-testid="pairing-qr" src={qr} alt="Pairing code" width={240} height={240} />}
      <p class="lede">Waiting for your phone… {left && <span data-testid="pairing-expiry">Expires in {left}.</span>}</p>
      <input class="link" data-testid="pairing-link" readOnly value={pairing.link ?? ''} aria-label="Pairing link" />
      <button class="secondary" data-testid="cancel-pairing" onClick={() => void run({ action: 'cancel-pairing' })}>
        Cancel
      </button>
    </div>
  );
}

export function PairingSas({ view, refresh }: { view: WalletView; refresh: Refresh }) {
  const { run } = useAction(refresh);
  return (
    <div class="stack center">
      <h2>Do both screens show this code?</h2>
      <p class="sas" data-testid="pairing-sas">
        {view.pairing.sas}
      </p>
      <p class="lede">If the codes differ, someone may be between your devices: stop.</p>
      <div class="row">
        <button class="secondary" data-testid="sas-mismatch" onClick={() => void run({ action: 'confirm-sas', matches: false })}>
          No, they differ
        </button>
        <button data-testid="sas-match" onClick={() => void run({ action: 'confirm-sas', matches: true })}>
          Yes, they match
        </button>
      </div>
    </div>
  );
}

/** The first bytes of a member's identity key, as every device shows them. */
export function fingerprint(key: string): string {
  return (key.slice(0, 16).match(/.{4}/g) ?? []).join(' ');
}

/** A question for this browser's user from the wallet's other members (a dealer's code, a removal to approve). */
export function DecisionCard({ decision, refresh }: { decision: Decision; refresh: Refresh }) {
  const { error, busy, run } = useAction(refresh);
  const answer = (yes: boolean) => void run({ action: 'member-decide', id: decision.id, yes });
  const names = (cards: readonly { name: string; identityKey: string }[]) => cards.map((card) => `${card.name} (${fingerprint(card.identityKey)})`).join(', ');
  let body;
  switch (decision.kind) {
    case 'dealer-code':
      body = (
        <>
          <h3>Compare this code with {decision.dealer.name}</h3>
          <p class="sas" data-testid="decision-sas">
            {decision.sas}
          </p>
          <p class="lede">
            {decision.dealer.name} (key {fingerprint(decision.dealer.identityKey)}) shows a code too. Go on only if they are the same.
          </p>
        </>
      );
      break;
    case 'candidate':
      body = (
        <>
          <h3>Add {decision.candidate.name} to your wallet?</h3>
          <p class="sas" data-testid="decision-sas">
            {decision.sas}
          </p>
          <p class="lede">The new device must show this code. Your wallet afterwards: {names(decision.members)}.</p>
        </>
      );
      break;
    case 'guard':
      body = (
        <>
          <h3>Add the Duet Guard to your wallet?</h3>
          <p class="lede">
            This browser is linked to this Guard (key {fingerprint(decision.candidate.identityKey)}): it can co-sign under your rules, never alone. Your wallet afterwards: {names(decision.members)}.
          </p>
        </>
      );
      break;
    case 'reshare':
      body = (
        <>
          <h3>{decision.removed.length > 0 ? `Remove ${decision.removed.map((card) => card.name).join(', ')}?` : 'Renew the keys of your wallet?'}</h3>
          <p class="lede">
            {decision.coordinator.name} asks. Your wallet afterwards: {names(decision.members)}.
          </p>
        </>
      );
      break;
    case 'removed':
      body = (
        <>
          <h3>This browser was removed from your wallet</h3>
          <p class="lede">Your other devices ({decision.members.map((card) => card.name).join(', ')}) removed it. Delete the part of the key it still holds.</p>
        </>
      );
      break;
  }
  return (
    <section class="card attention stack" data-testid={`decision-${decision.kind}`}>
      {body}
      {error && <p class="error">{error}</p>}
      <div class="row">
        {decision.kind !== 'removed' && (
          <button class="secondary" data-testid="decision-refuse" disabled={busy} onClick={() => answer(false)}>
            {decision.kind === 'reshare' || decision.kind === 'guard' ? 'Refuse' : 'Different'}
          </button>
        )}
        <button data-testid="decision-approve" disabled={busy} onClick={() => answer(true)}>
          {decision.kind === 'reshare' || decision.kind === 'guard' ? 'Approve' : decision.kind === 'removed' ? 'Delete it' : 'Same code'}
        </button>
      </div>
    </section>
  );
}
