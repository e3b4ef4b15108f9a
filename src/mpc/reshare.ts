/**
 * Reshare: the one protocol for every membership change — add, replace, remove a member, or a
 * plain refresh — keeping x, Q, the chain code and so every address. Two current members (the
 * dealers d ∈ {a, b}) deal fresh degree-1 polynomials whose constants are their weighted shares
 * λ_d·s_d (λ for the pair {a, b}), so the new sharing F' = f_a + f_b has F'(0) = x.
 *
 *   coordinator → all       ReshareProposal   signed: reshare id, old and new members, dealers, taints
 *   each recipient → all    ReshareJoin       signed: its ephemeral X25519 key for this reshare
 *   each dealer → all       DealerCommitment  signed: Feldman commitment [λ_d·S_d, a_d·G]
 *   each dealer → all       DealerApproval    signed: H1 = H(proposal, every join, both commitments)
 *   each dealer → each r    SubShare          signed; f_d(r) ‖ chain code sealed to r's ephemeral key,
 *                                             released only once the dealer holds the OTHER dealer's
 *                                             approval of the same H1
 *   each pair's P1 → all    PairSetupMsg      pair-setup.ts, for every pair of the new members
 *   each recipient → all    ReshareConfirm    signed: (proposal, H2), H2 = H(H1, every new public
 *                                             share, every pair's N hash and ckey)
 *   —                       CommitCertificate every new member's confirmation: the commit point
 *   each member → all       DeletionReceipt   signed: it deleted its share of the old epoch
 *
 * Every statement is signed with the sender's pinned identity key (member-signature.ts), so the
 * coordinator relays but cannot choose who receives shares: each dealer checks the proposal
 * against its own member list, its user approves the exact new member set on its own screen, and a
 * new member is authenticated to each dealer (the caller passes the identity keys it pinned).
 * Everything every member checks — the proposal, the joins, both commitment vectors, the new public
 * shares, each pair's key — is bound into H2, which every new member signs: different views
 * (different commitments to different members, different member lists to the dealers) yield
 * different H2 and no certificate. Until the certificate exists every member keeps its old epoch;
 * with it, each member switches and deletes its old share, Paillier keys, ckeys and ephemeral key.
 *
 * Taint: a proposal that keeps a suspect (any member named by a taint, in any epoch) is refused;
 * so is one whose taint list lacks a taint this member knows. The only reshare a tainted wallet
 * allows removes every suspect.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bigIntToBytes, bytesToBigInt, concatBytes, equalBytes } from './bytes.ts';
import { CURVE_ORDER, G, modQ, type Point } from './curve.ts';
import { MpcError } from './errors.ts';
import type { Taint } from './key-share.ts';
import { signStatement, verifyStatement, type MemberIdentity } from './member-signature.ts';
import type { PairSummary } from './pair-setup.ts';
import { transcriptContext } from './protocol-context.ts';
import { randomBytes } from './random.ts';
import { dealPolynomial, evaluateCommitment, evaluatePolynomial, pairCoefficients, type DealtPolynomial } from './shamir.ts';
import { generateEphemeralKey, openEnvelope, sealEnvelope, type EphemeralKeyPair } from './subshare-envelope.ts';
import { Transcript } from './transcript.ts';
import {
  WALLET_SHARE_VERSION,
  memberByIndex,
  memberId,
  publicShareOf,
  sameMember,
  type Member,
  type PairKey,
  type WalletPublic,
  type WalletShare,
} from './wallet-share.ts';

export const RESHARE_ID_BYTES = 32;
const SCALAR = 32;

export interface ReshareProposal {
  readonly type: 'reshare/proposal';
  readonly reshareId: Uint8Array;
  readonly walletId: Uint8Array;
  readonly publicKey: Point;
  readonly fromEpoch: number;
  readonly oldMembers: readonly Member[];
  readonly newMembers: readonly Member[];
  /** The new wallet's nextIndex. */
  readonly nextIndex: number;
  readonly dealers: readonly [number, number];
  /** Every taint the coordinator knows; members refuse a list missing one of theirs. */
  readonly taints: readonly Taint[];
  readonly coordinator: number;
  readonly signature: Uint8Array;
}

export interface ReshareJoin {
  readonly type: 'reshare/join';
  readonly reshareId: Uint8Array;
  readonly member: number;
  readonly ephemeralKey: Uint8Array;
  readonly signature: Uint8Array;
}

export interface DealerCommitment {
  readonly type: 'reshare/commitment';
  readonly reshareId: Uint8Array;
  readonly dealer: number;
  readonly commitment: readonly [Point, Point];
  readonly signature: Uint8Array;
}

export interface DealerApproval {
  readonly type: 'reshare/approval';
  readonly reshareId: Uint8Array;
  readonly dealer: number;
  readonly h1: Uint8Array;
  readonly signature: Uint8Array;
}

