/**
 * How Duet presents itself to pages, set in the popup and read by the content-script bridge at
 * every page load (chrome.storage.local, so it applies while locked, and holds nothing private):
 * - metaMaskFlag: the provider says isMetaMask: true (default, as Rabby and others do, so that
 *   dApps written for MetaMask enable their buttons); off, only isDuet is set;
 * - keepWindowEthereum: window.ethereum stays Duet when a page script assigns another provider
 *   after load (default), as Rabby's "default wallet"; off, the page's assignment wins.
 */
import { WalletActionError } from './wallet-action-error.ts';
import type { KeyValueStore } from './storage.ts';

export interface PageSettings {
  readonly metaMaskFlag: boolean;
  readonly keepWindowEthereum: boolean;
}

export const PAGE_SETTINGS_KEY = 'duet/page-settings/v1';
export const DEFAULT_PAGE_SETTINGS: PageSettings = { metaMaskFlag: true, keepWindowEthereum: true };

/** Stored settings as the bridge and the service worker read them: anything malformed is the default. */
export function parsePageSettings(value: unknown): PageSettings {
  if (typeof value !== 'object' || value === null) return DEFAULT_PAGE_SETTINGS;
  const { metaMaskFlag, keepWindowEthereum } = value as Partial<Record<keyof PageSettings, unknown>>;
  return {
    metaMaskFlag: typeof metaMaskFlag === 'boolean' ? metaMaskFlag : DEFAULT_PAGE_SETTINGS.metaMaskFlag,
    keepWindowEthereum: typeof keepWindowEthereum === 'boolean' ? keepWindowEthereum : DEFAULT_PAGE_SETTINGS.keepWindowEthereum,
  };
}

export async function readPageSettings(local: KeyValueStore): Promise<PageSettings> {
  return parsePageSettings(await local.get<unknown>(PAGE_SETTINGS_KEY));
}

export async function writePageSettings(local: KeyValueStore, input: { readonly metaMaskFlag: unknown; readonly keepWindowEthereum: unknown }): Promise<void> {
  for (const key of ['metaMaskFlag', 'keepWindowEthereum'] as const) {
    if (typeof input[key] !== 'boolean') throw new WalletActionError('invalid_input', `${key} must be true or false.`, key);
  }
  await local.set(PAGE_SETTINGS_KEY, { metaMaskFlag: input.metaMaskFlag, keepWindowEthereum: input.keepWindowEthereum });
}
