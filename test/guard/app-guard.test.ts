/**
 * The real apps add a real Duet Guard (docs/guard.md, "In the apps"), in Node over a real relay:
 * the extension's member links (src/background/phone-link.ts, the Devices page's driver) and the
 * phone app's controller (fake-indexeddb), paired by a real key generation; a GuardService on
 * PGlite in memory. The browser links to the Guard by its URL and printed code (SAS, the TOTP QR,
 * the first code), shows the phone's Guard link, the phone opens it (its own SAS), the browser
 * proposes the Guard, the phone's user approves on its screen, and the browser + Guard co-sign
 * with the phone locked.
 */
import 'fake-indexeddb/auto';
import { hashMessage, recoverAddress, Signature } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuardDriver } from '../../src/background/pairing.ts';
import { GuardEnrolError } from '../../src/guard/guard-enrolment-client.ts';
import { GuardRequestError } from '../../src/guard/guard-client.ts';
import { linkApps, personalSign, type LinkedApps } from '../channel/app-link.ts';
import { waitFor } from '../relay/relay-support.ts';
import { cyclingKeys, startGuardStack, type GuardStack } from './support/guard-harness.ts';
import { FRIEND, transfer } from './support/requests.ts';
import { generateOtp } from './support/totp.ts';
import { TEST_PASSPHRASE } from '../phone/phone-support.ts';

let stack: GuardStack;
let apps: LinkedApps;

beforeAll(async () => {
  stack = await startGuardStack({ dataDir: null });
  // The phone's pair keys from fixtures (one for the key generation, fresh ones for the reshare).
  apps = await linkApps(stack.relayUrl, undefined, { paillierKeys: cyclingKeys(1) });
}, 120_000);
afterAll(async () => {
  apps?.close();
  await stack?.close();
});

function guard(): GuardDriver {
  const driver = apps.link.members?.guard;
  if (!driver) throw new Error('the extension has no Guard driver');
  return driver;
}

async function step(what: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(() => guard().progress().step === what, timeoutMs).catch(() => {
    throw new Error(`the Guard link is at ${guard().progress().step} (${guard().progress().error}), not ${what}`);
  });
}

