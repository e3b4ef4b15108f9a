/**
 * Restarts of `npm run relay` (src/relay/main.ts in its own process): a graceful stop (SIGTERM)
 * writes the queued mailboxes to its state directory and the next start delivers them; a SIGKILL
 * loses them, and the receiver is told why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayClient } from '../../src/channel/relay-client.ts';
import { client, newChannelId, text, untext, waitFor } from './relay-support.ts';

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function runRelay(port: number, stateDir: string): Promise<{ port: number; wsUrl: string; child: ChildProcess; stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/relay/main.ts', '--port', String(port), '--state-dir', stateDir, '--static-dir', ''], { stdio: ['ignore', 'pipe', 'inherit'] });
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

describe('relay restarts', () => {
  it('SIGTERM writes the 100 frames queued for an offline phone to disk; the restarted relay delivers all of them once, in order', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'duet-relay-state-'));
    const first = await runRelay(0, stateDir);
    const secret = newChannelId();
    const extension = await queueForOfflinePhone(first.wsUrl, secret, 100);
    expect(await first.stop('SIGTERM')).toBe(0);
    const second = await runRelay(first.port, stateDir);
    const phone = client(second.wsUrl, secret, 'phone');
    cleanup.push(() => phone.close());
    const received: string[] = [];
    phone.onMessage((payload) => received.push(untext(payload)));
    await phone.connect();
    await waitFor(() => received.length >= 100, 15_000);
    // The extension reconnected by itself and keeps numbering where the relay left off.
    await waitFor(() => extension.isOnline, 15_000);
    extension.send(text('after'));
    await waitFor(() => received.length === 101);
    expect(received).toEqual([...Array.from({ length: 100 }, (_, i) => `queued-${i}`), 'after']);
    await second.stop('SIGTERM');
  });

  it('SIGKILL loses what was queued; the phone is told that the relay restarted without its mailboxes', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'duet-relay-state-'));
    const first = await runRelay(0, stateDir);
    const secret = newChannelId();
    const extension = await queueForOfflinePhone(first.wsUrl, secret, 5);
    await first.stop('SIGKILL');
    const second = await runRelay(first.port, stateDir);
    await waitFor(() => extension.isOnline, 15_000);
    extension.send(text('after the crash'));
    await waitFor(() => extension.saveState().unstored.length === 0);
    const phone = client(second.wsUrl, secret, 'phone');
    cleanup.push(() => phone.close());
    const received: string[] = [];
    const gaps: { missed: number; reason: string; message: string }[] = [];
    phone.onMessage((payload) => received.push(untext(payload)));
    phone.onGap((gap) => gaps.push(gap));
    await phone.connect();
    await waitFor(() => received.length === 1);
    expect(received).toEqual(['after the crash']);
    expect(gaps).toEqual([{ missed: 5, reason: 'relay-restarted', message: expect.stringMatching(/restarted/) }]);
    await second.stop('SIGTERM');
  });
});
