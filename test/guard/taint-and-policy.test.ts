/**
 * Through the real service, on both databases: a device that makes a signature fail (a crafted c3,
 * the leaked-abort attack) taints its pair with the Guard — stored, every device told, that pair
 * refused from then on while the other pair still signs; and policy changes: tightening at once,
 * loosening only with the code and after the delay, shown in the queue and cancellable from another device.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseEther } from 'ethers';
import { decodeTaintNotice } from '../../src/mpc/taint-notice.ts';
import { p2PairShare } from '../../src/mpc/wallet-share.ts';
import { encodeInteger } from '../../src/mpc/wire.ts';
import { encodePolicy, DEFAULT_POLICY, type Policy } from '../../src/guard/policy.ts';
import { note } from './support/requests.ts';
import { waitFor } from '../relay/relay-support.ts';
import { DATABASE_KINDS, useDatabases } from './support/databases.ts';
import { startGuardStack, walletWithGuard, type GuardStack } from './support/guard-harness.ts';

const databases = useDatabases();
let stack: GuardStack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});


describe.each(DATABASE_KINDS)('the Guard on %s', (kind) => {
  it('a crafted c3 taints the pair: stored first, told to every device, that pair refused, the other still signs', async () => {
    stack = await startGuardStack(await databases.config(kind));
    const { extension, phone, address } = await walletWithGuard(stack);
    // The compromised extension answers sign/3 with a c3 of its own making: a valid ciphertext of
    // another value (c3·(1 + N) = Enc(m + 1)), so P1's final check is what catches it.
    const n = p2PairShare(extension.share!, extension.guardMember()!.index).paillierN;
    extension.tamper = (message) => {
      if (message.t !== 'sign' || (message.body as { type?: string }).type !== 'sign/4') return message;
      const body = message.body as { c3: string };
      return { ...message, body: { ...body, c3: encodeInteger((BigInt(`0x${body.c3}`) * (1n + n)) % (n * n)) } };
    };
    await expect(extension.signWithGuard(note(address, stack.clock.now()))).rejects.toMatchObject({ reason: 'tainted' });
    await waitFor(() => phone.guardEvents.some((event) => event.kind === 'taint'));
    const notice = decodeTaintNotice((phone.guardEvents.find((event) => event.kind === 'taint') as { notice: unknown }).notice);
    expect(notice.suspect).toBe(extension.index);
    extension.tamper = (message) => message;
    await expect(extension.signWithGuard(note(address, stack.clock.now()))).rejects.toThrow(/no longer co-signs with this device/);
    // Across a restart too: the taint was stored.
    await stack.restartGuard();
    await expect(extension.signWithGuard(note(address, stack.clock.now()))).rejects.toThrow(/no longer co-signs with this device/);
    await phone.signWithGuard(note(address, stack.clock.now()));
    extension.close();
    phone.close();
  });

  it('policy: tightening applies at once; loosening needs the code and waits the delay, cancellable from another device', async () => {
    stack = await startGuardStack(await databases.config(kind));
    const { extension, phone } = await walletWithGuard(stack);
    const client = extension.guard!.client;
    const tighter: Policy = { ...DEFAULT_POLICY, dailyNative: { '*': parseEther('0.1') } };
    expect(await client.request('policy-set', { policy: encodePolicy(tighter) })).toEqual({ applied: 'now' });
    const looser: Policy = { ...DEFAULT_POLICY, dailyNative: { '*': parseEther('5') } };
    await expect(phone.guard!.client.request('policy-set', { policy: encodePolicy(looser) })).rejects.toMatchObject({ code: 'code_required' });
    stack.clock.advance(31_000);
    const delayed = await phone.guard!.client.request<{ applied: string; effectiveAt: number }>('policy-set', { policy: encodePolicy(looser), code: phone.otp(stack.clock.now()) });
    expect(delayed).toMatchObject({ applied: 'after-delay' });
    expect(delayed.effectiveAt).toBeGreaterThanOrEqual(stack.clock.now() + 24 * 3_600_000 - 60_000);
    const queue = await client.request<{ items: { item: string; kind: string }[] }>('queue');
    const pending = queue.items.find((item) => item.kind === 'policy')!;
    expect(pending).toBeDefined();
    await client.request('cancel', { item: pending.item });
    stack.clock.advance(25 * 3_600_000);
    expect((await client.request<{ policy: { dailyNative: Record<string, string> } }>('policy')).policy.dailyNative['*']).toBe(parseEther('0.1').toString());
    await expect(client.request('policy-set', { policy: { ...encodePolicy(looser), delayHours: 0 } })).rejects.toMatchObject({ code: 'bad_policy' });
    extension.close();
    phone.close();
  });
});
