/**
 * The direct WebRTC path in real browsers: the built extension in Chromium (its peer connection
 * in the offscreen document), the phone app in a second Chromium (another device), the real
 * relay on loopback. Both browsers run with the loopback WebRTC flags of test browsers
 * (src/devstack/chromium.ts). Chromium only: the WebKit phone test stays on the relay.
 *
 * - Pairing, then a signing over the direct path: the Devices page says "direct", and the relay
 *   routes no sealed frame of that signing; its performance marks on both devices break it down.
 * - The relay stopped once the data channel is open: the signing still works.
 * - The data channel closed in the middle of a signing (the extension's worker busy, the phone's
 *   peer connection closed after its first round): it completes through the relay.
 * - The phone page reloaded, and the extension's worker restarted: back on the direct path.
 */
import { writeFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { verifyMessage } from 'ethers';
import { approveToSignatureMs, cosignTimeline, describeTimeline, markAt } from '../src/devstack/cosign-timeline.ts';
import { approvalWindow, connectDapp, dappRequest, localStackUrls, onboardAndPair, unlockPhone, waitForPhonePath } from '../src/devstack/demo-flow.ts';
import { launchExtensionBrowser, type ExtensionBrowser } from '../src/devstack/extension-browser.ts';
import { launchPhoneBrowser, type PhoneBrowser } from '../src/devstack/phone-browser.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay-server.ts';
import { expect, test } from './fixtures.ts';
import { extensionWorker, restartServiceWorker } from './support/service-worker.ts';

test.describe.configure({ mode: 'serial' });

/** Sealed channel frames, and direct frames resent through the relay (path-switch.ts). */
const SEALED = 5;
const RESENT = 0x10;

let relay: RunningRelay;
const routed: Uint8Array[] = [];
const relayOptions = { staticDir: 'dist-phone', log: () => undefined, onRoutedFrame: (_channel: string, _from: string, payload: Uint8Array) => routed.push(payload) };
let extension: ExtensionBrowser;
let phoneBrowser: PhoneBrowser;
let popup: Page;
let phone: Page;
let dapp: Page;
let address: string;

test.beforeAll(async () => {
  relay = await startRelay({ port: 0, ...relayOptions });
  extension = await launchExtensionBrowser({ headless: process.env.HEADED !== '1' });
  phoneBrowser = await launchPhoneBrowser();
  // The test's handle on the phone's peer connections (the page's own RTCPeerConnection, recorded).
  await phoneBrowser.context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    const peers: RTCPeerConnection[] = [];
    (window as unknown as { duetTestPeers: RTCPeerConnection[] }).duetTestPeers = peers;
    window.RTCPeerConnection = class extends Native {
      constructor(configuration?: RTCConfiguration) {
        super(configuration);
        peers.push(this);
      }
    };
  });
});

test.afterAll(async () => {
  await extension?.close();
  await phoneBrowser?.close();
  await relay?.close();
});

const sealedOf = (frames: readonly Uint8Array[]) => frames.filter((frame) => frame[0] === SEALED || frame[0] === RESENT);

/** personal_sign from the dApp, approved in the window and on the phone; returns what the relay routed meanwhile. */
async function signMessage(text: string, onPhoneApproval?: () => Promise<void>): Promise<Uint8Array[]> {
  const approval = await approvalWindow(extension.context);
  const mark = routed.length;
  const signing = dappRequest(dapp, 'personal_sign', [`0x${Buffer.from(text).toString('hex')}`, address]);
  await approval.getByTestId('approve').click();
  await phone.getByTestId('phone-approve').waitFor();
  await (onPhoneApproval ?? (() => phone.getByTestId('phone-approve').click()))();
  const signed = await signing;
  expect(signed.error).toBeUndefined();
  expect(verifyMessage(text, signed.result as string)).toBe(address);
  return routed.slice(mark);
}

test('pairing, then a signing over the direct path: "direct" on the Devices page, no sealed frame through the relay; the marks break it down', async ({ dappServer }, testInfo) => {
  ({ popup, phone, address } = await onboardAndPair(extension.context, extension.extensionId, localStackUrls(relay, 'http://127.0.0.1:1'), phoneBrowser.context));
  await popup.getByTestId('first-address-continue').click();
  dapp = await extension.context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  await connectDapp(extension.context, dapp);
  await waitForPhonePath(popup, 'direct');
  await expect(phone.getByTestId('phone-connection')).toHaveAttribute('data-path', 'direct');

  const throughRelay = await signMessage('Hello, directly');
  expect(sealedOf(throughRelay)).toEqual([]);

  // The parts of approve → signature, from each device's own marks (src/channel/latency-marks.ts).
  const timeline = await cosignTimeline(phone, extensionWorker(extension) ?? extension.serviceWorker);
  writeFileSync(testInfo.outputPath('approve-to-signature.txt'), `${describeTimeline(timeline)}\n\ntotal ${approveToSignatureMs(timeline).toFixed(2)} ms\n`);
  const order: [device: 'phone' | 'extension', name: string][] = [
    ['phone', 'approve'],
    ['phone', 'out sign sign/1'],
    ['extension', 'in sign sign/1'],
    ['extension', 'out sign sign/2'],
    ['phone', 'in sign sign/2'],
    ['phone', 'out sign sign/3'],
    ['extension', 'in sign sign/3'],
    ['extension', 'out sign sign/4'],
    ['phone', 'in sign sign/4'],
    ['phone', 'out sign-result'],
    ['extension', 'in sign-result'],
    ['extension', 'signature'],
  ];
  const times = order.map(([device, name]) => markAt(timeline, device, name));
  expect(times).toEqual([...times].sort((a, b) => a - b));
});

test('the relay stopped after the data channel opened: the signing still works', async () => {
  const port = relay.port;
  await relay.close();
  try {
    await signMessage('Hello without the relay');
    await waitForPhonePath(popup, 'direct');
  } finally {
    relay = await startRelay({ port, ...relayOptions });
  }
});

test('the data channel closed in the middle of a signing: it completes through the relay, and the path comes back', async () => {
  await waitForPhonePath(popup, 'direct');
  const worker = extensionWorker(extension);
  expect(worker).toBeDefined();
  const throughRelay = await signMessage('Hello, interrupted', async () => {
    // The extension's worker is kept busy; the phone's first round leaves over the data channel,
    // then the phone's peer connection closes: the rest can only go through the relay.
    const busy = worker?.evaluate(() => {
      const end = Date.now() + 1_500;
      while (Date.now() < end);
    });
    await phone.getByTestId('phone-approve').click();
    await expect(phone.getByTestId('phone-request')).toHaveAttribute('data-attempt', '1');
    await phone.evaluate(() => {
      for (const peer of (window as unknown as { duetTestPeers: RTCPeerConnection[] }).duetTestPeers) peer.close();
    });
    await busy;
  });
  expect(sealedOf(throughRelay).length).toBeGreaterThan(0);
  await expect(phone.getByTestId('phone-history')).toContainText('signed');
  await waitForPhonePath(popup, 'direct');
});

test('the phone page reloaded: back on the direct path, and the signing takes it', async () => {
  await phone.reload();
  await unlockPhone(phone);
  await waitForPhonePath(popup, 'direct');
  expect(sealedOf(await signMessage('Hello after a reload'))).toEqual([]);
});

test("the extension's service worker restarted: it finds its offscreen document, and the path is direct again", async () => {
  await restartServiceWorker(extension, popup);
  await waitForPhonePath(popup, 'direct');
  expect(sealedOf(await signMessage('Hello after a worker restart'))).toEqual([]);
});
