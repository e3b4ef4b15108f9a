/**
 * The Duet Guard in the end-to-end specs (e2e/guard.spec.ts, e2e/guard-recovery.spec.ts): a real
 * Guard in its own process (PGlite in a temporary folder, its key-encryption key handed in by
 * environment) that a spec can kill and start again on the same data folder and port, with its
 * clock moved (`clockOffset`: the security periods pass without waiting); and adding it from the
 * Devices page as a user does (address + printed code, the SAS, the TOTP QR and its first code,
 * the phone links by the Guard link and approves the Guard).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Page } from '@playwright/test';
import type { RunningRelay } from '../../src/relay/relay-server.ts';
import { startGuardProcess, type GuardProcess } from '../../test/guard/support/guard-process.ts';
import { generateOtp } from '../../test/guard/support/totp.ts';
import { openDevices } from './members.ts';

const LONG_MS = 90_000;

export interface E2eGuard {
  /** The running process (replaced by restart). */
  process: GuardProcess;
  /** Kills the Guard (SIGKILL) and starts it again on the same data folder and port, its clock `clockOffset` ms ahead. */
  restart(clockOffset: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a Guard on `relay`; `origins` (the phone app's CSP) gets its origin. */
export async function startE2eGuard(relay: RunningRelay, origins: string[]): Promise<E2eGuard> {
  const dataDir = mkdtempSync(join(tmpdir(), 'duet-guard-e2e-'));
  const base = { databaseUrl: null, dataDir, relayUrl: `ws://localhost:${relay.port}`, kek: randomBytes(32).toString('hex') };
  // Phones of the specs take fixtures 0–9 and 20–29: each Guard process takes two of 10–19 (a wallet
  // refuses a Paillier key it saw before, and a process started again would offer the same ones).
  let starts = 0;
  const keyStart = () => 10 + ((2 * starts++) % 10);
  const first = await startGuardProcess({ ...base, port: 0, clockOffset: 0, keyStart: keyStart() });
  const port = Number(new URL(first.url).port);
  origins.push(new URL(first.url).origin);
  const guard: E2eGuard = {
    process: first,
    async restart(clockOffset) {
      await guard.process.kill();
      guard.process = await startGuardProcess({ ...base, port, clockOffset, keyStart: keyStart() });
    },
    async close() {
      await guard.process.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return guard;
}

/**
 * Adds the Guard from the Devices page, `phone` (the wallet's phone, its app open) approving; returns the
 * TOTP secret. `setRules` runs once the second factor is confirmed, before the phone links (the Guard
 * still applies any rules at once).
 */
export async function addGuardFromDevices(popup: Page, phone: Page, guard: GuardProcess, setRules?: () => Promise<void>): Promise<string> {
  // The browser links to the Guard: its address and the code it printed, then the six digits.
  await openDevices(popup);
  await popup.getByTestId('guard-url').fill(guard.url);
  await popup.getByTestId('guard-code').fill(guard.code);
  await popup.getByTestId('guard-enrol').click();
  await expect(popup.getByTestId('guard-sas')).toHaveText(/^\d{6}$/, { timeout: LONG_MS });
  await popup.getByTestId('guard-sas-match').click();

  // The second factor: the QR code for an authenticator app, and its first code.
  await expect(popup.getByTestId('guard-totp-qr')).toBeVisible({ timeout: LONG_MS });
  const secret = ((await popup.getByTestId('guard-totp-key').textContent()) ?? '').trim();
  expect(secret).toMatch(/^[A-Z2-7]+$/);
  await popup.getByTestId('guard-totp-code').fill(generateOtp(secret));
  await popup.getByTestId('guard-totp-confirm').click();
  await setRules?.();

  // The phone links to the Guard by the link the browser shows, and compares its own code.
  await expect(popup.getByTestId('guard-phone-qr')).toBeVisible({ timeout: LONG_MS });
  const phoneLink = await popup.getByTestId('guard-phone-link').inputValue();
  expect(phoneLink).toContain('#guard=');
  await linkPhoneToGuard(phone, phoneLink);

  // The browser proposes the Guard; the phone's user approves it on the phone.
  await popup.getByTestId('guard-add').click();
  await expect(phone.getByTestId('decision-guard')).toBeVisible({ timeout: LONG_MS });
  await phone.getByTestId('decision-approve').click();
  await expect(popup.getByTestId('member-list')).toContainText('Duet Guard', { timeout: LONG_MS });
  await expect(popup.getByTestId('guard-setup')).toHaveCount(0);
  return secret;
}

/** A phone opens a Guard link (pasted) and compares its code with the Guard's. */
export async function linkPhoneToGuard(phone: Page, link: string): Promise<void> {
  await phone.getByTestId('phone-guard-link').locator('summary').click();
  await phone.getByTestId('guard-link-input').fill(link);
  await phone.getByTestId('guard-link-submit').click();
  await expect(phone.getByTestId('phone-guard-sas')).toHaveText(/^\d{6}$/, { timeout: LONG_MS });
  await phone.getByTestId('phone-guard-match').click();
  await expect(phone.getByTestId('phone-guard-linked')).toBeVisible({ timeout: LONG_MS });
}