export interface SubShare {
  readonly type: 'reshare/subshare';
  readonly reshareId: Uint8Array;
  readonly dealer: number;
  readonly recipient: number;
  /** sealEnvelope(recipient's ephemeral key, H(H1, dealer, recipient), f_d(recipient) ‖ chain code). */
  readonly envelope: Uint8Array;
  readonly signature: Uint8Array;
}

export interface ReshareConfirm {
  readonly type: 'reshare/confirm';
  readonly reshareId: Uint8Array;
  readonly member: number;
  readonly h2: Uint8Array;
  readonly signature: Uint8Array;
}

/** Every new member's confirmation of one H2: proof that all agree, presentable to anyone. */
export interface CommitCertificate {
  readonly reshareId: Uint8Array;
  readonly proposalDigest: Uint8Array;
  readonly h2: Uint8Array;
  readonly confirms: readonly ReshareConfirm[];
}

export interface DeletionReceipt {
  readonly type: 'reshare/deleted';
  readonly reshareId: Uint8Array;
  readonly member: number;
  readonly deletedEpoch: number;
  readonly signature: Uint8Array;
}

/** A dealer between its commitment and its sub-shares. In memory only: it holds the polynomial. */
export interface DealerState {
  readonly proposal: ReshareProposal;
  readonly self: number;
  readonly polynomial: DealtPolynomial;
  readonly chainCode: Uint8Array;
}

/** A recipient's key for this reshare (deleted at the commit point). */
export interface RecipientState {
  readonly proposal: ReshareProposal;
  readonly self: number;
  readonly ephemeral: EphemeralKeyPair;
}

/** The new sharing as one recipient computed it, before the pair setups. */
export interface NewSharing {
  readonly wallet: WalletPublic;
  readonly self: number;
  readonly share: bigint;
  readonly h1: Uint8Array;
}

/** What a recipient stores before it confirms: its share of the new epoch, usable once certified. */
export interface PendingReshare {
  readonly proposalDigest: Uint8Array;
  readonly h2: Uint8Array;
  readonly next: WalletShare;
}

// ---- transcript ---------------------------------------------------------------------------

function reshareTranscript(purpose: string, reshareId: Uint8Array, walletId: Uint8Array): Transcript {
  return Transcript.start(transcriptContext(`reshare/${purpose}`, reshareId, walletId, 'P1'));
}

const u32 = (value: number) => bigIntToBytes(BigInt(value), 4);

function appendMembers(transcript: Transcript, label: string, members: readonly Member[]): void {
  transcript.appendBytes(`${label}.count`, u32(members.length));
  for (const member of members) {
    transcript.appendBytes(`${label}.index`, u32(member.index)).appendBytes(`${label}.identity`, member.identityKey).appendText(`${label}.role`, member.role).appendBytes(`${label}.joined`, u32(member.joinedEpoch));
  }
}

/** Everything the coordinator signs (all fields but the signature). */
export function proposalDigest(proposal: Omit<ReshareProposal, 'signature' | 'type'>): Uint8Array {
  const transcript = reshareTranscript('proposal', proposal.reshareId, proposal.walletId).appendPoint('Q', proposal.publicKey).appendBytes('from-epoch', u32(proposal.fromEpoch));
  appendMembers(transcript, 'old', proposal.oldMembers);
  appendMembers(transcript, 'new', proposal.newMembers);
  transcript.appendBytes('next-index', u32(proposal.nextIndex)).appendBytes('dealer-a', u32(proposal.dealers[0])).appendBytes('dealer-b', u32(proposal.dealers[1]));
  transcript.appendBytes('taints', u32(proposal.taints.length));
  for (const taint of proposal.taints) transcript.appendText('taint.suspect', taint.suspect).appendBytes('taint.epoch', u32(taint.epoch));
  return transcript.appendBytes('coordinator', u32(proposal.coordinator)).digest();
}

function joinDigest(proposal: ReshareProposal, member: number, ephemeralKey: Uint8Array): Uint8Array {
  return reshareTranscript('join', proposal.reshareId, proposal.walletId).appendBytes('proposal', proposalDigest(proposal)).appendBytes('member', u32(member)).appendBytes('ephemeral', ephemeralKey).digest();
}

function commitmentDigest(proposal: ReshareProposal, dealer: number, commitment: readonly [Point, Point]): Uint8Array {
  return reshareTranscript('commitment', proposal.reshareId, proposal.walletId)
    .appendBytes('proposal', proposalDigest(proposal))
    .appendBytes('dealer', u32(dealer))
    .appendPoint('C0', commitment[0])
    .appendPoint('C1', commitment[1])
    .digest();
}

