/**
 * One device's membership of a {2,n} wallet, over its channels to the other members: the same code
 * runs in the extension, the phone app and Node test devices (the Guard has its own driver on the
 * same engine). It owns the session protocol of member-messages.ts:
 *
 * - reshares (reshare-participant.ts) for every membership change, with the user's approval on
 *   each dealer, the durable block of removed members, the pending share stored before the
 *   confirmation, the commit, deletion receipts, and the removal notice a removed member gets
 *   whenever it shows up again (it deletes its share only after its user confirms);
 * - adding a device: the coordinator introduces the newcomer to every member; the newcomer opens a
 *   channel with each (its offers, passed on by the coordinator); each dealer and the newcomer
 *   compare a code on both screens (introduction.ts) before the dealer's user approves the new
 *   member set, and the newcomer takes part only with dealers whose code its user confirmed;
 * - adding the Duet Guard: no introduction (the Guard does not speak introduction.ts); each dealer
 *   authenticated the Guard when it enrolled with it (docs/guard.md, "In the apps") and takes it as a
 *   candidate only over its own channel with exactly that key, then its user approves the member set;
 * - pair keys outside a reshare (a migrated pair has none; a P2 that lost its key asks again; a
 *   request that crossed the P1's setup of the same session gets that setup again, not a second key);
 * - taint notices, proofs of share health, history entries and the settings record;
 * - envelopes (member-envelope.ts) through a member linked to both when two members have no
 *   channel of their own.
 *
 * The app gives it its channels (MemberLinks) and its storage (MemberStore), and renders `view()`.
 * Everything stored is stored before anything that depends on it is sent.
 */
import type { MemberIdentity } from '../mpc/member-signature.ts';
import { equalBytes } from '../mpc/bytes.ts';
import { decodePairSetupMsg, encodePairSetupMsg, modulusHash, p1PairSetup, p2PairAccept } from '../mpc/pair-setup.ts';
import { randomBytes } from '../mpc/random.ts';
import { decodeCertificate, decodeReshareMessage, encodeCertificate, encodeReshareMessage } from '../mpc/reshare-messages.ts';
import { checkDeletionReceipt, commitReshare, deletionReceipt, removedBy, type CommitCertificate, type DeletionReceipt, type ReshareProposal } from '../mpc/reshare.ts';
import { acceptTaintNotice, decodeTaintNotice, encodeTaintNotice, taintNotice } from '../mpc/taint-notice.ts';
import { failuresOf, memberId, pairRoles, sameMember, type Member, type MemberRole, type PairKey, type WalletShare } from '../mpc/wallet-share.ts';
import { bytesFromHex, hexFromBytes } from '../mpc/wire.ts';
import type { PreparedPaillierKey } from '../mpc/zk/paillier-modulus.ts';
import { DealerIntroduction, NewcomerIntroduction, type IntroMessage } from './introduction.ts';
import { openMemberEnvelope, sealMemberEnvelope } from './member-envelope.ts';
import { MAX_DEVICE_NAME, parseMemberMessage, RESHARE_MESSAGE_TYPES, type HistoryEntryWire, type MemberCard, type MemberMessage } from './member-messages.ts';
import type { CommittedReshare, DirectoryEntry, JoiningState, PendingRecord, RemovalRecord } from './member-records.ts';
import { ReshareParticipant, type ReshareEvent, type ReshareWire } from './reshare-participant.ts';
import { SessionError } from './session-error.ts';
import { checkShareHealth, proveShareHealth } from './share-health.ts';

/** The channels of this device to the other members, by their identity key (hex). */
export interface MemberLinks {
  /** Sends over the channel with `peer`; false when there is no paired channel with it. */
  send(peer: string, message: unknown): boolean;
  /** A newcomer: a pairing link for its channel with `peer`; the channel counts once that member proved its identity. */
  offer(peer: MemberCard): Promise<string>;
  /** Answers a newcomer's offer; the channel counts once its peer proved the identity `expected` (else it is dropped). */
  answer(link: string, expected: MemberCard): Promise<void>;
  /** Whether a paired channel with `peer` exists. */
  linked(peer: string): boolean;
  /** Ends the channel with `peer` for good (relay RETIRE) and forgets its pinned identity. */
  retire(peer: string): Promise<void>;
}

/** What a member stores; `write` stores all the given records together (null deletes). */
export interface MemberRecords {
  share?: WalletShare | null;
  pending?: PendingRecord | null;
  last?: CommittedReshare | null;
  joining?: JoiningState | null;
  removal?: RemovalRecord | null;
  directory?: readonly DirectoryEntry[];
  /** The change this device coordinates (resumable after a restart). */
  change?: ChangeProgress | null;
  /** Member sets this device's user approved as a dealer, until the next commit. */
  approvals?: readonly ApprovedSet[];
}

/** A member set (identity keys) a dealer's user approved, with the newcomers it brings in. */
export interface ApprovedSet {
  readonly keys: readonly string[];
  readonly newcomers: readonly MemberCard[];
}

export interface MemberStore {
  write(records: MemberRecords): Promise<void>;
}

export interface MemberState {
  readonly share: WalletShare | null;
  readonly pending: PendingRecord | null;
  readonly last: CommittedReshare | null;
  readonly joining: JoiningState | null;
  readonly removal: RemovalRecord | null;
  readonly directory: readonly DirectoryEntry[];
  readonly change?: ChangeProgress | null;
  readonly approvals?: readonly ApprovedSet[];
}

export type Decision =
  /** A dealer: add this device? Its code is on both screens; `members` is the wallet afterwards. */
  | { readonly id: string; readonly kind: 'candidate'; readonly candidate: MemberCard; readonly sas: string; readonly members: readonly MemberCard[]; readonly removed: readonly MemberCard[] }
  /** A dealer: add the Duet Guard this device is linked to (it checked the Guard's code itself)? */
  | { readonly id: string; readonly kind: 'guard'; readonly candidate: MemberCard; readonly members: readonly MemberCard[]; readonly removed: readonly MemberCard[] }
  /** A newcomer: does this dealer show the same code? */
  | { readonly id: string; readonly kind: 'dealer-code'; readonly dealer: MemberCard; readonly sas: string }
  /** A dealer: run this membership change (a removal, a refresh)? */
  | { readonly id: string; readonly kind: 'reshare'; readonly coordinator: MemberCard; readonly added: readonly MemberCard[]; readonly removed: readonly MemberCard[]; readonly members: readonly MemberCard[] }
  /** This device was removed: delete its old share? */
  | { readonly id: string; readonly kind: 'removed'; readonly members: readonly MemberCard[] };

export type ChangeStep = 'waiting-device' | 'linking' | 'verifying' | 'proposed' | 'joined' | 'dealt' | 'received' | 'paired' | 'confirmed' | 'committed' | 'failed';

/** A membership change this device coordinates (or, as `joining`, takes part in as the newcomer). */
export interface ChangeProgress {
  readonly candidate: MemberCard | null;
  /** Identity keys of the members it removes. */
  readonly remove: readonly string[];
  readonly dealers: readonly string[];
  /** Dealers whose users approved the newcomer (this device's own approval included). */
  readonly verified: readonly string[];
  /** The newcomer checked the code of every dealer. */
  readonly ready: boolean;
  readonly step: ChangeStep;
  readonly error: string | null;
}

