/**
 * Replacing a lost phone with the Duet Guard as the second dealer, through the real apps in Node
 * (docs/guard.md, "Recovery"): the extension's member links (src/background/phone-link.ts and
 * src/session/guard-recovery.ts, the Devices page's driver), the phone app's controller for the
 * lost phone and the new one (fake-indexeddb), a real Guard on PGlite in memory whose clock the
 * test moves. The Guard's gates as the user sees them: a new phone not linked to the Guard, a wrong
 * code, a proposal before the period (the extension's estimate of the Guard's clock wrong), the
 * lost phone cancelling without and with the code; then the period passes, the extension proposes,
 * the new phone joins with the same address and co-signs with the extension.
 */
import 'fake-indexeddb/auto';
import { hashMessage, recoverAddress, Signature } from 'ethers';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuardRecoveryDriver } from '../../src/background/pairing.ts';
import { relayPhoneLinks } from '../../src/background/phone-link.ts';
import type { WebSocketConstructor } from '../../src/channel/relay-client.ts';
import type { PhoneController } from '../../src/phone/phone-controller.ts';
import { linkApps, MemorySecrets, personalSign, type LinkedApps } from '../channel/app-link.ts';
import { unlockedPhone, TEST_PASSPHRASE } from '../phone/phone-support.ts';
import { waitFor } from '../relay/relay-support.ts';
import { addGuardThroughApps, type GuardedApps } from './support/apps-with-guard.ts';
import { cyclingKeys, startGuardStack, type GuardStack } from './support/guard-harness.ts';
import { generateOtp } from './support/totp.ts';

const HOUR = 3_600_000;
let stack: GuardStack;
let apps: LinkedApps;
let guarded: GuardedApps;
let newPhone: PhoneController;

beforeAll(async () => {
  stack = await startGuardStack({ dataDir: null });
  apps = await linkApps(stack.relayUrl, undefined, { paillierKeys: cyclingKeys(1) });
  guarded = await addGuardThroughApps(stack, apps);
}, 240_000);
afterAll(async () => {
  apps?.close();
  if (newPhone?.unlocked) newPhone.lock();
  await stack?.close();
});

function recovery(): GuardRecoveryDriver {
  const driver = apps.link.members?.guardRecovery;
  if (!driver) throw new Error('the extension has no recovery driver');
  return driver;
}

/** A code of the authenticator app at the Guard's time, in a step not used before. */
function nextCode(on: { stack: GuardStack; guarded: GuardedApps } = { stack, guarded }): string {
  on.stack.clock.advance(31_000);
  return generateOtp(on.guarded.secret, on.stack.clock.now());
}