/** H1 = H(proposal, every recipient's ephemeral key by index, both dealers' commitments). */
export function reshareH1(proposal: ReshareProposal, joins: readonly ReshareJoin[], commitments: readonly DealerCommitment[]): Uint8Array {
  const transcript = reshareTranscript('h1', proposal.reshareId, proposal.walletId).appendBytes('proposal', proposalDigest(proposal));
  for (const member of proposal.newMembers) transcript.appendBytes('join.member', u32(member.index)).appendBytes('join.ephemeral', joinOf(joins, member.index, 'reshare.joins').ephemeralKey);
  for (const dealer of proposal.dealers) {
    const { commitment } = commitmentOf(commitments, dealer);
    transcript.appendBytes('dealer', u32(dealer)).appendPoint('C0', commitment[0]).appendPoint('C1', commitment[1]);
  }
  return transcript.digest();
}

/** H2 = H(H1, every new public share, every pair's N hash and ckey), sorted by index. */
export function reshareH2(proposal: ReshareProposal, h1: Uint8Array, wallet: WalletPublic, pairs: readonly PairSummary[]): Uint8Array {
  const transcript = reshareTranscript('h2', proposal.reshareId, proposal.walletId).appendBytes('h1', h1);
  wallet.members.forEach((member, k) => transcript.appendBytes('share.member', u32(member.index)).appendPoint('share.S', wallet.publicShares[k] as Point));
  const sorted = [...pairs].sort((x, y) => x.p1 - y.p1 || x.p2 - y.p2);
  transcript.appendBytes('pairs', u32(sorted.length));
  for (const pair of sorted) transcript.appendBytes('pair.p1', u32(pair.p1)).appendBytes('pair.p2', u32(pair.p2)).appendText('pair.modulus', pair.modulusHash).appendBigInt('pair.ckey', pair.ckey);
  return transcript.digest();
}

function confirmDigest(proposalHash: Uint8Array, h2: Uint8Array): Uint8Array {
  return sha256(concatBytes(proposalHash, h2));
}

function subShareDigest(message: Omit<SubShare, 'signature' | 'type'>, h1: Uint8Array): Uint8Array {
  return sha256(concatBytes(message.reshareId, h1, u32(message.dealer), u32(message.recipient), message.envelope));
}

function envelopeAad(h1: Uint8Array, dealer: number, recipient: number): Uint8Array {
  return sha256(concatBytes(new TextEncoder().encode('duet/reshare/envelope'), h1, u32(dealer), u32(recipient)));
}

function deletionDigest(reshareId: Uint8Array, member: number, epoch: number): Uint8Array {
  return sha256(concatBytes(new TextEncoder().encode('duet/reshare/deleted'), reshareId, u32(member), u32(epoch)));
}

// ---- lookups ------------------------------------------------------------------------------

function joinOf(joins: readonly ReshareJoin[], member: number, field: string): ReshareJoin {
  const found = joins.filter((join) => join.member === member);
  if (found.length !== 1) throw new MpcError('unexpected_message', field, `expected exactly one join of member ${member}`);
  return found[0] as ReshareJoin;
}

function commitmentOf(commitments: readonly DealerCommitment[], dealer: number): DealerCommitment {
  const found = commitments.filter((commitment) => commitment.dealer === dealer);
  if (found.length !== 1) throw new MpcError('unexpected_message', `reshare.commitments[${dealer}]`, `expected exactly one commitment of dealer ${dealer}`);
  return found[0] as DealerCommitment;
}

function newMember(proposal: ReshareProposal, index: number, field: string): Member {
  const member = proposal.newMembers.find((candidate) => candidate.index === index);
  if (!member) throw new MpcError('membership_refused', field, `member ${index} is not in the new member set`);
  return member;
}

function oldMember(proposal: ReshareProposal, index: number, field: string): Member {
  const member = proposal.oldMembers.find((candidate) => candidate.index === index);
  if (!member) throw new MpcError('membership_refused', field, `member ${index} is not in the old member set`);
  return member;
}

function dealerWeight(proposal: ReshareProposal, dealer: number): bigint {
  const [a, b] = proposal.dealers;
  return dealer === a ? pairCoefficients(a, b).self : pairCoefficients(b, a).self;
}

// ---- the proposal -------------------------------------------------------------------------

export interface ReshareRequest {
  readonly newMembers: readonly Member[];
  readonly dealers: readonly [number, number];
}

