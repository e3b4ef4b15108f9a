/**
 * The extension's service worker in an end-to-end test: find it, and stop it as Chrome does when it
 * idles (DevTools protocol, Target.closeTarget), then wait for the new one that the extension's
 * pages start by asking for the view.
 */
import { expect, type BrowserContext, type Page } from '@playwright/test';

export type Extension = { readonly context: BrowserContext; readonly extensionId: string };

/** The extension's current service worker (the phone app has one too, in the same browser). */
export function extensionWorker(extension: Extension) {
  return extension.context
    .serviceWorkers()
    .filter((worker) => worker.url().startsWith(`chrome-extension://${extension.extensionId}/`))
    .at(-1);
}

/** Stops the extension's service worker as Chrome does when it idles (DevTools protocol), and waits for a new one. */
export async function restartServiceWorker(extension: Extension, page: Page): Promise<void> {
  const running = extensionWorker(extension);
  expect(running).toBeDefined();
  await running?.evaluate(() => {
    (globalThis as { beforeRestart?: boolean }).beforeRestart = true;
  });
  const cdp = await extension.context.newCDPSession(page);
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
  const worker = targetInfos.find((target) => target.type === 'service_worker' && target.url.startsWith(`chrome-extension://${extension.extensionId}/`));
  expect(worker).toBeDefined();
  await cdp.send('Target.closeTarget', { targetId: worker?.targetId as string });
  await cdp.detach();
  // The extension's pages keep asking for the view; that starts a new worker (without the marker).
  await expect
    .poll(async () => {
      const current = extensionWorker(extension);
      return current ? current.evaluate(() => (globalThis as { beforeRestart?: boolean }).beforeRestart === true).catch(() => 'stopped') : 'none';
    })
    .toBe(false);
}