describe('replacing a lost phone with the Guard as the second dealer, through the apps', () => {
  it('opens only with the right code, deals only after the period, survives a restart, and the new phone signs with the same address', async () => {
    const view = () => apps.link.members?.view();
    const address = apps.phone.view().address as string;
    const epoch = view()?.epoch as number;
    const lostKey = view()?.members.find((row) => row.role === 'phone')?.key as string;
    // The phone is lost: its app is closed.
    await apps.phone.lock();

    // "Replace" on its row: a new phone scans the add-member code, both users compare the code.
    newPhone = await unlockedPhone({ vaultName: 'new-phone', paillierKeys: cyclingKeys(6) });
    await apps.link.pairing.start('add-member', lostKey);
    await newPhone.pair(apps.link.pairing.progress().link as string);
    await waitFor(() => apps.link.pairing.progress().phase === 'confirm-sas' && newPhone.view().screen === 'confirm-sas', 30_000);
    apps.link.pairing.confirmSas(true);
    newPhone.confirmSas(true);
    // No member but the Guard can deal with this browser: the recovery at the Guard starts.
    await waitFor(() => (recovery().view()?.deviceLink ?? null) !== null && newPhone.view().screen === 'joining', 30_000);
    expect(recovery().view()).toMatchObject({ step: 'link-device', guardKey: guarded.guardKey, remove: [lostKey], readyAt: null });
    const newKey = recovery().view()?.candidate.identityKey as string;

    // Opened before the new phone linked to the Guard: the Guard refuses, nothing opens.
    await expect(recovery().open(nextCode())).rejects.toThrow(/not a device linked to this Guard/);
    expect(recovery().view()?.step).toBe('link-device');

    // The new phone links to the Guard by the browser's Guard link (its own code with the Guard).
    await newPhone.pair(recovery().view()?.deviceLink as string);
    await waitFor(() => newPhone.view().guard.step === 'confirm-sas', 30_000).catch((error: unknown) => {
      throw new Error(`the new phone did not link: ${JSON.stringify(newPhone.view().guard)} ${newPhone.view().error} ${newPhone.view().screen}`, { cause: error });
    });
    newPhone.confirmGuardSas(true);
    await waitFor(() => newPhone.view().guard.step === 'linked', 30_000);

    // A wrong code: the Guard's message, nothing opened.
    await expect(recovery().open('123456')).rejects.toMatchObject({ code: 'wrong_code' });
    expect(recovery().view()?.step).toBe('link-device');
    await expect(recovery().open('12ab56')).rejects.toThrow('the code is the 6 digits your authenticator app shows');
    // The right code opens it: ready in 48 hours by the Guard's clock.
    await recovery().open(nextCode());
    const opened = recovery().view();
    expect(opened?.step).toBe('waiting');
    expect(opened?.readyAt).toBeGreaterThan(Date.now() + 47 * HOUR);

    // Before the period: the extension does not propose.
    await expect(recovery().finish()).rejects.toThrow(/only after the security period/);

    // The service worker restarts: the recovery comes back from the vault.
    apps.restartExtension();
    await waitFor(() => recovery().view()?.step === 'waiting', 30_000);

    // The extension's estimate of the Guard's clock is wrong (the Guard's clock went back after it
    // was read): its proposal reaches the Guard early, the Guard refuses, nothing changes.
    stack.clock.offset += 49 * HOUR;
    await recovery().refresh();
    expect(recovery().view()?.step).toBe('ready');
    stack.clock.offset -= 49 * HOUR;
    await recovery().finish();
    await waitFor(() => recovery().view()?.error !== null, 60_000);
    expect(recovery().view()?.error).toMatch(/^The Guard refused to deal: .*only after its security period/);
    expect(view()?.epoch).toBe(epoch);
    expect(view()?.change).toBeNull();
    // Asked again, the Guard's clock says it waits.
    await recovery().refresh();
    expect(recovery().view()?.step).toBe('waiting');
    // The wallet still signs: the browser and the Guard.
    const request = personalSign(address, 'still signs');
    expect((await apps.link.coSigner.sign(request, new AbortController().signal, guarded.guardKey)).by).toBe(guarded.guardKey);

    // The lost phone (back in a thief's hands, say) cannot cancel it without the code; with it, it can.
    await apps.phone.unlock(TEST_PASSPHRASE);
    await waitFor(() => apps.phone.view().guardQueue.some((entry) => entry.kind === 'recovery'), 30_000);
    const item = apps.phone.view().guardQueue.find((entry) => entry.kind === 'recovery')!;
    await apps.phone.cancelGuardItem(guarded.guardKey, item.item);
    expect(apps.phone.view().error).toMatch(/code/);
    expect(recovery().view()?.step).toBe('waiting');
    await apps.phone.cancelGuardItem(guarded.guardKey, item.item, nextCode());
    await waitFor(() => recovery().view()?.step === 'cancelled', 30_000);
    await apps.phone.lock();

    // Opened again (a new code, a new period); the period passes; the extension proposes.
    await recovery().reopen();
    await recovery().open(nextCode());
    stack.clock.advance(48 * HOUR + 60_000);
    await recovery().refresh();
    expect(recovery().view()?.step).toBe('ready');
    await recovery().finish();
    await waitFor(() => newPhone.view().address !== null && recovery().view() === null && view()?.epoch === epoch + 1, 120_000).catch((error: unknown) => {
      throw new Error(`the recovery did not finish: ${JSON.stringify(recovery().view())} ${JSON.stringify(view()?.change)} ${JSON.stringify(newPhone.view().joining)} ${newPhone.view().error}`, { cause: error });
    });
    expect(newPhone.view().address).toBe(address);
    expect(view()?.members.map((row) => row.key)).not.toContain(lostKey);
    expect(view()?.members.map((row) => row.key)).toContain(newKey);

    // The new phone co-signs with the extension.
    await waitFor(() => view()?.members.some((row) => row.key === newKey && row.coSigns) ?? false, 60_000);
    const signed = personalSign(address, 'the new phone signs');
    const signing = apps.link.coSigner.sign(signed, new AbortController().signal, newKey);
    await waitFor(() => newPhone.view().requests.some((entry) => entry.request.id === signed.id), 30_000);
    newPhone.approve(signed.id);
    expect((await signing).by).toBe(newKey);
  }, 300_000);

  it('lost browser: the phone opens a recovery at the Guard for a new browser, the browser links to the Guard, after the period phone + Guard deal it; it signs for the same address', async () => {
    // A wallet of its own {browser, phone, Guard} (the Guard's clock above went 48 h ahead of the browsers'); the browser is lost.
    apps.close();
    const own = { stack: await startGuardStack({ dataDir: null }), guarded: null as unknown as GuardedApps };
    const ownApps = await linkApps(own.stack.relayUrl, undefined, { paillierKeys: cyclingKeys(1) });
    own.guarded = await addGuardThroughApps(own.stack, ownApps);
    const phone = ownApps.phone;
    const lostKey = ownApps.link.members?.view()?.members.find((row) => row.self)?.key as string;
    const epoch = ownApps.link.members?.view()?.epoch as number;
    const address = phone.view().address as string;
    ownApps.link.close();
    const secrets = new MemorySecrets();
    const browser = relayPhoneLinks(WebSocket as unknown as WebSocketConstructor)({ secrets, relayUrl: own.stack.relayUrl, phoneAppUrl: 'https://duet.example/', now: () => Date.now(), completePairing: (_result, records) => secrets.putMany(records), seen: () => undefined });
    try {
      // A fresh browser shows a recover code; the phone opens it; both compare the pairing code.
      await browser.pairing.start('recover');
      await phone.pair(browser.pairing.progress().link as string);
      await waitFor(() => browser.pairing.progress().phase === 'confirm-sas' && phone.view().screen === 'confirm-sas', 30_000);
      browser.pairing.confirmSas(true);
      phone.confirmSas(true);
      await waitFor(() => phone.view().screen === 'recovering' && browser.members?.joiningView() !== null, 30_000);

      // "Recover with Duet Guard": the phone shows the Guard link for the new browser.
      await phone.startRecovery({ remove: [lostKey], dealer: own.guarded.guardKey });
      await waitFor(() => (phone.view().guardRecovery?.deviceLink ?? null) !== null, 30_000);
      expect(phone.view().guardRecovery).toMatchObject({ step: 'link-device', remove: [lostKey] });
      const guardDriver = browser.members?.guard;
      await expect(guardDriver!.linkDevice('https://guard.example/#p=nothing')).rejects.toThrow('This is not a Guard link');
      await guardDriver!.linkDevice(phone.view().guardRecovery?.deviceLink as string);
      await waitFor(() => guardDriver!.progress().step === 'confirm-sas', 30_000).catch((error: unknown) => {
        throw new Error(`the browser did not link to the Guard: ${JSON.stringify(guardDriver!.progress())}`, { cause: error });
      });
      guardDriver!.confirmSas(true);
      await waitFor(() => guardDriver!.progress().step === 'linked', 30_000);

      // The phone opens it with the code; before the period it does not propose; after it, it does.
      await phone.guardRecoveryStep('open', '000000');
      expect(phone.view().error).toMatch(/[Ww]rong code/);
      expect(phone.view().guardRecovery?.step).toBe('link-device');
      await phone.guardRecoveryStep('open', nextCode(own));
      expect(phone.view().guardRecovery?.step).toBe('waiting');
      await phone.guardRecoveryStep('finish');
      expect(phone.view().error).toMatch(/only after the security period/);
      own.stack.clock.advance(48 * HOUR + 60_000);
      await phone.guardRecoveryStep('refresh');
      await phone.guardRecoveryStep('finish');
      await waitFor(() => phone.view().guardRecovery === null && (browser.members?.view()?.epoch ?? -1) === epoch + 1, 120_000).catch((error: unknown) => {
        throw new Error(`the recovery did not finish: ${JSON.stringify(phone.view().guardRecovery)} ${JSON.stringify(phone.view().change)} ${JSON.stringify(browser.members?.joiningView())} ${phone.view().error}`, { cause: error });
      });
      expect(browser.members?.view()?.members.map((row) => row.key)).not.toContain(lostKey);

      // The new browser signs with the phone, for the same address.
      const phoneKey = phone.view().members.find((row) => row.self)?.key as string;
      await waitFor(() => browser.members?.view()?.members.some((row) => row.key === phoneKey && row.coSigns) ?? false, 60_000);
      const request = personalSign(address, 'the recovered browser signs');
      const signing = browser.coSigner.sign(request, new AbortController().signal, phoneKey);
      await waitFor(() => phone.view().requests.some((entry) => entry.request.id === request.id), 30_000);
      phone.approve(request.id);
      const signature = await signing;
      const recovered = recoverAddress(hashMessage('the recovered browser signs'), Signature.from({ r: `0x${signature.r.toString(16).padStart(64, '0')}`, s: `0x${signature.s.toString(16).padStart(64, '0')}`, yParity: signature.yParity }));
      expect(recovered.toLowerCase()).toBe(address.toLowerCase());
    } finally {
      browser.close();
      ownApps.close();
      await own.stack.close();
    }
  }, 300_000);
});

