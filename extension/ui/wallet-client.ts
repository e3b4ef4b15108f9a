/** The extension pages' connection to the service worker: requests and a polled view. */
import browser from 'webextension-polyfill';
import { useEffect, useState } from 'preact/hooks';
import { UI_MESSAGE, type UiRequest, type UiResponse } from '../../src/background/ui-messages.ts';
import type { WalletView } from '../../src/background/wallet-service.ts';

const POLL_MS = 400;

export async function sendUi(request: UiRequest): Promise<WalletView> {
  const response = (await browser.runtime.sendMessage({ type: UI_MESSAGE, request })) as UiResponse;
  if (!response.ok) throw new Error(response.error);
  return response.view as WalletView;
}

export function useWalletView(): { view: WalletView | null; refresh(view: WalletView): void } {
  const [view, setView] = useState<WalletView | null>(null);
  useEffect(() => {
    let alive = true;
    const poll = async () => {
      try {
        const next = await sendUi({ action: 'view' });
        if (alive) setView(next);
      } catch {
        // the service worker is starting; the next poll retries
      }
    };
    void poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, []);
  return { view, refresh: setView };
}