export interface WalletMemberView {
  readonly share: WalletShare | null;
  readonly directory: readonly DirectoryEntry[];
  readonly decisions: readonly Decision[];
  /** The change this device coordinates. */
  readonly change: ChangeProgress | null;
  /** The newcomer's progress (a device that is joining). */
  readonly joining: (JoiningState & { readonly step: ChangeStep; readonly error: string | null }) | null;
  /** The reshare this device takes part in now, as any member. */
  readonly reshare: { readonly id: string; readonly step: ChangeStep; readonly error: string | null } | null;
  readonly last: CommittedReshare | null;
  /** This device was removed (a valid notice came): it no longer signs. */
  readonly removal: RemovalRecord | null;
  /** Unix ms of the last proof of each member's share (identity key hex → time). */
  readonly health: Readonly<Record<string, number>>;
}

export interface WalletMemberOptions {
  readonly identity: MemberIdentity;
  readonly role: MemberRole;
  readonly name: string;
  readonly state: MemberState;
  readonly links: MemberLinks;
  readonly store: MemberStore;
  /** A Paillier key and its proof from the idle-time pool, for each pair this member is P1 of. */
  readonly preparedKey: () => Promise<PreparedPaillierKey>;
  readonly now: () => number;
  readonly onChange: () => void;
  /** A history entry from another member (a signature it made, a membership change). */
  readonly onHistory?: (entry: HistoryEntryWire, from: string) => void;
  /** The settings record another member sent (settings-record.ts checks it). */
  readonly onSettings?: (record: unknown, from: string) => void;
}

const MAX_HELD = 256;
const MAX_SEEN_ENVELOPES = 4096;
/** A P1 sets up at most this many pair keys for one P2 in one epoch (a P2 asking in a loop gets no more). */
const MAX_PAIR_RENEWALS = 8;

const keyOf = (member: Pick<Member, 'identityKey'>): string => memberId(member);
const sameKeys = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

function message(error: unknown): string {
  return error instanceof Error ? error.message : 'the membership change failed';
}

export class WalletMember {
  private readonly options: WalletMemberOptions;
  private share: WalletShare | null;
  private pending: PendingRecord | null;
  private last: CommittedReshare | null;
  private joining: JoiningState | null;
  private removal: RemovalRecord | null;
  private directory: DirectoryEntry[];
  private participant: ReshareParticipant | null = null;
  /** The proposal of the reshare in progress (from its proposal event to its end). */
  private active: ReshareProposal | null = null;
  private reshareStep: { id: string; step: ChangeStep; error: string | null } | null = null;
  private change: ChangeProgress | null = null;
  private joiningStep: { step: ChangeStep; error: string | null } = { step: 'linking', error: null };
  private readonly decisions = new Map<string, { decision: Decision; resolve: (yes: boolean | null) => void }>();
  /** Member sets (identity keys) this device's user approved, with the newcomers' roles. */
  private approvedSets: ApprovedSet[];
  /** Newcomers introduced to this member by the coordinator (dealer or not), by key. */
  private readonly candidates = new Map<string, { card: MemberCard; coordinator: string; dealer: boolean; members: readonly MemberCard[] }>();
  private readonly dealerIntros = new Map<string, DealerIntroduction>();
  private readonly newcomerIntros = new Map<string, NewcomerIntroduction>();
  private readonly introStarted = new Set<string>();
  private earlyReceipts: DeletionReceipt[] = [];
  /** Reshare messages of a newcomer that came before the proposal naming it. */
  private held: { from: string; wire: ReshareWire }[] = [];
  private readonly seenEnvelopes = new Set<string>();
  /** Pair keys set up outside a reshare, per counterpart, in this run (epoch:index → count). */
  private readonly renewals = new Map<string, number>();
  /** The pair setup sent to each P2 (by key) in the current session with it, not yet sent again. */
  private readonly lastSetups = new Map<string, { epoch: number; modulusHash: string; message: object }>();
  private readonly health = new Map<string, number>();
  private readonly queue: { current: Promise<void> } = { current: Promise.resolve() };

  constructor(options: WalletMemberOptions) {
    this.options = options;
    this.share = options.state.share;
    this.pending = options.state.pending;
    this.last = options.state.last;
    this.joining = options.state.joining;
    this.removal = options.state.removal;
    this.directory = [...options.state.directory];
    this.approvedSets = [...(options.state.approvals ?? [])];
    // A change this device was coordinating when it stopped: its round is gone; the user runs it again.
    const change = options.state.change ?? null;
    this.setChange(change && change.step !== 'committed' && change.step !== 'failed' ? { ...change, step: 'failed', error: 'Interrupted before it finished. Nothing changed: run it again.' } : change);
    if (change?.candidate) this.candidates.set(change.candidate.identityKey, { card: change.candidate, coordinator: this.self, dealer: true, members: [] });
  }

  get self(): string {
    return hexFromBytes(this.options.identity.publicKey);
  }

  get currentShare(): WalletShare | null {
    return this.removal ? null : this.share;
  }

  view(): WalletMemberView {
    return {
      share: this.currentShare,
      directory: this.directory,
      decisions: [...this.decisions.values()].map((entry) => entry.decision),
      change: this.change,
      joining: this.joining && !this.share ? { ...this.joining, ...this.joiningStep } : null,
      reshare: this.reshareStep,
      last: this.last,
      removal: this.removal,
      health: Object.fromEntries(this.health),
    };
  }

  private changed(): void {
    this.options.onChange();
  }

  /** The name and role other devices know a member by (its entry in the directory). */
  card(key: string, fallbackRole: MemberRole = 'phone'): MemberCard {
    const entry = this.directory.find((candidate) => candidate.identityKey === key) ?? this.candidates.get(key)?.card;
    if (key === this.self) return { identityKey: key, role: this.options.role, name: this.options.name };
    return entry ? { identityKey: key, role: entry.role, name: entry.name } : { identityKey: key, role: fallbackRole, name: fallbackRole === 'extension' ? 'Browser' : fallbackRole === 'guard' ? 'Duet Guard' : 'Phone' };
  }

  private cardOf(member: Member): MemberCard {
    return this.card(keyOf(member), member.role);
  }

  /** Runs state changes one at a time (messages arrive from several channels at once). */
  private serial(task: () => Promise<void>): Promise<void> {
    const run = this.queue.current.then(task).catch((error: unknown) => this.fail(error));
    this.queue.current = run;
    return run;
  }

  private fail(error: unknown): void {
    const text = message(error);
    if (this.reshareStep) this.reshareStep = { ...this.reshareStep, error: text };
    if (this.change && this.change.step !== 'committed') this.setChange({ ...this.change, error: text });
    this.changed();
  }

  /** The coordinated change's progress, kept (in order with every other write) for a restart. */
  private setChange(change: ChangeProgress | null): void {
    this.change = change;
    void this.write({ change }).catch(() => undefined);
  }

  private async approve(set: ApprovedSet): Promise<void> {
    const approvals = [...this.approvedSets, set];
    await this.write({ approvals });
    this.approvedSets = approvals;
  }

  private async write(records: MemberRecords): Promise<void> {
    await this.options.store.write(records);
  }

  private async setShare(share: WalletShare | null, extra: MemberRecords = {}): Promise<void> {
    await this.write({ share, ...extra });
    this.share = share;
    // A participant holds a copy of the share: the next reshare starts from this one.
    if (!this.active) this.participant = null;
    this.changed();
  }

  // ---- members and routing -------------------------------------------------------------------

