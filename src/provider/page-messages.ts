/**
 * The window.postMessage protocol between the in-page provider (MAIN world) and the content
 * script bridge (isolated world). The page is untrusted: the bridge forwards only well-formed
 * requests, and the service worker takes the origin from the browser's sender data, never from
 * these messages.
 */
import type { SerializedRpcError } from './rpc-error.ts';

export const PAGE_TO_BRIDGE = 'duet:page-to-bridge';
export const BRIDGE_TO_PAGE = 'duet:bridge-to-page';

export interface RpcRequestMessage {
  readonly target: typeof PAGE_TO_BRIDGE;
  readonly id: number;
  readonly method: string;
  readonly params?: unknown;
}

/** How Duet presents itself, as set in the popup (src/background/page-settings.ts). */
export interface PageConfig {
  readonly metaMaskFlag: boolean;
  readonly keepWindowEthereum: boolean;
}

export type BridgeToPageMessage =
  | { readonly target: typeof BRIDGE_TO_PAGE; readonly kind: 'response'; readonly id: number; readonly result: unknown }
  | { readonly target: typeof BRIDGE_TO_PAGE; readonly kind: 'error'; readonly id: number; readonly error: SerializedRpcError }
  | { readonly target: typeof BRIDGE_TO_PAGE; readonly kind: 'event'; readonly event: ProviderEventName; readonly payload: unknown }
  | { readonly target: typeof BRIDGE_TO_PAGE; readonly kind: 'config'; readonly config: PageConfig };

/** unlockStateChanged is Duet's own (for _metamask.isUnlocked()); the provider does not re-emit it. */
export type ProviderEventName = 'connect' | 'disconnect' | 'chainChanged' | 'accountsChanged' | 'message' | 'unlockStateChanged';

/** Largest JSON request the bridge forwards to the service worker. */
export const MAX_REQUEST_BYTES = 1_000_000;

export function parsePageRequest(data: unknown): RpcRequestMessage | null {
  if (typeof data !== 'object' || data === null) return null;
  const message = data as Partial<RpcRequestMessage>;
  if (message.target !== PAGE_TO_BRIDGE) return null;
  if (typeof message.id !== 'number' || !Number.isSafeInteger(message.id)) return null;
  if (typeof message.method !== 'string' || message.method.length === 0 || message.method.length > 128) return null;
  return { target: PAGE_TO_BRIDGE, id: message.id, method: message.method, params: message.params };
}

export function parseBridgeMessage(data: unknown): BridgeToPageMessage | null {
  if (typeof data !== 'object' || data === null) return null;
  const message = data as Partial<BridgeToPageMessage>;
  if (message.target !== BRIDGE_TO_PAGE) return null;
  if (message.kind === 'response' || message.kind === 'error' || message.kind === 'event') {
    return message as BridgeToPageMessage;
  }
  if (message.kind === 'config') {
    const config = (message as { config?: Partial<PageConfig> }).config;
    if (typeof config?.metaMaskFlag === 'boolean' && typeof config.keepWindowEthereum === 'boolean') return { target: BRIDGE_TO_PAGE, kind: 'config', config: { metaMaskFlag: config.metaMaskFlag, keepWindowEthereum: config.keepWindowEthereum } };
  }
  return null;
}
