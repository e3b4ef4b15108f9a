/**
 * One member's side of a reshare over the channels: the rounds of src/mpc/reshare.ts and
 * pair-setup.ts driven by the messages that arrive, in whatever order, from whichever member.
 *
 *   coordinator     propose()                 → "reshare" proposal to all
 *   every member    on the proposal: check it; a removal blocks the removed member's pairs
 *                   (stored first); a dealer asks its user to approve the member set, then commits;
 *                   a recipient joins
 *   dealers         on every join + both commitments → approval; on both approvals → sub-shares
 *   recipients      on its two sub-shares → its new share; as P1 of a pair → "pair-setup" to all;
 *                   as P2 → checks it; with every pair set up → stores the pending share, then confirms
 *   anyone          on every confirmation → the certificate: commit (stored), "reshare-certificate"
 *                   to all, a deletion receipt; a removed member deletes on a valid notice
 *
 * Crash at any step: the caller keeps only what `storePending` and `commit` stored. Before the
 * certificate every member still has its old epoch, which signs; a member restarted with a pending
 * share asks for the certificate (`resume`); a reshare that lost its round states is run again by the
 * coordinator with a new id (the old one dies with its ephemeral keys).
 */
import type { MemberIdentity } from '../mpc/member-signature.ts';
import { decodePairSetupMsg, encodePairSetupMsg, p1PairSetup, p2PairAccept, pairSummary, type PairSetupMsg, type PairSummary } from '../mpc/pair-setup.ts';
import {
  assembleCertificate,
  checkDeletionReceipt,
  checkProposal,
  checkProposalAsNewMember,
  checkRemovalNotice,
  commitReshare,
  confirmReshare,
  dealerApprove,
  dealerCommit,
  dealerSubShares,
  deletionReceipt,
  joinReshare,
  proposeReshare,
  receiveSubShares,
  removedBy,
  type CommitCertificate,
  type DealerApproval,
  type DealerCommitment,
  type DealerState,
  type NewSharing,
  type PendingReshare,
  type RecipientState,
  type ReshareConfirm,
  type ReshareJoin,
  type ReshareProposal,
  type ReshareRequest,
  type SubShare,
} from '../mpc/reshare.ts';
import { decodeCertificate, decodeReshareMessage, encodeCertificate, encodeReshareMessage, type ReshareMessage } from '../mpc/reshare-messages.ts';
import { equalBytes } from '../mpc/bytes.ts';
import { hexFromBytes } from '../mpc/wire.ts';
import { pairRoles, type Member, type PairKey, type WalletShare } from '../mpc/wallet-share.ts';
import type { PreparedPaillierKey } from '../mpc/zk/paillier-modulus.ts';

/** What members send each other during a reshare (inside the encrypted channels). */
export type ReshareWire =
  | { readonly t: 'reshare'; readonly body: unknown }
  | { readonly t: 'pair-setup'; readonly body: unknown }
  | { readonly t: 'reshare-certificate'; readonly proposal: unknown; readonly certificate: unknown }
  | { readonly t: 'reshare-status'; readonly reshareId: string };

export type ReshareEvent =
  | { readonly kind: 'proposal'; readonly proposal: ReshareProposal }
  | { readonly kind: 'step'; readonly step: 'joined' | 'dealt' | 'received' | 'paired' | 'confirmed' }
  | { readonly kind: 'committed'; readonly share: WalletShare }
  | { readonly kind: 'removed' }
  | { readonly kind: 'deleted'; readonly member: number }
  | { readonly kind: 'failed'; readonly error: Error };

