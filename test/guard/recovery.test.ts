/**
 * The Guard's gates on recovery (lost phone → extension + Guard deal to a new phone), on both
 * databases: it deals only for a recovery opened on a member device with the code, after the
 * security period, for exactly the approved member set; a device the recovery removes cannot
 * cancel it without the code; afterwards the new phone signs with the extension and the Guard
 * still signs, for the same address.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { accountAddress } from '../../src/mpc/derivation.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import { encodeMember } from '../../src/mpc/wallet-share-codec.ts';
import type { Member } from '../../src/mpc/wallet-share.ts';
import { GuardRequestError } from '../../src/guard/guard-client.ts';
import { newSigningRequestId } from '../../src/wallet/signing-request.ts';
import { newIdentity, signWithPair, type Device } from '../mpc/wallet-driver.ts';
import { waitFor } from '../relay/relay-support.ts';
import { DATABASE_KINDS, useDatabases } from './support/databases.ts';
import { startGuardStack, walletWithGuard, type GuardStack } from './support/guard-harness.ts';
import { MemberDevice } from './support/member-device.ts';
import { FixtureKeys } from '../mpc/wallet-driver.ts';
import { DEFAULT_POLICY } from '../../src/guard/policy.ts';

const databases = useDatabases();
const HOUR = 3_600_000;

let stack: GuardStack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

describe.each(DATABASE_KINDS)('recovery through the Guard on %s', (kind) => {
  it('lost phone: the Guard deals only after the code and the security period, to the approved set; the new phone signs', async () => {
    stack = await startGuardStack(await databases.config(kind));
    const keys = new FixtureKeys();
    const { extension, phone, address, guardMember } = await walletWithGuard(stack, { keys, policy: { ...DEFAULT_POLICY, allowList: [{ address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', chainId: null, label: '' }] } });
    const client = extension.guard!.client;
    const wallet = extension.share!.wallet;

    // A new phone pairs with the extension (QR) and links to the Guard with a device code.
    const newPhone = new MemberDevice('new phone', 'phone', newIdentity(), null, { relayUrl: stack.relayUrl, preparedKey: async () => keys.take() });
    await extension.pairWith(newPhone);
    const device = await client.request<{ code: string; guardUrl: string }>('device-code');
    await newPhone.enrolGuard(device.guardUrl, device.code);
    const newMember: Member = { index: wallet.nextIndex, identityKey: newPhone.identity.publicKey, role: 'phone', joinedEpoch: wallet.epoch + 1 };
    const members = [wallet.members.find((member) => member.index === extension.index)!, guardMember, newMember];
    const dealers: [number, number] = [extension.index, guardMember.index];
    newPhone.expectToJoin(newMember, [extension]);
    newPhone.pinGuardDealer(guardMember.index);
    const refusals = () => extension.guardEvents.filter((event) => event.kind === 'reshare-failed').map((event) => (event as { message: string }).message);

    // No recovery opened: the Guard does not deal.
    extension.propose({ newMembers: members, dealers });
    await waitFor(() => refusals().length === 1);
    expect(refusals()[0]).toMatch(/deals only in a recovery opened on one of your devices/);

    // Opening needs the right code.
    const open = (code: string) => client.request<{ id: string; readyAt: number }>('recovery-open', { members: members.map(encodeMember), dealers, code });
    await expect(open('123456')).rejects.toMatchObject({ code: 'wrong_code' });
    stack.clock.advance(31_000);
    const recovery = await open(extension.otp(stack.clock.now()));
    expect(recovery.readyAt).toBeGreaterThanOrEqual(stack.clock.now() + 48 * HOUR - 60_000);
    // Every device sees it in the queue.
    await waitFor(() => phone.guardEvents.some((event) => event.kind === 'queue' && event.items.some((item) => item.item === `recovery:${recovery.id}`)));

    // Before the security period ends: refused.
    stack.clock.advance(47 * HOUR);
    extension.propose({ newMembers: members, dealers });
    await waitFor(() => refusals().length === 2);
    expect(refusals()[1]).toMatch(/only after its security period/);

    // The lost phone (removed by it) cannot cancel it without the code.
    await expect(phone.guard!.client.request('cancel', { item: `recovery:${recovery.id}` })).rejects.toMatchObject({ code: 'code_required' });

    // After the period: extension + Guard deal, the new phone joins; same address. (The thief's
    // copy of the lost phone keeps its old share and its pair with the Guard.)
    phone.ignoresRemoval = true;
    const stolen = phone.cosigner!;
    stack.clock.advance(2 * HOUR);
    extension.propose({ newMembers: members, dealers });
    await waitFor(() => newPhone.share !== null && extension.share!.wallet.epoch === wallet.epoch + 1, 60_000).catch((error) => {
      console.log('STUCK', kind, extension.reshareEvents.map((event) => event.kind + ((event as { step?: string }).step ?? '') + ((event as { error?: Error }).error?.message ?? '')), newPhone.reshareEvents.map((event) => event.kind + ((event as { step?: string }).step ?? '') + ((event as { error?: Error }).error?.message ?? '')), refusals());
      throw error;
    });
    expect(accountAddress(newPhone.share!.wallet.publicKey, newPhone.share!.wallet.chainCode, 0)).toBe(address);
    const shares = new Map<number, Device>([
      [extension.index, { identity: extension.identity, share: extension.share }],
      [newPhone.index, { identity: newPhone.identity, share: newPhone.share }],
    ]);
    expect(signWithPair(shares, newPhone.index, extension.index, randomBytes(32), 0).kind).toBe('signature');
    // The recovery was used once: a second proposal with the same set is refused.
    expect((await client.request<{ items: unknown[] }>('queue')).items).toEqual([]);
    // Extension + Guard still sign (the extension saw the Guard's new epoch).
    while ((await client.request<{ epoch: number }>('status')).epoch !== wallet.epoch + 1) await new Promise((resolve) => setTimeout(resolve, 50));
    const request = { kind: 'personal_sign' as const, id: newSigningRequestId(), origin: 'https://dapp.example', chainId: 31337, account: { index: 0, address }, createdAt: stack.clock.now(), message: '0x6869' };
    // The lost phone is no member: the Guard refuses it.
    await expect(stolen.requestSignature({ ...request, id: newSigningRequestId() })).rejects.toThrow(/not a member/);
    await extension.signWithGuard(request);
    for (const device of [extension, phone, newPhone]) device.close();
  });

  it('lost browser: phone + Guard deal to a new browser after the period; it signs with the Guard, same address', async () => {
    stack = await startGuardStack(await databases.config(kind));
    const keys = new FixtureKeys();
    const { extension, phone, address, guardMember } = await walletWithGuard(stack, { keys, policy: { ...DEFAULT_POLICY, messages: 'allow' } });
    extension.ignoresRemoval = true;
    const wallet = phone.share!.wallet;
    // A fresh browser profile pairs with the phone (it shows the QR, the phone scans it) and links to the Guard.
    const browser = new MemberDevice('new browser', 'extension', newIdentity(), null, { relayUrl: stack.relayUrl, preparedKey: async () => keys.take() });
    await browser.pairWith(phone);
    const device = await phone.guard!.client.request<{ code: string; guardUrl: string }>('device-code');
    await browser.enrolGuard(device.guardUrl, device.code);
    const newMember: Member = { index: wallet.nextIndex, identityKey: browser.identity.publicKey, role: 'extension', joinedEpoch: wallet.epoch + 1 };
    const members = [wallet.members.find((member) => member.index === phone.index)!, guardMember, newMember];
    const dealers: [number, number] = [phone.index, guardMember.index];
    browser.expectToJoin(newMember, [phone]);
    browser.pinGuardDealer(guardMember.index);
    stack.clock.advance(31_000);
    await phone.guard!.client.request('recovery-open', { members: members.map(encodeMember), dealers, code: phone.otp(stack.clock.now()) });
    stack.clock.advance(48 * HOUR + 1);
    phone.propose({ newMembers: members, dealers });
    await waitFor(() => browser.share !== null && browser.cosigner !== null, 60_000);
    expect(accountAddress(browser.share!.wallet.publicKey, browser.share!.wallet.chainCode, 0)).toBe(address);
    while ((await phone.guard!.client.request<{ epoch: number }>('status')).epoch !== wallet.epoch + 1) await new Promise((resolve) => setTimeout(resolve, 50));
    await browser.signWithGuard({ kind: 'personal_sign', id: newSigningRequestId(), origin: 'https://dapp.example', chainId: 31337, account: { index: 0, address }, createdAt: stack.clock.now(), message: '0x6869' });
    for (const member of [extension, phone, browser]) member.close();
  });

  it('a device the recovery keeps cancels it without the code; a removed one only with it', async () => {
    stack = await startGuardStack(await databases.config(kind));
    const { extension, phone, guardMember } = await walletWithGuard(stack);
    const wallet = extension.share!.wallet;
    const keep = (index: number) => wallet.members.find((member) => member.index === index)!;
    // Remove the phone (no new member): extension + Guard.
    const members = [keep(extension.index), guardMember];
    const open = async () => (await extension.guard!.client.request<{ id: string }>('recovery-open', { members: members.map(encodeMember), dealers: [extension.index, guardMember.index], code: extension.otp(stack!.clock.now()) })).id;
    stack.clock.advance(31_000);
    const first = await open();
    await expect(phone.guard!.client.request('cancel', { item: `recovery:${first}`, code: '000000' })).rejects.toBeInstanceOf(GuardRequestError);
    stack.clock.advance(31_000);
    await phone.guard!.client.request('cancel', { item: `recovery:${first}`, code: phone.otp(stack.clock.now()) });
    stack.clock.advance(31_000);
    const second = await open();
    await extension.guard!.client.request('cancel', { item: `recovery:${second}` });
    expect((await extension.guard!.client.request<{ items: unknown[] }>('queue')).items).toEqual([]);
    // A member set with a device never linked to the Guard is refused at once.
    const stranger: Member = { index: wallet.nextIndex + 1, identityKey: newIdentity().publicKey, role: 'phone', joinedEpoch: wallet.epoch + 1 };
    await expect(extension.guard!.client.request('recovery-open', { members: [...members, stranger].map(encodeMember), dealers: [extension.index, guardMember.index], code: '000000' })).rejects.toMatchObject({ code: 'bad_recovery' });
    extension.close();
    phone.close();
  });
});
