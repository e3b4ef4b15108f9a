/**
 * Reshare between members that only exchange messages (in any order, asynchronously), with a member
 * crashing at each step: until the commit certificate every member keeps its old epoch, which still
 * signs; a restarted member finishes from what it stored (its pending share asks for the
 * certificate), or the coordinator runs the reshare again; in the end every member holds the new
 * epoch and every pair signs for the same addresses.
 */
import { describe, expect, it } from 'vitest';
import { accountAddress } from '../../src/mpc/derivation.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import type { CommitCertificate, PendingReshare, ReshareProposal } from '../../src/mpc/reshare.ts';
import type { Member, WalletShare } from '../../src/mpc/wallet-share.ts';
import { ReshareParticipant, type ReshareEvent, type ReshareWire } from '../../src/session/reshare-participant.ts';
import { wire } from '../mpc/protocol-driver.ts';
import { FixtureKeys, firstPair, newIdentity, newMember, signWithPair, type Device } from '../mpc/wallet-driver.ts';

/** What each device keeps across a crash. */
interface Stored {
  share: WalletShare | null;
  pending: { pending: PendingReshare; proposal: ReshareProposal } | null;
  last: { proposal: ReshareProposal; certificate: CommitCertificate } | null;
}

type CrashPoint = { readonly member: number; readonly at: 'proposal' | 'joined' | 'dealt' | 'received' | 'pending' | 'committed' };

class Network {
  readonly devices = new Map<number, Device>();
  readonly stored = new Map<number, Stored>();
  readonly live = new Map<number, ReshareParticipant>();
  readonly events: { member: number; event: ReshareEvent }[] = [];
  private inFlight = 0;
  private crash: CrashPoint | null = null;
  /** Members that get the proposal this late (after the others' answers to it). */
  readonly lateProposal = new Map<number, number>();
  joining: { self: Member; pinnedDealers: { index: number; identityKey: Uint8Array }[] } | null = null;

  constructor(readonly keys: FixtureKeys) {}

  add(index: number, device: Device): void {
    this.devices.set(index, device);
    this.stored.set(index, { share: device.share, pending: null, last: null });
  }

  crashWhen(point: CrashPoint): void {
    this.crash = point;
  }

  private crashIfDue(member: number, at: CrashPoint['at']): void {
    if (this.crash?.member === member && this.crash.at === at) {
      this.crash = null;
      this.live.delete(member);
    }
  }

  start(index: number): ReshareParticipant {
    const device = this.devices.get(index) as Device;
    const stored = this.stored.get(index) as Stored;
    const participant = new ReshareParticipant({
      identity: device.identity,
      share: stored.share,
      ...(stored.share === null && this.joining ? { joining: this.joining } : {}),
      ...(stored.last ? { lastReshare: stored.last } : {}),
      send: (to, message) => this.send(index, to, message),
      approveMembers: async (proposal) => proposal.newMembers,
      preparedKey: async () => this.keys.take(),
      block: async (share) => {
        stored.share = share;
      },
      storePending: async (pending, proposal) => {
        stored.pending = { pending, proposal };
        this.crashIfDue(index, 'pending');
      },
      commit: async (next, proposal, certificate) => {
        stored.share = next;
        stored.pending = null;
        stored.last = { proposal, certificate };
        device.share = next;
        this.crashIfDue(index, 'committed');
      },
      remove: async () => {
        stored.share = null;
      },
      onEvent: (event) => {
        this.events.push({ member: index, event });
        if (event.kind === 'proposal') this.crashIfDue(index, 'proposal');
        if (event.kind === 'step' && (event.step === 'joined' || event.step === 'dealt' || event.step === 'received')) this.crashIfDue(index, event.step);
      },
    });
    this.live.set(index, participant);
    if (stored.pending) participant.resume(stored.pending.pending, stored.pending.proposal);
    return participant;
  }

  private send(from: number, to: number | 'all', message: ReshareWire): void {
    if (!this.live.has(from)) return;
    const targets = to === 'all' ? [...this.devices.keys()].filter((index) => index !== from) : [to];
    const onWire = wire(message) as ReshareWire;
    for (const target of targets) {
      this.inFlight++;
      const late = onWire.t === 'reshare' && (onWire.body as { type?: unknown }).type === 'reshare/proposal' ? (this.lateProposal.get(target) ?? 0) : 0;
      setTimeout(() => {
        this.inFlight--;
        void this.live.get(target)?.handle(onWire, from);
      }, late);
    }
  }

