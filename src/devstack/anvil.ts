/**
 * Starts and stops a local chain: anvil from Foundry's npm distribution (the platform package
 * `@foundry-rs/anvil-linux-amd64` that the `@foundry-rs/anvil` wrapper would select; the wrapper's
 * other platform packages are not on this registry, which breaks `npm ci`), on a free loopback
 * port, with anvil's deterministic dev accounts (the "test test … junk" mnemonic).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort } from './free-port.ts';

export const ANVIL_CHAIN_ID = 31337;
/** Anvil's first dev account and its private key (public test values, funded with 10,000 ETH). */
export const ANVIL_DEV_ACCOUNT = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
export const ANVIL_DEV_PRIVATE_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

const STARTUP_TIMEOUT_MS = 30_000;

export interface AnvilOptions {
  readonly port?: number;
  readonly host?: string;
  /** Seconds between blocks; undefined mines each transaction at once. */
  readonly blockTime?: number;
}

export interface RunningAnvil {
  readonly rpcUrl: string;
  readonly port: number;
  stop(): Promise<void>;
}

export function anvilBinaryPath(): string {
  const require = createRequire(import.meta.url);
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;
  let packageJson: string;
  try {
    packageJson = require.resolve(`${platformPackage}/package.json`);
  } catch {
    throw new Error(`anvil is not installed for this platform: add the npm package ${platformPackage}`);
  }
  return join(dirname(packageJson), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
}

async function rpcAnswers(rpcUrl: string): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    });
    return response.ok;
  } catch {
    return false;
  }
}

export async function startAnvil(options: AnvilOptions = {}): Promise<RunningAnvil> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const args = ['--host', host, '--port', String(port), '--chain-id', String(ANVIL_CHAIN_ID), '--silent'];
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime));
  const child: ChildProcess = spawn(anvilBinaryPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const rpcUrl = `http://${host}:${port}`;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!(await rpcAnswers(rpcUrl))) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('anvil did not answer within 30 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    rpcUrl,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        // Already gone (a terminal's Ctrl-C reaches anvil too): exited, or ended by a signal.
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
