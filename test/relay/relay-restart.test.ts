/**
 * Restarts of `npm run relay` (src/relay/main.ts in its own process). In memory, a graceful stop
 * (SIGTERM) writes the queued mailboxes to its state directory and the next start delivers them; a
 * SIGKILL loses them, and the receiver is told why. With Redis (AOF on, fsynced before each reply)
 * nothing queued is lost when the relay is stopped either way, nor when Redis itself is killed and
 * restarted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayClient, RelayGap } from '../../src/channel/relay-client.ts';
import { client, newChannelId, text, untext, waitFor } from './relay-support.ts';
import { STORES, storeBackend } from './relay-stores.ts';

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

interface RelayRun {
  readonly port: number;
  readonly wsUrl: string;
  readonly child: ChildProcess;
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<number | null>;
}

async function runRelay(port: number, args: readonly string[]): Promise<RelayRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts', '--port', String(port), '--static-dir', '', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanup.push(() => void child.kill('SIGKILL'));
  const actual = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`relay exited with ${code}: ${out}`)));
  });
  return {
    port: actual,
    wsUrl: `ws://127.0.0.1:${actual}`,
    child,
    stop: async (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}

async function queueForOfflinePhone(wsUrl: string, secret: string, count: number): Promise<RelayClient> {
  const extension = client(wsUrl, secret, 'extension');
  cleanup.push(() => extension.close());
  await extension.connect();
  for (let i = 0; i < count; i++) extension.send(text(`queued-${i}`));
  await waitFor(() => extension.saveState().unstored.length === 0);
  return extension;
}

/** The phone comes online: what it receives, and the gap notices it is given. */
async function phoneReceiving(wsUrl: string, secret: string): Promise<{ received: string[]; gaps: RelayGap[] }> {
  const phone = client(wsUrl, secret, 'phone');
  cleanup.push(() => phone.close());
  const received: string[] = [];
  const gaps: RelayGap[] = [];
  phone.onMessage((payload) => received.push(untext(payload)));
  phone.onGap((gap) => gaps.push(gap));
  await phone.connect();
  return { received, gaps };
}

const queued = (count: number) => Array.from({ length: count }, (_, i) => `queued-${i}`);

describe('memory store', () => {
  it('SIGTERM writes the 100 frames queued for an offline phone to disk; the restarted relay delivers all of them once, in order', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'duet-relay-state-'));
    const first = await runRelay(0, ['--state-dir', stateDir]);
    const secret = newChannelId();
    const extension = await queueForOfflinePhone(first.wsUrl, secret, 100);
    expect(await first.stop('SIGTERM')).toBe(0);
    const second = await runRelay(first.port, ['--state-dir', stateDir]);
    const phone = await phoneReceiving(second.wsUrl, secret);
    await waitFor(() => phone.received.length >= 100, 15_000);
    // The extension reconnected by itself and keeps numbering where the relay left off.
    await waitFor(() => extension.isOnline, 15_000);
    extension.send(text('after'));
    await waitFor(() => phone.received.length === 101);
    expect(phone.received).toEqual([...queued(100), 'after']);
    await second.stop('SIGTERM');
  });

  it('SIGKILL loses what was queued; the phone is told that the relay restarted without its mailboxes', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'duet-relay-state-'));
    const first = await runRelay(0, ['--state-dir', stateDir]);
    const secret = newChannelId();
    const extension = await queueForOfflinePhone(first.wsUrl, secret, 5);
    await first.stop('SIGKILL');
    const second = await runRelay(first.port, ['--state-dir', stateDir]);
    await waitFor(() => extension.isOnline, 15_000);
    extension.send(text('after the crash'));
    await waitFor(() => extension.saveState().unstored.length === 0);
    const phone = await phoneReceiving(second.wsUrl, secret);
    await waitFor(() => phone.received.length === 1);
    expect(phone.received).toEqual(['after the crash']);
    expect(phone.gaps).toEqual([{ missed: 5, reason: 'relay-restarted', message: expect.stringMatching(/restarted/) }]);
    await second.stop('SIGTERM');
  });
});

describe.skipIf(!STORES.includes('redis'))('redis store', () => {
  const backend = storeBackend('redis');
  const redisArgs = () => {
    const { redisUrl, redisPrefix } = backend.options('restart');
    return ['--redis-url', redisUrl as string, '--redis-prefix', `${redisPrefix}${newChannelId()}:`];
  };

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${signal}: the 100 frames queued for an offline phone stay in Redis; the restarted relay delivers all of them once, in order`, async () => {
      const args = redisArgs();
      const first = await runRelay(0, args);
      const secret = newChannelId();
      const extension = await queueForOfflinePhone(first.wsUrl, secret, 100);
      await first.stop(signal);
      const second = await runRelay(first.port, args);
      const phone = await phoneReceiving(second.wsUrl, secret);
      await waitFor(() => phone.received.length >= 100, 15_000);
      await waitFor(() => extension.isOnline, 15_000);
      extension.send(text('after'));
      await waitFor(() => phone.received.length === 101);
      expect(phone.received).toEqual([...queued(100), 'after']);
      expect(phone.gaps).toEqual([]);
      await second.stop('SIGTERM');
    });
  }

  it('Redis killed (SIGKILL) and restarted with its append-only file: nothing it had STORED is lost, and the relay carries on', async () => {
    const relay = await runRelay(0, redisArgs());
    const secret = newChannelId();
    const extension = await queueForOfflinePhone(relay.wsUrl, secret, 100);
    await backend.redis.stop('SIGKILL');
    // Sent while Redis is down: kept by the client until a relay STOREs them.
    for (let i = 0; i < 10; i++) extension.send(text(`during-${i}`));
    await backend.redis.start();
    await waitFor(() => extension.saveState().unstored.length === 0, 20_000);
    const phone = await phoneReceiving(relay.wsUrl, secret);
    await waitFor(() => phone.received.length >= 110, 15_000);
    expect(phone.received).toEqual([...queued(100), ...Array.from({ length: 10 }, (_, i) => `during-${i}`)]);
    expect(phone.gaps).toEqual([]);
    const health = (await (await fetch(`http://127.0.0.1:${relay.port}/healthz`)).json()) as { store: { kind: string; ok: boolean } };
    expect(health.store).toMatchObject({ kind: 'redis', ok: true });
    await relay.stop('SIGTERM');
  });
});
