/** The extension pages' connection to the service worker: typed requests and a polled view. */
import browser from 'webextension-polyfill';
import { useEffect, useState } from 'preact/hooks';
import { UI_MESSAGE, type UiRequest, type UiResponse } from '../../src/background/ui-messages.ts';
import type { WalletView } from '../../src/background/wallet-service.ts';

const POLL_MS = 400;

export class UiError extends Error {
  readonly code: string;
  readonly field: string | null;

  constructor(message: string, code: string, field: string | null) {
    super(message);
    this.name = 'UiError';
    this.code = code;
    this.field = field;
  }
}

export async function sendUi<T = WalletView>(request: UiRequest): Promise<T> {
  const response = (await browser.runtime.sendMessage({ type: UI_MESSAGE, request })) as UiResponse | undefined;
  if (!response) throw new UiError('Duet is starting; try again.', 'unavailable', null);
  if (!response.ok) throw new UiError(response.error, response.code, response.field);
  return response.value as T;
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
        // the service worker is (re)starting; the next poll retries
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

/**
 * A value read from the service worker every `intervalMs` (and at once when `key` changes):
 * undefined while loading, null when the read failed, and `reload` to read again now.
 */
export function usePolled<T>(request: UiRequest, intervalMs: number, key: string): { value: T | null | undefined; reload(): void } {
  const [value, setValue] = useState<T | null | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    const load = () => void sendUi<T>(request).then((next) => alive && setValue(next), () => alive && setValue(null));
    load();
    const timer = setInterval(load, intervalMs);
    return () => {
      alive = false;
      clearInterval(timer);
    };
    // The request is described by `key`: a new object each render must not restart polling.
  }, [key, tick]);
  useEffect(() => setValue(undefined), [key]);
  return { value, reload: () => setTick((count) => count + 1) };
}

/** Runs one request at a time, keeps its error for display, and refreshes the view with the answer. */
export function useAction(refresh: (view: WalletView) => void) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (request: UiRequest): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      refresh(await sendUi(request));
      return true;
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Something went wrong.');
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run, clearError: () => setError(null) };
}
