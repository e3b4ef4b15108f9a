/**
 * Requests from the extension's own pages (popup, approval window) to the service worker.
 * The service worker accepts them only from its own extension pages (sender URL check) and
 * parses each one strictly: a malformed request is refused, nothing changes.
 */
import { WalletActionError } from './wallet-action-error.ts';

export type UiRequest =
  | { readonly action: 'view' }
  | { readonly action: 'create'; readonly password: string; readonly relayUrl?: string; readonly phoneAppUrl?: string; readonly rpcUrl?: string }
  | { readonly action: 'unlock'; readonly password: string }
  | { readonly action: 'lock' }
  | { readonly action: 'change-password'; readonly currentPassword: string; readonly newPassword: string }
  | { readonly action: 'start-pairing'; readonly kind?: string; readonly replace?: string }
  | { readonly action: 'confirm-sas'; readonly matches: boolean }
  | { readonly action: 'cancel-pairing' }
  | { readonly action: 'decide'; readonly id: string; readonly approved: boolean; readonly accounts?: readonly string[] }
  | { readonly action: 'reject-site'; readonly origin: string }
  | { readonly action: 'edit-transaction'; readonly id: string; readonly maxFeeGwei: string; readonly priorityFeeGwei: string; readonly gasLimit: string; readonly nonce: number }
  | { readonly action: 'extend-wait'; readonly id: string }
  | { readonly action: 'cancel-wait'; readonly id: string }
  | { readonly action: 'add-account'; readonly name?: string }
  | { readonly action: 'rename-account'; readonly index: number; readonly name: string }
  | { readonly action: 'select-account'; readonly index: number }
  | { readonly action: 'switch-chain'; readonly chainId: number }
  | { readonly action: 'add-network'; readonly name: string; readonly chainId: number; readonly rpcUrl: string; readonly symbol: string; readonly explorerUrl?: string }
  | { readonly action: 'set-network-rpc'; readonly chainId: number; readonly rpcUrl: string }
  | { readonly action: 'remove-network'; readonly chainId: number }
  | { readonly action: 'revoke'; readonly origin: string }
  | { readonly action: 'set-site-network'; readonly origin: string; readonly chainId: number }
  | { readonly action: 'rename-device'; readonly id: string; readonly name: string }
  | { readonly action: 'unpair-device'; readonly id: string }
  | { readonly action: 'set-auto-lock'; readonly minutes: number }
  | { readonly action: 'set-page-settings'; readonly metaMaskFlag: boolean; readonly keepWindowEthereum: boolean }
  | { readonly action: 'set-direct-path'; readonly enabled: boolean; readonly iceServers: string }
  | { readonly action: 'balance' }
  | { readonly action: 'send-quote'; readonly asset: string; readonly to?: string }
  | { readonly action: 'send'; readonly asset: string; readonly to: string; readonly amount: string; readonly gas: string; readonly maxFeePerGas: string; readonly maxPriorityFeePerGas: string }
  | { readonly action: 'speed-up'; readonly id: string }
  | { readonly action: 'cancel-transaction'; readonly id: string }
  | { readonly action: 'activity' }
  | { readonly action: 'tokens' }
  | { readonly action: 'add-token'; readonly address: string }
  | { readonly action: 'remove-token'; readonly address: string }
  | { readonly action: 'member-decide'; readonly id: string; readonly yes: boolean }
  | { readonly action: 'member-remove'; readonly key: string; readonly dealer: string }
  | { readonly action: 'member-retry' }
  | { readonly action: 'member-cancel' }
  | { readonly action: 'member-cut-off' }
  | { readonly action: 'member-rename'; readonly key: string; readonly name: string }
  | { readonly action: 'guard-enrol'; readonly url: string; readonly code: string }
  | { readonly action: 'guard-sas'; readonly matches: boolean }
  | { readonly action: 'guard-totp'; readonly code: string }
  | { readonly action: 'guard-phone-code' }
  | { readonly action: 'guard-add' }
  | { readonly action: 'guard-cancel' }
  | { readonly action: 'guard-request-code'; readonly id: string; readonly code: string }
  | { readonly action: 'guard-policy-set'; readonly form: unknown; readonly code?: string }
  | { readonly action: 'guard-queue-cancel'; readonly item: string; readonly code?: string }
  | { readonly action: 'guard-recovery'; readonly op: string; readonly code?: string }
  | { readonly action: 'guard-link-device'; readonly link: string }
  | { readonly action: 'default-cosigner'; readonly key?: string }
  | { readonly action: 'cosign-with'; readonly id: string; readonly key: string }
  | { readonly action: 'remove-nft'; readonly address: string; readonly tokenId: string };

export type UiAction = UiRequest['action'];

export const UI_MESSAGE = 'duet:ui';