/** The coordinator (a current member) proposes the new member set and the dealers. */
export function proposeReshare(share: WalletShare, request: ReshareRequest, identity: MemberIdentity): ReshareProposal {
  const { wallet } = share;
  const newMembers = [...request.newMembers].sort((x, y) => x.index - y.index);
  const nextIndex = Math.max(wallet.nextIndex, ...newMembers.map((member) => member.index + 1));
  const unsigned = {
    reshareId: randomBytes(RESHARE_ID_BYTES),
    walletId: wallet.walletId,
    publicKey: wallet.publicKey,
    fromEpoch: wallet.epoch,
    oldMembers: wallet.members,
    newMembers,
    nextIndex,
    dealers: request.dealers,
    taints: wallet.taints,
    coordinator: share.self,
  };
  const proposal: ReshareProposal = { type: 'reshare/proposal', ...unsigned, signature: signStatement(identity, 'reshare/proposal', proposalDigest(unsigned)) };
  checkProposal(share, proposal);
  return proposal;
}

/** The rules every proposal obeys, whoever checks it. */
function checkProposalShape(proposal: ReshareProposal): void {
  const { newMembers, dealers } = proposal;
  if (newMembers.length < 2) throw new MpcError('membership_refused', 'reshare.newMembers', 'a wallet needs at least two members');
  for (let k = 1; k < newMembers.length; k++) {
    if ((newMembers[k] as Member).index <= (newMembers[k - 1] as Member).index) throw new MpcError('malformed', 'reshare.newMembers', 'indices must be distinct and sorted');
  }
  if (new Set(newMembers.map(memberId)).size !== newMembers.length) throw new MpcError('membership_refused', 'reshare.newMembers', 'two members share an identity key');
  if (proposal.nextIndex <= (newMembers.at(-1) as Member).index) throw new MpcError('malformed', 'reshare.nextIndex', 'must exceed every member index');
  if (dealers[0] === dealers[1]) throw new MpcError('membership_refused', 'reshare.dealers', 'two distinct dealers are needed');
  const suspects = new Set(proposal.taints.map((taint) => taint.suspect));
  for (const dealer of dealers) {
    const member = oldMember(proposal, dealer, 'reshare.dealers');
    newMember(proposal, dealer, 'reshare.dealers');
    if (suspects.has(memberId(member))) throw new MpcError('membership_refused', 'reshare.dealers', `dealer ${dealer} is a suspect of a failed signature`);
  }
  for (const member of newMembers) {
    if (suspects.has(memberId(member))) throw new MpcError('membership_refused', 'reshare.newMembers', `member ${member.index} is a suspect of a failed signature: the only reshare allowed removes it`);
    const previous = proposal.oldMembers.find((candidate) => candidate.index === member.index);
    if (previous ? !sameMember(previous, member) : member.joinedEpoch !== proposal.fromEpoch + 1) {
      throw new MpcError('membership_refused', 'reshare.newMembers', `member ${member.index} changed, or joins with a wrong epoch`);
    }
  }
  oldMember(proposal, proposal.coordinator, 'reshare.coordinator');
}

/**
 * A current member checks a proposal against its own state: same wallet, epoch and members; no
 * index reused; no taint of its own missing; no suspect kept; signed by the coordinator.
 */
export function checkProposal(share: WalletShare, proposal: ReshareProposal): void {
  const { wallet } = share;
  if (!equalBytes(proposal.walletId, wallet.walletId) || !proposal.publicKey.equals(wallet.publicKey)) throw new MpcError('session_mismatch', 'reshare.walletId', 'a proposal for another wallet');
  if (proposal.fromEpoch !== wallet.epoch) throw new MpcError('session_mismatch', 'reshare.fromEpoch', `a proposal for epoch ${proposal.fromEpoch}; this member is in epoch ${wallet.epoch}`);
  if (proposal.oldMembers.length !== wallet.members.length || !proposal.oldMembers.every((member, k) => sameMember(member, wallet.members[k] as Member))) {
    throw new MpcError('membership_refused', 'reshare.oldMembers', 'the proposal names other current members than this member knows');
  }
  for (const member of proposal.newMembers) {
    if (!proposal.oldMembers.some((old) => old.index === member.index) && member.index < wallet.nextIndex) throw new MpcError('membership_refused', 'reshare.newMembers', `index ${member.index} was used before`);
  }
  if (proposal.nextIndex < wallet.nextIndex) throw new MpcError('membership_refused', 'reshare.nextIndex', 'indices would be reused');
  const listed = new Set(proposal.taints.map((taint) => `${taint.suspect}/${taint.epoch}`));
  if (!wallet.taints.every((taint) => listed.has(`${taint.suspect}/${taint.epoch}`))) throw new MpcError('membership_refused', 'reshare.taints', 'the proposal omits a failed signature this member recorded');
  checkProposalShape(proposal);
  verifyStatement(memberByIndex(wallet, proposal.coordinator).identityKey, proposal.signature, 'reshare/proposal', proposalDigest(proposal), 'reshare.signature');
}

/**
 * A joining device (no share yet) checks a proposal with the identity keys it pinned by
 * authenticating to each dealer (an SAS or a scanned QR): its own entry, and both dealers.
 */
