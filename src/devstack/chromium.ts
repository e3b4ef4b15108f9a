/**
 * Finds the Chromium that tests and `npm start` drive: $CHROMIUM_PATH, else Debian's
 * /usr/bin/chromium, else a browser Playwright installed itself. Browser downloads do not work
 * on a machine without outside network, so the system package is the normal case.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const SYSTEM_CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export const CHROMIUM_INSTALL_HINT =
  'Chromium was not found. Install it with `sudo apt-get update && sudo apt-get install -y chromium` ' +
  '(Debian/Ubuntu), or point CHROMIUM_PATH at a Chromium or Chrome executable.';

export class ChromiumNotFoundError extends Error {
  constructor() {
    super(CHROMIUM_INSTALL_HINT);
    this.name = 'ChromiumNotFoundError';
  }
}

export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new ChromiumNotFoundError();
    return fromEnv;
  }
  for (const candidate of SYSTEM_CHROMIUM_PATHS) if (existsSync(candidate)) return candidate;
  const bundled = chromium.executablePath();
  if (bundled && existsSync(bundled)) return bundled;
  throw new ChromiumNotFoundError();
}

/**
 * Flags for Chromium with the built extension loaded. The network flags keep a machine without
 * outside network from stalling on Google services.
 */
export function extensionLaunchArgs(extensionDir: string): string[] {
  const args = [
    `--disable-extensions-except=${extensionDir}`,
    `--load-extension=${extensionDir}`,
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-quic',
  ];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return args;
}

/**
 * Playwright 1.65's own `--disable-features` list (chromiumSwitches.ts). Chromium keeps only the
 * last `--disable-features` on its command line, so a browser that must disable one more feature
 * passes this list with it, in one switch.
 */
const PLAYWRIGHT_DISABLED_FEATURES = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'msForceBrowserSignIn',
  'msEdgeUpdateLaunchServicesPreferredVersion',
];

/**
 * Test browsers only (never the extension or the phone app): WebRTC between two browsers on one
 * machine whatever its network. Chromium leaves loopback addresses out of ICE unless
 * `--allow-loopback-in-peer-connection`, and hides host addresses behind mDNS names
 * (`WebRtcHideLocalIpsWithMdns`), which a machine without multicast cannot resolve
 * (docs/channel.md, "The direct path").
 */
export const LOOPBACK_WEBRTC_ARGS: readonly string[] = ['--allow-loopback-in-peer-connection', `--disable-features=${[...PLAYWRIGHT_DISABLED_FEATURES, 'WebRtcHideLocalIpsWithMdns'].join(',')}`];
