/**
 * Malicious coordinators and dealers in a reshare, forged certificates and notices, the leaked-abort
 * attack inside a 2-of-3 wallet, and the known-key check as a 2-of-3 sharing. Each refusal is a
 * precise error raised before any sub-share is released or any state changes.
 */
import { describe, expect, it } from 'vitest';
import { Signature, Transaction, hexlify, recoverAddress } from 'ethers';
import { bigIntToBytes } from '../../src/mpc/bytes.ts';
import { G, modQ } from '../../src/mpc/curve.ts';
import { addCiphertexts, encrypt } from '../../src/mpc/paillier.ts';
import { decodePairSetupMsg, encodePairSetupMsg, p1PairSetup, p2PairAccept } from '../../src/mpc/pair-setup.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import { decodeReshareMessage, encodeReshareMessage } from '../../src/mpc/reshare-messages.ts';
import {
  assembleCertificate,
  checkProposal,
  checkProposalAsNewMember,
  checkRemovalNotice,
  commitReshare,
  dealerApprove,
  dealerCommit,
  dealerSubShares,
  joinReshare,
  proposeReshare,
  receiveSubShares,
  verifyCertificate,
  type DealerCommitment,
  type ReshareProposal,
} from '../../src/mpc/reshare.ts';
import { p1SignFinish, p1SignReveal, p1SignStart, p2SignCompute, p2SignRespond } from '../../src/mpc/sign.ts';
import { acceptTaintNotice, decodeTaintNotice, encodeTaintNotice, taintNotice } from '../../src/mpc/taint-notice.ts';
import { decodeWalletShare, encodeWalletShare } from '../../src/mpc/wallet-share-codec.ts';
import { WALLET_SHARE_VERSION, memberId, p1PairShare, p2PairShare, withTaints, type Member, type WalletPublic, type WalletShare } from '../../src/mpc/wallet-share.ts';
import { expectMpcError } from './expect-mpc-error.ts';
import { wire } from './protocol-driver.ts';
import { FixtureKeys, firstPair, newIdentity, newMember, runReshare, signWithPair, type Device } from './wallet-driver.ts';

/** A 2-of-2 wallet (phone 1, extension 2) about to add a tablet (3): dealers 1 and 2, coordinator 2. */
function addingATablet() {
  const keys = new FixtureKeys();
  const { phone, extension } = firstPair(keys);
  const tablet: Device = { identity: newIdentity(), share: null };
  const members = [...(phone.share as WalletShare).wallet.members, newMember(3, 'phone', tablet, 1)];
  return { keys, phone, extension, tablet, members };
}

const relay = <T>(message: T): T => decodeReshareMessage(wire(encodeReshareMessage(message as never))) as T;

describe('a malicious coordinator', () => {
  it("puts its own key in place of the new member's: the dealers and the new device refuse", () => {
    const { phone, extension, tablet, members } = addingATablet();
    const attacker = newIdentity();
    const swapped = members.map((member) => (member.index === 3 ? { ...member, identityKey: attacker.publicKey } : member));
    const proposal = proposeReshare(extension.share as WalletShare, { newMembers: swapped, dealers: [1, 2] }, extension.identity);
    checkProposal(phone.share as WalletShare, proposal);
    expectMpcError(() => dealerCommit(phone.share as WalletShare, proposal, members, phone.identity), 'membership_refused', 'reshare.newMembers');
    expectMpcError(() => checkProposalAsNewMember(proposal, members[2] as Member, [1, 2].map((index) => ({ index, identityKey: (index === 1 ? phone : extension).identity.publicKey }))), 'membership_refused', 'reshare.self');
    expect(tablet.share).toBeNull();
  });

  it('adds a phantom member: the dealer whose user approved three members refuses four', () => {
    const { phone, extension, members } = addingATablet();
    const phantom = newMember(4, 'extension', { identity: newIdentity(), share: null }, 1);
    const proposal = proposeReshare(extension.share as WalletShare, { newMembers: [...members, phantom], dealers: [1, 2] }, extension.identity);
    expectMpcError(() => dealerCommit(phone.share as WalletShare, proposal, members, phone.identity), 'membership_refused', 'reshare.newMembers');
  });

  it('shows the two dealers different member lists: neither approves, so no sub-share leaves either', () => {
    const { phone, extension, tablet, members } = addingATablet();
    const other: Device = { identity: newIdentity(), share: null };
    const forPhone = proposeReshare(extension.share as WalletShare, { newMembers: members, dealers: [1, 2] }, extension.identity);
    const otherMembers = [...members.slice(0, 2), newMember(3, 'phone', other, 1)];
    const forExtension = { ...forPhone, newMembers: otherMembers } as ReshareProposal;
    // Each dealer deals under the proposal it was shown (the extension is also the coordinator).
    const phoneDealer = dealerCommit(phone.share as WalletShare, forPhone, members, phone.identity);
    const extensionDealer = dealerCommit(extension.share as WalletShare, forExtension, otherMembers, extension.identity);
    const joinsA = [joinReshare(forPhone, 1, phone.identity).message, joinReshare(forPhone, 2, extension.identity).message, joinReshare(forPhone, 3, tablet.identity).message];
    const joinsB = [joinReshare(forExtension, 1, phone.identity).message, joinReshare(forExtension, 2, extension.identity).message, joinReshare(forExtension, 3, other.identity).message];
    const commitments = [phoneDealer.message, extensionDealer.message];
    // Each dealer checks the other's commitment against the proposal it was shown: signed over another.
    expectMpcError(() => dealerApprove(phoneDealer.state, joinsA, commitments, phone.identity), 'bad_member_signature', 'reshare.commitments[2].signature');
    expectMpcError(() => dealerApprove(extensionDealer.state, joinsB, commitments, extension.identity), 'bad_member_signature', 'reshare.commitments[1].signature');
  });
});

