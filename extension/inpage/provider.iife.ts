/**
 * In-page entry (MAIN world, document_start, one self-contained IIFE bundle): creates the
 * EIP-1193 provider, makes window.ethereum point at it (kept when page scripts assign their own,
 * never locked against other wallets: src/provider/window-ethereum.ts), and announces Duet by
 * EIP-6963. The popup's settings (MetaMask flag, keeping window.ethereum) arrive from the bridge.
 */
import { DuetProvider, type PageTransport } from '../../src/provider/duet-provider.ts';
import { DUET_ICON, DUET_NAME, DUET_RDNS, announceProvider, randomUuidV4 } from '../../src/provider/eip6963.ts';
import { parseBridgeMessage } from '../../src/provider/page-messages.ts';
import { installWindowEthereum, type WindowEthereumControl } from '../../src/provider/window-ethereum.ts';

const transport: PageTransport = {
  post: (message) => window.postMessage(message, window.location.origin),
  subscribe: (handler) =>
    window.addEventListener('message', (event) => {
      if (event.source !== window) return;
      const message = parseBridgeMessage(event.data);
      if (message) handler(message);
    }),
};

let windowEthereum: WindowEthereumControl | null = null;
const provider = new DuetProvider(transport, { onConfig: (config) => windowEthereum?.setKeep(config.keepWindowEthereum) });
windowEthereum = installWindowEthereum(window, provider);
announceProvider(window, { uuid: randomUuidV4(), name: DUET_NAME, icon: DUET_ICON, rdns: DUET_RDNS }, provider);
