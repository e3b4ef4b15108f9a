/**
 * Rescue transfers: what a device still co-signs after a failed signature tainted its pair
 * (docs/threat-model.md, "Taint"). In a pair there is no other device to sign with, so moving
 * the funds away needs the suspect once more; the phone allows exactly one kind of request for
 * that: a transfer of ETH, or of an ERC-20 token by `transfer(to, amount)`, to the rescue address
 * the user typed on the phone itself. Anything else stays refused.
 */
import { getAddress, isAddress } from 'ethers';
import { SELECTOR_ERC20_TRANSFER } from './decode.ts';
import type { SigningRequest } from './signing-request.ts';

/** The checksummed address, or null when `text` is not an address. */
export function parseRescueAddress(text: string): string | null {
  const trimmed = text.trim();
  return isAddress(trimmed) ? getAddress(trimmed) : null;
}

/** ETH to the rescue address with no call, or `transfer(rescue, amount)` with no ETH attached. */
export function isRescueTransfer(request: SigningRequest, rescueAddress: string): boolean {
  if (request.kind !== 'transaction') return false;
  const { tx } = request;
  const rescue = getAddress(rescueAddress);
  if (tx.to === null) return false;
  if (tx.data === '0x') return getAddress(tx.to) === rescue;
  const recipientWord = `000000000000000000000000${rescue.slice(2).toLowerCase()}`;
  return tx.value === 0n && tx.data.length === 10 + 128 && tx.data.startsWith(SELECTOR_ERC20_TRANSFER) && tx.data.slice(10, 74) === recipientWord;
}
