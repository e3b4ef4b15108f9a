/**
 * Test drivers for {2,n} wallets: the first pair from a real keygen, a reshare run among all
 * members (every round, every check, the messages through their JSON encodings), and signing
 * with any pair. Identities are real Ed25519 keys; Paillier keys come from the fixtures.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import type { MemberIdentity } from '../../src/mpc/member-signature.ts';
import { decodePairSetupMsg, encodePairSetupMsg, p1PairSetup, p2PairAccept, pairSummary, type PairSetupMsg, type PairSummary } from '../../src/mpc/pair-setup.ts';
import {
  assembleCertificate,
  checkProposal,
  checkProposalAsNewMember,
  commitReshare,
  confirmReshare,
  dealerApprove,
  dealerCommit,
  dealerSubShares,
  joinReshare,
  proposeReshare,
  receiveSubShares,
  type CommitCertificate,
  type ReshareProposal,
  type ReshareRequest,
} from '../../src/mpc/reshare.ts';
import { decodeReshareMessage, encodeReshareMessage } from '../../src/mpc/reshare-messages.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import { p1SignFinish, p1SignReveal, p1SignStart, p2SignCompute, p2SignRespond, type P1SignOutcome } from '../../src/mpc/sign.ts';
import { extensionWalletShare, phoneWalletShare } from '../../src/mpc/wallet-share-codec.ts';
import { memberByIndex, p1PairShare, p2PairShare, pairRoles, type Member, type MemberRole, type PairKey, type WalletShare } from '../../src/mpc/wallet-share.ts';
import type { PreparedPaillierKey } from '../../src/mpc/zk/paillier-modulus.ts';
import { loadPreparedPaillierFixture, PAILLIER_FIXTURE_COUNT } from './fixtures.ts';
import { runKeygen, wire } from './protocol-driver.ts';

export function newIdentity(): MemberIdentity {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

/** A device of the test: its identity, and its share once it has one. */
export interface Device {
  readonly identity: MemberIdentity;
  share: WalletShare | null;
}

/** Where a run takes its prepared Paillier keys from, each once (P2s refuse a repeated N). */
export interface KeySource {
  take(): PreparedPaillierKey;
}

/** Fixture Paillier keys handed out in turn. */
export class FixtureKeys implements KeySource {
  private next = 0;
  take(): PreparedPaillierKey {
    if (this.next >= PAILLIER_FIXTURE_COUNT) throw new Error('out of Paillier fixtures: start a new FixtureKeys');
    return loadPreparedPaillierFixture(this.next++);
  }
}

/** A 2-of-2 wallet from a real keygen: phone (member 1, P1) and extension (member 2). */
export function firstPair(keys: KeySource): { phone: Device; extension: Device } {
  const phone: Device = { identity: newIdentity(), share: null };
  const extension: Device = { identity: newIdentity(), share: null };
  const { p1, p2 } = runKeygen(keys.take());
  const identities = { phone: phone.identity.publicKey, extension: extension.identity.publicKey };
  phone.share = phoneWalletShare(p1, identities, true);
  extension.share = extensionWalletShare(p2, identities, true);
  return { phone, extension };
}

export function newMember(index: number, role: MemberRole, device: Device, joinedEpoch: number): Member {
  return { index, identityKey: device.identity.publicKey, role, joinedEpoch };
}

/** Everything through JSON, decoded as its receiver would. */
const relay = <T>(message: T): T => decodeReshareMessage(wire(encodeReshareMessage(message as never))) as T;
const relaySetup = (message: PairSetupMsg): PairSetupMsg => decodePairSetupMsg(wire(encodePairSetupMsg(message)));

export interface ReshareRun {
  readonly proposal: ReshareProposal;
  readonly certificate: CommitCertificate;
}

/**
 * Runs a whole reshare: `coordinator` proposes, every old member checks, new devices check with
 * the dealers' keys they pinned, then joins, dealing, approvals, sub-shares, every pair setup,
 * confirmations and the commit. Updates each device's share in place; removed devices keep theirs
 * (the caller decides what a removal notice does).
 */