  /** Every member the current share or the reshare in progress knows, by identity key. */
  private knownMembers(): Member[] {
    const members = [...(this.share?.wallet.members ?? []), ...(this.active?.oldMembers ?? []), ...(this.active?.newMembers ?? []), ...(this.last?.proposal.oldMembers ?? [])];
    return members.filter((member, k) => members.findIndex((other) => keyOf(other) === keyOf(member)) === k);
  }

  private keyOfIndex(index: number): string | null {
    const proposalMembers = [...(this.active?.oldMembers ?? []), ...(this.active?.newMembers ?? []), ...(this.removal?.proposal.oldMembers ?? [])];
    const member = proposalMembers.find((candidate) => candidate.index === index) ?? this.share?.wallet.members.find((candidate) => candidate.index === index);
    return member ? keyOf(member) : null;
  }

  private indexOfKey(key: string): number | null {
    const member = [...(this.active?.newMembers ?? []), ...(this.active?.oldMembers ?? []), ...(this.share?.wallet.members ?? [])].find((candidate) => keyOf(candidate) === key);
    return member?.index ?? null;
  }

  /** To one member: its channel, or else an envelope through a member linked to both. */
  private deliver(to: string, payload: unknown): void {
    if (to === this.self || this.options.links.send(to, payload)) return;
    const hubs = [this.active ? this.keyOfIndex(this.active.coordinator) : null, this.joining?.coordinator ?? null, ...this.knownMembers().map(keyOf)].filter((key): key is string => key !== null && key !== to && key !== this.self);
    const envelope = sealMemberEnvelope(this.options.identity, bytesFromHex(to), payload, this.options.now());
    for (const hub of new Set(hubs)) if (this.options.links.send(hub, { t: 'forward', envelope })) return;
  }

  private sendReshare(to: number | 'all', wire: ReshareWire): void {
    // The coordinator's proposal goes out before its own participant reports it: route by it already.
    if (wire.t === 'reshare' && (wire.body as { type?: unknown }).type === 'reshare/proposal') this.active = decodeReshareMessage(wire.body) as ReshareProposal;
    if (to !== 'all') {
      const key = this.keyOfIndex(to);
      if (key) this.deliver(key, wire);
      return;
    }
    const members = new Set([...(this.active?.oldMembers ?? []), ...(this.active?.newMembers ?? []), ...(this.share?.wallet.members ?? []), ...(this.removal?.proposal.newMembers ?? [])].map(keyOf));
    for (const key of members) if (key !== this.self) this.deliver(key, wire);
  }

  private broadcast(payload: unknown): void {
    for (const member of this.share?.wallet.members ?? []) if (keyOf(member) !== this.self) this.deliver(keyOf(member), payload);
  }

  // ---- incoming --------------------------------------------------------------------------------

  /** A message over the channel with `from` (its pinned identity key, hex). Never throws. */
  receive(from: string, raw: unknown): Promise<void> {
    const parsed = parseMemberMessage(raw);
    if (!parsed) return Promise.resolve();
    return this.serial(() => this.handle(from, parsed, false));
  }

  private async handle(from: string, message: MemberMessage, viaEnvelope: boolean): Promise<void> {
    if (this.removal && message.t !== 'reshare-certificate') return;
    // The reshare driver takes messages in any order and waits for users itself: not in this queue.
    if ((RESHARE_MESSAGE_TYPES as readonly string[]).includes(message.t)) return this.onReshare(from, message as ReshareWire);
    switch (message.t) {
      case 'forward':
        return this.onForward(from, message.envelope);
      case 'forwarded':
        if (viaEnvelope) return;
        return this.onForwarded(message.envelope);
      case 'pair-renew':
        return this.onPairRenew(from, message.body);
      case 'pair-request':
        return this.onPairRequest(from, message.epoch, message.have);
      case 'taint':
        return this.onTaint(message.notice);
      case 'health':
        return this.onHealth(from, message);
      case 'history':
        if (this.isMember(from)) this.options.onHistory?.(message.entry, from);
        return;
      case 'settings':
        if (this.isMember(from) || this.joining?.coordinator === from) this.options.onSettings?.(message.record, from);
        return;
      case 'hello':
        return this.onHello(from, { identityKey: from, role: message.role, name: message.name });
      case 'members':
        return this.onMembers(from, message.members, message.dealers, message.coordinator);
      case 'link-offer':
        return this.onLinkOffer(from, message.to, message.link);
      case 'introduce':
        return this.onIntroduce(from, message.candidate, message.link, message.dealer, message.members);
      case 'intro':
        return this.onIntro(from, message);
      case 'candidate-verified':
        return this.onCandidateVerified(from, message.identityKey, message.approved);
      case 'join-ready':
        return this.onJoinReady(from);
    }
  }

  private isMember(key: string): boolean {
    return this.share?.wallet.members.some((member) => keyOf(member) === key) ?? false;
  }

  /** A member passes an envelope on to a member it has a channel with; both must be known to it. */
  private async onForward(from: string, envelope: { from: string; to: string }): Promise<void> {
    const known = new Set([...this.knownMembers().map(keyOf), ...this.candidates.keys(), ...(this.change?.candidate ? [this.change.candidate.identityKey] : [])]);
    if (envelope.from !== from || !known.has(envelope.to) || !known.has(from)) return;
    this.options.links.send(envelope.to, { t: 'forwarded', envelope });
  }

  private async onForwarded(envelope: Parameters<typeof openMemberEnvelope>[2]): Promise<void> {
    const known = new Set([...this.knownMembers().map(keyOf), ...this.candidates.keys(), ...(this.joining ? [this.joining.coordinator, ...this.joining.members.map((card) => card.identityKey)] : [])]);
    if (!known.has(envelope.from)) return;
    if (this.seenEnvelopes.size >= MAX_SEEN_ENVELOPES) this.seenEnvelopes.clear();
    const inner = parseMemberMessage(openMemberEnvelope(this.options.identity, bytesFromHex(envelope.from), envelope, this.options.now(), this.seenEnvelopes));
    if (inner) await this.handle(envelope.from, inner, true);
  }

  /** A channel to `peer` came online (a new session): what it may have missed, and pair keys. */
  peerOnline(peer: string): Promise<void> {
    return this.serial(async () => {
      this.lastSetups.delete(peer);
      const removed = this.last && removedBy(this.last.proposal).some((index) => this.last?.proposal.oldMembers.some((member) => member.index === index && keyOf(member) === peer));
      if (removed && this.last && !this.last.receipts.includes(peer)) {
        this.options.links.send(peer, { t: 'reshare-certificate', proposal: encodeReshareMessage(this.last.proposal), certificate: encodeCertificate(this.last.certificate) });
        return;
      }
      if (this.pending) this.options.links.send(peer, { t: 'reshare-status', reshareId: hexFromBytes(this.pending.proposal.reshareId) });
      if (this.share && this.isMember(peer) && !this.removal) {
        this.options.links.send(peer, proveShareHealth(this.share, this.options.now()));
        await this.checkPair(peer);
      }
    });
  }

  // ---- reshares --------------------------------------------------------------------------------

