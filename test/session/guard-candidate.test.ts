/**
 * Adding the Duet Guard through WalletMember (docs/guard.md, "In the apps"): no introduction with
 * the Guard; each dealer takes the Guard as a candidate only over its own channel with exactly that
 * key (its own enrolment authenticated it), and its user approves the member set on its screen.
 * The Guard here is a key that never answers (its side is test/guard/app-guard.test.ts): what is
 * checked is what the devices agree to propose.
 */
import { describe, expect, it } from 'vitest';
import { decodeReshareMessage } from '../../src/mpc/reshare-messages.ts';
import type { ReshareProposal } from '../../src/mpc/reshare.ts';
import { memberId } from '../../src/mpc/wallet-share.ts';
import { SessionError } from '../../src/session/session-error.ts';
import { FixtureKeys, firstPair, newIdentity } from '../mpc/wallet-driver.ts';
import { MemoryNetwork } from './member-network.ts';

function walletAndGuard() {
  const keys = new FixtureKeys();
  const net = new MemoryNetwork(keys);
  const { phone: phoneDevice, extension: extensionDevice } = firstPair(keys);
  const directory = [
    { identityKey: memberId({ identityKey: phoneDevice.identity.publicKey }), role: 'phone' as const, name: 'Phone', addedAt: 1 },
    { identityKey: memberId({ identityKey: extensionDevice.identity.publicKey }), role: 'extension' as const, name: 'Browser', addedAt: 1 },
  ];
  const phone = net.add(phoneDevice.identity, 'phone', 'Phone', phoneDevice.share, directory);
  const extension = net.add(extensionDevice.identity, 'extension', 'Browser', extensionDevice.share, directory);
  // The Guard's key: linked to whichever device enrolled with it; it never answers here.
  const guard = net.add(newIdentity(), 'guard', 'Duet Guard', null);
  guard.up = false;
  net.link(phone, extension);
  phone.start();
  extension.start();
  return { net, phone, extension, guard };
}