export function runReshare(devices: ReadonlyMap<number, Device>, coordinator: number, request: ReshareRequest, keys: KeySource): ReshareRun {
  const coordinatorDevice = devices.get(coordinator) as Device;
  const proposal = relay(proposeReshare(coordinatorDevice.share as WalletShare, request, coordinatorDevice.identity));
  for (const [index, device] of devices) {
    if (device.share) checkProposal(device.share, proposal);
    else checkProposalAsNewMember(proposal, memberByIndex({ ...(coordinatorDevice.share as WalletShare).wallet, members: proposal.newMembers }, index), proposal.dealers.map((dealer) => ({ index: dealer, identityKey: (devices.get(dealer) as Device).identity.publicKey })));
  }
  const recipients = proposal.newMembers.map((member) => ({ member, device: devices.get(member.index) as Device }));
  const joined = recipients.map(({ member, device }) => ({ member, device, ...joinReshare(proposal, member.index, device.identity) }));
  const joins = joined.map((entry) => relay(entry.message));
  const dealt = proposal.dealers.map((dealer) => {
    const device = devices.get(dealer) as Device;
    return { device, ...dealerCommit(device.share as WalletShare, proposal, request.newMembers, device.identity) };
  });
  const commitments = dealt.map((entry) => relay(entry.message));
  const approvals = dealt.map((entry) => relay(dealerApprove(entry.state, joins, commitments, entry.device.identity)));
  const subShares = dealt.flatMap((entry) => dealerSubShares(entry.state, joins, commitments, approvals, entry.device.identity).map(relay));
  const sharings = new Map(joined.map((entry) => [entry.member.index, receiveSubShares(entry.state, entry.device.share, { joins, commitments, approvals, subShares })]));

  // Every pair of the new members: its P1 sets it up, its P2 accepts; everyone sees the summary.
  const pairs = new Map<number, PairKey[]>(recipients.map(({ member }) => [member.index, []]));
  const accepted = new Map<number, string[]>(recipients.map(({ member }) => [member.index, []]));
  const summaries: PairSummary[] = [];
  const members = proposal.newMembers;
  for (let a = 0; a < members.length; a++) {
    for (let b = a + 1; b < members.length; b++) {
      const { p1, p2 } = pairRoles(members[a] as Member, members[b] as Member);
      const sharing1 = sharings.get(p1.index)!;
      const setup = p1PairSetup({ sessionId: proposal.reshareId, wallet: sharing1.wallet, self: p1.index, share: sharing1.share, counterpart: p2.index }, keys.take());
      const message = relaySetup(setup.message);
      const p2Device = devices.get(p2.index) as Device;
      const acceptance = p2PairAccept({ sessionId: proposal.reshareId, wallet: sharings.get(p2.index)!.wallet, self: p2.index, acceptedModuli: [...(p2Device.share?.acceptedModuli ?? []), ...accepted.get(p2.index)!] }, message);
      pairs.get(p1.index)!.push(setup.pair);
      pairs.get(p2.index)!.push(acceptance.pair);
      accepted.get(p2.index)!.push(acceptance.modulusHash);
      summaries.push(pairSummary(message));
    }
  }
  const confirmed = recipients.map(({ member, device }) => ({
    device,
    ...confirmReshare(sharings.get(member.index)!, device.share, { pairs: pairs.get(member.index)!, summaries, acceptedModuli: accepted.get(member.index)! }, proposal, device.identity),
  }));
  const certificate = assembleCertificate(proposal, confirmed[0]!.pending.h2, confirmed.map((entry) => relay(entry.message)));
  for (const entry of confirmed) entry.device.share = commitReshare(entry.pending, proposal, certificate);
  return { proposal, certificate };
}

/** A signature of `digest` for `account` by the pair {i, j} of the devices' current shares. */
export function signWithPair(devices: ReadonlyMap<number, Device>, i: number, j: number, digest: Uint8Array, account: number): P1SignOutcome {
  const a = devices.get(i)!.share as WalletShare;
  const { p1, p2 } = pairRoles(memberByIndex(a.wallet, i), memberByIndex(a.wallet, j));
  const one = p1PairShare(devices.get(p1.index)!.share as WalletShare, p2.index);
  const two = p2PairShare(devices.get(p2.index)!.share as WalletShare, p1.index);
  const request = { sessionId: randomBytes(32), digest, accountIndex: account };
  const s1 = p1SignStart(one, request, null);
  const s2 = p2SignRespond(two, request, s1.message, null);
  const s3 = p1SignReveal(one, s1.session, s2.message);
  const s4 = p2SignCompute(two, s2.session, s3.message);
  return p1SignFinish(one, s3.session, s4.message);
}
