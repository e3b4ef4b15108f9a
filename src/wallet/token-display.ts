/**
 * Amounts, collections and times as both screens show them. Token symbols and decimals come from
 * the request's `tokens` (read from the network by the extension when it built the request); the
 * raw amount, which is what is signed, is always shown beside an amount in token units.
 */
import { formatUnits, getAddress } from 'ethers';
import type { SigningRequest, TokenInfo } from './signing-request.ts';

/** Allowances at or above 2^255 are treated as unlimited (see decode.ts). */
export const UNLIMITED_APPROVAL_THRESHOLD = 1n << 255n;
const MAX_UINT256 = (1n << 256n) - 1n;
/** Later than this (in seconds) is shown as "no expiry": past year 10,000 and beyond JavaScript dates. */
const LATEST_SHOWN_TIME = 253_402_300_799n;

export const TOKEN_DETAILS_NOTE = "Symbol and decimals as the token's contract reported them to the extension; the raw amount is what is signed.";
export const NO_TOKEN_DETAILS_NOTE = 'Duet could not read this token from the network: amounts are in raw units (for an NFT collection, the number is a token ID).';

export type TokenLookup = (address: string) => TokenInfo | undefined;

export function tokenLookup(request: SigningRequest): TokenLookup {
  const tokens = request.tokens ?? [];
  return (address) => tokens.find((token) => token.address.toLowerCase() === address.toLowerCase());
}

/**
 * "1.5 USDC" with decimals and symbol, else the raw units; `raw` is null when `amount` is already
 * raw. At or above `unlimitedAt` the amount reads "unlimited".
 */
export function tokenAmount(value: bigint, token: TokenInfo | undefined, unlimitedAt = UNLIMITED_APPROVAL_THRESHOLD): { readonly amount: string; readonly raw: string | null } {
  const unlimited = value >= unlimitedAt;
  const symbol = token?.symbol ? ` ${token.symbol}` : '';
  if (token?.standard !== 'erc20' || token.decimals === null) {
    if (value === MAX_UINT256) return { amount: `unlimited${symbol} (2^256 − 1)`, raw: null };
    return { amount: `${value.toString()}${symbol} (raw units${unlimited ? ', unlimited' : ''})`, raw: null };
  }
  const raw = value === MAX_UINT256 ? '2^256 − 1' : value.toString();
  return { amount: unlimited ? `unlimited${symbol}` : `${formatUnits(value, token.decimals)}${symbol || ' (token units)'}`, raw };
}

/** A token or collection contract with its symbol when known. */
export function contractText(address: string, token: TokenInfo | undefined): string {
  const checksummed = getAddress(address);
  return token?.symbol ? `${checksummed} (${token.symbol})` : checksummed;
}

/** A Unix time in seconds as an ISO date (UTC), identical on both devices. */
export function timestampText(seconds: bigint): string {
  if (seconds > LATEST_SHOWN_TIME) return `no expiry (${seconds.toString()})`;
  return `${new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z')} (${seconds.toString()})`;
}