  private ensureParticipant(proposal: ReshareProposal | null = null): ReshareParticipant | null {
    if (this.participant) return this.participant;
    let joining: { self: Member; pinnedDealers: { index: number; identityKey: Uint8Array }[] } | undefined;
    if (!this.share) {
      const self = proposal?.newMembers.find((member) => keyOf(member) === this.self);
      if (!proposal || !self || !this.joining) return null;
      const pinned = proposal.oldMembers.filter((member) => this.joining?.pinned.includes(keyOf(member)));
      joining = { self, pinnedDealers: pinned.map((member) => ({ index: member.index, identityKey: member.identityKey })) };
    }
    this.participant = new ReshareParticipant({
      identity: this.options.identity,
      share: this.share,
      ...(joining ? { joining } : {}),
      ...(this.last ? { lastReshare: { proposal: this.last.proposal, certificate: this.last.certificate } } : {}),
      send: (to, wire) => this.sendReshare(to, wire),
      approveMembers: (next) => this.approveMembers(next),
      preparedKey: this.options.preparedKey,
      block: (next) => this.setShare(next),
      storePending: async (pending, next) => {
        const record = { pending, proposal: next };
        await this.write({ pending: record });
        this.pending = record;
      },
      commit: (next, committed, certificate) => this.commit(next, committed, certificate),
      remove: (removedIn, certificate) => this.removed(removedIn, certificate),
      onEvent: (event) => this.onReshareEvent(event),
    });
    return this.participant;
  }

  private async onReshare(from: string, wire: ReshareWire): Promise<void> {
    const raw = wire.t === 'reshare' ? wire.body : null;
    const body = raw as { type?: unknown } | null;
    // Deletion receipts come after the commit, when no round is left: this member checks them.
    if (body?.type === 'reshare/deleted') return this.onReceipt(decodeReshareMessage(raw) as DeletionReceipt);
    // A member the running round removes takes no part in it (its receipt is handled above): a
    // stolen device cannot stop its own removal with a malformed message.
    const sender = this.indexOfKey(from);
    if (this.active && sender !== null && removedBy(this.active).includes(sender)) return;
    if (this.certifiesStoredPending(wire)) {
      // The round whose share this member stored was committed elsewhere while this member ran
      // another (a retry after a restart, refused by whoever committed): it takes that round up again.
      const pending = this.pending as PendingRecord;
      this.endRound();
      this.active = pending.proposal;
      this.ensureParticipant(pending.proposal)?.resume(pending.pending, pending.proposal);
    }
    if (!this.share && !this.removal) {
      // A newcomer: its participant exists once the proposal naming it arrives.
      if (!this.participant && body?.type === 'reshare/proposal') {
        const proposal = decodeReshareMessage(raw) as ReshareProposal;
        const coordinator = proposal.oldMembers.find((member) => member.index === proposal.coordinator);
        if (!this.joining || !coordinator || keyOf(coordinator) !== this.joining.coordinator) return;
        this.active = proposal;
        this.ensureParticipant(proposal);
      }
      const participant = this.participant;
      if (!participant) {
        this.held = [...this.held.slice(-(MAX_HELD - 1)), { from, wire }];
        return;
      }
      const held = [{ from, wire }, ...this.held];
      this.held = [];
      void (async () => {
        for (const entry of held) await participant.handle(entry.wire, this.indexOfKey(entry.from) ?? 0);
      })();
      return;
    }
    const index = this.indexOfKey(from);
    if (index !== null) void this.ensureParticipant()?.handle(wire, index);
  }

  /** A certificate for the stored pending share's round, while the running round is another one. */
  private certifiesStoredPending(wire: ReshareWire): boolean {
    const pending = this.pending;
    if (wire.t !== 'reshare-certificate' || !pending || (this.active && equalBytes(this.active.reshareId, pending.proposal.reshareId))) return false;
    try {
      const proposal = decodeReshareMessage(wire.proposal);
      if (proposal.type !== 'reshare/proposal' || !equalBytes(proposal.reshareId, pending.proposal.reshareId)) return false;
      // Only a certificate that commits the stored share ends the running round (commitReshare is pure).
      commitReshare(pending.pending, proposal, decodeCertificate(wire.certificate));
      return true;
    } catch {
      return false;
    }
  }

  private onReshareEvent(event: ReshareEvent): void {
    switch (event.kind) {
      case 'proposal': {
        this.active = event.proposal;
        const id = hexFromBytes(event.proposal.reshareId);
        this.reshareStep = { id, step: 'proposed', error: null };
        if (this.change) this.setChange({ ...this.change, step: 'proposed', error: null });
        break;
      }
      case 'step':
        if (this.reshareStep) this.reshareStep = { ...this.reshareStep, step: event.step };
        if (this.change) this.setChange({ ...this.change, step: event.step });
        if (!this.share) this.joiningStep = { step: event.step, error: null };
        break;
      case 'failed':
        if (this.reshareStep) this.reshareStep = { ...this.reshareStep, step: 'failed', error: event.error.message };
        if (this.change) this.setChange({ ...this.change, step: 'failed', error: event.error.message });
        if (!this.share) this.joiningStep = { step: 'failed', error: event.error.message };
        this.endRound();
        break;
      case 'deleted':
      case 'committed':
      case 'removed':
        break;
    }
    this.changed();
  }

  private endRound(): void {
    this.active = null;
    this.participant = null;
  }

  /** A dealer's user approves the member set: at once if it approved exactly this set, else asked now. */
  private approveMembers(proposal: ReshareProposal): Promise<readonly Member[] | null> {
    const keys = proposal.newMembers.map(keyOf);
    const current = this.share?.wallet.members ?? [];
    const newcomers = proposal.newMembers.filter((member) => !current.some((old) => old.index === member.index));
    const kept = proposal.newMembers.filter((member) => current.some((old) => sameMember(old, member)));
    if (kept.length + newcomers.length !== proposal.newMembers.length) return Promise.resolve(null);
    const approved = this.approvedSets.find((set) => sameKeys(set.keys, keys) && newcomers.every((member) => set.newcomers.some((card) => card.identityKey === keyOf(member) && card.role === member.role)));
    if (approved) return Promise.resolve(proposal.newMembers);
    // A newcomer this device never authenticated cannot be approved on a prompt alone.
    if (newcomers.length > 0) return Promise.resolve(null);
    const coordinator = current.find((member) => member.index === proposal.coordinator);
    const decision: Decision = {
      id: hexFromBytes(proposal.reshareId),
      kind: 'reshare',
      coordinator: coordinator ? this.cardOf(coordinator) : this.card(''),
      added: [],
      removed: current.filter((member) => !keys.includes(keyOf(member))).map((member) => this.cardOf(member)),
      members: proposal.newMembers.map((member) => this.cardOf(member)),
    };
    return this.ask(decision).then((yes) => (yes === true ? proposal.newMembers : null));
  }

  /** Shows a question; resolves with the answer, or null when a newer question of the same id replaced it. */
  private ask(decision: Decision): Promise<boolean | null> {
    return new Promise((resolve) => {
      this.decisions.get(decision.id)?.resolve(null);
      this.decisions.set(decision.id, { decision, resolve });
      this.changed();
    });
  }

  /** The user's answer to a decision on screen. */
  decide(id: string, yes: boolean): void {
    const entry = this.decisions.get(id);
    if (!entry) return;
    this.decisions.delete(id);
    entry.resolve(yes);
    this.changed();
  }

