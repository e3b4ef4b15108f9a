/**
 * `npm start`: Duet's whole local stack with embedded defaults and no outside network:
 * anvil (chain 31337, funded dev accounts), the relay serving the phone app, Duet Guard (embedded
 * PostgreSQL in a temporary data folder, its key-encryption key in memory; the Devices page adds
 * it with the URL and code printed here), a demo dApp page, and Chromium with the built extension
 * (the npm script builds first).
 *
 * With a display: Chromium opens headed on the demo dApp and the popup; the phone app's URL is
 * printed (with a QR code) for a real phone on the same network. Ctrl-C stops everything.
 * Without a display, or with --headless: runs the scripted demo (pairing, connect, a co-signed
 * ETH transfer) in headless Chromium and prints one JSON object as its last line; exits 0 only
 * if the transaction was mined.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { JsonRpcProvider, Wallet, parseEther } from 'ethers';
import QRCode from 'qrcode';
import { ANVIL_DEV_PRIVATE_KEY, startAnvil, type RunningAnvil } from '../src/devstack/anvil.ts';
import { connectDapp, localStackUrls, onboardAndPair, sendEthCoSigned } from '../src/devstack/demo-flow.ts';
import { launchExtensionBrowser } from '../src/devstack/extension-browser.ts';
import { freePort } from '../src/devstack/free-port.ts';
import { startStaticServer } from '../src/devstack/static-server.ts';
import { startRelay } from '../src/relay/relay-server.ts';
import { openDatabase } from '../src/guard/database.ts';
import { GuardService } from '../src/guard/guard-service.ts';
import { KeyEncryptionKey } from '../src/guard/key-encryption.ts';

const RELAY_PORT = 8787;
const GUARD_PORT = 8790;
const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const headless = process.argv.includes('--headless') || !(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);

function isFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer().once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

function lanAddress(): string | null {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  }
  return null;
}

const anvil: RunningAnvil = await startAnvil({ port: (await isFree(8545)) ? 8545 : await freePort() });
// The phone app it serves may reach the Guard started next (the phone links to it by HTTP).
const guardOrigins: string[] = [];
const relay = await startRelay({ host: headless ? '127.0.0.1' : '0.0.0.0', port: (await isFree(RELAY_PORT)) ? RELAY_PORT : 0, staticDir: resolve('dist-phone'), log: () => undefined, phoneGuardOrigins: () => guardOrigins });
const guardData = mkdtempSync(join(tmpdir(), 'duet-guard-'));
const guardDb = await openDatabase({ dataDir: guardData });
const guard = await GuardService.start({
  db: guardDb,
  kek: new KeyEncryptionKey(crypto.getRandomValues(new Uint8Array(32))),
  relayUrl: `ws://127.0.0.1:${relay.port}`,
  port: (await isFree(GUARD_PORT)) ? GUARD_PORT : 0,
  log: () => undefined,
});
guardOrigins.push(new URL(guard.url).origin);
const dapp = await startStaticServer(resolve('e2e/pages'));
const browser = await launchExtensionBrowser({ headless, callerHandlesSignals: true });
console.log(`anvil:   ${anvil.rpcUrl} (chain 31337; dev account 0xf39F…2266 funded)`);
console.log(`relay:   ws://localhost:${relay.port} — phone app at http://localhost:${relay.port}/`);
console.log(`guard:   ${guard.url} — enrolment code ${(await guard.issueEnrolmentCode()).code} (Devices → Add the Guard)`);
console.log(`dApp:    ${dapp.url}/index.html`);
console.log(`Chromium: extension ${browser.extensionId} loaded${headless ? ' (headless)' : ''}`);

let stopped: Promise<void> | null = null;
/** Stops everything started above; every caller waits for the same, complete stop. */
function stopAll(): Promise<void> {
  stopped ??= (async () => {
    await browser.close().catch(() => undefined);
    await guard.close();
    await guardDb.close();
    rmSync(guardData, { recursive: true, force: true });
    await Promise.all([relay.close(), dapp.close(), anvil.stop()]);
  })();
  return stopped;
}
/** Ctrl-C: whatever was running (the demo too) ends because the user asked; exit 0 once all is stopped. */
let interrupted = false;
// `on`, not `once`: a terminal's Ctrl-C reaches every process of the group, and tsx relays it as
// well, so a second signal may come while stopping.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupted = true;
    void stopAll().then(() => {
      console.log('Stopped.');
      process.exit(0);
    });
  });
}

if (headless) {
  const urls = localStackUrls(relay, anvil.rpcUrl);
  let summary: Record<string, unknown> = { mined: false };
  try {
    const pairStart = performance.now();
    const { phone, address } = await onboardAndPair(browser.context, browser.extensionId, urls);
    const pairMs = performance.now() - pairStart;
    const chain = new JsonRpcProvider(anvil.rpcUrl);
    await (await new Wallet(ANVIL_DEV_PRIVATE_KEY, chain).sendTransaction({ to: address, value: parseEther('1') })).wait();
    const page = await browser.context.newPage();
    await page.goto(`${dapp.url}/index.html`);
    const { approval } = await connectDapp(browser.context, page);
    const sent = await sendEthCoSigned(approval, phone, page, address, RECIPIENT, parseEther('0.01'));
    if (sent.result.error) throw new Error(`${sent.result.error.code}: ${sent.result.error.message}`);
    const txHash = sent.result.result as string;
    const receipt = await chain.waitForTransaction(txHash, 1, 30_000);
    summary = { address, txHash, pair_ms: Math.round(pairMs), sign_ms: Math.round(sent.signedAt - sent.phoneApprovedAt), mined: receipt?.status === 1, block: receipt?.blockNumber };
  } catch (error) {
    summary = { mined: false, error: error instanceof Error ? error.message : String(error) };
  }
  await stopAll();
  if (interrupted) await new Promise(() => undefined); // the signal handler exits
  console.log('No display: ran the scripted demo (pair, connect, co-signed transfer) in headless Chromium.');
  console.log(JSON.stringify(summary));
  process.exit(summary.mined === true ? 0 : 1);
}

const page = await browser.context.newPage();
await page.goto(`${dapp.url}/index.html`);
const popup = await browser.context.newPage();
await popup.goto(`chrome-extension://${browser.extensionId}/extension/popup/index.html`);
const lan = lanAddress();
const { phoneAppUrl } = localStackUrls(relay, anvil.rpcUrl);
console.log(`\nThe phone app, for a browser tab on this machine: ${phoneAppUrl}`);
console.log(await QRCode.toString(phoneAppUrl, { type: 'terminal', small: true }));
console.log('In the Duet popup, set the relay and phone app to that address (ws://… for the relay) under "Advanced", then pair.');
// The phone app runs only over https off this machine (docs/phone.md, "Serving the app").
if (lan) console.log(`A real phone needs the app over https: put an https proxy in front of ${lan}:${relay.port} (README, "Use a real phone").`);
console.log('Duet is running. Press Ctrl-C to stop.');
browser.context.on('close', () => void stopAll().then(() => process.exit(0)));
