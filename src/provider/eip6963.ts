/**
 * EIP-6963 multi-wallet discovery: announce Duet on load and whenever a dApp asks.
 */
export interface Eip6963ProviderInfo {
  readonly uuid: string;
  readonly name: string;
  readonly icon: string;
  readonly rdns: string;
}

export const ANNOUNCE_EVENT = 'eip6963:announceProvider';
export const REQUEST_EVENT = 'eip6963:requestProvider';

export const DUET_RDNS = 'app.duet.wallet';
export const DUET_NAME = 'Duet';
/** 96×96 SVG: two overlapping rings, the two devices that co-sign. */
export const DUET_ICON =
  'data:image/svg+xml;base64,' +
  btoa(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96"><rect width="96" height="96" rx="20" fill="#111827"/>' +
      '<circle cx="38" cy="48" r="20" fill="none" stroke="#60a5fa" stroke-width="8"/>' +
      '<circle cx="58" cy="48" r="20" fill="none" stroke="#f472b6" stroke-width="8"/></svg>',
  );

/** RFC 4122 version-4 UUID from crypto.getRandomValues. */
export function randomUuidV4(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Announces now and on every request event; returns a function that stops answering. */
export function announceProvider(target: Window, info: Eip6963ProviderInfo, provider: object): () => void {
  const detail = Object.freeze({ info: Object.freeze({ ...info }), provider });
  const announce = () => target.dispatchEvent(new CustomEvent(ANNOUNCE_EVENT, { detail }));
  announce();
  target.addEventListener(REQUEST_EVENT, announce);
  return () => target.removeEventListener(REQUEST_EVENT, announce);
}