  private async commit(next: WalletShare, proposal: ReshareProposal, certificate: CommitCertificate): Promise<void> {
    // This write deletes this member's old share: its own receipt counts at once.
    const receipts = proposal.oldMembers.some((member) => keyOf(member) === this.self) ? [this.self] : [];
    const last: CommittedReshare = { proposal, certificate, receipts, at: this.options.now() };
    const staying = new Set(next.wallet.members.map(keyOf));
    const directory = this.directory.filter((entry) => staying.has(entry.identityKey) || removedBy(proposal).some((index) => proposal.oldMembers.some((member) => member.index === index && keyOf(member) === entry.identityKey)));
    for (const member of next.wallet.members) {
      if (!directory.some((entry) => entry.identityKey === keyOf(member))) directory.push({ ...this.cardOf(member), addedAt: this.options.now() });
    }
    // The new share, the end of the old one and of the pending one, in one write.
    await this.write({ share: next, pending: null, last, joining: null, directory, approvals: [] });
    this.share = next;
    this.pending = null;
    this.last = last;
    this.joining = null;
    this.directory = directory;
    this.reshareStep = this.reshareStep ? { ...this.reshareStep, step: 'committed', error: null } : null;
    if (this.change) this.setChange({ ...this.change, step: 'committed', error: null });
    this.joiningStep = { step: 'committed', error: null };
    this.approvedSets = [];
    this.endRound();
    this.changed();
    // The others' proofs were of the old shares: each member proves its new one at once.
    this.proveHealth();
    // A removed member learns it now if it is online (else when it next shows up: peerOnline).
    for (const index of removedBy(proposal)) {
      const removed = proposal.oldMembers.find((member) => member.index === index);
      if (removed) this.options.links.send(keyOf(removed), { t: 'reshare-certificate', proposal: encodeReshareMessage(proposal), certificate: encodeCertificate(certificate) });
    }
    const early = this.earlyReceipts;
    this.earlyReceipts = [];
    for (const receipt of early) void this.serial(() => this.onReceipt(receipt));
  }

  /**
   * A valid removal notice: from now on this device does not sign (stored at once); it deletes its
   * old share once its user confirms, then the participant sends the deletion receipt.
   */
  private async removed(proposal: ReshareProposal, certificate: CommitCertificate): Promise<void> {
    const id = `removed/${hexFromBytes(proposal.reshareId)}`;
    // Every member that sees this device tells it: one question on screen is enough.
    if (this.decisions.has(id)) throw new SessionError('not_ready', 'the user is already asked to delete the old share');
    const removal = { proposal, certificate };
    await this.write({ removal });
    this.removal = removal;
    this.endRound();
    this.changed();
    if ((await this.ask({ id, kind: 'removed', members: proposal.newMembers.map((member) => this.cardOf(member)) })) !== true) throw new SessionError('refused', 'the old share stays until the user confirms');
    await this.write({ share: null, pending: null, last: null });
    this.share = null;
    this.changed();
  }

  /** After a restart with a stored notice and the old share still there: ask again, then delete and confirm. */
  private async wipeAfterConfirm(): Promise<void> {
    const removal = this.removal;
    const index = removal?.proposal.oldMembers.find((member) => keyOf(member) === this.self)?.index;
    if (!removal || !this.share || index === undefined) return;
    await this.removed(removal.proposal, removal.certificate);
    const receipt = deletionReceipt(removal.proposal.reshareId, index, removal.proposal.fromEpoch, this.options.identity);
    for (const member of removal.proposal.newMembers) this.deliver(keyOf(member), { t: 'reshare', body: encodeReshareMessage(receipt) });
  }

  /** Call once the channels are opened (after an unlock). */
  start(): void {
    if (this.removal && this.share) void this.wipeAfterConfirm();
    else if (this.pending) this.ensureParticipant(this.pending.proposal)?.resume(this.pending.pending, this.pending.proposal);
  }

  private async onReceipt(receipt: DeletionReceipt): Promise<void> {
    const last = this.last;
    const id = hexFromBytes(receipt.reshareId);
    // A member that committed before this one: its receipt waits for this member's commit.
    if (this.active && hexFromBytes(this.active.reshareId) === id) {
      this.earlyReceipts = [...this.earlyReceipts.slice(-(MAX_HELD - 1)), receipt];
      return;
    }
    if (!last || hexFromBytes(last.proposal.reshareId) !== id) return;
    checkDeletionReceipt(last.proposal, receipt);
    const member = last.proposal.oldMembers.find((candidate) => candidate.index === receipt.member) as Member;
    if (last.receipts.includes(keyOf(member))) return;
    const next = { ...last, receipts: [...last.receipts, keyOf(member)] };
    await this.write({ last: next });
    this.last = next;
    // A removed member confirmed: its channel ends for good, and its pinned identity goes.
    if (removedBy(last.proposal).includes(receipt.member)) await this.forgetMember(keyOf(member));
    this.changed();
  }

  private async forgetMember(key: string): Promise<void> {
    await this.options.links.retire(key).catch(() => undefined);
    const directory = this.directory.filter((entry) => entry.identityKey !== key);
    await this.write({ directory });
    this.directory = directory;
  }

  /** Ends the channels of removed members now, without waiting for their receipts (a stolen device). */
  async cutOffRemoved(): Promise<void> {
    const last = this.last;
    if (!last) return;
    for (const index of removedBy(last.proposal)) {
      const member = last.proposal.oldMembers.find((candidate) => candidate.index === index);
      if (member) await this.forgetMember(keyOf(member));
    }
    this.changed();
  }

  /** Whether every member that stays confirmed deleting its old share (the removal is complete). */
  removalComplete(): boolean {
    const last = this.last;
    if (!last) return true;
    const staying = last.proposal.newMembers.filter((member) => last.proposal.oldMembers.some((old) => old.index === member.index));
    return staying.every((member) => last.receipts.includes(keyOf(member)));
  }

  // ---- coordinating a change -----------------------------------------------------------------

  /**
   * Starts a membership change coordinated by this device: `remove` members (identity keys), and
   * with `candidate` the newcomer whose channel with this device its user just confirmed by the
   * pairing code (its hello names its role and name). `dealer`: the other dealer's key.
   */
  startChange(plan: { readonly remove: readonly string[]; readonly dealer: string; readonly candidate?: string; readonly candidateCard?: MemberCard }): Promise<void> {
    return this.serial(async () => {
      const share = this.requireShare();
      // A candidate whose hello came before a restart (a recovery at the Guard waits 48 h): its card kept by the app.
      if (plan.candidateCard && plan.candidateCard.identityKey === plan.candidate && !this.candidates.has(plan.candidate)) this.candidates.set(plan.candidate, { card: plan.candidateCard, coordinator: this.self, dealer: true, members: [] });
      for (const key of [...plan.remove, plan.dealer]) if (!this.isMember(key)) throw new SessionError('not_member', 'that device is not a member of this wallet');
      if (plan.remove.includes(plan.dealer) || plan.remove.includes(this.self)) throw new SessionError('refused', 'a dealer cannot be removed by its own reshare');
      const candidate = plan.candidate ? this.candidateCard(plan.candidate) : null;
      // A Guard dealer compares no code: its gate is the recovery a device opened at it with the
      // user's code, for exactly this member set (docs/guard.md, "Recovery"); it refuses anything else.
      const verified = this.isGuardMember(plan.dealer) ? [this.self, plan.dealer] : [this.self];
      this.setChange({ candidate, remove: [...plan.remove], dealers: [this.self, plan.dealer], verified, ready: false, step: candidate ? 'waiting-device' : 'proposed', error: null });
      const remaining = share.wallet.members.filter((member) => !plan.remove.includes(keyOf(member)));
      await this.approve({ keys: [...remaining.map(keyOf), ...(candidate ? [candidate.identityKey] : [])], newcomers: candidate ? [candidate] : [] });
      this.changed();
      if (candidate && this.candidates.has(candidate.identityKey)) await this.sendMembers(candidate.identityKey);
      if (!candidate) this.propose();
    });
  }