export interface UiEnvelope {
  readonly type: typeof UI_MESSAGE;
  readonly request: UiRequest;
}

export type UiResponse = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string; readonly code: string; readonly field: string | null };

type FieldKind = 'string' | 'number' | 'boolean' | 'string?' | 'strings?' | 'object';

/** The fields each action carries and their types. */
const ACTION_FIELDS: Record<UiAction, Record<string, FieldKind>> = {
  view: {},
  create: { password: 'string', relayUrl: 'string?', phoneAppUrl: 'string?', rpcUrl: 'string?' },
  unlock: { password: 'string' },
  lock: {},
  'change-password': { currentPassword: 'string', newPassword: 'string' },
  'start-pairing': { kind: 'string?', replace: 'string?' },
  'confirm-sas': { matches: 'boolean' },
  'cancel-pairing': {},
  decide: { id: 'string', approved: 'boolean', accounts: 'strings?' },
  'reject-site': { origin: 'string' },
  'edit-transaction': { id: 'string', maxFeeGwei: 'string', priorityFeeGwei: 'string', gasLimit: 'string', nonce: 'number' },
  'extend-wait': { id: 'string' },
  'cancel-wait': { id: 'string' },
  'add-account': { name: 'string?' },
  'rename-account': { index: 'number', name: 'string' },
  'select-account': { index: 'number' },
  'switch-chain': { chainId: 'number' },
  'add-network': { name: 'string', chainId: 'number', rpcUrl: 'string', symbol: 'string', explorerUrl: 'string?' },
  'set-network-rpc': { chainId: 'number', rpcUrl: 'string' },
  'remove-network': { chainId: 'number' },
  revoke: { origin: 'string' },
  'set-site-network': { origin: 'string', chainId: 'number' },
  'rename-device': { id: 'string', name: 'string' },
  'unpair-device': { id: 'string' },
  'set-auto-lock': { minutes: 'number' },
  'set-page-settings': { metaMaskFlag: 'boolean', keepWindowEthereum: 'boolean' },
  'set-direct-path': { enabled: 'boolean', iceServers: 'string' },
  balance: {},
  'send-quote': { asset: 'string', to: 'string?' },
  send: { asset: 'string', to: 'string', amount: 'string', gas: 'string', maxFeePerGas: 'string', maxPriorityFeePerGas: 'string' },
  'speed-up': { id: 'string' },
  'cancel-transaction': { id: 'string' },
  activity: {},
  tokens: {},
  'add-token': { address: 'string' },
  'remove-token': { address: 'string' },
  'member-decide': { id: 'string', yes: 'boolean' },
  'member-remove': { key: 'string', dealer: 'string' },
  'member-retry': {},
  'member-cancel': {},
  'member-cut-off': {},
  'member-rename': { key: 'string', name: 'string' },
  'guard-enrol': { url: 'string', code: 'string' },
  'guard-sas': { matches: 'boolean' },
  'guard-totp': { code: 'string' },
  'guard-phone-code': {},
  'guard-add': {},
  'guard-cancel': {},
  'guard-request-code': { id: 'string', code: 'string' },
  'guard-policy-set': { form: 'object', code: 'string?' },
  'guard-queue-cancel': { item: 'string', code: 'string?' },
  'guard-recovery': { op: 'string', code: 'string?' },
  'guard-link-device': { link: 'string' },
  'default-cosigner': { key: 'string?' },
  'cosign-with': { id: 'string', key: 'string' },
  'remove-nft': { address: 'string', tokenId: 'string' },
};

function fieldMatches(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string?':
      return value === undefined || typeof value === 'string';
    case 'strings?':
      return value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
}

export function parseUiRequest(value: unknown): UiRequest {
  if (typeof value !== 'object' || value === null) throw new WalletActionError('invalid_input', 'Malformed request.', 'request');
  const raw = value as Record<string, unknown>;
  const action = raw.action;
  if (typeof action !== 'string' || !Object.hasOwn(ACTION_FIELDS, action)) throw new WalletActionError('invalid_input', 'Unknown action.', 'action');
  const fields = ACTION_FIELDS[action as UiAction];
  for (const key of Object.keys(raw)) {
    if (key !== 'action' && !Object.hasOwn(fields, key)) throw new WalletActionError('invalid_input', `Unexpected field ${key}.`, key);
  }
  for (const [key, kind] of Object.entries(fields)) {
    if (!fieldMatches(raw[key], kind)) throw new WalletActionError('invalid_input', `${key} is missing or has the wrong type.`, key);
  }
  return raw as UiRequest;
}

/** Only pages of this extension may send UI requests (content scripts share the extension id). */
export function isExtensionPage(senderUrl: string | undefined, extensionBaseUrl: string): boolean {
  return typeof senderUrl === 'string' && senderUrl.startsWith(extensionBaseUrl);
}
