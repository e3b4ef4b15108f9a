/**
 * Fixtures for the wallet end-to-end test, on top of e2e/fixtures.ts: the relay serving the
 * built phone app (dist-phone), a second anvil chain (id 1337) to add through EIP-3085, and the
 * test dApp (e2e/pages/wallet-dapp.*) bundled with ethers, viem and mipd by Vite into a
 * temporary folder and served on loopback.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { anvilBinaryPath } from '../src/devstack/anvil.ts';
import { freePort } from '../src/devstack/free-port.ts';
import { startStaticServer, type RunningStaticServer } from '../src/devstack/static-server.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay-server.ts';
import { test as base } from './fixtures.ts';

export const SECOND_CHAIN_ID = 1337;

export interface SecondChain {
  readonly rpcUrl: string;
}

interface WalletFixtures {
  relay: RunningRelay;
  walletDapp: RunningStaticServer;
  secondChain: SecondChain;
}

async function buildDapp(outDir: string): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    root: resolve('e2e/pages'),
    base: './',
    build: { outDir, emptyOutDir: true, target: 'es2022', rollupOptions: { input: resolve('e2e/pages/wallet-dapp.html') } },
  });
}

async function startSecondChain(): Promise<{ rpcUrl: string; stop(): void }> {
  const port = await freePort('127.0.0.1');
  const child = spawn(anvilBinaryPath(), ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(SECOND_CHAIN_ID), '--silent'], { stdio: 'ignore' });
  const rpcUrl = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 300; attempt++) {
    const answered = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' }).then(
      (response) => response.ok,
      () => false,
    );
    if (answered) return { rpcUrl, stop: () => child.kill('SIGTERM') };
    await new Promise((done) => setTimeout(done, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the second anvil did not start');
}

export const test = base.extend<object, WalletFixtures>({
  relay: [
    async ({}, use) => {
      const relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
      await use(relay);
      await relay.close();
    },
    { scope: 'worker' },
  ],
  walletDapp: [
    async ({}, use) => {
      const outDir = mkdtempSync(join(tmpdir(), 'duet-dapp-'));
      await buildDapp(outDir);
      const server = await startStaticServer(outDir);
      await use(server);
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
    { scope: 'worker' },
  ],
  secondChain: [
    async ({}, use) => {
      const chain = await startSecondChain();
      await use({ rpcUrl: chain.rpcUrl });
      chain.stop();
    },
    { scope: 'worker' },
  ],
});

export const expect = test.expect;
