/**
 * `npm run bench:cosign`: approve on the phone → signature, with every real part: the built
 * extension in headless Chromium, the phone app in a second Chromium (its own device), the relay
 * on loopback. Message signing (personal_sign from a dApp page), so no chain is needed.
 *
 * 20 signings per path (--signings N): over the relay (the direct path turned off in the popup's
 * Advanced settings), over the direct WebRTC path, and both again through a relay that delays every
 * message by 50 ms one way (the relay's `testDelayMs`). Each signing's time is read from the
 * devices' own marks (src/channel/latency-marks.ts): from the phone's approval to the moment the
 * extension holds the verified signature. `compute_ms_median` is the time both devices spend in the
 * protocol's rounds (mark `in …` to the next `out …` on each device), summed per signing.
 *
 * Last line: one JSON object.
 */
import { resolve } from 'node:path';
import type { BrowserContext, Page, Worker } from 'playwright-core';
import { approveToSignatureMs, cosignTimeline, describeTimeline, type TimelineMark } from '../src/devstack/cosign-timeline.ts';
import { approvalWindow, connectDapp, dappRequest, localStackUrls, onboardAndPair, setDirectPath, unlockPhone, waitForPhonePath } from '../src/devstack/demo-flow.ts';
import { launchExtensionBrowser } from '../src/devstack/extension-browser.ts';
import { launchPhoneBrowser } from '../src/devstack/phone-browser.ts';
import { startStaticServer } from '../src/devstack/static-server.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay-server.ts';

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const SIGNINGS = flag('--signings', 20);
const DELAY_MS = flag('--delay-ms', 50);
const VERBOSE = process.argv.includes('--verbose');

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

const round = (value: number) => Math.round(value * 100) / 100;

/** Time spent in the protocol's rounds: each `in sign …` to the device's next `out …`. */
function computeMs(timeline: readonly TimelineMark[]): number {
  let total = 0;
  for (const [index, mark] of timeline.entries()) {
    if (!mark.name.startsWith('in sign')) continue;
    const next = timeline.slice(index + 1).find((later) => later.device === mark.device && later.name.startsWith('out '));
    if (next) total += next.at - mark.at;
  }
  // P1's first round runs on the approval itself.
  const approve = timeline.find((mark) => mark.device === 'phone' && mark.name === 'approve');
  const first = timeline.find((mark) => mark.device === 'phone' && mark.name.startsWith('out sign'));
  return total + (approve && first ? first.at - approve.at : 0);
}

function extensionWorker(context: BrowserContext, extensionId: string): Worker {
  const worker = context.serviceWorkers().filter((candidate) => candidate.url().startsWith(`chrome-extension://${extensionId}/`)).at(-1);
  if (!worker) throw new Error("the extension's service worker is not running");
  return worker;
}

const relayOptions = { port: 0, staticDir: resolve('dist-phone'), log: () => undefined };
let relay: RunningRelay = await startRelay(relayOptions);
const dappServer = await startStaticServer(resolve('e2e/pages'));
const extension = await launchExtensionBrowser({ headless: true });
const phoneBrowser = await launchPhoneBrowser();

async function signings(label: string, dapp: Page, phone: Page, address: string): Promise<{ times: number[]; compute: number[] }> {
  const times: number[] = [];
  const compute: number[] = [];
  const approval = await approvalWindow(extension.context);
  for (let i = 0; i < SIGNINGS; i++) {
    const text = `0x${Buffer.from(`bench ${label} ${i}`).toString('hex')}`;
    const result = dappRequest(dapp, 'personal_sign', [text, address]);
    await approval.getByTestId('approve').click();
    await phone.getByTestId('phone-approve').click();
    const answer = await result;
    if (answer.error) throw new Error(`signing failed: ${answer.error.message}`);
    const timeline = await cosignTimeline(phone, extensionWorker(extension.context, extension.extensionId));
    times.push(approveToSignatureMs(timeline));
    compute.push(computeMs(timeline));
    if (VERBOSE) console.error(`${label}, signing ${i}:\n${describeTimeline(timeline)}`);
  }
  console.error(`${label}: p50 ${round(quantile(times, 0.5))} ms, p90 ${round(quantile(times, 0.9))} ms, compute p50 ${round(quantile(compute, 0.5))} ms`);
  return { times, compute };
}

try {
  const urls = localStackUrls(relay, 'http://127.0.0.1:1');
  const { popup, phone, address } = await onboardAndPair(extension.context, extension.extensionId, urls, phoneBrowser.context);
  await popup.getByTestId('first-address-continue').click();
  const dapp = await extension.context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  await connectDapp(extension.context, dapp);

  const usePath = async (path: 'direct' | 'via relay') => {
    await setDirectPath(popup, path === 'direct');
    await waitForPhonePath(popup, path);
  };
  await usePath('via relay');
  const relayRun = await signings('relay', dapp, phone, address);
  await usePath('direct');
  const directRun = await signings('direct', dapp, phone, address);

  // The same relay again, now DELAY_MS away.
  const port = relay.port;
  await relay.close();
  relay = await startRelay({ ...relayOptions, port, testDelayMs: DELAY_MS });
  await phone.reload();
  await unlockPhone(phone);
  await usePath('via relay');
  const delayedRelay = await signings('delayed relay', dapp, phone, address);
  await usePath('direct');
  const delayedDirect = await signings('delayed direct', dapp, phone, address);

  console.log(
    JSON.stringify({
      relay_p50_ms: round(quantile(relayRun.times, 0.5)),
      relay_p90_ms: round(quantile(relayRun.times, 0.9)),
      direct_p50_ms: round(quantile(directRun.times, 0.5)),
      direct_p90_ms: round(quantile(directRun.times, 0.9)),
      delayed_relay_p50_ms: round(quantile(delayedRelay.times, 0.5)),
      delayed_direct_p50_ms: round(quantile(delayedDirect.times, 0.5)),
      compute_ms_median: round(quantile(relayRun.compute, 0.5)),
      signings: SIGNINGS,
      delay_ms: DELAY_MS,
    }),
  );
} finally {
  await extension.close();
  await phoneBrowser.close();
  await relay.close();
  await dappServer.close();
}
