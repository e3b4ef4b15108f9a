/**
 * The Guard as a member of the wallet: it joins by a reshare (src/session/reshare-participant.ts
 * with `joining`), takes part in later ones as a recipient, deals only through its recovery gates
 * (recovery-gate.ts), and deletes its share when a valid removal notice arrives.
 *
 * Joining needs the second factor enrolled first, and both dealers must be devices linked to the
 * Guard (it authenticated each with a one-time code, enrolment-code.ts): those are the identities
 * it pins. Messages go to and come from members by their linked device; a member without a link
 * to the Guard cannot take part in a reshare with it (docs/guard.md, "Joining a wallet").
 * Everything the engine asks to store is stored before the engine goes on (pending share before
 * the confirmation, the new share at the commit point, the blocked members at a removal).
 */
import { decodeReshareMessage } from '../mpc/reshare-messages.ts';
import type { ReshareProposal } from '../mpc/reshare.ts';
import { memberId, type Member } from '../mpc/wallet-share.ts';
import type { PreparedPaillierKey } from '../mpc/zk/paillier-modulus.ts';
import { ReshareParticipant, type ReshareWire } from '../session/reshare-participant.ts';
import { recoveryMatches } from './recovery-gate.ts';
import type { WalletContext } from './wallet-context.ts';

export const RESHARE_TYPES = ['reshare', 'pair-setup', 'reshare-certificate', 'reshare-status'] as const;
const MAX_UNPLACED = 64;

export interface MembershipHooks {
  /** The share changed at a commit (or was removed): the wallet reloads its view. */
  readonly committed: () => Promise<void>;
  /** Devices that are no longer members: their links end after the last messages went out. */
  readonly retireLinks: (deviceKeys: readonly string[]) => void;
}

export class GuardMembership {
  private participant: ReshareParticipant | null = null;
  /** The members of the reshare in progress (old and new), to route by index. */
  private proposal: ReshareProposal | null = null;

  constructor(
    private readonly ctx: WalletContext,
    private readonly preparedKey: () => Promise<PreparedPaillierKey>,
    private readonly hooks: MembershipHooks,
  ) {}

  /** A reshare round is running (a signing request for the new epoch may arrive before it ends here). */
  get inProgress(): boolean {
    const proposal = this.proposal;
    if (!proposal || !this.participant) return false;
    const share = this.ctx.share();
    return share ? share.wallet.epoch === proposal.fromEpoch : proposal.newMembers.some((member) => memberId(member) === memberId({ identityKey: this.ctx.identity().publicKey }));
  }

  /** After a start with a pending share: ask the others for the certificate. */
  async resume(): Promise<void> {
    const record = await this.ctx.store.wallet(this.ctx.id);
    if (!record?.pending) return;
    this.proposal = record.pending.proposal;
    this.ensureParticipant(null)?.resume(record.pending.pending, record.pending.proposal);
  }

  private members(): readonly Member[] {
    const share = this.ctx.share();
    return [...(this.proposal?.oldMembers ?? []), ...(this.proposal?.newMembers ?? []), ...(share?.wallet.members ?? [])];
  }

  private indexOfLink(linkId: string): number | null {
    const link = this.ctx.links().find((candidate) => candidate.id === linkId);
    return (link && this.members().find((member) => memberId(member) === link.deviceKey)?.index) ?? null;
  }

  private send(to: number | 'all', message: ReshareWire): void {
    if (to === 'all') return this.ctx.broadcast(message);
    const member = this.members().find((candidate) => candidate.index === to);
    const link = member && this.ctx.links().find((candidate) => candidate.deviceKey === memberId(member));
    if (link) this.ctx.send(link.id, message);
  }

