/** Display formatting for the extension pages. */
const WEI_PER_ETHER = 10n ** 18n;
const SHOWN_DECIMALS = 4;

/** A 0x-hex wei amount as "1.2345 ETH" (rounded down to 4 decimals). */
export function formatBalance(weiHex: string, symbol: string): string {
  const wei = BigInt(weiHex);
  const whole = wei / WEI_PER_ETHER;
  const fraction = ((wei % WEI_PER_ETHER) * 10n ** BigInt(SHOWN_DECIMALS)) / WEI_PER_ETHER;
  return `${whole.toString()}.${fraction.toString().padStart(SHOWN_DECIMALS, '0')} ${symbol}`;
}

export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

export function formatDate(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "1:05" for a number of milliseconds left (never negative). */
export function formatCountdown(msLeft: number): string {
  const seconds = Math.max(0, Math.ceil(msLeft / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
