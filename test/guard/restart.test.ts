/**
 * Restart safety: the Guard's process is killed (SIGKILL) between the rounds of a signing, then
 * started again on the same database (PGlite in a data folder, or PostgreSQL). The signing
 * completes as a new attempt with fresh nonces, and nothing is counted twice against the limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEther } from 'ethers';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { DEFAULT_POLICY } from '../../src/guard/policy.ts';
import { FRIEND, transfer } from './support/requests.ts';
import { DATABASE_KINDS, useDatabases } from './support/databases.ts';
import { walletWithGuard } from './support/guard-harness.ts';
import { startGuardProcess, type GuardProcess } from './support/guard-process.ts';
import type { MemberDevice } from './support/member-device.ts';

const databases = useDatabases();
const KEK = '11'.repeat(32);

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Kills the Guard when the extension receives signing message `round` of attempt 1, then starts it again. */
function killAt(extension: MemberDevice, round: 'sign/1' | 'sign/3', restart: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    extension.beforeGuardSign = async (message) => {
      const { attempt, body } = message as { attempt?: number; body?: { type?: string } };
      if (attempt !== 1 || body?.type !== round) return;
      extension.beforeGuardSign = null;
      await restart();
      resolve();
    };
  });
}

describe.each(DATABASE_KINDS)('the Guard killed between rounds, on %s', (kind) => {
  it.each(['sign/1', 'sign/3'] as const)('killed when the extension gets %s: the signing completes as a new attempt, charged once', async (round) => {
    const relay: RunningRelay = await startRelay({ port: 0, staticDir: null, log: () => undefined });
    cleanup.push(() => relay.close());
    const relayUrl = `ws://127.0.0.1:${relay.port}`;
    const config = await databases.config(kind);
    const dataDir = kind === 'pglite' ? mkdtempSync(join(tmpdir(), 'duet-guard-data-')) : null;
    if (dataDir) cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const options = { databaseUrl: config.databaseUrl ?? null, dataDir, relayUrl, port: 0, kek: KEK, clockOffset: 0 };
    let guard: GuardProcess = await startGuardProcess(options);
    cleanup.push(() => guard.kill());
    const { extension, phone, address } = await walletWithGuard(
      { relayUrl, clock: { now: Date.now }, guard: { url: guard.url, issueEnrolmentCode: async () => ({ code: guard.code }) } },
      { policy: { ...DEFAULT_POLICY, allowList: [{ address: FRIEND, chainId: null, label: '' }] } },
    );
    cleanup.push(() => {
      extension.close();
      phone.close();
    });

    const restarted = killAt(extension, round, async () => {
      await guard.kill();
      guard = await startGuardProcess({ ...options, port: Number(new URL(guard.url).port) });
    });
    const first = transfer(address, FRIEND, parseEther('0.6'), 0);
    const signature = await extension.signWithGuard(first);
    await restarted;
    expect(signature.r).toBeGreaterThan(0n);
    const decisions = extension.guardEvents.filter((event) => event.kind === 'decision' && event.id === first.id);
    expect(decisions).toHaveLength(1);

    // Charged once: 0.6 + 0.35 ETH (with fees) still fit the 1 ETH a day.
    await extension.signWithGuard(transfer(address, FRIEND, parseEther('0.35'), 1));
    const audit = await extension.guard!.client.request<{ entries: { action: string; subject: string | null; outcome: string; detail: { attempt?: number } | null }[] }>('audit', { limit: 100 });
    const signed = audit.entries.filter((entry) => entry.subject === first.id && entry.action === 'sign');
    expect(signed).toHaveLength(1);
    expect(signed[0]?.detail?.attempt).toBeGreaterThanOrEqual(2);
    expect(audit.entries.filter((entry) => entry.subject === first.id && entry.action === 'sign-request')).toHaveLength(1);
  });
});
