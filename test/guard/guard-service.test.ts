/**
 * The Guard as a member of a wallet, end to end in Node on both databases: devices built from the
 * real code, the real relay on loopback, a real GuardService. Added by enrolment (URL + code, SAS
 * proven) and a reshare; extension + Guard and phone + Guard sign within the policy; above the
 * limit → delayed, visible on the phone, cancelled from the phone; a delay served → signs; an
 * allow-list miss asks for the code: a wrong code refused, the right code signs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseEther } from 'ethers';
import { DEFAULT_POLICY, type Policy } from '../../src/guard/policy.ts';
import { GuardRequestError } from '../../src/guard/guard-client.ts';
import type { QueueItem } from '../../src/guard/guard-messages.ts';
import { CoSigningRejected } from '../../src/session/extension-cosigner.ts';
import { FRIEND, transfer } from './support/requests.ts';
import { waitFor } from '../relay/relay-support.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import { signWithPair } from '../mpc/wallet-driver.ts';
import { DATABASE_KINDS, useDatabases } from './support/databases.ts';
import { startGuardStack, walletWithGuard, type GuardStack } from './support/guard-harness.ts';

const databases = useDatabases();
const STRANGER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const POLICY: Policy = { ...DEFAULT_POLICY, allowList: [{ address: FRIEND, chainId: null, label: 'Friend' }] };
const HOUR = 3_600_000;

let stack: GuardStack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

describe.each(DATABASE_KINDS)('the Guard on %s', (kind) => {
  it('joins by enrolment and reshare; signs within the limit with either device, delays above it, asks the code off the allow-list', async () => {
    stack = await startGuardStack(await databases.config(kind));
    const { extension, phone, address } = await walletWithGuard(stack, { policy: POLICY });
    const now = stack.clock.now;

    // The extension and the phone still sign without the Guard.
    const shares = new Map([extension, phone].map((device) => [device.index, { identity: device.identity, share: device.share }]));
    expect(signWithPair(shares, phone.index, extension.index, randomBytes(32), 0).kind).toBe('signature');

    // Within the limit, to an allow-listed address: extension + Guard, with the phone away.
    const small = transfer(address, FRIEND, parseEther('0.3'), 0, now());
    const signature = await extension.signWithGuard(small);
    expect(signature.r).toBeGreaterThan(0n);
    const within = await extension.decision(small.id);
    expect(within.verdict).toBe('sign');
    expect(within.reasons[0]).toMatchObject({ code: 'within_limit', limit: parseEther('1').toString() });
    // The phone + Guard pair signs too.
    await phone.signWithGuard(transfer(address, FRIEND, parseEther('0.1'), 1, now()));

    // Above the limit: delayed 24 hours, shown on every device, cancelled from the phone.
    const big = transfer(address, FRIEND, parseEther('2'), 2, now());
    await expect(extension.signWithGuard(big)).rejects.toBeInstanceOf(CoSigningRejected);
    const delayed = await extension.decision(big.id);
    expect(delayed.verdict).toBe('delay');
    expect(delayed.until).toBeGreaterThanOrEqual(now() + 24 * HOUR - 60_000);
    const queued = () => phone.guardEvents.filter((event): event is { kind: 'queue'; items: QueueItem[] } => event.kind === 'queue').at(-1)?.items ?? [];
    await waitFor(() => queued().some((item) => item.item === `request:${big.id}`));
    await phone.guard!.client.request('cancel', { item: `request:${big.id}` });
    await waitFor(() => queued().length === 0);
    stack.clock.advance(25 * HOUR);
    await expect(extension.signWithGuard({ ...big })).rejects.toThrow(/Cancelled/);

    // Another one waits out its delay; asked again after it, it signs.
    const waited = transfer(address, FRIEND, parseEther('1.5'), 3, now());
    await expect(extension.signWithGuard(waited)).rejects.toBeInstanceOf(CoSigningRejected);
    stack.clock.advance(24 * HOUR + 1);
    await extension.signWithGuard(waited);
    expect((await extension.decision(waited.id, 2)).reasons.at(-1)).toMatchObject({ code: 'delay_ended' });

    // Not on the allow-list (a day later, the limit free again): the code is asked; a wrong one is refused, the right one signs.
    stack.clock.advance(24 * HOUR + 1);
    const odd = transfer(address, STRANGER, parseEther('0.01'), 4, now());
    const signing = extension.signWithGuard(odd);
    const asked = await extension.decision(odd.id);
    expect(asked.verdict).toBe('second_factor');
    expect(asked.reasons).toContainEqual({ code: 'destination_not_allowed', address: STRANGER, role: 'recipient' });
    const wrong = extension.guard!.client.request('code', { id: odd.id, code: '000000' });
    await expect(wrong).rejects.toBeInstanceOf(GuardRequestError);
    await expect(wrong).rejects.toMatchObject({ code: 'wrong_code', reasons: [{ code: 'wrong_code', attemptsLeft: 4 }] });
    await extension.guard!.client.request('code', { id: odd.id, code: extension.otp(now()) });
    await expect(signing).resolves.toMatchObject({ yParity: expect.any(Number) });

    extension.close();
    phone.close();
  });
});
