/** Display formatting for the extension pages. */
const SHOWN_DECIMALS = 4;

/** An amount in raw units (0x-hex or decimal string) as "1.2345 ETH" (rounded down to 4 decimals). */
export function formatBalance(raw: string | bigint, symbol: string, decimals = 18): string {
  const units = BigInt(raw);
  const scale = 10n ** BigInt(decimals);
  const whole = units / scale;
  const fraction = ((units % scale) * 10n ** BigInt(SHOWN_DECIMALS)) / scale;
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
