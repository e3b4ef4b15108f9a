/**
 * A Chromium of its own for the phone app, as a phone is another device: its own profile, network
 * stack and WebRTC. With `loopbackWebRtc` (the default) it can open a direct path to the
 * extension's browser on this machine (LOOPBACK_WEBRTC_ARGS, test browsers only).
 */
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { findChromium, LOOPBACK_WEBRTC_ARGS } from './chromium.ts';

export interface PhoneBrowser {
  readonly browser: Browser;
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export interface PhoneBrowserOptions {
  readonly headless?: boolean;
  readonly loopbackWebRtc?: boolean;
  readonly extraArgs?: readonly string[];
}

export async function launchPhoneBrowser(options: PhoneBrowserOptions = {}): Promise<PhoneBrowser> {
  const browser = await chromium.launch({
    executablePath: findChromium(),
    headless: options.headless ?? true,
    args: ['--disable-background-networking', '--no-first-run', ...(options.loopbackWebRtc === false ? [] : LOOPBACK_WEBRTC_ARGS), ...(options.extraArgs ?? []), ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
  });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  return { browser, context, close: () => browser.close() };
}