export interface ReshareParticipantOptions {
  readonly identity: MemberIdentity;
  /** This member's current share; null for a device that joins. */
  readonly share: WalletShare | null;
  /** A joining device: how the proposal must name it, and the dealers it authenticated. */
  readonly joining?: { readonly self: Member; readonly pinnedDealers: readonly Pick<Member, 'index' | 'identityKey'>[] };
  /** `to`: a member index, or every other member of the proposal. */
  readonly send: (to: number | 'all', message: ReshareWire) => void;
  /** A dealer's user approves the new member set (with fingerprints) on its own screen; null refuses. */
  readonly approveMembers: (proposal: ReshareProposal) => Promise<readonly Member[] | null>;
  /** A Paillier key and its proof from the idle-time pool, for each pair this member is P1 of. */
  readonly preparedKey: () => Promise<PreparedPaillierKey>;
  /** Stores (encrypted) the pairs this member is removing as blocked; awaited before anything else. */
  readonly block: (share: WalletShare) => Promise<void>;
  /** Stores the pending share of the new epoch; awaited before the confirmation is sent. */
  readonly storePending: (pending: PendingReshare, proposal: ReshareProposal) => Promise<void>;
  /** The commit point: stores the new share and deletes the old one (and the pending one). */
  readonly commit: (next: WalletShare, proposal: ReshareProposal, certificate: CommitCertificate) => Promise<void>;
  /** A removed member deletes its share (after a valid notice). */
  readonly remove: (proposal: ReshareProposal, certificate: CommitCertificate) => Promise<void>;
  readonly onEvent: (event: ReshareEvent) => void;
  /** The last reshare this member committed (stored with its share): sent to a member that asks. */
  readonly lastReshare?: { readonly proposal: ReshareProposal; readonly certificate: CommitCertificate };
}

interface Round {
  readonly proposal: ReshareProposal;
  recipient: RecipientState | null;
  dealer: DealerState | null;
  readonly joins: Map<number, ReshareJoin>;
  readonly commitments: Map<number, DealerCommitment>;
  readonly approvals: Map<number, DealerApproval>;
  readonly subShares: SubShare[];
  approved: boolean;
  dealtSubShares: boolean;
  sharing: NewSharing | null;
  readonly setups: Map<string, PairSetupMsg>;
  readonly pairs: PairKey[];
  readonly acceptedModuli: string[];
  settingUp: boolean;
  pending: PendingReshare | null;
  readonly confirms: Map<number, ReshareConfirm>;
  finished: boolean;
}

const pairKeyOf = (p1: number, p2: number) => `${p1}/${p2}`;
/** Messages kept for a reshare whose proposal has not arrived (every message of a 16-member reshare fits). */
const MAX_EARLY_MESSAGES = 256;

export class ReshareParticipant {
  private readonly options: ReshareParticipantOptions;
  private share: WalletShare | null;
  private round: Round | null = null;
  private lastReshare: { readonly proposal: ReshareProposal; readonly certificate: CommitCertificate } | null;

  constructor(options: ReshareParticipantOptions) {
    this.options = options;
    this.share = options.share;
    this.lastReshare = options.lastReshare ?? null;
  }

  get self(): number {
    return this.share?.self ?? (this.options.joining?.self.index as number);
  }

  /** The coordinator starts a reshare. */
  propose(request: ReshareRequest): ReshareProposal {
    if (!this.share) throw new Error('only a current member proposes a reshare');
    const proposal = proposeReshare(this.share, request, this.options.identity);
    this.options.send('all', { t: 'reshare', body: encodeReshareMessage(proposal) });
    void this.onProposal(proposal);
    return proposal;
  }

  /** After a restart with a pending share: ask the others for the certificate. */
  resume(pending: PendingReshare, proposal: ReshareProposal): void {
    this.round = this.newRound(proposal);
    this.round.pending = pending;
    this.options.send('all', { t: 'reshare-status', reshareId: hexFromBytes(proposal.reshareId) });
  }

  async handle(message: ReshareWire, from: number): Promise<void> {
    try {
      if (message.t === 'reshare') await this.onReshareMessage(decodeReshareMessage(message.body), from, message);
      else if (message.t === 'pair-setup') await this.onPairSetup(decodePairSetupMsg(message.body), from, message);
      else if (message.t === 'reshare-certificate') await this.onCertificate(decodeReshareMessage(message.proposal) as ReshareProposal, decodeCertificate(message.certificate));
      else if (message.t === 'reshare-status') this.answerStatus(message.reshareId, from);
    } catch (error) {
      this.options.onEvent({ kind: 'failed', error: error instanceof Error ? error : new Error('reshare failed') });
    }
  }