  /**
   * Starts adding the Duet Guard `guard` (its identity key, pinned by this device's own enrolment)
   * with `dealer` as the second dealer, which must be enrolled with that Guard too. Nothing to
   * compare: each dealer's user approves the member set on its own screen, then this device proposes.
   */
  async addGuard(plan: { readonly guard: string; readonly dealer: string }): Promise<void> {
    // Checked before anything changes, and said to the caller (the Devices page shows it).
    this.requireShare();
    if (!this.isMember(plan.dealer) || plan.dealer === this.self) throw new SessionError('not_member', 'the second dealer must be another member of this wallet');
    if (this.isMember(plan.guard)) throw new SessionError('refused', 'this Guard is a member already');
    if (!this.options.links.linked(plan.guard)) throw new SessionError('not_ready', 'link this device to the Guard first (its URL and code)');
    return this.serial(async () => {
      const share = this.requireShare();
      const candidate: MemberCard = { identityKey: plan.guard, role: 'guard', name: this.card(plan.guard, 'guard').name };
      this.candidates.set(plan.guard, { card: candidate, coordinator: this.self, dealer: true, members: [] });
      // The Guard pins its dealers by its own links: it has no introduction to finish (ready).
      this.setChange({ candidate, remove: [], dealers: [this.self, plan.dealer], verified: [this.self], ready: true, step: 'verifying', error: null });
      const members = [...share.wallet.members.map((member) => this.cardOf(member)), candidate];
      await this.approve({ keys: members.map((card) => card.identityKey), newcomers: [candidate] });
      this.introduceGuard();
      this.changed();
    });
  }

  private introduceGuard(): void {
    const change = this.change;
    const share = this.share;
    if (!change?.candidate || !share) return;
    const members = [...share.wallet.members.map((member) => this.cardOf(member)), change.candidate];
    for (const dealer of change.dealers) if (dealer !== this.self) this.options.links.send(dealer, { t: 'introduce', candidate: change.candidate, link: '', dealer: true, members });
  }

  /** Runs the change again (a new reshare id) after a failure or an interrupted round. */
  retryChange(): Promise<void> {
    return this.serial(async () => {
      const change = this.change;
      if (!change) return;
      this.endRound();
      this.setChange({ ...change, error: null });
      if (!change.candidate || (change.ready && change.dealers.every((dealer) => change.verified.includes(dealer)))) this.propose();
      else if (change.candidate.role === 'guard') {
        this.setChange({ ...change, step: 'verifying', error: null });
        this.introduceGuard();
      }
      else if (this.candidates.has(change.candidate.identityKey)) await this.sendMembers(change.candidate.identityKey);
    });
  }

  cancelChange(): void {
    this.setChange(null);
    this.changed();
  }

  private requireShare(): WalletShare {
    if (!this.share || this.removal) throw new SessionError('not_member', 'this device holds no share of the wallet');
    return this.share;
  }

  /** The newcomer said who it is (right after its pairing with this device). */
  private async onHello(from: string, said: MemberCard): Promise<void> {
    if (!this.share || this.isMember(from)) return;
    // Two devices called "Phone" are "Phone" and "Phone 2" on every device of the wallet.
    const taken = new Set(this.directory.map((entry) => entry.name));
    let name = said.name;
    for (let n = 2; taken.has(name); n++) name = `${said.name.slice(0, MAX_DEVICE_NAME - 3)} ${n}`;
    const card = { ...said, name };
    this.candidates.set(from, { card, coordinator: this.self, dealer: true, members: [] });
    const change = this.change;
    if (change?.candidate?.identityKey === from) {
      this.setChange({ ...change, candidate: card });
      this.approvedSets = this.approvedSets.map((set) => ({ ...set, newcomers: set.newcomers.map((newcomer) => (newcomer.identityKey === from ? card : newcomer)) }));
      await this.sendMembers(from);
    }
    this.changed();
  }

  private async sendMembers(candidate: string): Promise<void> {
    const share = this.requireShare();
    const change = this.change;
    if (!change) return;
    const remaining = share.wallet.members.filter((member) => !change.remove.includes(keyOf(member)));
    this.setChange({ ...change, step: 'linking' });
    this.options.links.send(candidate, { t: 'members', members: remaining.map((member) => this.cardOf(member)), dealers: change.dealers, coordinator: this.self });
    this.changed();
  }

  /** The newcomer's offer for its channel with another member: passed on with the introduction. */
  private async onLinkOffer(from: string, to: string, link: string): Promise<void> {
    const change = this.change;
    const share = this.share;
    if (!change || !share || change.candidate?.identityKey !== from || !this.isMember(to) || change.remove.includes(to)) return;
    // The Guard speaks no introduction: the newcomer linked to it by its own device code.
    if (this.isGuardMember(to)) return;
    const remaining = share.wallet.members.filter((member) => !change.remove.includes(keyOf(member)));
    this.options.links.send(to, { t: 'introduce', candidate: change.candidate, link, dealer: change.dealers.includes(to), members: [...remaining.map((member) => this.cardOf(member)), change.candidate] });
    this.setChange({ ...change, step: 'verifying' });
    this.changed();
  }

  private async onCandidateVerified(from: string, key: string, approved: boolean): Promise<void> {
    const change = this.change;
    if (!change || change.candidate?.identityKey !== key || !change.dealers.includes(from)) return;
    if (!approved) {
      this.setChange({ ...change, step: 'failed', error: `${this.card(from).name} refused to add ${change.candidate.role === 'guard' ? 'the Guard' : 'this device'}.` });
      return this.changed();
    }
    this.setChange({ ...change, verified: [...new Set([...change.verified, from])] });
    this.proposeWhenReady();
  }

  private async onJoinReady(from: string): Promise<void> {
    const change = this.change;
    if (!change || change.candidate?.identityKey !== from) return;
    this.setChange({ ...change, ready: true });
    this.proposeWhenReady();
  }

  private proposeWhenReady(): void {
    const change = this.change;
    if (change && change.ready && change.dealers.every((dealer) => change.verified.includes(dealer)) && (change.step === 'verifying' || change.step === 'linking')) this.propose();
    this.changed();
  }

  private propose(): void {
    const change = this.change as ChangeProgress;
    const participant = this.ensureParticipant() as ReshareParticipant;
    participant.propose(this.plannedReshare({ remove: change.remove, dealer: change.dealers[1] as string, ...(change.candidate ? { candidate: change.candidate.identityKey } : {}) }));
  }

  /**
   * The members and dealers of the reshare a change coordinated by this device would propose now
   * (what a recovery at the Guard must name exactly before the change starts).
   */
  plannedReshare(plan: { readonly remove: readonly string[]; readonly dealer: string; readonly candidate?: string }): { readonly newMembers: Member[]; readonly dealers: [number, number] } {
    const share = this.requireShare();
    const index = (key: string) => share.wallet.members.find((member) => keyOf(member) === key)?.index as number;
    const remaining = share.wallet.members.filter((member) => !plan.remove.includes(keyOf(member)));
    const candidate = plan.candidate ? this.candidateCard(plan.candidate) : null;
    const newcomer: Member[] = candidate ? [{ index: share.wallet.nextIndex, identityKey: bytesFromHex(candidate.identityKey), role: candidate.role, joinedEpoch: share.wallet.epoch + 1 }] : [];
    return { newMembers: [...remaining, ...newcomer], dealers: [index(this.self), index(plan.dealer)] };
  }