  /** The participant for this wallet's state; a joining one only for a proposal that names the Guard. */
  private ensureParticipant(proposal: ReshareProposal | null): ReshareParticipant | null {
    if (this.participant) return this.participant;
    const share = this.ctx.share();
    const identity = this.ctx.identity();
    let joining: { self: Member; pinnedDealers: { index: number; identityKey: Uint8Array }[] } | undefined;
    if (!share) {
      const self = proposal?.newMembers.find((member) => memberId(member) === memberId({ identityKey: identity.publicKey }));
      if (!proposal || !self) return null;
      const linked = new Set(this.ctx.links().map((link) => link.deviceKey));
      joining = { self, pinnedDealers: proposal.oldMembers.filter((member) => linked.has(memberId(member))).map((member) => ({ index: member.index, identityKey: member.identityKey })) };
    }
    const participant: ReshareParticipant = new ReshareParticipant({
      identity,
      share,
      ...(joining ? { joining } : {}),
      send: (to, message) => this.send(to, message),
      approveMembers: (next) => this.approveMembers(next),
      preparedKey: this.preparedKey,
      block: (next) => this.ctx.saveShare(next, { wallet: this.ctx.id, actor: 'guard', action: 'reshare-block', outcome: 'blocked', detail: { blocked: next.blocked } }),
      storePending: (pending, next) => this.ctx.store.savePending(this.ctx.id, pending, next),
      commit: async (next, committed, certificate) => {
        const before = this.ctx.share()?.wallet.members ?? [];
        await this.ctx.store.commitShare(this.ctx.id, next, committed, certificate, { wallet: this.ctx.id, actor: 'guard', action: 'reshare-commit', outcome: 'committed', detail: { epoch: next.wallet.epoch, members: next.wallet.members.map((member) => member.index) } });
        await this.hooks.committed();
        const staying = new Set(next.wallet.members.map(memberId));
        this.hooks.retireLinks(before.map(memberId).filter((key) => !staying.has(key)));
      },
      remove: async () => {
        await this.ctx.store.removeShare(this.ctx.id, { wallet: this.ctx.id, actor: 'guard', action: 'reshare-removed', outcome: 'removed' });
        await this.hooks.committed();
        this.hooks.retireLinks(this.ctx.links().map((link) => link.deviceKey));
      },
      onEvent: (event) => {
        if (event.kind === 'proposal') this.proposal = event.proposal;
        // A refusal by the gates was already explained to every device.
        if (event.kind === 'failed' && !this.gateRefused) this.ctx.broadcast({ t: 'guard-event', event: { kind: 'reshare-failed', message: event.error.message } });
        if (event.kind === 'failed') this.gateRefused = false;
        if (event.kind === 'committed' || event.kind === 'removed') {
          this.participant = null;
          this.lastReshare = undefined;
        }
      },
      ...(this.lastReshare ? { lastReshare: this.lastReshare } : {}),
    });
    this.participant = participant;
    return participant;
  }

  private unplaced: { readonly linkId: string; readonly message: ReshareWire }[] = [];
  /** The gates refused the current proposal (and said why). */
  private gateRefused = false;
  private lastReshare: ConstructorParameters<typeof ReshareParticipant>[0]['lastReshare'] = undefined;

  async onMessage(linkId: string, message: ReshareWire): Promise<void> {
    let proposal: ReshareProposal | null = null;
    if (message.t === 'reshare' && (message.body as { type?: unknown } | null)?.type === 'reshare/proposal') {
      try {
        proposal = decodeReshareMessage(message.body) as ReshareProposal;
      } catch {
        proposal = null;
      }
      if (proposal && !this.ctx.share()) {
        const record = await this.ctx.store.wallet(this.ctx.id);
        if (!record?.totpConfirmed) {
          this.ctx.send(linkId, { t: 'guard-event', event: { kind: 'reshare-failed', message: 'Set up the second factor on the Guard before it joins the wallet.' } });
          return;
        }
      }
      // A proposal starts a new round: the participant of an abandoned one goes.
      if (proposal && this.participant && this.proposal && !sameReshare(this.proposal, proposal)) this.participant = null;
      if (proposal) this.proposal = proposal;
    }
    if (!this.lastReshare) this.lastReshare = (await this.ctx.store.wallet(this.ctx.id))?.lastReshare ?? undefined;
    const participant = this.ensureParticipant(proposal ?? this.proposal);
    const from = this.indexOfLink(linkId);
    if (!participant || from === null) {
      // From a member this Guard cannot place yet (its proposal is still on its way): kept a while.
      this.unplaced = [...this.unplaced.slice(-(MAX_UNPLACED - 1)), { linkId, message }];
      return;
    }
    await participant.handle(message, from);
    if (proposal) for (const entry of this.unplaced.splice(0)) await this.onMessage(entry.linkId, entry.message);
  }

  /**
   * A dealer's approval: the Guard deals only for a recovery a user device opened with the code,
   * past its security period, not cancelled, for exactly this member set and these dealers.
   */
  private async approveMembers(proposal: ReshareProposal): Promise<readonly Member[] | null> {
    const recoveries = await this.ctx.store.recoveries(this.ctx.id);
    const match = recoveries.find((recovery) => recoveryMatches(recovery, proposal));
    const refuse = async (reason: string, message: string) => {
      this.gateRefused = true;
      await this.ctx.store.audit({ wallet: this.ctx.id, actor: 'guard', action: 'reshare-deal', outcome: 'refused', reason });
      this.ctx.broadcast({ t: 'guard-event', event: { kind: 'reshare-failed', message } });
      return null;
    };
    if (!match) return refuse('no_recovery_approved', 'The Guard deals only in a recovery opened on one of your devices with your code, for exactly these members.');
    if (this.ctx.now() < match.readyAt) return refuse('security_period', `The Guard deals in this recovery only after its security period, at ${new Date(match.readyAt).toISOString()}.`);
    if (!(await this.ctx.store.closeRecovery(this.ctx.id, match.id, 'used', 'guard'))) return refuse('recovery_closed', 'This recovery was cancelled.');
    this.ctx.queueChanged();
    return proposal.newMembers;
  }
}

function sameReshare(a: ReshareProposal, b: ReshareProposal): boolean {
  return a.reshareId.length === b.reshareId.length && a.reshareId.every((byte, k) => byte === b.reshareId[k]);
}
