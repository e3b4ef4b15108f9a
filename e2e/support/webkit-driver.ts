/**
 * WebKit for the phone app: WebKitGTK's MiniBrowser driven through WebKitWebDriver (Debian's
 * `webkit2gtk-driver`), under Xvfb when there is no display. WebKitGTK runs the same engine as
 * Safari (WebCore and JavaScriptCore), so the phone app's IndexedDB, WebCrypto, BigInt and layout
 * are exercised as Safari runs them; it is not iOS Safari itself.
 *
 * A minimal W3C WebDriver client over fetch: sessions, navigation, elements, scripts, screenshots.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from '../../src/devstack/free-port.ts';

const DRIVER = '/usr/bin/WebKitWebDriver';
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const XVFB_RUN = '/usr/bin/xvfb-run';
/** The W3C identifier of a returned element reference. */
const ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';

export const WEBKIT_INSTALL_HINT = 'WebKit is missing: install it with `apt-get install -y webkit2gtk-driver xvfb xauth` (Debian/Ubuntu).';

export function webkitAvailable(): boolean {
  return existsSync(DRIVER) && existsSync(MINIBROWSER) && (Boolean(process.env.DISPLAY) || existsSync(XVFB_RUN));
}

export interface WebKitPage {
  goto(url: string): Promise<void>;
  reload(): Promise<void>;
  setWindowSize(width: number, height: number): Promise<void>;
  /** Fills an element found by data-testid (clears it first). */
  fill(testId: string, text: string): Promise<void>;
  click(testId: string): Promise<void>;
  /** The element's text, or null while it is not on the page. */
  text(testId: string): Promise<string | null>;
  /** Polls until `testId` shows text matching `pattern`; returns the text. */
  waitForText(testId: string, pattern: RegExp, timeoutMs?: number): Promise<string>;
  evaluate<T>(script: string): Promise<T>;
  screenshot(): Promise<Buffer>;
  close(): Promise<void>;
}

async function command<T>(base: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const json = (await response.json()) as { value: T & { error?: string; message?: string } };
  if (!response.ok) throw new Error(`WebDriver ${method} ${path}: ${json.value?.error ?? response.status} ${json.value?.message ?? ''}`);
  return json.value;
}

async function waitForDriver(base: string, driver: ChildProcess): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    if (driver.exitCode !== null) throw new Error(`WebKitWebDriver exited with ${driver.exitCode}`);
    try {
      const status = await command<{ ready: boolean }>(base, 'GET', '/status');
      if (status.ready) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('WebKitWebDriver did not start');
}

export async function launchWebKit(): Promise<WebKitPage> {
  if (!webkitAvailable()) throw new Error(WEBKIT_INSTALL_HINT);
  const port = await freePort();
  const driverArgs = [`--port=${port}`, '--host=127.0.0.1'];
  const driver = process.env.DISPLAY ? spawn(DRIVER, driverArgs, { stdio: 'ignore' }) : spawn(XVFB_RUN, ['-a', DRIVER, ...driverArgs], { stdio: 'ignore', detached: true });
  const base = `http://127.0.0.1:${port}`;
  const stopDriver = () => {
    if (driver.pid === undefined || driver.exitCode !== null || driver.signalCode !== null) return;
    // xvfb-run starts Xvfb and the driver in its own process group: end the whole group.
    if (process.env.DISPLAY) driver.kill();
    else {
      try {
        process.kill(-driver.pid, 'SIGTERM');
      } catch {
        // the group has ended already
      }
    }
  };
  try {
    await waitForDriver(base, driver);
  } catch (error) {
    stopDriver();
    throw error;
  }
  const { sessionId } = await command<{ sessionId: string }>(base, 'POST', '/session', {
    capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } } },
  });
  const session = `/session/${sessionId}`;
  const find = async (testId: string): Promise<string | null> => {
    const found = await command<Record<string, string>[]>(base, 'POST', `${session}/elements`, { using: 'css selector', value: `[data-testid="${testId}"]` });
    return found[0]?.[ELEMENT_KEY] ?? null;
  };
  const require = async (testId: string, timeoutMs = 30_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const element = await find(testId);
      if (element) return element;
      if (Date.now() > deadline) throw new Error(`no element [data-testid="${testId}"] after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const text = async (testId: string) => {
    const element = await find(testId);
    return element ? command<string>(base, 'GET', `${session}/element/${element}/text`).catch(() => null) : null;
  };
  return {
    goto: async (url) => void (await command(base, 'POST', `${session}/url`, { url })),
    reload: async () => void (await command(base, 'POST', `${session}/refresh`, {})),
    setWindowSize: async (width, height) => void (await command(base, 'POST', `${session}/window/rect`, { width, height })),
    fill: async (testId, value) => {
      const element = await require(testId);
      await command(base, 'POST', `${session}/element/${element}/clear`, {});
      await command(base, 'POST', `${session}/element/${element}/value`, { text: value });
    },
    click: async (testId) => void (await command(base, 'POST', `${session}/element/${await require(testId)}/click`, {})),
    text,
    waitForText: async (testId, pattern, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const current = await text(testId);
        if (current !== null && pattern.test(current)) return current;
        if (Date.now() > deadline) throw new Error(`[data-testid="${testId}"] shows ${JSON.stringify(current)}, expected ${pattern} (after ${timeoutMs} ms)`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    evaluate: (script) => command(base, 'POST', `${session}/execute/sync`, { script, args: [] }),
    screenshot: async () => Buffer.from(await command<string>(base, 'GET', `${session}/screenshot`), 'base64'),
    close: async () => {
      await command(base, 'DELETE', session).catch(() => undefined);
      stopDriver();
    },
  };
}
