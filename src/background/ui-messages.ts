/**
 * Messages from the extension's own pages (popup, approval window) to the service worker.
 * Only pages of the extension may send them: the service worker checks the sender's URL.
 */
export type UiRequest =
  | { readonly action: 'view' }
  | { readonly action: 'create'; readonly password: string; readonly relayUrl?: string; readonly phoneAppUrl?: string; readonly rpcUrl?: string }
  | { readonly action: 'unlock'; readonly password: string }
  | { readonly action: 'lock' }
  | { readonly action: 'start-pairing' }
  | { readonly action: 'confirm-sas'; readonly matches: boolean }
  | { readonly action: 'decide'; readonly id: string; readonly approved: boolean }
  | { readonly action: 'add-account'; readonly name: string }
  | { readonly action: 'select-account'; readonly index: number }
  | { readonly action: 'switch-chain'; readonly chainId: number }
  | { readonly action: 'revoke'; readonly origin: string };

export const UI_MESSAGE = 'duet:ui';

export interface UiEnvelope {
  readonly type: typeof UI_MESSAGE;
  readonly request: UiRequest;
}

export type UiResponse = { readonly ok: true; readonly view: unknown } | { readonly ok: false; readonly error: string };