export function checkProposalAsNewMember(proposal: ReshareProposal, self: Member, pinnedDealers: readonly Pick<Member, 'index' | 'identityKey'>[]): void {
  checkProposalShape(proposal);
  if (!sameMember(newMember(proposal, self.index, 'reshare.self'), self)) throw new MpcError('membership_refused', 'reshare.self', 'the proposal names this device differently');
  for (const dealer of proposal.dealers) {
    const pinned = pinnedDealers.find((candidate) => candidate.index === dealer);
    if (!pinned || !equalBytes(pinned.identityKey, oldMember(proposal, dealer, 'reshare.dealers').identityKey)) {
      throw new MpcError('membership_refused', 'reshare.dealers', `dealer ${dealer} is not a device this one authenticated`);
    }
  }
}

/** The members a proposal removes: block their pairs (durably) before anything else. */
export function removedBy(proposal: ReshareProposal): number[] {
  return proposal.oldMembers.filter((old) => !proposal.newMembers.some((member) => member.index === old.index)).map((member) => member.index);
}

// ---- joins and dealing --------------------------------------------------------------------

/** Every recipient (old or new member) joins with a fresh ephemeral key. */
export function joinReshare(proposal: ReshareProposal, self: number, identity: MemberIdentity): { state: RecipientState; message: ReshareJoin } {
  newMember(proposal, self, 'reshare.self');
  const ephemeral = generateEphemeralKey();
  return {
    state: { proposal, self, ephemeral },
    message: { type: 'reshare/join', reshareId: proposal.reshareId, member: self, ephemeralKey: ephemeral.publicKey, signature: signStatement(identity, 'reshare/join', joinDigest(proposal, self, ephemeral.publicKey)) },
  };
}

function checkJoin(proposal: ReshareProposal, join: ReshareJoin, field: string): void {
  if (!equalBytes(join.reshareId, proposal.reshareId)) throw new MpcError('session_mismatch', `${field}.reshareId`, 'a join of another reshare');
  verifyStatement(newMember(proposal, join.member, `${field}.member`).identityKey, join.signature, 'reshare/join', joinDigest(proposal, join.member, join.ephemeralKey), `${field}.signature`);
}

/**
 * A dealer (checked proposal) deals f_d(z) = λ_d·s_d + a_d·z and commits to it. `approvedMembers`:
 * the new member set its user approved on its own screen, each with the identity key it
 * authenticated (an SAS or a scanned QR with each new device) — anything else is refused, so a
 * coordinator can neither swap a new member's key for its own nor add a phantom member.
 */
export function dealerCommit(share: WalletShare, proposal: ReshareProposal, approvedMembers: readonly Member[], identity: MemberIdentity): { state: DealerState; message: DealerCommitment } {
  if (!proposal.dealers.includes(share.self)) throw new MpcError('membership_refused', 'reshare.dealers', 'this member is not a dealer of the proposal');
  if (approvedMembers.length !== proposal.newMembers.length || !proposal.newMembers.every((member) => approvedMembers.some((approved) => sameMember(approved, member)))) {
    throw new MpcError('membership_refused', 'reshare.newMembers', "the proposal's new members differ from those this dealer's user approved");
  }
  const polynomial = dealPolynomial(dealerWeight(proposal, share.self) * share.share);
  return {
    state: { proposal, self: share.self, polynomial, chainCode: share.wallet.chainCode },
    message: {
      type: 'reshare/commitment',
      reshareId: proposal.reshareId,
      dealer: share.self,
      commitment: polynomial.commitment,
      signature: signStatement(identity, 'reshare/commitment', commitmentDigest(proposal, share.self, polynomial.commitment)),
    },
  };
}

function checkCommitment(proposal: ReshareProposal, commitment: DealerCommitment): void {
  const field = `reshare.commitments[${commitment.dealer}]`;
  if (!equalBytes(commitment.reshareId, proposal.reshareId)) throw new MpcError('session_mismatch', `${field}.reshareId`, 'a commitment of another reshare');
  if (!proposal.dealers.includes(commitment.dealer)) throw new MpcError('membership_refused', `${field}.dealer`, 'not a dealer of this reshare');
  verifyStatement(oldMember(proposal, commitment.dealer, field).identityKey, commitment.signature, 'reshare/commitment', commitmentDigest(proposal, commitment.dealer, commitment.commitment), `${field}.signature`);
}

/** Checks every join and both commitments; returns H1. */
function checkedH1(proposal: ReshareProposal, joins: readonly ReshareJoin[], commitments: readonly DealerCommitment[]): Uint8Array {
  joins.forEach((join, k) => checkJoin(proposal, join, `reshare.joins[${k}]`));
  for (const dealer of proposal.dealers) checkCommitment(proposal, commitmentOf(commitments, dealer));
  return reshareH1(proposal, joins, commitments);
}