  private newRound(proposal: ReshareProposal): Round {
    return {
      proposal,
      recipient: null,
      dealer: null,
      joins: new Map(),
      commitments: new Map(),
      approvals: new Map(),
      subShares: [],
      approved: false,
      dealtSubShares: false,
      sharing: null,
      setups: new Map(),
      pairs: [],
      acceptedModuli: [],
      settingUp: false,
      pending: null,
      confirms: new Map(),
      finished: false,
    };
  }

  private current(reshareId: Uint8Array): Round | null {
    return this.round && equalBytes(this.round.proposal.reshareId, reshareId) ? this.round : null;
  }

  /**
   * Messages of a reshare whose proposal has not arrived yet (the relay does not order messages
   * of different senders): kept, a few, and handled right after their proposal.
   */
  private early: { readonly reshareId: string; readonly message: ReshareWire; readonly from: number }[] = [];

  private holdEarly(reshareId: Uint8Array, message: ReshareWire, from: number): void {
    if (this.round && equalBytes(this.round.proposal.reshareId, reshareId)) return;
    this.early = [...this.early.slice(-(MAX_EARLY_MESSAGES - 1)), { reshareId: hexFromBytes(reshareId), message, from }];
  }

  private async replayEarly(reshareId: Uint8Array): Promise<void> {
    const id = hexFromBytes(reshareId);
    const due = this.early.filter((entry) => entry.reshareId === id);
    this.early = this.early.filter((entry) => entry.reshareId !== id);
    for (const entry of due) await this.handle(entry.message, entry.from);
  }

  private async onReshareMessage(message: ReshareMessage, from: number, wire: ReshareWire): Promise<void> {
    if (message.type === 'reshare/proposal') return this.onProposal(message);
    const round = this.current(message.reshareId);
    if (!round && message.type !== 'reshare/deleted') return this.holdEarly(message.reshareId, wire, from);
    if (round && message.type === 'reshare/deleted') {
      checkDeletionReceipt(round.proposal, message);
      return this.options.onEvent({ kind: 'deleted', member: message.member });
    }
    if (!round || round.finished) return;
    switch (message.type) {
      case 'reshare/join':
        if (message.member === from || from === round.proposal.coordinator) round.joins.set(message.member, message);
        break;
      case 'reshare/commitment':
        round.commitments.set(message.dealer, message);
        break;
      case 'reshare/approval':
        round.approvals.set(message.dealer, message);
        break;
      case 'reshare/subshare':
        if (message.recipient === this.self && !round.subShares.some((known) => known.dealer === message.dealer)) round.subShares.push(message);
        break;
      case 'reshare/confirm':
        round.confirms.set(message.member, message);
        break;
    }
    await this.advance(round);
  }