  /** Waits until no message is on its way and the members' work settled. */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 5; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      quiet = this.inFlight === 0 ? quiet + 1 : 0;
    }
  }
}

function setUp() {
  const keys = new FixtureKeys();
  const { phone, extension } = firstPair(keys);
  const tablet: Device = { identity: newIdentity(), share: null };
  const net = new Network(keys);
  net.add(1, phone);
  net.add(2, extension);
  net.add(3, tablet);
  const members = [...(phone.share as WalletShare).wallet.members, newMember(3, 'phone', tablet, 1)];
  net.joining = { self: members[2] as Member, pinnedDealers: [1, 2].map((index) => ({ index, identityKey: net.devices.get(index)!.identity.publicKey })) };
  const address = accountAddress((phone.share as WalletShare).wallet.publicKey, (phone.share as WalletShare).wallet.chainCode, 0);
  return { net, members, address };
}

const epochOf = (net: Network, index: number) => net.stored.get(index)!.share?.wallet.epoch ?? null;

describe('a reshare among members that only exchange messages', () => {
  it('adds a third member with no crash: every member commits the same epoch, every pair signs', async () => {
    const { net, members, address } = setUp();
    for (const index of [1, 2, 3]) net.start(index);
    net.live.get(2)!.propose({ newMembers: members, dealers: [1, 2] });
    await net.settle();
    expect([1, 2, 3].map((index) => epochOf(net, index))).toEqual([1, 1, 1]);
    // Both members of the old epoch told both others that their old share is gone.
    const receipts = net.events.filter((entry) => entry.event.kind === 'deleted').map((entry) => `${entry.member}<-${(entry.event as { member: number }).member}`);
    expect(receipts.sort()).toEqual(['1<-2', '2<-1', '3<-1', '3<-2']);
    for (const [a, b] of [[1, 2], [1, 3], [2, 3]] as const) expect(signWithPair(net.devices, a, b, randomBytes(32), 0).kind).toBe('signature');
    expect(accountAddress(net.devices.get(3)!.share!.wallet.publicKey, net.devices.get(3)!.share!.wallet.chainCode, 0)).toBe(address);
  });

  it.each([1, 3])('member %i gets the proposal after the others answered it: it still takes part, and all commit', async (late) => {
    const { net, members } = setUp();
    for (const index of [1, 2, 3]) net.start(index);
    net.lateProposal.set(late, 300);
    net.live.get(2)!.propose({ newMembers: members, dealers: [1, 2] });
    await new Promise((resolve) => setTimeout(resolve, 350));
    await net.settle();
    expect([1, 2, 3].map((index) => epochOf(net, index))).toEqual([1, 1, 1]);
  });

  const crashPoints: CrashPoint[] = [
    { member: 1, at: 'proposal' },
    { member: 3, at: 'joined' },
    { member: 1, at: 'dealt' },
    { member: 2, at: 'received' },
    { member: 3, at: 'received' },
    { member: 1, at: 'pending' },
    { member: 3, at: 'pending' },
    { member: 2, at: 'committed' },
  ];

  it.each(crashPoints)('member $member crashes at "$at": the old epoch keeps signing, and the wallet completes the change', async (point) => {
    const { net, members, address } = setUp();
    for (const index of [1, 2, 3]) net.start(index);
    net.crashWhen(point);
    net.live.get(2)!.propose({ newMembers: members, dealers: [1, 2] });
    await net.settle();
    // Whoever did not commit still signs with the epoch it had (the pair of the first pairing).
    if (epochOf(net, 1) === 0 && epochOf(net, 2) === 0) expect(signWithPair(net.devices, 1, 2, randomBytes(32), 0).kind).toBe('signature');

    net.start(point.member);
    await net.settle();
    if (![1, 2, 3].every((index) => epochOf(net, index) === 1)) {
      // No certificate could exist: the coordinator runs the change again, with a new id.
      net.live.get(2)!.propose({ newMembers: members, dealers: [1, 2] });
      await net.settle();
    }
    expect([1, 2, 3].map((index) => epochOf(net, index))).toEqual([1, 1, 1]);
    for (const [a, b] of [[1, 2], [1, 3], [2, 3]] as const) expect(signWithPair(net.devices, a, b, randomBytes(32), 0).kind).toBe('signature');
    expect(accountAddress(net.devices.get(1)!.share!.wallet.publicKey, net.devices.get(1)!.share!.wallet.chainCode, 0)).toBe(address);
  });
});
