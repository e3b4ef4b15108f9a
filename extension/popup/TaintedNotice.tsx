/** What the popup says, on Home and Devices, once the phone refused this browser after a failed signature. */
import type { WalletState } from '../../src/background/wallet-state.ts';
import { formatDate } from '../ui/format.ts';

export function TaintedNotice({ state }: { state: WalletState }) {
  const device = state.devices.find((candidate) => candidate.taintedAt);
  if (!device?.taintedAt) return null;
  return (
    <section class="card danger" data-testid="tainted-notice">
      <h3>Your phone stopped co-signing with this browser</h3>
      <p>
        On {formatDate(device.taintedAt)} a signature this browser computed failed the check on {device.name}. An honest Duet never produces one: this
        browser, or the computer it runs on, may be compromised and trying to learn your key one failed signature at a time. The phone stopped at the
        first failure, so your funds are not lost — but do not use this pair of devices for anything else.
      </p>
      <p>What to do now:</p>
      <ol>
        <li>Create a new wallet on a clean computer and phone.</li>
        <li>On {device.name}, enter the new wallet's address as the rescue address.</li>
        <li>From here, send everything to that address; the phone approves only transfers there. If another signature fails, it stops for good.</li>
      </ol>
    </section>
  );
}