/** A dealer approves H1 once it saw every join and both commitments. */
export function dealerApprove(state: DealerState, joins: readonly ReshareJoin[], commitments: readonly DealerCommitment[], identity: MemberIdentity): DealerApproval {
  const own = commitmentOf(commitments, state.self);
  if (!own.commitment[0].equals(state.polynomial.commitment[0]) || !own.commitment[1].equals(state.polynomial.commitment[1])) {
    throw new MpcError('dealer_mismatch', `reshare.commitments[${state.self}]`, "the commitment relayed as this dealer's is not its own");
  }
  const h1 = checkedH1(state.proposal, joins, commitments);
  return { type: 'reshare/approval', reshareId: state.proposal.reshareId, dealer: state.self, h1, signature: signStatement(identity, 'reshare/approval', h1) };
}

function checkApprovals(proposal: ReshareProposal, approvals: readonly DealerApproval[], h1: Uint8Array): void {
  for (const dealer of proposal.dealers) {
    const field = `reshare.approvals[${dealer}]`;
    const found = approvals.filter((approval) => approval.dealer === dealer);
    if (found.length !== 1) throw new MpcError('unexpected_message', field, `expected exactly one approval of dealer ${dealer}`);
    const approval = found[0] as DealerApproval;
    if (!equalBytes(approval.h1, h1)) throw new MpcError('dealer_mismatch', field, `dealer ${dealer} approved a different transcript (members, keys or commitments differ)`);
    verifyStatement(oldMember(proposal, dealer, field).identityKey, approval.signature, 'reshare/approval', h1, `${field}.signature`);
  }
}

/**
 * The dealer's sub-shares, one sealed envelope per recipient — only when BOTH dealers approved the
 * very H1 this dealer computes, so a coordinator showing the dealers different proposals, keys or
 * commitments gets nothing.
 */
export function dealerSubShares(state: DealerState, joins: readonly ReshareJoin[], commitments: readonly DealerCommitment[], approvals: readonly DealerApproval[], identity: MemberIdentity): SubShare[] {
  const { proposal } = state;
  const h1 = checkedH1(proposal, joins, commitments);
  checkApprovals(proposal, approvals, h1);
  return proposal.newMembers.map((recipient) => {
    const plaintext = concatBytes(bigIntToBytes(evaluatePolynomial(state.polynomial, recipient.index), SCALAR), state.chainCode);
    const envelope = sealEnvelope(joinOf(joins, recipient.index, 'reshare.joins').ephemeralKey, envelopeAad(h1, state.self, recipient.index), plaintext);
    const unsigned = { reshareId: proposal.reshareId, dealer: state.self, recipient: recipient.index, envelope };
    return { type: 'reshare/subshare', ...unsigned, signature: signStatement(identity, 'reshare/subshare', subShareDigest(unsigned, h1)) };
  });
}

// ---- receiving ----------------------------------------------------------------------------

/**
 * A recipient combines its two sub-shares into its share of the new epoch and computes every
 * new public share. `current`: its share of the old epoch if it has one (it then also checks each
 * dealer's constant against λ_d·S_d, naming the cheater); a new member has none.
 */