  private candidateCard(key: string): MemberCard {
    return this.candidates.get(key)?.card ?? { identityKey: key, role: 'phone', name: 'New device' };
  }

  private isGuardMember(key: string): boolean {
    return this.share?.wallet.members.some((member) => member.role === 'guard' && keyOf(member) === key) ?? false;
  }

  // ---- joining (the newcomer) ------------------------------------------------------------------

  /** A newcomer right after its pairing with the coordinator (whose code its user confirmed). */
  beginJoining(coordinator: string): Promise<void> {
    return this.serial(async () => {
      const joining: JoiningState = { coordinator, members: [], dealers: [], pinned: [coordinator] };
      await this.write({ joining });
      this.joining = joining;
      this.joiningStep = { step: 'linking', error: null };
      this.options.links.send(coordinator, { t: 'hello', role: this.options.role, name: this.options.name });
      this.changed();
    });
  }

  private async onMembers(from: string, members: readonly MemberCard[], dealers: readonly string[], coordinator: string): Promise<void> {
    const joining = this.joining;
    if (!joining || this.share || from !== joining.coordinator || coordinator !== from || !dealers.includes(from)) return;
    const next: JoiningState = { ...joining, members: [...members], dealers: [...dealers] };
    await this.write({ joining: next, directory: members.map((card) => ({ ...card, addedAt: this.options.now() })) });
    this.joining = next;
    this.directory = members.map((card) => ({ ...card, addedAt: this.options.now() }));
    for (const member of members) {
      if (member.identityKey === from || member.identityKey === this.self) continue;
      // The Guard: no offer (it answers none) — this device links to it by the device code it
      // compared itself, and pins it as a dealer only over that channel (docs/guard.md, "Recovery").
      if (member.role === 'guard') continue;
      // An empty link: this device already has a channel with that member (a change run again).
      const link = this.options.links.linked(member.identityKey) ? '' : await this.options.links.offer(member);
      this.options.links.send(from, { t: 'link-offer', to: member.identityKey, link });
    }
    const guards = members.filter((card) => card.role === 'guard' && dealers.includes(card.identityKey) && this.options.links.linked(card.identityKey));
    if (guards.length > 0) {
      const pinned = { ...next, pinned: [...new Set([...next.pinned, ...guards.map((card) => card.identityKey)])] };
      await this.write({ joining: pinned });
      this.joining = pinned;
    }
    this.reportReady();
    this.changed();
  }

  private reportReady(): void {
    const joining = this.joining;
    if (joining && joining.dealers.length > 0 && joining.dealers.every((dealer) => joining.pinned.includes(dealer))) this.options.links.send(joining.coordinator, { t: 'join-ready' });
  }

  private async onIntro(from: string, intro: IntroMessage): Promise<void> {
    const dealerSide = this.dealerIntros.get(from);
    const candidate = this.candidates.get(from);
    if (dealerSide && candidate) {
      const { sas, reply } = dealerSide.receive(intro);
      this.options.links.send(from, reply);
      const members = candidate.members;
      const removed = (this.share?.wallet.members ?? []).filter((member) => !members.some((card) => card.identityKey === keyOf(member))).map((member) => this.cardOf(member));
      // The user decides on its own time; other messages go on meanwhile.
      void this.ask({ id: `candidate/${from}`, kind: 'candidate', candidate: candidate.card, sas, members, removed }).then((yes) =>
        yes === null ? undefined : this.serial(async () => {
          if (yes) await this.approve({ keys: members.map((card) => card.identityKey), newcomers: [candidate.card] });
          this.options.links.send(candidate.coordinator, { t: 'candidate-verified', identityKey: from, approved: yes });
        }),
      );
      return;
    }
    const joining = this.joining;
    if (!joining || !joining.dealers.includes(from)) return;
    // A new commitment starts a new comparison (a change run again): the dealer's user compares again.
    const newcomer = intro.step === 'commit' ? new NewcomerIntroduction(this.options.identity.publicKey, bytesFromHex(from)) : this.newcomerIntros.get(from);
    if (!newcomer) return;
    this.newcomerIntros.set(from, newcomer);
    const step = newcomer.receive(intro);
    if ('reply' in step) {
      this.options.links.send(from, step.reply);
      return;
    }
    this.newcomerIntros.delete(from);
    const dealer = joining.members.find((card) => card.identityKey === from) ?? this.card(from);
    void this.ask({ id: `dealer/${from}`, kind: 'dealer-code', dealer, sas: step.sas }).then((yes) => (yes === null ? undefined : this.serial(() => this.dealerChecked(from, dealer, yes))));
  }

  private async dealerChecked(dealerKey: string, dealer: MemberCard, yes: boolean): Promise<void> {
    const joining = this.joining;
    if (!joining) return;
    if (!yes) {
      this.joiningStep = { step: 'failed', error: `The codes on this device and ${dealer.name} did not match: joining stopped.` };
      return this.changed();
    }
    const next = { ...joining, pinned: [...new Set([...joining.pinned, dealerKey])] };
    await this.write({ joining: next });
    this.joining = next;
    this.reportReady();
    this.changed();
  }

  /** A member: the coordinator brings in a newcomer; answer its offer, and as a dealer compare codes. */
  private async onIntroduce(from: string, candidate: MemberCard, link: string, dealer: boolean, members: readonly MemberCard[]): Promise<void> {
    if (!this.isMember(from) || this.isMember(candidate.identityKey) || candidate.identityKey === this.self) return;
    this.candidates.set(candidate.identityKey, { card: candidate, coordinator: from, dealer, members });
    if (candidate.role === 'guard') {
      if (dealer) await this.onGuardCandidate(from, candidate, members);
      return;
    }
    if (link && !this.options.links.linked(candidate.identityKey)) await this.options.links.answer(link, candidate);
    if (!dealer) return;
    if (this.approvedAlready(candidate, members)) {
      // Its user approved exactly this already (a change run again): no second comparison.
      this.options.links.send(from, { t: 'candidate-verified', identityKey: candidate.identityKey, approved: true });
      return;
    }
    this.dealerIntros.set(candidate.identityKey, new DealerIntroduction(this.options.identity.publicKey, bytesFromHex(candidate.identityKey)));
    this.introStarted.delete(candidate.identityKey);
    if (this.options.links.linked(candidate.identityKey)) this.candidateLinked(candidate.identityKey);
  }

  private approvedAlready(candidate: MemberCard, members: readonly MemberCard[]): boolean {
    const keys = members.map((card) => card.identityKey);
    return this.approvedSets.some((set) => sameKeys(set.keys, keys) && set.newcomers.some((card) => card.identityKey === candidate.identityKey && card.role === candidate.role));
  }

  /**
   * A dealer: the coordinator proposes to add a Duet Guard. Only a Guard this device enrolled with
   * itself (its own channel with exactly that key, authenticated by the Guard's code) can be
   * approved, and only by its user, on this screen.
   */
  private async onGuardCandidate(coordinator: string, candidate: MemberCard, members: readonly MemberCard[]): Promise<void> {
    const verdict = (approved: boolean) => this.options.links.send(coordinator, { t: 'candidate-verified', identityKey: candidate.identityKey, approved });
    if (!this.options.links.linked(candidate.identityKey)) return void verdict(false);
    if (this.approvedAlready(candidate, members)) return void verdict(true);
    const removed = (this.share?.wallet.members ?? []).filter((member) => !members.some((card) => card.identityKey === keyOf(member))).map((member) => this.cardOf(member));
    void this.ask({ id: `guard/${candidate.identityKey}`, kind: 'guard', candidate, members, removed }).then((yes) =>
      yes === null ? undefined : this.serial(async () => {
        if (yes) await this.approve({ keys: members.map((card) => card.identityKey), newcomers: [candidate] });
        verdict(yes);
      }),
    );
  }