  private async onProposal(proposal: ReshareProposal): Promise<void> {
    if (this.round && equalBytes(this.round.proposal.reshareId, proposal.reshareId)) return;
    if (this.share) checkProposal(this.share, proposal);
    else if (this.options.joining) checkProposalAsNewMember(proposal, this.options.joining.self, this.options.joining.pinnedDealers);
    else throw new Error('a device without a share joins only as a named new member');
    const round = this.newRound(proposal);
    this.round = round;
    this.options.onEvent({ kind: 'proposal', proposal });
    const removed = removedBy(proposal);
    if (this.share && removed.length > 0 && !removed.includes(this.share.self)) {
      // From the moment the removal begins no pair with a removed member signs, also after a restart.
      this.share = { ...this.share, blocked: [...new Set([...this.share.blocked, ...removed])] };
      await this.options.block(this.share);
    }
    if (this.share && proposal.dealers.includes(this.share.self)) {
      const approved = await this.options.approveMembers(proposal);
      if (!approved) throw new Error('the user did not approve the new member set');
      const dealt = dealerCommit(this.share, proposal, approved, this.options.identity);
      round.dealer = dealt.state;
      round.commitments.set(this.share.self, dealt.message);
      this.options.send('all', { t: 'reshare', body: encodeReshareMessage(dealt.message) });
      this.options.onEvent({ kind: 'step', step: 'dealt' });
    }
    if (proposal.newMembers.some((member) => member.index === this.self)) {
      const joined = joinReshare(proposal, this.self, this.options.identity);
      round.recipient = joined.state;
      round.joins.set(this.self, joined.message);
      this.options.send('all', { t: 'reshare', body: encodeReshareMessage(joined.message) });
      this.options.onEvent({ kind: 'step', step: 'joined' });
    }
    await this.advance(round);
    await this.replayEarly(proposal.reshareId);
  }

  /** Takes every step the messages so far allow; each step runs once. */
  private async advance(round: Round): Promise<void> {
    const { proposal } = round;
    const allJoined = proposal.newMembers.every((member) => round.joins.has(member.index));
    const bothCommitted = proposal.dealers.every((dealer) => round.commitments.has(dealer));
    const joins = [...round.joins.values()];
    const commitments = [...round.commitments.values()];
    if (round.dealer && allJoined && bothCommitted && !round.approved) {
      round.approved = true;
      const approval = dealerApprove(round.dealer, joins, commitments, this.options.identity);
      round.approvals.set(approval.dealer, approval);
      this.options.send('all', { t: 'reshare', body: encodeReshareMessage(approval) });
    }
    const bothApproved = proposal.dealers.every((dealer) => round.approvals.has(dealer));
    const approvals = [...round.approvals.values()];
    if (round.dealer && bothApproved && !round.dealtSubShares) {
      round.dealtSubShares = true;
      for (const subShare of dealerSubShares(round.dealer, joins, commitments, approvals, this.options.identity)) {
        if (subShare.recipient === this.self) round.subShares.push(subShare);
        else this.options.send(subShare.recipient, { t: 'reshare', body: encodeReshareMessage(subShare) });
      }
      round.dealer = null;
    }
    if (round.recipient && !round.sharing && bothApproved && round.subShares.length === 2) {
      round.sharing = receiveSubShares(round.recipient, this.share, { joins, commitments, approvals, subShares: round.subShares });
      this.options.onEvent({ kind: 'step', step: 'received' });
      await this.setUpPairs(round);
    }
    await this.acceptPairs(round);
    await this.confirmIfReady(round);
    this.certifyIfReady(round);
  }

  /** As P1 of a pair: one setup per pair, each with its own pooled key. */
  private async setUpPairs(round: Round): Promise<void> {
    const sharing = round.sharing as NewSharing;
    round.settingUp = true;
    for (const member of sharing.wallet.members) {
      if (member.index === this.self) continue;
      const me = sharing.wallet.members.find((candidate) => candidate.index === this.self) as Member;
      if (pairRoles(me, member).p1.index !== this.self) continue;
      const setup = p1PairSetup({ sessionId: round.proposal.reshareId, wallet: sharing.wallet, self: this.self, share: sharing.share, counterpart: member.index }, await this.options.preparedKey());
      round.pairs.push(setup.pair);
      round.setups.set(pairKeyOf(this.self, member.index), setup.message);
      this.options.send('all', { t: 'pair-setup', body: encodePairSetupMsg(setup.message) });
    }
    round.settingUp = false;
  }

  private async onPairSetup(message: PairSetupMsg, from: number, wire: ReshareWire): Promise<void> {
    const round = this.current(message.sessionId);
    if (!round) return this.holdEarly(message.sessionId, wire, from);
    if (round.finished) return;
    if (!round.setups.has(pairKeyOf(message.p1, message.p2))) round.setups.set(pairKeyOf(message.p1, message.p2), message);
    await this.advance(round);
  }