/** Everything up to the sub-shares of an honest run, for one dishonest party to tamper with. */
function dealt() {
  const scenario = addingATablet();
  const { phone, extension, tablet, members } = scenario;
  const proposal = relay(proposeReshare(extension.share as WalletShare, { newMembers: members, dealers: [1, 2] }, extension.identity));
  const recipients = [phone, extension, tablet].map((device, k) => ({ device, ...joinReshare(proposal, k + 1, device.identity) }));
  const joins = recipients.map((entry) => relay(entry.message));
  const dealers = [phone, extension].map((device) => ({ device, ...dealerCommit(device.share as WalletShare, proposal, members, device.identity) }));
  const commitments = dealers.map((entry) => relay(entry.message));
  const approvals = dealers.map((entry) => relay(dealerApprove(entry.state, joins, commitments, entry.device.identity)));
  return { ...scenario, proposal, recipients, joins, dealers, commitments, approvals };
}

describe('a malicious dealer', () => {
  it('a commitment vector of three entries (a degree-2 polynomial, a silent 3-of-n) is refused at decoding', () => {
    const { commitments } = dealt();
    const encoded = wire(encodeReshareMessage(commitments[0]!)) as Record<string, unknown>;
    const longer = { ...encoded, commitment: [...(encoded.commitment as string[]), (encoded.commitment as string[])[1]] };
    expectMpcError(() => decodeReshareMessage(longer), 'malformed', 'reshare.commitment');
  });

  it("deals a constant that is not its weighted share: old members name it, new members see the sum is not Q", () => {
    const scenario = dealt();
    const { proposal, members, joins, recipients } = scenario;
    const cheat = scenario.extension;
    const lying = dealerCommit({ ...(cheat.share as WalletShare), share: modQ((cheat.share as WalletShare).share + 1n) }, proposal, members, cheat.identity);
    const commitments = [scenario.commitments[0]!, lying.message];
    const approvals = [dealerApprove(scenario.dealers[0]!.state, joins, commitments, scenario.phone.identity), dealerApprove(lying.state, joins, commitments, cheat.identity)];
    const subShares = [...dealerSubShares(scenario.dealers[0]!.state, joins, commitments, approvals, scenario.phone.identity), ...dealerSubShares(lying.state, joins, commitments, approvals, cheat.identity)];
    const messages = { joins, commitments, approvals, subShares };
    expectMpcError(() => receiveSubShares(recipients[0]!.state, scenario.phone.share, messages), 'dealer_mismatch', 'reshare.commitments[2]');
    expectMpcError(() => receiveSubShares(recipients[2]!.state, null, messages), 'dealer_mismatch', 'reshare.commitments');
  });

  it('sends a sub-share that does not match its commitment: the recipient names the dealer', () => {
    const { dealers, joins, commitments, approvals, recipients, phone } = dealt();
    const skewed = { ...dealers[1]!.state, polynomial: { ...dealers[1]!.state.polynomial, slope: modQ(dealers[1]!.state.polynomial.slope + 1n) } };
    const subShares = [...dealerSubShares(dealers[0]!.state, joins, commitments, approvals, phone.identity), ...dealerSubShares(skewed, joins, commitments, approvals, dealers[1]!.device.identity)];
    expectMpcError(() => receiveSubShares(recipients[2]!.state, null, { joins, commitments, approvals, subShares }), 'dealer_mismatch', 'reshare.subShares[2]');
  });

  it('shows different commitments to different members: the approval no longer matches what the member saw', () => {
    const { dealers, joins, commitments, approvals, recipients, phone, extension } = dealt();
    const subShares = dealers.flatMap((entry) => dealerSubShares(entry.state, joins, commitments, approvals, entry.device.identity));
    const forged: DealerCommitment = { ...commitments[1]!, commitment: [commitments[1]!.commitment[0], G.multiply(7n)] };
    expectMpcError(() => receiveSubShares(recipients[2]!.state, null, { joins, commitments: [commitments[0]!, forged], approvals, subShares }), 'bad_member_signature', 'reshare.commitments[2].signature');
    // Re-signed by the cheating dealer itself: the other dealer's approval is of another transcript.
    const resigned = dealerCommit({ ...(extension.share as WalletShare) }, dealers[1]!.state.proposal, dealers[1]!.state.proposal.newMembers, extension.identity).message;
    expectMpcError(() => receiveSubShares(recipients[0]!.state, phone.share, { joins, commitments: [commitments[0]!, resigned], approvals, subShares }), 'dealer_mismatch', 'reshare.approvals[1]');
  });

  it('a sub-share sealed for another member or transcript does not open', () => {
    const { dealers, joins, commitments, approvals, recipients } = dealt();
    const subShares = dealers.flatMap((entry) => dealerSubShares(entry.state, joins, commitments, approvals, entry.device.identity));
    const misdirected = subShares.map((message) => (message.recipient === 3 ? { ...message, envelope: subShares.find((other) => other.dealer === message.dealer && other.recipient === 1)!.envelope } : message));
    expectMpcError(() => receiveSubShares(recipients[2]!.state, null, { joins, commitments, approvals, subShares: misdirected }), 'bad_member_signature', 'reshare.subShares[1].signature');
  });

  it('a P1 that reuses a Paillier key (in this reshare or an earlier epoch) is refused by the P2', () => {
    const keys = new FixtureKeys();
    const { phone, extension } = firstPair(keys);
    const used = keys.take();
    const wallet = (phone.share as WalletShare).wallet;
    const sessionId = randomBytes(32);
    const first = p1PairSetup({ sessionId, wallet, self: 1, share: (phone.share as WalletShare).share, counterpart: 2 }, used);
    const accepted = p2PairAccept({ sessionId, wallet, self: 2, acceptedModuli: (extension.share as WalletShare).acceptedModuli }, decodePairSetupMsg(wire(encodePairSetupMsg(first.message))));
    const again = p1PairSetup({ sessionId, wallet, self: 1, share: (phone.share as WalletShare).share, counterpart: 2 }, used);
    expectMpcError(() => p2PairAccept({ sessionId, wallet, self: 2, acceptedModuli: [...(extension.share as WalletShare).acceptedModuli, accepted.modulusHash] }, again.message), 'invalid_modulus', 'pairSetup.paillierN');
  });

  it('a proposal or sub-share replayed from an older epoch or another reshare is refused', () => {
    const keys = new FixtureKeys();
    const { phone, extension } = firstPair(keys);
    const tablet: Device = { identity: newIdentity(), share: null };
    const devices = new Map([[1, phone], [2, extension], [3, tablet]]);
    const { proposal } = runReshare(devices, 2, { newMembers: [...(phone.share as WalletShare).wallet.members, newMember(3, 'phone', tablet, 1)], dealers: [1, 2] }, keys);
    expectMpcError(() => checkProposal(phone.share as WalletShare, proposal), 'session_mismatch', 'reshare.fromEpoch');
    const next = dealt();
    const subShares = next.dealers.flatMap((entry) => dealerSubShares(entry.state, next.joins, next.commitments, next.approvals, entry.device.identity));
    const older = { ...subShares[0]!, reshareId: randomBytes(32) };
    expectMpcError(() => receiveSubShares(next.recipients[0]!.state, next.phone.share, { ...next, subShares: [older, ...subShares.slice(1)] }), 'session_mismatch', 'reshare.subShares[1].reshareId');
  });

  it('a forged commit certificate or removal notice is refused, and nothing is deleted', () => {
    const keys = new FixtureKeys();
    const { phone, extension } = firstPair(keys);
    const tablet: Device = { identity: newIdentity(), share: null };
    const devices = new Map([[1, phone], [2, extension], [3, tablet]]);
    runReshare(devices, 2, { newMembers: [...(phone.share as WalletShare).wallet.members, newMember(3, 'phone', tablet, 1)], dealers: [1, 2] }, keys);
    const before = encodeWalletShare(tablet.share as WalletShare);
    // The extension (coordinator) "removes" the tablet and forges the others' confirmations with its own key.
    const members = (phone.share as WalletShare).wallet.members.filter((member) => member.index !== 3);
    const proposal = proposeReshare(extension.share as WalletShare, { newMembers: members, dealers: [1, 2] }, extension.identity);
    const h2 = randomBytes(32);
    const confirms = [1, 2].map((member) => relay({ type: 'reshare/confirm' as const, reshareId: proposal.reshareId, member, h2, signature: new Uint8Array(64) }));
    expectMpcError(() => assembleCertificate(proposal, h2, confirms), 'bad_member_signature', 'reshare.confirms[1].signature');
    const forged = { reshareId: proposal.reshareId, proposalDigest: randomBytes(32), h2, confirms };
    expectMpcError(() => verifyCertificate(proposal, forged), 'session_mismatch', 'certificate.proposalDigest');
    expectMpcError(() => checkRemovalNotice(tablet.share as WalletShare, proposal, forged), 'session_mismatch', 'certificate.proposalDigest');
    expectMpcError(() => commitReshare({ proposalDigest: forged.proposalDigest, h2, next: tablet.share as WalletShare }, proposal, forged), 'session_mismatch', 'certificate.proposalDigest');
    expect(encodeWalletShare(tablet.share as WalletShare)).toEqual(before);
  });
});

