/**
 * Launches Chromium with the built extension in a fresh profile (Playwright persistent context)
 * and finds the extension's id from its service worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Worker } from 'playwright-core';
import { extensionLaunchArgs, findChromium, LOOPBACK_WEBRTC_ARGS } from './chromium.ts';

export const EXTENSION_DIST_DIR = resolve('dist');

export interface ExtensionBrowser {
  readonly context: BrowserContext;
  readonly extensionId: string;
  readonly serviceWorker: Worker;
  close(): Promise<void>;
}

export interface LaunchOptions {
  readonly headless: boolean;
  readonly extensionDir?: string;
  readonly extraArgs?: readonly string[];
  /** WebRTC on loopback (LOOPBACK_WEBRTC_ARGS), for a direct path to a phone on this machine; default on. */
  readonly loopbackWebRtc?: boolean;
  /**
   * The caller stops the browser itself on Ctrl-C / SIGTERM (npm start stops its whole stack in
   * order). Otherwise Playwright's handlers kill the browser on those signals.
   */
  readonly callerHandlesSignals?: boolean;
}

export async function launchExtensionBrowser(options: LaunchOptions): Promise<ExtensionBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'duet-profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: findChromium(),
    headless: options.headless,
    args: [...extensionLaunchArgs(options.extensionDir ?? EXTENSION_DIST_DIR), ...(options.loopbackWebRtc === false ? [] : LOOPBACK_WEBRTC_ARGS), ...(options.extraArgs ?? [])],
    handleSIGINT: !options.callerHandlesSignals,
    handleSIGTERM: !options.callerHandlesSignals,
    handleSIGHUP: !options.callerHandlesSignals,
  });
  const serviceWorker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 30_000 }));
  const extensionId = new URL(serviceWorker.url()).host;
  return {
    context,
    extensionId,
    serviceWorker,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