  /** As P2: checks each setup addressed to it, once the new public shares are known. */
  private async acceptPairs(round: Round): Promise<void> {
    const sharing = round.sharing;
    if (!sharing) return;
    for (const message of round.setups.values()) {
      if (message.p2 !== this.self || round.pairs.some((pair) => pair.counterpart === message.p1)) continue;
      const accepted = p2PairAccept({ sessionId: round.proposal.reshareId, wallet: sharing.wallet, self: this.self, acceptedModuli: [...(this.share?.acceptedModuli ?? []), ...round.acceptedModuli] }, message);
      round.pairs.push(accepted.pair);
      round.acceptedModuli.push(accepted.modulusHash);
    }
  }

  private async confirmIfReady(round: Round): Promise<void> {
    const sharing = round.sharing;
    const members = round.proposal.newMembers.length;
    if (!sharing || round.pending || round.settingUp || round.setups.size !== (members * (members - 1)) / 2 || round.pairs.length !== members - 1) return;
    const summaries: PairSummary[] = [...round.setups.values()].map(pairSummary);
    const confirmed = confirmReshare(sharing, this.share, { pairs: round.pairs, summaries, acceptedModuli: round.acceptedModuli }, round.proposal, this.options.identity);
    round.pending = confirmed.pending;
    await this.options.storePending(confirmed.pending, round.proposal);
    round.confirms.set(this.self, confirmed.message);
    this.options.send('all', { t: 'reshare', body: encodeReshareMessage(confirmed.message) });
    this.options.onEvent({ kind: 'step', step: 'confirmed' });
  }

  private certifyIfReady(round: Round): void {
    const pending = round.pending;
    if (!pending || round.finished || !round.proposal.newMembers.every((member) => round.confirms.has(member.index))) return;
    const certificate = assembleCertificate(round.proposal, pending.h2, [...round.confirms.values()]);
    void this.onCertificate(round.proposal, certificate);
  }

  private async onCertificate(proposal: ReshareProposal, certificate: CommitCertificate): Promise<void> {
    const round = this.round && equalBytes(this.round.proposal.reshareId, proposal.reshareId) ? this.round : null;
    if (round?.finished) return;
    if (round?.pending) {
      const next = commitReshare(round.pending, proposal, certificate);
      round.finished = true;
      await this.options.commit(next, proposal, certificate);
      this.share = next;
      this.lastReshare = { proposal, certificate };
      this.options.send('all', { t: 'reshare-certificate', proposal: encodeReshareMessage(proposal), certificate: encodeCertificate(certificate) });
      // A member of the old epoch deleted its old share (the caller's commit did): it says so.
      if (proposal.oldMembers.some((member) => member.index === this.self)) {
        this.options.send('all', { t: 'reshare', body: encodeReshareMessage(deletionReceipt(proposal.reshareId, this.self, proposal.fromEpoch, this.options.identity)) });
      }
      this.options.onEvent({ kind: 'committed', share: next });
      return;
    }
    if (this.share && !proposal.newMembers.some((member) => member.index === this.share?.self)) {
      checkRemovalNotice(this.share, proposal, certificate);
      if (round) round.finished = true;
      await this.options.remove(proposal, certificate);
      this.options.send('all', { t: 'reshare', body: encodeReshareMessage(deletionReceipt(proposal.reshareId, this.share.self, proposal.fromEpoch, this.options.identity)) });
      this.share = null;
      this.options.onEvent({ kind: 'removed' });
    }
  }

  /** A restarted member asks about a reshare: answer with the certificate if this member committed it. */
  private answerStatus(reshareId: string, from: number): void {
    const last = this.lastReshare;
    if (!last || hexFromBytes(last.proposal.reshareId) !== reshareId) return;
    this.options.send(from, { t: 'reshare-certificate', proposal: encodeReshareMessage(last.proposal), certificate: encodeCertificate(last.certificate) });
  }
}
