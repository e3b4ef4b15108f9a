/**
 * The Guard's operations for a wallet's devices (guard-messages.ts lists them): enrolment of the
 * second factor, device codes, the second factor for a waiting request, the delayed queue and its
 * cancellation, the policy, recovery gates, the audit log. Each answers once with a result or a
 * typed error; what every device should see (the queue, the policy) is also pushed to all.
 */
import { memberId } from '../mpc/wallet-share.ts';
import { encodeMember } from '../mpc/wallet-share-codec.ts';
import { signingRequestFromJson, encodeSigningRequest } from '../wallet/signing-request.ts';
import type { DecisionReason } from './decision-reasons.ts';
import { formatEnrolmentCode } from './enrolment-code.ts';
import type { GuardSigner } from './guard-signer.ts';
import type { CodeCheck, PendingPolicy } from './guard-store.ts';
import { GuardMessageError, type GuardError, type GuardRequest, type GuardStatus, type QueueItem } from './guard-messages.ts';
import { decodePolicy, encodePolicy, PolicyError, recoveryMs, type Policy } from './policy.ts';
import { checkRecoveryRequest, RecoveryRequestError, removedByRecovery } from './recovery-gate.ts';
import { totpSetupUri } from './second-factor.ts';
import type { WalletContext } from './wallet-context.ts';

/** How long a code for linking another device lives. */
export const DEVICE_CODE_TTL_MS = 10 * 60_000;
const DEFAULT_AUDIT_ENTRIES = 50;

/** The error a failed code check becomes. */
function codeError(check: Exclude<CodeCheck, { kind: 'ok' }>): GuardMessageError & { reasons?: DecisionReason[] } {
  switch (check.kind) {
    case 'wrong':
      return Object.assign(new GuardMessageError('wrong_code', check.attemptsLeft > 0 ? `Wrong code — ${check.attemptsLeft} tries left.` : 'Wrong code.'), { reasons: [{ code: 'wrong_code', attemptsLeft: check.attemptsLeft }] as DecisionReason[] });
    case 'locked':
      return Object.assign(new GuardMessageError('code_locked', 'Too many wrong codes: wait before trying again.'), { reasons: [{ code: 'code_locked', until: check.until }] as DecisionReason[] });
    case 'not_enrolled':
      return new GuardMessageError('not_enrolled', 'The second factor is not set up for this wallet yet.');
  }
}

export function errorReply(error: unknown): GuardError {
  if (error instanceof GuardMessageError) return { code: error.code, message: error.message, ...((error as { reasons?: DecisionReason[] }).reasons ? { reasons: (error as { reasons?: DecisionReason[] }).reasons } : {}) };
  if (error instanceof PolicyError) return { code: 'bad_policy', message: error.message };
  if (error instanceof RecoveryRequestError) return { code: 'bad_recovery', message: error.message };
  return { code: 'bad_message', message: 'The Guard could not do this.' };
}

export class GuardOperations {
  constructor(
    private readonly ctx: WalletContext,
    private readonly signer: GuardSigner,
    private readonly deviceCodeUrl: () => string,
  ) {}

  private async requireCode(linkId: string, code: string | undefined, purpose: string): Promise<void> {
    if (code === undefined) throw new GuardMessageError('code_required', 'This needs your second-factor code.');
    const check = await this.ctx.store.checkCode(this.ctx.id, code, this.ctx.actor(linkId), purpose);
    if (check.kind !== 'ok') throw codeError(check);
  }

  private requireMember(): NonNullable<ReturnType<WalletContext['share']>> {
    const share = this.ctx.share();
    if (!share) throw new GuardMessageError('unknown_wallet', 'The Guard is not a member of this wallet.');
    return share;
  }