describe('the leaked-abort attack inside a 2-of-3 wallet', () => {
  it('one failure: every member learns the suspect, no reshare keeps it, the count survives reload and reshare, the other pair signs', () => {
    const keys = new FixtureKeys();
    const { phone, extension } = firstPair(keys);
    const tablet: Device = { identity: newIdentity(), share: null };
    const devices = new Map([[1, phone], [2, extension], [3, tablet]]);
    runReshare(devices, 2, { newMembers: [...(phone.share as WalletShare).wallet.members, newMember(3, 'phone', tablet, 1)], dealers: [1, 2] }, keys);

    // The extension crafts c3 in its pair with the phone.
    const p1 = p1PairShare(phone.share as WalletShare, 2);
    const p2 = p2PairShare(extension.share as WalletShare, 1);
    const request = { sessionId: randomBytes(32), digest: randomBytes(32), accountIndex: 0 };
    const s1 = p1SignStart(p1, request, null);
    const s2 = p2SignRespond(p2, request, s1.message, null);
    const s3 = p1SignReveal(p1, s1.session, s2.message);
    const s4 = p2SignCompute(p2, s2.session, s3.message);
    const pk = p1.paillier.publicKey;
    const outcome = p1SignFinish(p1, s3.session, { ...s4.message, c3: addCiphertexts(pk, s4.message.c3, encrypt(pk, 1n)) });
    if (outcome.kind !== 'tainted') throw new Error('expected a taint');
    phone.share = withTaints(phone.share as WalletShare, outcome.keyShare.taints);
    const suspect = memberId((phone.share as WalletShare).wallet.members[1]!);
    expect((phone.share as WalletShare).wallet.taints).toEqual([{ suspect, epoch: 1 }]);
    tablet.share = acceptTaintNotice(tablet.share as WalletShare, decodeTaintNotice(wire(encodeTaintNotice(taintNotice(phone.share as WalletShare, 2, phone.identity)))));

    // No pair with the suspect signs, from either side, any more.
    expectMpcError(() => signWithPair(devices, 1, 2, randomBytes(32), 0), 'key_tainted', 'keyShare.taints');
    expectMpcError(() => signWithPair(devices, 3, 2, randomBytes(32), 0), 'key_tainted', 'keyShare.taints');
    // The suspect coordinates a reshare that keeps it (and leaves the taint out): both others refuse.
    const keepsIt = proposeReshare(extension.share as WalletShare, { newMembers: (extension.share as WalletShare).wallet.members, dealers: [1, 3] }, extension.identity);
    expectMpcError(() => checkProposal(phone.share as WalletShare, keepsIt), 'membership_refused', 'reshare.taints');
    expectMpcError(() => checkProposal(tablet.share as WalletShare, keepsIt), 'membership_refused', 'reshare.taints');
    const listsIt = { ...keepsIt, taints: (phone.share as WalletShare).wallet.taints } as ReshareProposal;
    expectMpcError(() => checkProposal(phone.share as WalletShare, listsIt), 'membership_refused', 'reshare.newMembers');

    // The count survives a reload; the reshare that removes the suspect passes and keeps it.
    phone.share = decodeWalletShare(wire(encodeWalletShare(phone.share as WalletShare)));
    const remaining = new Map([[1, phone], [3, tablet]]);
    runReshare(remaining, 1, { newMembers: (phone.share as WalletShare).wallet.members.filter((member) => member.index !== 2), dealers: [1, 3] }, keys);
    expect((tablet.share as WalletShare).wallet.taints).toEqual([{ suspect, epoch: 1 }]);
    const digest = randomBytes(32);
    expect(signWithPair(remaining, 1, 3, digest, 0).kind).toBe('signature');
  });
});