export function receiveSubShares(
  state: RecipientState,
  current: WalletShare | null,
  messages: { readonly joins: readonly ReshareJoin[]; readonly commitments: readonly DealerCommitment[]; readonly approvals: readonly DealerApproval[]; readonly subShares: readonly SubShare[] },
): NewSharing {
  const { proposal, self } = state;
  const h1 = checkedH1(proposal, messages.joins, messages.commitments);
  checkApprovals(proposal, messages.approvals, h1);
  if (!equalBytes(joinOf(messages.joins, self, 'reshare.joins').ephemeralKey, state.ephemeral.publicKey)) throw new MpcError('dealer_mismatch', 'reshare.joins', "this member's join was replaced");

  let share = 0n;
  let chainCode: Uint8Array | null = null;
  let constantSum: Point | null = null;
  for (const dealer of proposal.dealers) {
    const field = `reshare.subShares[${dealer}]`;
    const found = messages.subShares.filter((message) => message.dealer === dealer && message.recipient === self);
    if (found.length !== 1) throw new MpcError('unexpected_message', field, `expected exactly one sub-share from dealer ${dealer}`);
    const message = found[0] as SubShare;
    if (!equalBytes(message.reshareId, proposal.reshareId)) throw new MpcError('session_mismatch', `${field}.reshareId`, 'a sub-share of another reshare');
    verifyStatement(oldMember(proposal, dealer, field).identityKey, message.signature, 'reshare/subshare', subShareDigest(message, h1), `${field}.signature`);
    const plaintext = openEnvelope(state.ephemeral, envelopeAad(h1, dealer, self), message.envelope, `${field}.envelope`);
    if (plaintext.length !== 2 * SCALAR) throw new MpcError('malformed', `${field}.envelope`, 'a sealed sub-share is a scalar and a chain code');
    const value = bytesToBigInt(plaintext.subarray(0, SCALAR));
    const dealtChainCode = plaintext.slice(SCALAR);
    const { commitment } = commitmentOf(messages.commitments, dealer);
    if (value === 0n || value >= CURVE_ORDER || !G.multiply(value).equals(evaluateCommitment(commitment, self))) {
      throw new MpcError('dealer_mismatch', field, `dealer ${dealer}'s sub-share does not match its commitment`);
    }
    if (current && !commitment[0].equals(publicShareOf(current.wallet, dealer).multiply(dealerWeight(proposal, dealer)))) {
      throw new MpcError('dealer_mismatch', `reshare.commitments[${dealer}]`, `dealer ${dealer}'s constant is not its weighted public share λ·S`);
    }
    if (chainCode && !equalBytes(chainCode, dealtChainCode)) throw new MpcError('dealer_mismatch', field, 'the dealers sent different chain codes');
    if (current && !equalBytes(current.wallet.chainCode, dealtChainCode)) throw new MpcError('dealer_mismatch', field, `dealer ${dealer} sent another chain code`);
    chainCode = dealtChainCode;
    share = modQ(share + value);
    constantSum = constantSum ? constantSum.add(commitment[0]) : commitment[0];
  }
  if (!constantSum || !constantSum.equals(proposal.publicKey)) throw new MpcError('dealer_mismatch', 'reshare.commitments', "the dealers' constants do not add up to the wallet's public key");
  if (share === 0n) throw new MpcError('out_of_range', 'reshare.share', 'the new share is zero; run the reshare again');

  const [ca, cb] = proposal.dealers.map((dealer) => commitmentOf(messages.commitments, dealer).commitment) as [readonly [Point, Point], readonly [Point, Point]];
  const publicShares = proposal.newMembers.map((member, k) => {
    const point = evaluateCommitment(ca, member.index).add(evaluateCommitment(cb, member.index));
    if (point.is0()) throw new MpcError('dealer_mismatch', `reshare.publicShares[${k}]`, 'a new public share is the identity');
    return point;
  });
  const wallet: WalletPublic = {
    walletId: proposal.walletId,
    publicKey: proposal.publicKey,
    chainCode: chainCode as Uint8Array,
    epoch: proposal.fromEpoch + 1,
    members: proposal.newMembers,
    publicShares,
    taints: proposal.taints,
    nextIndex: proposal.nextIndex,
  };
  return { wallet, self, share, h1 };
}

// ---- confirming and committing ------------------------------------------------------------

/**
 * After every pair setup of the new epoch: the recipient's pending share and its confirmation.
 * The caller stores `pending` (encrypted) BEFORE it sends `message`: once any certificate can
 * exist, this member must be able to switch.
 */
export function confirmReshare(
  sharing: NewSharing,
  current: WalletShare | null,
  setups: { readonly pairs: readonly PairKey[]; readonly summaries: readonly PairSummary[]; readonly acceptedModuli: readonly string[] },
  proposal: ReshareProposal,
  identity: MemberIdentity,
): { pending: PendingReshare; message: ReshareConfirm } {
  const others = sharing.wallet.members.filter((member) => member.index !== sharing.self);
  for (const member of others) {
    if (!setups.pairs.some((pair) => pair.counterpart === member.index)) throw new MpcError('unexpected_message', 'reshare.pairs', `no pair setup with member ${member.index} yet`);
  }
  const expectedPairs = (sharing.wallet.members.length * (sharing.wallet.members.length - 1)) / 2;
  if (setups.summaries.length !== expectedPairs) throw new MpcError('unexpected_message', 'reshare.pairs', `expected the setups of all ${expectedPairs} pairs`);
  const h2 = reshareH2(proposal, sharing.h1, sharing.wallet, setups.summaries);
  const digest = proposalDigest(proposal);
  const next: WalletShare = {
    version: WALLET_SHARE_VERSION,
    wallet: sharing.wallet,
    self: sharing.self,
    share: sharing.share,
    pairs: setups.pairs,
    acceptedModuli: [...new Set([...(current?.acceptedModuli ?? []), ...setups.acceptedModuli])],
    blocked: [],
  };
  return {
    pending: { proposalDigest: digest, h2, next },
    message: { type: 'reshare/confirm', reshareId: proposal.reshareId, member: sharing.self, h2, signature: signStatement(identity, 'reshare/confirm', confirmDigest(digest, h2)) },
  };
}