describe('adding the Duet Guard as a member', () => {
  it('the coordinator refuses a Guard it is not linked to, and nothing changes', async () => {
    const { extension, phone, guard } = walletAndGuard();
    const error = await extension.member.addGuard({ guard: guard.key, dealer: phone.key }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).code).toBe('not_ready');
    expect((error as SessionError).message).toBe('link this device to the Guard first (its URL and code)');
    expect(extension.member.view().change).toBeNull();
  });

  it('the coordinator refuses a second dealer that is not another member', async () => {
    const { net, extension, guard } = walletAndGuard();
    net.link(extension, guard);
    const error = await extension.member.addGuard({ guard: guard.key, dealer: extension.key }).catch((caught: unknown) => caught);
    expect((error as SessionError).code).toBe('not_member');
    expect((error as SessionError).message).toBe('the second dealer must be another member of this wallet');
    expect(extension.member.view().change).toBeNull();
  });

  it('a dealer with no link of its own to that key refuses without asking its user (a coordinator cannot slip another Guard in)', async () => {
    const { net, extension, phone, guard } = walletAndGuard();
    net.link(extension, guard);
    await extension.member.addGuard({ guard: guard.key, dealer: phone.key });
    await net.until(() => extension.member.view().change?.step === 'failed', 'the change fails');
    expect(extension.member.view().change?.error).toBe('Phone refused to add the Guard.');
    expect(phone.decisions()).toEqual([]);
    expect(extension.member.view().reshare).toBeNull();
  });

  it('a linked dealer asks its user with the Guard\'s key and the wallet afterwards; "refuse" stops the change', async () => {
    const { net, extension, phone, guard } = walletAndGuard();
    net.link(extension, guard);
    net.link(phone, guard);
    await extension.member.addGuard({ guard: guard.key, dealer: phone.key });
    await net.until(() => phone.decisions('guard').length === 1, 'the phone is asked');
    const decision = phone.decisions('guard')[0];
    if (decision?.kind !== 'guard') throw new Error('no guard decision');
    expect(decision.candidate).toEqual({ identityKey: guard.key, role: 'guard', name: 'Duet Guard' });
    expect(decision.members.map((card) => card.identityKey).sort()).toEqual([extension.key, phone.key, guard.key].sort());
    expect(decision.removed).toEqual([]);
    phone.decideAll('guard', false);
    await net.until(() => extension.member.view().change?.step === 'failed', 'the change fails');
    expect(extension.member.view().change?.error).toBe('Phone refused to add the Guard.');
    expect(extension.member.view().reshare).toBeNull();
  });

  it('once the phone\'s user approves, the browser proposes the Guard as a guard member of the next epoch, dealers browser and phone', async () => {
    const { net, extension, phone, guard } = walletAndGuard();
    net.link(extension, guard);
    net.link(phone, guard);
    const toGuard: unknown[] = [];
    const send = net.send.bind(net);
    net.send = (from, to, message) => {
      if (to === guard.key) toGuard.push(message);
      return send(from, to, message);
    };
    await extension.member.addGuard({ guard: guard.key, dealer: phone.key });
    await net.until(() => phone.decisions('guard').length === 1, 'the phone is asked');
    phone.decideAll('guard', true);
    const isProposal = (message: unknown) => (message as { t?: string; body?: { type?: string } }).t === 'reshare' && (message as { body: { type?: string } }).body.type === 'reshare/proposal';
    await net.until(() => toGuard.some(isProposal), 'the proposal goes to the Guard');
    const proposal = decodeReshareMessage((toGuard.find(isProposal) as { body: unknown }).body) as ReshareProposal;
    const wallet = extension.share!.wallet;
    const added = proposal.newMembers.find((member) => memberId(member) === guard.key);
    expect(added).toMatchObject({ role: 'guard', index: wallet.nextIndex, joinedEpoch: wallet.epoch + 1 });
    expect(proposal.newMembers).toHaveLength(3);
    const indexOf = (key: string) => wallet.members.find((member) => memberId(member) === key)?.index;
    expect([...proposal.dealers].sort()).toEqual([indexOf(extension.key), indexOf(phone.key)].sort());
    // The phone approved exactly this set: it deals without a second question.
    await net.until(() => phone.member.view().reshare !== null, 'the phone takes part');
    expect(phone.decisions()).toEqual([]);
    expect(phone.stored.approvals?.[0]?.newcomers).toEqual([{ identityKey: guard.key, role: 'guard', name: 'Duet Guard' }]);
  });
});

describe('a new device dealt its share by the Duet Guard (a recovery)', () => {
  /** The browser coordinates; a new phone joins; the members it is sent name the Guard as the second dealer. */
  async function joining(linkedToGuard: boolean) {
    const { net, extension, guard } = walletAndGuard();
    const newcomer = net.add(newIdentity(), 'phone', 'New phone', null);
    newcomer.start();
    net.link(extension, newcomer);
    if (linkedToGuard) net.link(newcomer, guard);
    await newcomer.member.beginJoining(extension.key);
    const members = [
      { identityKey: extension.key, role: 'extension', name: 'Browser' },
      { identityKey: guard.key, role: 'guard', name: 'Duet Guard' },
    ];
    net.send(extension.key, newcomer.key, { t: 'members', members, dealers: [extension.key, guard.key], coordinator: extension.key });
    await net.until(() => (newcomer.member.view().joining?.dealers.length ?? 0) === 2, 'the newcomer has the members');
    await net.settle();
    return { newcomer, guard };
  }

  it('pins the Guard as a dealer only over its own channel with exactly that key (linked by the Guard\'s device code)', async () => {
    const { newcomer, guard } = await joining(true);
    expect(newcomer.member.view().joining?.pinned).toContain(guard.key);
  });

  it('a coordinator naming a Guard this device never linked to gets no pin: the newcomer does not take part', async () => {
    const { newcomer, guard } = await joining(false);
    expect(newcomer.member.view().joining?.pinned).not.toContain(guard.key);
  });
});
