/**
 * `npm start`: Duet's local stack. Builds nothing itself (the npm script builds first), then
 * starts anvil and Chromium with the extension loaded. With a display, Chromium opens headed and
 * the stack runs until Ctrl-C; without one (or with --headless), it runs a headless smoke check
 * and exits 0 when the extension loaded.
 */
import { startAnvil } from '../src/devstack/anvil.ts';
import { launchExtensionBrowser } from '../src/devstack/extension-browser.ts';

const headless = process.argv.includes('--headless') || !(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);

const anvil = await startAnvil({ port: 8545 }).catch(() => startAnvil());
console.log(`anvil: local chain 31337 at ${anvil.rpcUrl}`);
const browser = await launchExtensionBrowser({ headless });
console.log(`Chromium: Duet extension loaded (id ${browser.extensionId})`);

async function stopAll(): Promise<void> {
  await browser.close().catch(() => undefined);
  await anvil.stop();
}

if (headless) {
  const page = await browser.context.newPage();
  await page.goto(`chrome-extension://${browser.extensionId}/extension/popup/index.html`);
  const rendered = await page.getByTestId('popup-root').isVisible();
  await stopAll();
  console.log('No display found: ran a headless smoke check instead of opening a window.');
  console.log(JSON.stringify({ extensionId: browser.extensionId, popupRendered: rendered, rpcUrl: anvil.rpcUrl }));
  process.exit(rendered ? 0 : 1);
}

const page = await browser.context.newPage();
await page.goto(`chrome-extension://${browser.extensionId}/extension/popup/index.html`);
console.log('Duet is running. Press Ctrl-C to stop.');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopAll().then(() => process.exit(0));
  });
}
browser.context.on('close', () => {
  void anvil.stop().then(() => process.exit(0));
});
