/**
 * A recovery with the Duet Guard as the second dealer, coordinated by this device (the browser
 * replacing a lost phone; docs/guard.md, "Recovery" and "In the apps"):
 *
 *   begin(candidate)   the new device paired with this one (its code compared); no other member can
 *                      deal: the record is stored, the Guard's device code shown    step link-device
 *   the new device links to the Guard with that code (its own SAS with the Guard)
 *   open(code)         {op:"recovery-open", members, dealers:[this, Guard], code} — the member set
 *                      is exactly the one the change will propose (WalletMember.plannedReshare)  step waiting
 *   the security period (the Guard's policy, 48 h by default), cancellable from any device
 *   finish()           once the Guard's clock passed readyAt: WalletMember.startChange with the
 *                      Guard as dealer; the new device joins, the lost one goes               step dealing
 *
 * The record (vault key "guardRecovery": keys, the recovery's id and readyAt, no secret) is stored
 * before the Guard is asked anything, so a restarted service worker shows the recovery and
 * finishes it. Times are the Guard's: its `status` says its clock, and readyAt is shown and
 * compared on this device's clock shifted by the difference last measured.
 */
import type { GuardEvent, GuardStatus, QueueItem } from '../guard/guard-messages.ts';
import { encodeMember } from '../mpc/wallet-share-codec.ts';
import { memberId } from '../mpc/wallet-share.ts';
import type { GuardClient } from '../guard/guard-client.ts';
import type { MemberCard } from './member-messages.ts';
import { SessionError } from './session-error.ts';
import type { WalletMember } from './wallet-member.ts';

export const GUARD_RECOVERY_RECORD = 'guardRecovery';

export interface GuardRecoveryRecord {
  readonly guardKey: string;
  /** The new device (its identity key, name and role as its hello said). */
  readonly candidate: MemberCard;
  /** The members it replaces (identity keys). */
  readonly remove: readonly string[];
  /** Once opened at the Guard: its queue item's id and when its security period ends (the Guard's clock). */
  readonly opened: { readonly id: string; readonly readyAt: number } | null;
  /** The Guard ended it before the change started (a device cancelled it). */
  readonly cancelled: boolean;
}

export type GuardRecoveryStep = 'link-device' | 'waiting' | 'ready' | 'dealing' | 'cancelled';

export interface GuardRecoveryView {
  readonly step: GuardRecoveryStep;
  readonly guardKey: string;
  readonly candidate: MemberCard;
  readonly remove: readonly string[];
  /** The Guard link the new device opens (its device code), and when the code expires (this device's clock). */
  readonly deviceLink: string | null;
  readonly deviceLinkExpiresAt: number | null;
  /** When the Guard deals, on this device's clock (null before the recovery is opened). */
  readonly readyAt: number | null;
  readonly error: string | null;
}

/** The vault's records as this module uses them. */
export interface RecoveryRecords {
  get<T>(key: string): Promise<T | undefined>;
  putMany(records: Record<string, unknown>): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface GuardRecoveryOptions {
  readonly records: RecoveryRecords;
  readonly member: () => WalletMember | null;
  readonly client: (guardKey: string) => GuardClient;
  /** The Guard's device code as a link for the new device. */
  readonly deviceLink: (guardKey: string) => Promise<{ readonly link: string; readonly expiresAt: number }>;
  readonly now: () => number;
  readonly onChange: () => void;
}

function itemOf(opened: NonNullable<GuardRecoveryRecord['opened']>): string {
  return `recovery:${opened.id}`;
}

export class GuardRecovery {
  private readonly options: GuardRecoveryOptions;
  private record: GuardRecoveryRecord | null = null;
  /** The Guard's clock minus this device's, as last measured. */
  private skewMs = 0;
  private link: { readonly link: string; readonly expiresAt: number } | null = null;
  private error: string | null = null;
  private stopEvents: (() => void) | null = null;

  constructor(options: GuardRecoveryOptions) {
    this.options = options;
  }

  /** Reads the stored record (at unlock) and listens to its Guard. */
  async load(): Promise<void> {
    this.setRecord((await this.options.records.get<GuardRecoveryRecord>(GUARD_RECOVERY_RECORD)) ?? null);
  }

  private setRecord(record: GuardRecoveryRecord | null): void {
    if (record?.guardKey !== this.record?.guardKey) {
      this.stopEvents?.();
      this.stopEvents = record ? this.options.client(record.guardKey).onEvent((event) => this.onGuardEvent(event)) : null;
    }
    this.record = record;
    this.options.onChange();
  }

  private async store(record: GuardRecoveryRecord | null): Promise<void> {
    if (record) await this.options.records.putMany({ [GUARD_RECOVERY_RECORD]: record });
    else await this.options.records.delete(GUARD_RECOVERY_RECORD);
    this.setRecord(record);
  }

  view(): GuardRecoveryView | null {
    const record = this.record;
    if (!record) return null;
    const readyAt = record.opened ? record.opened.readyAt - this.skewMs : null;
    const change = this.options.member()?.view().change;
    const dealing = change?.candidate?.identityKey === record.candidate.identityKey && change.dealers.includes(record.guardKey);
    const step: GuardRecoveryStep = record.cancelled ? 'cancelled' : dealing ? 'dealing' : readyAt === null ? 'link-device' : readyAt <= this.options.now() ? 'ready' : 'waiting';
    return { step, guardKey: record.guardKey, candidate: record.candidate, remove: record.remove, deviceLink: this.link?.link ?? null, deviceLinkExpiresAt: this.link?.expiresAt ?? null, readyAt, error: this.error };
  }

