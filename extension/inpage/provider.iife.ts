/**
 * In-page entry (MAIN world, document_start, one self-contained IIFE bundle): creates the
 * EIP-1193 provider, sets window.ethereum only when no other wallet has, and announces Duet by
 * EIP-6963. window.ethereum is left writable so other wallets are not locked out.
 */
import { DuetProvider, type PageTransport } from '../../src/provider/duet-provider.ts';
import { DUET_ICON, DUET_NAME, DUET_RDNS, announceProvider, randomUuidV4 } from '../../src/provider/eip6963.ts';
import { parseBridgeMessage } from '../../src/provider/page-messages.ts';

const transport: PageTransport = {
  post: (message) => window.postMessage(message, window.location.origin),
  subscribe: (handler) =>
    window.addEventListener('message', (event) => {
      if (event.source !== window) return;
      const message = parseBridgeMessage(event.data);
      if (message) handler(message);
    }),
};

const provider = new DuetProvider(transport);
const pageWindow = window as Window & { ethereum?: unknown };
if (pageWindow.ethereum === undefined) {
  Object.defineProperty(pageWindow, 'ethereum', { value: provider, writable: true, configurable: true, enumerable: true });
}
announceProvider(window, { uuid: randomUuidV4(), name: DUET_NAME, icon: DUET_ICON, rdns: DUET_RDNS }, provider);
