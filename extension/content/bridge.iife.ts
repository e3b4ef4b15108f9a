/**
 * Content-script bridge (isolated world): forwards well-formed provider requests from the page
 * to the service worker over a long-lived port, and the answers and events back. It adds nothing
 * of the page's claims: the service worker reads the origin from the port's sender.
 */
import browser from 'webextension-polyfill';
import { BRIDGE_TO_PAGE, MAX_REQUEST_BYTES, parsePageRequest, type BridgeToPageMessage } from '../../src/provider/page-messages.ts';
import { PROVIDER_PORT_NAME } from '../../src/background/port-messages.ts';

let port: browser.Runtime.Port | null = null;

function postToPage(message: BridgeToPageMessage): void {
  window.postMessage(message, window.location.origin);
}

function connectPort(): browser.Runtime.Port {
  const opened = browser.runtime.connect({ name: PROVIDER_PORT_NAME });
  opened.onMessage.addListener((message: unknown) => postToPage({ ...(message as object), target: BRIDGE_TO_PAGE } as BridgeToPageMessage));
  opened.onDisconnect.addListener(() => {
    port = null;
  });
  return opened;
}

window.addEventListener('message', (event) => {
  if (event.source !== window) return;
  const request = parsePageRequest(event.data);
  if (!request) return;
  if (JSON.stringify(request.params ?? null).length > MAX_REQUEST_BYTES) {
    postToPage({ target: BRIDGE_TO_PAGE, kind: 'error', id: request.id, error: { code: -32602, message: 'Request too large.' } });
    return;
  }
  port ??= connectPort();
  port.postMessage({ id: request.id, method: request.method, params: request.params });
});

port = connectPort();
