/**
 * Fixtures for the MetaMask-compatibility test, on top of the wallet fixtures (relay serving the
 * phone app, anvil): the test dApp written for MetaMask and the widget it embeds
 * (e2e/pages/metamask-*), bundled by Vite with ethers, viem and @metamask/eth-sig-util into a
 * temporary folder and served on loopback (the widget is loaded from the other loopback name, so
 * it is another origin).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { startStaticServer, type RunningStaticServer } from '../src/devstack/static-server.ts';
import { test as base } from './wallet-fixtures.ts';

export async function buildCompatDapp(outDir: string): Promise<void> {
  await build({
    configFile: false,
    // 'error': its dependencies' Node-only modules (micro-ftch) are left out of the page on purpose; Vite would warn about each.
    logLevel: 'error',
    root: resolve('e2e/pages'),
    base: './',
    // @ethereumjs/util (under eth-sig-util) needs Node's events and Buffer: the npm packages of the same name stand in, as in dApp bundles.
    resolve: { alias: { events: resolve('node_modules/events/events.js') } },
    build: { outDir, emptyOutDir: true, target: 'es2022', rollupOptions: { input: [resolve('e2e/pages/metamask-dapp.html'), resolve('e2e/pages/metamask-frame.html')] } },
  });
}

export const test = base.extend<object, { compatDapp: RunningStaticServer }>({
  compatDapp: [
    async ({}, use) => {
      const outDir = mkdtempSync(join(tmpdir(), 'duet-compat-dapp-'));
      await buildCompatDapp(outDir);
      const server = await startStaticServer(outDir);
      await use(server);
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
    { scope: 'worker' },
  ],
});

export const expect = test.expect;
