/**
 * Content-script bridge (isolated world): forwards well-formed provider requests from the page
 * to the service worker over a long-lived port, and answers and events back. It adds nothing of
 * the page's claims: the service worker reads the origin from the port's sender. In a subframe it
 * adds the top-level site from location.ancestorOrigins (the page cannot change it), which the
 * service worker uses only when the browser says the sender is not the top frame.
 *
 * It also passes the popup's page settings (MetaMask flag, keeping window.ethereum) from
 * chrome.storage.local to the in-page provider, at load and whenever they change.
 *
 * When the port drops (the service worker was stopped), the bridge reconnects and re-sends the
 * requests still unanswered with the same keys, so a pending approval is answered on the new port.
 */
import browser from 'webextension-polyfill';
import { PAGE_SETTINGS_KEY, parsePageSettings } from '../../src/background/page-settings.ts';
import { PROVIDER_PORT_NAME } from '../../src/background/port-messages.ts';
import { bridgeRequestKey, reconnectDelayMs } from '../../src/provider/bridge-session.ts';
import { BRIDGE_TO_PAGE, MAX_REQUEST_BYTES, parsePageRequest, type BridgeToPageMessage, type RpcRequestMessage } from '../../src/provider/page-messages.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';

const pageSession = Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
const unanswered = new Map<number, RpcRequestMessage>();
let port: browser.Runtime.Port | null = null;
let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
let extensionGone = false;

function postToPage(message: BridgeToPageMessage): void {
  window.postMessage(message, window.location.origin);
}

/** The top-level site, when this frame is embedded (the last of location.ancestorOrigins). */
const topOrigin = window !== window.top ? (location.ancestorOrigins?.[location.ancestorOrigins.length - 1] ?? null) : null;

function sendToWorker(target: browser.Runtime.Port, request: RpcRequestMessage): void {
  target.postMessage({ id: request.id, key: bridgeRequestKey(pageSession, request.id), method: request.method, params: request.params, ...(topOrigin ? { top: topOrigin } : {}) });
}

function postConfig(stored: unknown): void {
  postToPage({ target: BRIDGE_TO_PAGE, kind: 'config', config: parsePageSettings(stored) });
}

/** The extension was reloaded or removed: this page's provider can no longer reach it. */
function markExtensionGone(): void {
  extensionGone = true;
  const error = { code: RpcErrorCode.disconnected, message: 'Duet was reloaded or removed. Reload the page.' };
  for (const id of unanswered.keys()) postToPage({ target: BRIDGE_TO_PAGE, kind: 'error', id, error });
  unanswered.clear();
  postToPage({ target: BRIDGE_TO_PAGE, kind: 'event', event: 'disconnect', payload: error });
}

function connectPort(): browser.Runtime.Port | null {
  let opened: browser.Runtime.Port;
  try {
    opened = browser.runtime.connect({ name: PROVIDER_PORT_NAME });
  } catch {
    markExtensionGone();
    return null;
  }
  opened.onMessage.addListener((raw: unknown) => {
    const message = { ...(raw as object), target: BRIDGE_TO_PAGE } as BridgeToPageMessage;
    if (message.kind === 'response' || message.kind === 'error') unanswered.delete(message.id);
    postToPage(message);
  });
  opened.onDisconnect.addListener(() => {
    port = null;
    if (!browser.runtime.id) {
      markExtensionGone();
      return;
    }
    reconnectTimer ??= setTimeout(() => {
      reconnectTimer = null;
      port ??= connectPort();
      if (port) for (const request of unanswered.values()) sendToWorker(port, request);
    }, reconnectDelayMs(unanswered.size));
  });
  return opened;
}

window.addEventListener('message', (event) => {
  if (event.source !== window) return;
  const request = parsePageRequest(event.data);
  if (!request) return;
  if (JSON.stringify(request.params ?? null).length > MAX_REQUEST_BYTES) {
    postToPage({ target: BRIDGE_TO_PAGE, kind: 'error', id: request.id, error: { code: RpcErrorCode.invalidParams, message: 'Request too large.' } });
    return;
  }
  if (extensionGone) {
    postToPage({ target: BRIDGE_TO_PAGE, kind: 'error', id: request.id, error: { code: RpcErrorCode.disconnected, message: 'Duet was reloaded or removed. Reload the page.' } });
    return;
  }
  unanswered.set(request.id, request);
  port ??= connectPort();
  if (port) sendToWorker(port, request);
});

port = connectPort();
void browser.storage.local.get(PAGE_SETTINGS_KEY).then((items) => postConfig(items[PAGE_SETTINGS_KEY]), () => undefined);
browser.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && PAGE_SETTINGS_KEY in changes) postConfig(changes[PAGE_SETTINGS_KEY]?.newValue);
});