describe('known-key check as a 2-of-3 sharing (EIP-155 example)', () => {
  it('0x4646…46 dealt to three members: every pair signs the example hash and recovers its address', () => {
    const x = BigInt(`0x${'46'.repeat(32)}`);
    const slope = modQ(BigInt(`0x${'17'.repeat(32)}`));
    const identities = [newIdentity(), newIdentity(), newIdentity()];
    const members: Member[] = (['phone', 'extension', 'guard'] as const).map((role, k) => ({ index: k + 1, identityKey: identities[k]!.publicKey, role, joinedEpoch: 0 }));
    const shares = members.map((member) => modQ(x + slope * BigInt(member.index)));
    const wallet: WalletPublic = {
      walletId: randomBytes(32),
      publicKey: G.multiply(x),
      chainCode: randomBytes(32),
      epoch: 0,
      members,
      publicShares: shares.map((share) => G.multiply(share)),
      taints: [],
      nextIndex: 4,
    };
    const keys = new FixtureKeys();
    const devices = new Map<number, Device>(members.map((member, k) => [member.index, { identity: identities[k]!, share: { version: WALLET_SHARE_VERSION, wallet, self: member.index, share: shares[k]!, pairs: [], acceptedModuli: [], blocked: [] } }]));
    const sessionId = randomBytes(32);
    for (const [a, b] of [[3, 1], [3, 2], [1, 2]] as const) {
      const one = devices.get(a)!;
      const two = devices.get(b)!;
      const setup = p1PairSetup({ sessionId, wallet, self: a, share: (one.share as WalletShare).share, counterpart: b }, keys.take());
      const accepted = p2PairAccept({ sessionId, wallet, self: b, acceptedModuli: [] }, setup.message);
      one.share = { ...(one.share as WalletShare), pairs: [...(one.share as WalletShare).pairs, setup.pair] };
      two.share = { ...(two.share as WalletShare), pairs: [...(two.share as WalletShare).pairs, accepted.pair] };
    }
    const tx = Transaction.from({ type: 0, nonce: 9, gasPrice: 20n * 10n ** 9n, gasLimit: 21000n, to: '0x3535353535353535353535353535353535353535', value: 10n ** 18n, data: '0x', chainId: 1n });
    expect(tx.unsignedHash).toBe('0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53');
    const digest = Uint8Array.from(Buffer.from(tx.unsignedHash.slice(2), 'hex'));
    for (const [a, b] of [[1, 2], [1, 3], [2, 3]] as const) {
      const outcome = signWithPair(devices, a, b, digest, 0);
      if (outcome.kind !== 'signature') throw new Error('expected a signature');
      const { r, s, yParity } = outcome.signature;
      const recovered = recoverAddress(tx.unsignedHash, Signature.from({ r: hexlify(bigIntToBytes(r, 32)), s: hexlify(bigIntToBytes(s, 32)), yParity }));
      expect(recovered.toLowerCase()).toBe('0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f');
    }
  });
});
