/**
 * The real apps (the extension's member links, the phone app's controller) with a real Guard added
 * the way the Devices page does it (docs/guard.md, "In the apps"): the browser links by the printed
 * code and confirms the TOTP, the phone opens the Guard link, the browser adds the Guard and the
 * phone's user approves. test/guard/app-guard.test.ts checks each of these steps.
 */
import type { GuardDriver } from '../../../src/background/pairing.ts';
import type { LinkedApps } from '../../channel/app-link.ts';
import { waitFor } from '../../relay/relay-support.ts';
import type { GuardStack } from './guard-harness.ts';
import { generateOtp } from './totp.ts';

export interface GuardedApps {
  /** The TOTP secret (as an authenticator app holds it). */
  readonly secret: string;
  readonly guardKey: string;
}

function guardOf(apps: LinkedApps): GuardDriver {
  const driver = apps.link.members?.guard;
  if (!driver) throw new Error('the extension has no Guard driver');
  return driver;
}

export async function addGuardThroughApps(stack: GuardStack, apps: LinkedApps): Promise<GuardedApps> {
  const guard = guardOf(apps);
  const { code } = await stack.guard.issueEnrolmentCode();
  await guard.enrol(stack.guard.url, code);
  guard.confirmSas(true);
  await waitFor(() => guard.progress().step === 'second-factor', 30_000);
  const secret = new URL(guard.progress().totpUri as string).searchParams.get('secret') as string;
  await guard.confirmSecondFactor(generateOtp(secret, stack.clock.now()));
  await apps.phone.pair(guard.progress().phoneLink as string);
  await waitFor(() => apps.phone.view().guard.step === 'confirm-sas', 30_000);
  apps.phone.confirmGuardSas(true);
  await waitFor(() => apps.phone.view().guard.step === 'linked', 30_000);
  const guardKey = guard.progress().guardKey as string;
  await guard.add();
  await waitFor(() => apps.phone.view().decisions.some((decision) => decision.kind === 'guard'), 30_000);
  apps.phone.decide(apps.phone.view().decisions.find((decision) => decision.kind === 'guard')!.id, true);
  await waitFor(() => apps.link.members?.view()?.members.some((row) => row.role === 'guard' && row.coSigns) ?? false, 120_000);
  return { secret, guardKey };
}