  async run(linkId: string, request: GuardRequest): Promise<unknown> {
    // Once the Guard is a member, only a member device acts on the wallet. A linked device that is
    // not (a candidate waiting to join, or one linked by a device code it asked for) can see the
    // status only: else a thief holding a removed phone would cancel its own removal from a
    // second link it made (docs/guard.md, "Recovery").
    if (request.op !== 'status' && this.ctx.share() && !this.ctx.memberOfLink(linkId)) throw new GuardMessageError('not_allowed', 'Only a member device of this wallet may do this.');
    switch (request.op) {
      case 'status':
        return this.status();
      case 'totp-setup': {
        const secret = await this.ctx.store.totpSecret(this.ctx.id);
        if (!secret) throw new GuardMessageError('not_allowed', 'The second factor is already set up.');
        return { uri: totpSetupUri(secret, `wallet ${this.ctx.id.slice(0, 8)}`) };
      }
      case 'totp-confirm': {
        const check = await this.ctx.store.checkCode(this.ctx.id, request.code, this.ctx.actor(linkId), 'totp-confirm', true);
        if (check.kind !== 'ok') throw codeError(check);
        return {};
      }
      case 'device-code': {
        const { code, expiresAt } = await this.ctx.store.createCode(this.ctx.id, DEVICE_CODE_TTL_MS);
        await this.ctx.store.audit({ wallet: this.ctx.id, actor: this.ctx.actor(linkId), action: 'device-code', outcome: 'issued' });
        return { code: formatEnrolmentCode(code), guardUrl: this.deviceCodeUrl(), expiresAt };
      }
      case 'code': {
        const record = await this.ctx.store.request(this.ctx.id, request.id);
        if (!record || record.status !== 'awaiting_code') throw new GuardMessageError('unknown_item', 'No request of this wallet waits for a code under this id.');
        await this.requireCode(linkId, request.code, 'code');
        await this.signer.onCodeAccepted(linkId, record);
        return {};
      }
      case 'delay': {
        const record = await this.signer.onDelayChosen(linkId, request.id);
        if (!record) throw new GuardMessageError('unknown_item', 'No request of this wallet waits for a code under this id.');
        return { until: record.releaseAt };
      }
      case 'queue':
        return { items: await this.queue() };
      case 'cancel':
        await this.cancel(linkId, request.item, request.code);
        return {};
      case 'policy':
        return this.policy();
      case 'policy-set':
        return this.setPolicy(linkId, request.policy, request.code);
      case 'recovery-open':
        return this.openRecovery(linkId, request.members, request.dealers, request.code);
      case 'audit':
        return { entries: await this.ctx.store.auditEntries(this.ctx.id, request.limit ?? DEFAULT_AUDIT_ENTRIES) };
    }
  }

  async status(): Promise<GuardStatus> {
    const share = this.ctx.share();
    const record = await this.ctx.store.wallet(this.ctx.id);
    return {
      enrolled: record?.totpConfirmed ?? false,
      member: share !== null,
      removed: record?.status === 'removed',
      identityKey: memberId({ identityKey: this.ctx.identity().publicKey }),
      epoch: share?.wallet.epoch ?? null,
      memberIndex: share?.self ?? null,
      now: this.ctx.now(),
    };
  }

  /** Delayed requests, pending policy changes, recoveries in their security period. */
  async queue(): Promise<QueueItem[]> {
    const requests = await this.ctx.store.requestsWithStatus(this.ctx.id, ['delayed']);
    const { pending } = await this.ctx.store.policy(this.ctx.id);
    const recoveries = await this.ctx.store.recoveries(this.ctx.id);
    return [
      ...requests.map((record) => ({ item: `request:${record.id}`, kind: 'request' as const, queuedAt: record.createdAt, until: record.releaseAt ?? record.createdAt, detail: encodeSigningRequest(signingRequestFromJson(record.request)) })),
      ...(pending ? [{ item: `policy:${pending.id}`, kind: 'policy' as const, queuedAt: pending.requestedAt, until: pending.effectiveAt, detail: encodePolicy(pending.policy) }] : []),
      ...recoveries.map((recovery) => ({ item: `recovery:${recovery.id}`, kind: 'recovery' as const, queuedAt: recovery.openedAt, until: recovery.readyAt, detail: { members: recovery.members, dealers: recovery.dealers, fromEpoch: recovery.fromEpoch } })),
    ];
  }