  /** The channel with a newcomer is paired and its identity checked (the app calls this): a dealer starts comparing codes. */
  candidateLinked(key: string): void {
    const intro = this.dealerIntros.get(key);
    if (!intro || intro.sas !== null || this.introStarted.has(key)) return;
    if (this.options.links.send(key, intro.start())) this.introStarted.add(key);
  }

  // ---- pair keys -------------------------------------------------------------------------------

  private async checkPair(peer: string): Promise<void> {
    const share = this.share;
    const me = share?.wallet.members.find((member) => member.index === share.self);
    const other = share?.wallet.members.find((member) => keyOf(member) === peer);
    if (!share || !me || !other || share.blocked.includes(other.index) || failuresOf(share.wallet, other) > 0) return;
    const pair = share.pairs.find((candidate) => candidate.counterpart === other.index);
    if (pairRoles(me, other).p1.index === me.index) {
      if (!pair) await this.renewPair(other);
    } else if (!pair) {
      this.options.links.send(peer, { t: 'pair-request', epoch: share.wallet.epoch, have: null });
    }
  }

  private async onPairRequest(from: string, epoch: number, have: string | null): Promise<void> {
    const share = this.share;
    const other = share?.wallet.members.find((member) => keyOf(member) === from);
    if (!share || !other || epoch !== share.wallet.epoch) return;
    const pair = share.pairs.find((candidate) => candidate.counterpart === other.index);
    const held = pair?.role === 'P1' ? modulusHash(pair.paillier.publicKey.n) : null;
    if (held !== null && have === held) return;
    // A P2 with no key asked while this session's setup was on its way (when their channel comes
    // online, a P1 without a key sets one up and a P2 without one asks): the same setup again,
    // once. A P2 that already took it ignores the copy; a second key would leave it signing, for a
    // while, with a key this P1 dropped (its requests refused as "different keys for this pair").
    const last = this.lastSetups.get(from);
    if (have === null && last && last.epoch === epoch && last.modulusHash === held) {
      this.lastSetups.delete(from);
      this.options.links.send(from, { t: 'pair-renew', body: last.message });
      return;
    }
    await this.renewPair(other);
  }

  /** As P1: a fresh pair key with `other`, stored before the setup goes out (P2 replaces its own). */
  private async renewPair(other: Member): Promise<void> {
    const share = this.share as WalletShare;
    const me = share.wallet.members.find((member) => member.index === share.self) as Member;
    if (pairRoles(me, other).p1.index !== me.index || share.blocked.includes(other.index) || failuresOf(share.wallet, other) > 0) return;
    const counted = `${share.wallet.epoch}:${other.index}`;
    const renewals = this.renewals.get(counted) ?? 0;
    if (renewals >= MAX_PAIR_RENEWALS) return;
    this.renewals.set(counted, renewals + 1);
    const setup = p1PairSetup({ sessionId: randomBytes(32), wallet: share.wallet, self: share.self, share: share.share, counterpart: other.index }, await this.options.preparedKey());
    const current = this.share as WalletShare;
    if (current.wallet.epoch !== share.wallet.epoch) return;
    await this.setShare({ ...current, pairs: [...current.pairs.filter((pair) => pair.counterpart !== other.index), setup.pair] });
    const body = encodePairSetupMsg(setup.message);
    this.lastSetups.set(keyOf(other), { epoch: share.wallet.epoch, modulusHash: modulusHash(setup.pair.paillier.publicKey.n), message: body });
    this.options.links.send(keyOf(other), { t: 'pair-renew', body });
  }

  /** As P2: a pair key from its P1 outside a reshare (checked exactly as in one). */
  private async onPairRenew(from: string, body: unknown): Promise<void> {
    const share = this.share;
    if (!share) return;
    const message = decodePairSetupMsg(body, 'pairRenew');
    const p1 = share.wallet.members.find((member) => member.index === message.p1);
    if (!p1 || keyOf(p1) !== from || share.blocked.includes(p1.index)) throw new SessionError('not_member', 'a pair key from a device that is not this pair\'s P1');
    // The same setup again (sent once more for a request that crossed it): this pair has it already.
    const held = share.pairs.find((pair) => pair.counterpart === p1.index);
    if (held?.role === 'P2' && held.paillierN === message.paillierN) return;
    const accepted = p2PairAccept({ sessionId: message.sessionId, wallet: share.wallet, self: share.self, acceptedModuli: share.acceptedModuli }, message, 'pairRenew');
    const current = this.share as WalletShare;
    const pairs: PairKey[] = [...current.pairs.filter((pair) => pair.counterpart !== p1.index), accepted.pair];
    await this.setShare({ ...current, pairs, acceptedModuli: [...current.acceptedModuli, accepted.modulusHash] });
  }

  // ---- taints, health, history, settings -------------------------------------------------------

  /**
   * This member (a P1) saw a signature with `suspect` fail: `share` already holds the taint, and the
   * caller stored it first; every other member is told, with a notice it can check.
   */
  async reportTaint(share: WalletShare, suspect: number): Promise<void> {
    await this.serial(async () => {
      await this.setShare(share);
      this.broadcast({ t: 'taint', notice: encodeTaintNotice(taintNotice(share, suspect, this.options.identity)) });
    });
  }

  private async onTaint(body: unknown): Promise<void> {
    const share = this.share;
    if (!share) return;
    const next = acceptTaintNotice(share, decodeTaintNotice(body));
    if (next !== share) await this.setShare(next);
  }

  private async onHealth(from: string, health: Parameters<typeof checkShareHealth>[1]): Promise<void> {
    const share = this.share;
    const member = share?.wallet.members.find((candidate) => candidate.index === health.member);
    if (!share || !member || keyOf(member) !== from) return;
    this.health.set(from, checkShareHealth(share.wallet, health, this.options.now()));
    this.changed();
  }

  /** The user's name for a member (on this device only). */
  async rename(key: string, name: string): Promise<void> {
    const trimmed = name.trim();
    if (trimmed.length === 0 || trimmed.length > MAX_DEVICE_NAME) throw new SessionError('malformed', `a device name has 1 to ${MAX_DEVICE_NAME} characters`);
    const known = this.directory.some((entry) => entry.identityKey === key);
    const directory = known ? this.directory.map((entry) => (entry.identityKey === key ? { ...entry, name: trimmed } : entry)) : [...this.directory, { ...this.card(key), name: trimmed, addedAt: this.options.now() }];
    await this.serial(async () => {
      await this.write({ directory });
      this.directory = directory;
      this.changed();
    });
  }

  /** Sends a fresh proof of this member's share to every member it has a channel with. */
  proveHealth(): void {
    if (this.share && !this.removal) this.broadcast(proveShareHealth(this.share, this.options.now()));
  }

  /** Tells every other member about a signature this device made (or a change it saw). */
  shareHistory(entry: HistoryEntryWire): void {
    this.broadcast({ t: 'history', entry });
  }

  /** Sends the settings record to one member, or to every member. */
  sendSettings(record: unknown, to?: string): void {
    if (to) this.deliver(to, { t: 'settings', record });
    else this.broadcast({ t: 'settings', record });
  }
}
