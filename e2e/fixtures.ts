/**
 * Playwright fixtures: a Chromium profile with the built extension (dist/) loaded, a static
 * server for test dApp pages, and a local anvil chain.
 */
import { test as base } from '@playwright/test';
import { resolve } from 'node:path';
import { startAnvil, type RunningAnvil } from '../src/devstack/anvil.ts';
import { launchExtensionBrowser, type ExtensionBrowser } from '../src/devstack/extension-browser.ts';
import { startStaticServer, type RunningStaticServer } from '../src/devstack/static-server.ts';

interface TestFixtures {
  /** A fresh Chromium profile with the extension for every test: no state leaks between tests. */
  extension: ExtensionBrowser;
}

interface WorkerFixtures {
  /** One profile for a whole serial spec file whose tests build on each other. */
  sharedExtension: ExtensionBrowser;
  dappServer: RunningStaticServer;
  anvil: RunningAnvil;
}

async function withExtensionBrowser(use: (browser: ExtensionBrowser) => Promise<void>): Promise<void> {
  const browser = await launchExtensionBrowser({ headless: process.env.HEADED !== '1' });
  await use(browser);
  await browser.close();
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  extension: async ({}, use) => withExtensionBrowser(use),
  sharedExtension: [async ({}, use) => withExtensionBrowser(use), { scope: 'worker' }],
  dappServer: [
    async ({}, use) => {
      const server = await startStaticServer(resolve('e2e/pages'));
      await use(server);
      await server.close();
    },
    { scope: 'worker' },
  ],
  anvil: [
    async ({}, use) => {
      const chain = await startAnvil();
      await use(chain);
      await chain.stop();
    },
    { scope: 'worker' },
  ],
});

export const expect = test.expect;
