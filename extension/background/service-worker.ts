/**
 * Service worker entry: wires the browser's APIs (storage areas, windows, alarms, ports, fetch,
 * WebSocket, the offscreen document's WebRTC) to the wallet core in src/background. No wallet
 * logic of its own.
 */
import browser from 'webextension-polyfill';
import { ApprovalWindow } from '../../src/background/approval-window.ts';
import { AUTO_LOCK_ALARM } from '../../src/background/auto-lock.ts';
import { ChromeOffscreenDocument, offscreenRtc } from '../../src/background/offscreen-rtc.ts';
import { PageConnections } from '../../src/background/page-connections.ts';
import { relayPhoneLinks } from '../../src/background/phone-link.ts';
import { PROVIDER_PORT_NAME, parsePortRequest } from '../../src/background/port-messages.ts';
import { embeddingSite, originFromSender } from '../../src/background/router.ts';
import type { KeyValueStore } from '../../src/background/storage.ts';
import { handleUiRequest } from '../../src/background/ui-actions.ts';
import { UI_MESSAGE, isExtensionPage, type UiEnvelope, type UiResponse } from '../../src/background/ui-messages.ts';
import { TRACK_ALARM, WalletService } from '../../src/background/wallet-service.ts';
import { toProviderRpcError } from '../../src/provider/rpc-error.ts';

const APPROVAL_PAGE = 'extension/approval/index.html';
const APPROVAL_WINDOW_SIZE = { width: 400, height: 660 };

function storeOf(area: browser.Storage.StorageArea): KeyValueStore {
  return {
    get: async <T>(key: string) => (await area.get(key))[key] as T | undefined,
    set: (key: string, value: unknown) => area.set({ [key]: value }),
    setMany: (items) => area.set(items),
    remove: (keys) => area.remove(typeof keys === 'string' ? keys : [...keys]),
  };
}

function post(port: browser.Runtime.Port, message: unknown): void {
  try {
    port.postMessage(message);
  } catch {
    // the page went away; a re-sent request will be answered on its new port
  }
}

// Listens for the offscreen document's port from the worker's first run (see offscreen-rtc.ts).
const rtc = offscreenRtc(new ChromeOffscreenDocument((globalThis as unknown as { chrome: ConstructorParameters<typeof ChromeOffscreenDocument>[0] }).chrome, globalThis as unknown as ConstructorParameters<typeof ChromeOffscreenDocument>[1]));
void rtc.claim();
const sessionStore = storeOf(browser.storage.session);
const pages = new PageConnections<browser.Runtime.Port>();
const approvalWindow = new ApprovalWindow(
  {
    create: async (url) => (await browser.windows.create({ url, type: 'popup', ...APPROVAL_WINDOW_SIZE })).id ?? null,
    focus: (windowId) => browser.windows.update(windowId, { focused: true }).then(() => true, () => false),
    exists: (windowId) => browser.windows.get(windowId).then(() => true, () => false),
  },
  sessionStore,
  browser.runtime.getURL(APPROVAL_PAGE),
);

const wallet = new WalletService({
  local: storeOf(browser.storage.local),
  session: sessionStore,
  fetch: (url, init) => fetch(url, init),
  approvalWindow,
  pageEvents: {
    toOrigin: (origin, event, payload) => pages.sendTo(origin, { kind: 'event', event, payload }),
    toAll: (event, payload, except) => pages.sendAll({ kind: 'event', event, payload }, except),
  },
  alarms: {
    schedule: (name, delayInMinutes) => browser.alarms.create(name, { delayInMinutes }),
    clear: async (name) => {
      await browser.alarms.clear(name);
    },
  },
  clock: {
    now: () => Date.now(),
    after: (ms, task) => {
      const timer = setTimeout(task, ms);
      return () => clearTimeout(timer);
    },
  },
  phoneLinks: relayPhoneLinks(undefined, rtc.sessions),
  vaultName: 'duet-extension',
});
const ready = wallet.start().catch(() => undefined);

browser.windows.onRemoved.addListener((windowId) => {
  void ready.then(async () => {
    if (await approvalWindow.closed(windowId)) await wallet.approvalWindowClosed();
  });
});

browser.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === AUTO_LOCK_ALARM) void ready.then(() => wallet.lock());
  // Waking a stopped worker is enough: starting it resumes the tracking of pending transactions.
  if (alarm.name === TRACK_ALARM) void ready.then(() => wallet.trackPending());
});

browser.runtime.onConnect.addListener((port) => {
  if (port.name !== PROVIDER_PORT_NAME || !port.sender) return;
  let origin: string;
  try {
    origin = originFromSender(port.sender as { origin?: string; url?: string });
  } catch {
    port.disconnect();
    return;
  }
  const tabId = port.sender.tab?.id ?? null;
  pages.add(port, origin);
  port.onDisconnect.addListener(() => pages.remove(port));
  void ready.then(async () => {
    const snapshot = await wallet.pageSnapshot(origin);
    post(port, { kind: 'event', event: 'connect', payload: { chainId: snapshot.chainId } });
    post(port, { kind: 'event', event: 'accountsChanged', payload: snapshot.accounts });
    post(port, { kind: 'event', event: 'unlockStateChanged', payload: snapshot.isUnlocked });
  });
  port.onMessage.addListener((raw: unknown) => {
    const request = parsePortRequest(raw);
    if (!request) return;
    void ready
      .then(() => wallet.request(request.method, request.params, { origin, requestKey: request.key, tabId, embeddedIn: embeddingSite(port.sender?.frameId, request.top, origin) }))
      .then(
        (result) => post(port, { kind: 'response', id: request.id, result }),
        (error: unknown) => post(port, { kind: 'error', id: request.id, error: toProviderRpcError(error).toJSON() }),
      );
  });
});

browser.runtime.onMessage.addListener((message: unknown, sender: browser.Runtime.MessageSender): Promise<UiResponse> | undefined => {
  const envelope = message as Partial<UiEnvelope> | null;
  if (envelope?.type !== UI_MESSAGE || !isExtensionPage(sender.url, browser.runtime.getURL(''))) return undefined;
  return ready.then(() => handleUiRequest(wallet, envelope.request));
});