/** Checks one confirmation against the proposal's new members. */
function checkConfirm(proposal: ReshareProposal, digest: Uint8Array, h2: Uint8Array, confirm: ReshareConfirm, field: string): void {
  if (!equalBytes(confirm.reshareId, proposal.reshareId)) throw new MpcError('session_mismatch', `${field}.reshareId`, 'a confirmation of another reshare');
  if (!equalBytes(confirm.h2, h2)) throw new MpcError('dealer_mismatch', field, `member ${confirm.member} confirmed a different transcript`);
  verifyStatement(newMember(proposal, confirm.member, field).identityKey, confirm.signature, 'reshare/confirm', confirmDigest(digest, h2), `${field}.signature`);
}

/** The commit certificate, once every new member confirmed the same H2. */
export function assembleCertificate(proposal: ReshareProposal, h2: Uint8Array, confirms: readonly ReshareConfirm[]): CommitCertificate {
  const digest = proposalDigest(proposal);
  const chosen = proposal.newMembers.map((member) => {
    const found = confirms.find((confirm) => confirm.member === member.index && equalBytes(confirm.h2, h2));
    if (!found) throw new MpcError('unexpected_message', 'reshare.confirms', `member ${member.index} has not confirmed`);
    checkConfirm(proposal, digest, h2, found, `reshare.confirms[${member.index}]`);
    return found;
  });
  return { reshareId: proposal.reshareId, proposalDigest: digest, h2, confirms: chosen };
}

/** Every new member signed (proposal, H2): the certificate is valid for this proposal. */
export function verifyCertificate(proposal: ReshareProposal, certificate: CommitCertificate): void {
  const digest = proposalDigest(proposal);
  if (!equalBytes(certificate.proposalDigest, digest) || !equalBytes(certificate.reshareId, proposal.reshareId)) throw new MpcError('session_mismatch', 'certificate.proposalDigest', 'a certificate of another reshare');
  if (certificate.confirms.length !== proposal.newMembers.length) throw new MpcError('unexpected_message', 'certificate.confirms', 'not every new member confirmed');
  proposal.newMembers.forEach((member, k) => {
    const confirm = certificate.confirms[k] as ReshareConfirm;
    if (confirm.member !== member.index) throw new MpcError('malformed', `certificate.confirms[${k}]`, 'confirmations must follow the member order');
    checkConfirm(proposal, digest, certificate.h2, confirm, `certificate.confirms[${k}]`);
  });
}

/** The commit point: the pending share becomes the member's share; the caller deletes the old one. */
export function commitReshare(pending: PendingReshare, proposal: ReshareProposal, certificate: CommitCertificate): WalletShare {
  verifyCertificate(proposal, certificate);
  if (!equalBytes(certificate.h2, pending.h2) || !equalBytes(pending.proposalDigest, certificate.proposalDigest)) throw new MpcError('dealer_mismatch', 'certificate.h2', 'the certificate is for another outcome than this member computed');
  return pending.next;
}

/**
 * A removed member checks the notice that tells it to delete its share: the proposal is signed by
 * a current member, removes it, and every member it knows that stays confirmed the outcome. A notice
 * without such a certificate is refused, so nobody can talk a user into wiping a valid share.
 */
export function checkRemovalNotice(share: WalletShare, proposal: ReshareProposal, certificate: CommitCertificate): void {
  checkProposal(share, proposal);
  if (proposal.newMembers.some((member) => member.index === share.self)) throw new MpcError('membership_refused', 'notice.proposal', 'this member is not removed by the proposal');
  verifyCertificate(proposal, certificate);
  for (const member of share.wallet.members) {
    const staying = proposal.newMembers.find((candidate) => candidate.index === member.index);
    if (staying && !sameMember(staying, member)) throw new MpcError('membership_refused', 'notice.proposal', `member ${member.index} changed identity`);
  }
}

export function deletionReceipt(reshareId: Uint8Array, member: number, deletedEpoch: number, identity: MemberIdentity): DeletionReceipt {
  return { type: 'reshare/deleted', reshareId, member, deletedEpoch, signature: signStatement(identity, 'reshare/deleted', deletionDigest(reshareId, member, deletedEpoch)) };
}

/** A member of the new epoch (or a removed one, listed in the old) confirms it deleted its old share. */
export function checkDeletionReceipt(proposal: ReshareProposal, receipt: DeletionReceipt): void {
  const field = `reshare.deleted[${receipt.member}]`;
  if (!equalBytes(receipt.reshareId, proposal.reshareId) || receipt.deletedEpoch !== proposal.fromEpoch) throw new MpcError('session_mismatch', field, 'a receipt of another reshare or epoch');
  verifyStatement(oldMember(proposal, receipt.member, field).identityKey, receipt.signature, 'reshare/deleted', deletionDigest(receipt.reshareId, receipt.member, receipt.deletedEpoch), `${field}.signature`);
}