  private async cancel(linkId: string, item: string, code: string | undefined): Promise<void> {
    const [kind, id] = item.split(':', 2) as [string, string | undefined];
    if (!id) throw new GuardMessageError('unknown_item', 'Unknown item.');
    const actor = this.ctx.actor(linkId);
    if (kind === 'request') {
      const record = await this.ctx.store.request(this.ctx.id, id);
      if (!record || (record.status !== 'delayed' && record.status !== 'awaiting_code')) throw new GuardMessageError('unknown_item', 'No waiting request under this id.');
      await this.signer.cancel(record, actor);
      this.ctx.send(record.link, { t: 'guard-event', event: { kind: 'decision', id, verdict: 'refuse', reasons: [{ code: 'cancelled' }] } });
      this.ctx.send(record.link, { t: 'sign-reject', id, reason: 'Cancelled from one of your devices' });
    } else if (kind === 'policy') {
      if (!(await this.ctx.store.cancelPolicyChange(this.ctx.id, id, actor))) throw new GuardMessageError('unknown_item', 'No pending policy change under this id.');
      this.ctx.broadcast({ t: 'guard-event', event: { kind: 'policy', ...(await this.policy()) } });
    } else if (kind === 'recovery') {
      const share = this.requireMember();
      const recovery = (await this.ctx.store.recoveries(this.ctx.id)).find((candidate) => candidate.id === id);
      if (!recovery) throw new GuardMessageError('unknown_item', 'No recovery in its security period under this id.');
      const device = this.ctx.links().find((link) => link.id === linkId);
      // A device the recovery removes may stop it only with the code (docs/guard.md, "Recovery").
      if (device && removedByRecovery(share, recovery).some((member) => memberId(member) === device.deviceKey)) await this.requireCode(linkId, code, 'cancel-recovery');
      if (!(await this.ctx.store.closeRecovery(this.ctx.id, id, 'cancelled', actor))) throw new GuardMessageError('unknown_item', 'No recovery in its security period under this id.');
    } else {
      throw new GuardMessageError('unknown_item', 'Unknown item.');
    }
    this.ctx.queueChanged();
  }

  private async policy(): Promise<{ policy: unknown; pending: unknown }> {
    const { policy, pending } = await this.ctx.store.policy(this.ctx.id);
    return { policy: encodePolicy(policy), pending: pending ? pendingJson(pending) : null };
  }

  private async setPolicy(linkId: string, raw: unknown, code: string | undefined): Promise<unknown> {
    const next: Policy = decodePolicy(raw);
    let result = await this.ctx.store.setPolicy(this.ctx.id, next, this.ctx.actor(linkId), false);
    if (result.applied === 'refused') {
      // Loosening: the code first, then the change waits the delay.
      await this.requireCode(linkId, code, 'policy-set');
      result = await this.ctx.store.setPolicy(this.ctx.id, next, this.ctx.actor(linkId), true);
    }
    this.ctx.broadcast({ t: 'guard-event', event: { kind: 'policy', ...(await this.policy()) } });
    this.ctx.queueChanged();
    return result;
  }

  private async openRecovery(linkId: string, members: unknown, dealers: unknown, code: string): Promise<unknown> {
    const share = this.requireMember();
    if (!this.ctx.memberOfLink(linkId)) throw new GuardMessageError('not_allowed', 'Only a current member device opens a recovery.');
    const linked = new Set(this.ctx.links().map((link) => link.deviceKey));
    const checked = checkRecoveryRequest(share, members, dealers, linked);
    await this.requireCode(linkId, code, 'recovery-open');
    const { policy } = await this.ctx.store.policy(this.ctx.id);
    const recovery = await this.ctx.store.openRecovery(
      this.ctx.id,
      { fromEpoch: share.wallet.epoch, members: checked.members.map(encodeMember), dealers: checked.dealers, openedBy: this.ctx.actor(linkId), readyAt: this.ctx.now() + recoveryMs(policy) },
      this.ctx.actor(linkId),
    );
    this.ctx.queueChanged();
    return { id: recovery.id, readyAt: recovery.readyAt };
  }
}

function pendingJson(pending: PendingPolicy): unknown {
  return { id: pending.id, policy: encodePolicy(pending.policy), requestedAt: pending.requestedAt, effectiveAt: pending.effectiveAt };
}