describe('adding the Duet Guard from the apps', () => {
  it('refuses a code of the wrong form before anything happens', async () => {
    const error = await guard().enrol(stack.guard.url, 'not-a-code').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GuardEnrolError);
    expect((error as GuardEnrolError).code).toBe('bad_code');
    expect(guard().progress().step).toBe('idle');
  });

  it('refuses an address that is not an http(s) URL before anything happens', async () => {
    for (const [url, message] of [
      ['guard.example', "the Guard's address is not a URL"],
      ['ftp://guard.example', "the Guard's address must start with https://"],
    ]) {
      const error = await guard().enrol(url as string, 'ABCD-EFGH-JKMN-PQRS').catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'bad_url', message });
    }
    expect(guard().progress().step).toBe('idle');
  });

  it('stops when the user says the codes differ: failed, nothing linked, and the code cannot be used again', async () => {
    const { code } = await stack.guard.issueEnrolmentCode();
    await guard().enrol(stack.guard.url, code);
    expect(guard().progress().step).toBe('confirm-sas');
    guard().confirmSas(false);
    expect(guard().progress()).toMatchObject({ step: 'failed', error: 'The codes did not match: nothing was linked. Start again.', guardKey: null });
    await guard().enrol(stack.guard.url, code);
    expect(guard().progress()).toMatchObject({ step: 'failed', error: 'this code is used' });
  });

  it('says why when the Guard refuses the code (one it never printed): nothing is linked', async () => {
    await guard().enrol(stack.guard.url, 'ABCD-EFGH-JKMN-PQRS');
    expect(guard().progress()).toMatchObject({ step: 'failed', error: 'this code is unknown', guardKey: null });
  });

  it('links the browser and the phone, adds the Guard with the phone\'s approval, and the browser + Guard co-sign with the phone locked', async () => {
    const { code } = await stack.guard.issueEnrolmentCode();
    await guard().enrol(stack.guard.url, code);
    expect(guard().progress().step).toBe('confirm-sas');
    expect(guard().progress().sas).toMatch(/^\d{6}$/);
    guard().confirmSas(true);
    await step('second-factor');
    const uri = guard().progress().totpUri as string;
    expect(uri.startsWith('otpauth://totp/')).toBe(true);
    const secret = new URL(uri).searchParams.get('secret') as string;

    // A first code of the wrong form is refused here; a wrong one is the Guard's typed error; the step stays.
    await expect(guard().confirmSecondFactor('12ab56')).rejects.toMatchObject({ code: 'bad_code', message: 'the code is the 6 digits your authenticator app shows' });
    // A wrong first code: the Guard's typed error, and the step stays for another try.
    const wrong = await guard().confirmSecondFactor(generateOtp(secret, stack.clock.now() + 10 * 60_000)).catch((caught: unknown) => caught);
    expect(wrong).toBeInstanceOf(GuardRequestError);
    expect((wrong as GuardRequestError).code).toBe('wrong_code');
    expect(guard().progress().step).toBe('second-factor');

    await guard().confirmSecondFactor(generateOtp(secret, stack.clock.now()));
    expect(guard().progress()).toMatchObject({ step: 'phone-code', totpUri: null });
    const phoneLink = guard().progress().phoneLink as string;
    expect(phoneLink).toContain('#guard=');

    // The phone opens the browser's Guard link and compares its own code with the Guard's.
    await apps.phone.pair(phoneLink);
    await waitFor(() => apps.phone.view().guard.step === 'confirm-sas', 30_000);
    apps.phone.confirmGuardSas(true);
    await waitFor(() => apps.phone.view().guard.step === 'linked', 30_000);
    const guardKey = guard().progress().guardKey as string;
    expect(apps.phone.view().guard.guardKey).toBe(guardKey);

    const epoch = apps.link.members?.view()?.epoch as number;
    await guard().add();
    await waitFor(() => apps.phone.view().decisions.some((decision) => decision.kind === 'guard'), 30_000);
    const decision = apps.phone.view().decisions.find((entry) => entry.kind === 'guard');
    expect(decision).toMatchObject({ kind: 'guard', candidate: { identityKey: guardKey, role: 'guard' } });
    apps.phone.decide(decision!.id, true);

    const members = () => apps.link.members?.view()?.members ?? [];
    await waitFor(() => members().some((row) => row.role === 'guard' && row.key === guardKey && row.coSigns), 120_000).catch((error: unknown) => {
      throw new Error(`the Guard did not become a member: browser ${JSON.stringify(apps.link.members?.view()?.change)}, phone ${JSON.stringify(apps.phone.view().reshare)} ${apps.phone.view().error}`, { cause: error });
    });
    expect(apps.link.members?.view()?.epoch).toBe(epoch + 1);
    expect(guard().progress().step).toBe('idle');
    await waitFor(() => apps.phone.view().members.some((row) => row.role === 'guard'), 30_000);

    // The phone is away: the browser and the Guard sign (a message, allowed by the default policy).
    const address = apps.phone.view().address as string;
    await apps.phone.lock();
    const request = personalSign(address, 'hello from the browser and the Guard');
    const signature = await apps.link.coSigner.sign(request, new AbortController().signal, guardKey);
    expect(signature.by).toBe(guardKey);
    const recovered = recoverAddress(hashMessage('hello from the browser and the Guard'), Signature.from({ r: `0x${signature.r.toString(16).padStart(64, '0')}`, s: `0x${signature.s.toString(16).padStart(64, '0')}`, yParity: signature.yParity }));
    expect(recovered.toLowerCase()).toBe(address.toLowerCase());
    // The Guard said its decision first: the approval window shows it.
    expect(guard().decision(request.id)).toMatchObject({ guardKey, verdict: 'sign' });
    // A code for a request the Guard asked none for is refused here, and nothing is sent.
    const notAsked = await guard().enterCode(request.id, '123456').catch((caught: unknown) => caught);
    expect((notAsked as GuardEnrolError).code).toBe('not_ready');
    expect((notAsked as GuardEnrolError).message).toBe('the Guard asks no code for this request');

    // Above the daily limit the Guard delays: the browser's request ends, and the phone, back, sees it and cancels it.
    const over = transfer(address, FRIEND, 2n * 10n ** 18n, 0);
    const refused = await apps.link.coSigner.sign(over, new AbortController().signal, guardKey).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(Error);
    expect(guard().decision(over.id)).toMatchObject({ verdict: 'delay' });
    // The browser lists it too (the Guard's queue event), with its rules.
    await waitFor(() => guard().panel()?.queue.length === 1, 30_000).catch(() => {
      throw new Error(`the browser's Guard panel: ${JSON.stringify(guard().panel(), (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}`);
    });
    await apps.phone.unlock(TEST_PASSPHRASE);
    await waitFor(() => apps.phone.view().guardQueue.length === 1, 30_000);
    const queued = apps.phone.view().guardQueue[0]!;
    expect(queued).toMatchObject({ guardKey, item: `request:${over.id}`, kind: 'request', title: 'Send ETH' });
    // A name the Guard does not queue is refused here, and the queue stays.
    await apps.phone.cancelGuardItem(guardKey, 'request:not-queued');
    expect(apps.phone.view().error).toBe('nothing of that name waits at the Guard');
    expect(apps.phone.view().guardQueue).toHaveLength(1);
    await apps.phone.cancelGuardItem(guardKey, queued.item);
    await waitFor(() => apps.phone.view().guardQueue.length === 0, 30_000);
  }, 240_000);
});