  /** The new device paired with this one and no member but the Guard can deal: the recovery starts. */
  async begin(plan: { readonly guardKey: string; readonly candidate: MemberCard; readonly remove: readonly string[] }): Promise<void> {
    this.error = null;
    await this.store({ ...plan, opened: null, cancelled: false });
    await this.newDeviceLink();
  }

  /** A fresh device code for the new device (the last one expired). */
  async newDeviceLink(): Promise<void> {
    const record = this.requireRecord();
    const link = await this.options.deviceLink(record.guardKey);
    this.link = { link: link.link, expiresAt: link.expiresAt - this.skewMs };
    this.options.onChange();
  }

  /**
   * Opens the recovery at the Guard with the authenticator's code, for exactly the member set the
   * change will propose. A wrong code (or a device not linked to the Guard) is the Guard's typed
   * error, and nothing is opened.
   */
  async open(code: string): Promise<void> {
    const record = this.requireRecord();
    if (record.opened) throw new SessionError('refused', 'this recovery is open at the Guard already');
    if (!/^\d{6}$/.test(code.trim())) throw new SessionError('malformed', 'the code is the 6 digits your authenticator app shows');
    const member = this.options.member();
    if (!member) throw new SessionError('not_member', 'this device holds no share of the wallet');
    const planned = member.plannedReshare({ remove: record.remove, dealer: record.guardKey, candidate: record.candidate.identityKey });
    this.error = null;
    const client = this.options.client(record.guardKey);
    const opened = await client.request<{ id: string; readyAt: number }>('recovery-open', { members: planned.newMembers.map(encodeMember), dealers: planned.dealers, code: code.trim() });
    this.link = null;
    await this.store({ ...record, opened: { id: opened.id, readyAt: opened.readyAt } });
    await this.refresh();
  }

  /**
   * Asks the Guard its clock and queue (the Devices page opened, the Guard back online): the time
   * shown follows the Guard's clock, and a recovery no longer queued before its change started was
   * cancelled.
   */
  async refresh(): Promise<void> {
    const record = this.record;
    if (!record) return;
    const client = this.options.client(record.guardKey);
    const asked = this.options.now();
    const status = await client.request<GuardStatus>('status');
    this.skewMs = status.now - Math.round((asked + this.options.now()) / 2);
    const { items } = await client.request<{ items: QueueItem[] }>('queue');
    await this.queueChanged(items);
    this.options.onChange();
  }

  private onGuardEvent(event: GuardEvent): void {
    if (event.kind === 'queue') void this.queueChanged(event.items).catch(() => undefined);
    if (event.kind === 'reshare-failed' && this.view()?.step === 'dealing') {
      this.error = `The Guard refused to deal: ${event.message}`;
      this.options.member()?.cancelChange();
      this.options.onChange();
    }
  }

  private async queueChanged(items: readonly QueueItem[]): Promise<void> {
    const record = this.record;
    if (!record?.opened || record.cancelled || this.view()?.step === 'dealing') return;
    const item = itemOf(record.opened);
    if (!items.some((entry) => entry.item === item)) await this.store({ ...record, cancelled: true });
  }

  /** The security period passed (by the Guard's clock as last measured): the change starts, the Guard as dealer. */
  async finish(): Promise<void> {
    const view = this.view();
    const record = this.requireRecord();
    const member = this.options.member();
    if (!view || !record.opened || !member) throw new SessionError('not_ready', 'open the recovery at the Guard first (your code)');
    if (view.step === 'cancelled') throw new SessionError('refused', 'this recovery was cancelled');
    if (view.step === 'waiting') throw new SessionError('not_ready', `the Guard deals only after the security period, at ${new Date(view.readyAt as number).toLocaleString()}`);
    this.error = null;
    await member.startChange({ remove: record.remove, dealer: record.guardKey, candidate: record.candidate.identityKey, candidateCard: record.candidate });
    this.options.onChange();
  }

  /** A cancelled recovery opened again with the same new device (a new code, a new security period). */
  async reopen(): Promise<void> {
    const record = this.requireRecord();
    if (!record.cancelled) throw new SessionError('refused', 'this recovery was not cancelled');
    this.error = null;
    await this.store({ ...record, opened: null, cancelled: false });
  }

  /** Cancels it at the Guard (this device stays: no code needed), or forgets one that ended. */
  async cancel(): Promise<void> {
    const record = this.requireRecord();
    if (record.opened && !record.cancelled) await this.options.client(record.guardKey).request('cancel', { item: itemOf(record.opened) });
    if (this.view()?.step === 'dealing') this.options.member()?.cancelChange();
    this.link = null;
    this.error = null;
    await this.store(null);
  }

  /** The wallet changed: a recovery whose new device is a member now is done. */
  async memberChanged(): Promise<void> {
    const record = this.record;
    const share = this.options.member()?.currentShare;
    if (!record || !share) return;
    const keys = share.wallet.members.map(memberId);
    if (keys.includes(record.candidate.identityKey) && !record.remove.some((key) => keys.includes(key))) await this.store(null);
  }

  private requireRecord(): GuardRecoveryRecord {
    if (!this.record) throw new SessionError('not_ready', 'no recovery with the Guard is under way');
    return this.record;
  }

  close(): void {
    this.stopEvents?.();
    this.stopEvents = null;
  }
}
