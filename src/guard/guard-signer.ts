/**
 * The Guard's side (P1) of co-signing, with its policy in front. It speaks the same messages as the
 * phone (src/session/messages.ts) and adds a decision event before anything else:
 *
 *   device → Guard  sign-request (the frozen request)
 *   Guard → device  guard-event {kind:"decision", id, verdict, reasons, until?}
 *                   sign        → sign/1 …  (verdict sign; rounds as with the phone)
 *                   sign-reject (verdict delay or refuse: the device stops waiting; a delayed request
 *                   is asked again after its delay, and then signs)
 *                   — nothing more while the verdict is second_factor: the device sends the code
 *                   ({op:"code"}) or chooses the delay ({op:"delay"})
 *
 * The Guard decodes the request itself (src/wallet/signing-request.ts), recomputes its digest,
 * checks the account is this wallet's, and never signs a digest it did not compute. The decision
 * and its charges are recorded in one transaction (guard-store.ts) before sign/1 leaves.
 *
 * Rounds: one signing at a time per pair (key); each attempt's number is stored before its
 * sign/1 (so no restart reuses one), its nonce lives in memory only (sign.ts), and after a restart
 * an approved request starts again as a new attempt with fresh nonces — charged once, since the
 * charge belongs to the request, not the attempt. A signature is recorded as signed before it is
 * sent; a request that ends without one (failed, cancelled, expired) releases its charges.
 * A signature that fails P1's final check taints the pair: stored first, then the answer.
 */
import { getAddress } from 'ethers';
import { accountAddress } from '../mpc/derivation.ts';
import { MpcError } from '../mpc/errors.ts';
import { decodeSignMsg2, decodeSignMsg4, encodeSignMsg1, encodeSignMsg3 } from '../mpc/sign-messages.ts';
import { p1SignFinish, p1SignReveal, p1SignStart, type P1SignSession } from '../mpc/sign.ts';
import { encodeTaintNotice, taintNotice } from '../mpc/taint-notice.ts';
import { failuresWithCounterpart, type P1KeyShare } from '../mpc/key-share.ts';
import { p1PairShare, withTaints, type Member, type WalletShare } from '../mpc/wallet-share.ts';
import { hexFromBytes } from '../mpc/wire.ts';
import { signSessionId, type AppMessage } from '../session/messages.ts';
import { decodeSigningRequest, signingDigest, signingRequestFromJson, signingRequestToJson, type SigningRequest } from '../wallet/signing-request.ts';
import { describeReason, type Decision, type DecisionReason } from './decision-reasons.ts';
import type { RequestRecord } from './guard-store.ts';
import type { WalletContext } from './wallet-context.ts';
import { requestEffect } from './request-effect.ts';

/** A request older than this (by its createdAt) is refused unless the Guard knows it. */
export const MAX_REQUEST_AGE_MS = 15 * 60_000;
/** An approved request not signed within this time fails and releases its charges (the device left). */
export const APPROVED_TTL_MS = 10 * 60_000;
const MAX_ATTEMPTS = 16;

interface ActiveSigning {
  readonly id: string;
  readonly link: string;
  readonly counterpart: number;
  readonly attempt: number;
  session: P1SignSession;
}

/** The sentence a device shows when it stops waiting (sign-reject's reason). */
function rejectReason(decision: Decision & { until?: number }, now: number): string {
  const main = decision.reasons.find((reason) => reason.code !== 'within_limit' && reason.code !== 'destination_allowed') ?? decision.reasons[0];
  const text = main ? describeReason(main, { now, timeZone: 'UTC' }) : 'Refused by the Guard';
  return decision.until !== undefined ? `${text}. ${describeReason({ code: 'delayed_until', until: decision.until }, { now, timeZone: 'UTC' })} (UTC)` : text;
}

export class GuardSigner {
  /** Per request id: the attempt being signed (memory only: it holds a nonce). */
  private readonly active = new Map<string, ActiveSigning>();
  /** Approved requests waiting for their pair to be free, oldest first. */
  private readonly waiting: RequestRecord[] = [];

  /** Each pair's P1 view and each account's address, for the share they were computed from. */
  private views: { share: WalletShare; pairs: Map<number, P1KeyShare>; addresses: Map<number, string> } | null = null;

  constructor(private readonly ctx: WalletContext) {}

  /** P1's view of the pair with `counterpart` (cached: it costs a scalar multiplication). */
  private pair(share: WalletShare, counterpart: number): P1KeyShare {
    const views = this.viewsOf(share);
    let pair = views.pairs.get(counterpart);
    if (!pair) {
      pair = p1PairShare(share, counterpart);
      views.pairs.set(counterpart, pair);
    }
    return pair;
  }

  private address(share: WalletShare, account: number): string {
    const views = this.viewsOf(share);
    let address = views.addresses.get(account);
    if (!address) {
      address = accountAddress(share.wallet.publicKey, share.wallet.chainCode, account);
      if (views.addresses.size < 64) views.addresses.set(account, address);
    }
    return address;
  }

  private viewsOf(share: WalletShare) {
    if (this.views?.share !== share) this.views = { share, pairs: new Map(), addresses: new Map() };
    return this.views;
  }

  /** After a start: approved requests sign again as new attempts. */
  async resume(): Promise<void> {
    for (const record of await this.ctx.store.requestsWithStatus(this.ctx.id, ['approved'])) this.enqueue(record);
    await this.pump();
  }

  // ---- a request arrives --------------------------------------------------------------------

  async onRequest(linkId: string, raw: unknown): Promise<void> {
    let request: SigningRequest;
    try {
      request = decodeSigningRequest(raw);
    } catch (error) {
      const id = (raw as { id?: unknown } | null)?.id;
      if (typeof id === 'string' && id.length <= 64) {
        this.ctx.send(linkId, { t: 'sign-failed', id, reason: 'bad_request', message: `The Guard cannot read this request (${error instanceof Error ? error.message : 'malformed'}).` });
      }
      await this.ctx.store.audit({ wallet: this.ctx.id, actor: this.ctx.actor(linkId), action: 'sign-request', outcome: 'refuse', reason: 'bad_request' });
      return;
    }
    const refusal = (reason: DecisionReason) => this.refuse(linkId, request.id, reason);
    const share = this.ctx.share();
    if (!share) return refusal({ code: 'unknown_wallet' });
    const member = this.ctx.memberOfLink(linkId);
    if (!member) return refusal({ code: 'unknown_wallet' });
    try {
      // A device that made a signature fail is refused before anything is decided or charged.
      if (failuresWithCounterpart(this.pair(share, member.index)) > 0) return refusal({ code: 'pair_tainted' });
    } catch (error) {
      return refusal(error instanceof MpcError && error.code === 'key_tainted' ? { code: 'pair_tainted' } : { code: 'bad_request', detail: error instanceof Error ? error.message : 'no pair with this device' });
    }
    if (getAddress(request.account.address) !== this.address(share, request.account.index)) {
      return refusal({ code: 'bad_request', detail: 'the account is not one of this wallet' });
    }
    const json = signingRequestToJson(request);
    const known = await this.ctx.store.request(this.ctx.id, request.id);
    if (known) return this.onAskedAgain(linkId, known, json);
    const now = this.ctx.now();
    if (request.createdAt < now - MAX_REQUEST_AGE_MS || request.createdAt > now + MAX_REQUEST_AGE_MS) return refusal({ code: 'stale_request' });
    const { record, fresh } = await this.ctx.store.decideNew({
      wallet: this.ctx.id,
      id: request.id,
      link: linkId,
      counterpart: member.index,
      request: json,
      digest: hexFromBytes(signingDigest(request)),
      effect: requestEffect(request),
      actor: this.ctx.actor(linkId),
    });
    if (!fresh) return this.onAskedAgain(linkId, record, json);
    await this.announce(record);
  }

  /** A known request id: the same request is answered from its record; another one is a replay. */
  private async onAskedAgain(linkId: string, record: RequestRecord, json: string): Promise<void> {
    if (record.request !== json || record.link !== linkId) return this.refuse(linkId, record.id, { code: 'replayed_request' });
    switch (record.status) {
      case 'signed':
      case 'refused':
      case 'failed':
        this.sendDecision(record);
        if (record.answer) this.ctx.send(linkId, record.answer);
        return;
      case 'cancelled':
        return this.refuse(linkId, record.id, { code: 'cancelled' });
      case 'awaiting_code':
        return this.sendDecision(record);
      case 'delayed': {
        if (record.releaseAt === null || this.ctx.now() < record.releaseAt) return this.announce(record);
        // The delay ended and the user confirms by asking again: decide with the delay served.
        const next = await this.ctx.store.decideAgain(this.ctx.id, record.id, requestEffect(signingRequestFromJson(record.request)), { secondFactor: false, delayEnded: { queuedAt: record.createdAt } }, this.ctx.actor(linkId));
        if (next) await this.announce(next);
        this.ctx.queueChanged();
        return;
      }
      case 'approved': {
        // Asked again while signing (the device restarted): a new attempt with fresh nonces.
        const active = this.active.get(record.id);
        if (active) this.drop(active);
        this.enqueue(record);
        return this.pump();
      }
    }
  }

  /** Tells the device the decision and acts on it. */
  private async announce(record: RequestRecord): Promise<void> {
    this.sendDecision(record);
    if (record.status === 'approved') {
      this.enqueue(record);
      await this.pump();
    } else if (record.status === 'delayed' || record.status === 'refused') {
      const answer: AppMessage = { t: 'sign-reject', id: record.id, reason: rejectReason(record.decision, this.ctx.now()) };
      if (record.status === 'refused') await this.ctx.store.settle(this.ctx.id, record.id, 'refused', answer, { actor: 'guard', action: 'answer', outcome: 'refused' }, ['refused']);
      this.ctx.send(record.link, answer);
      if (record.status === 'delayed') this.ctx.queueChanged();
    }
  }

  private sendDecision(record: RequestRecord): void {
    const { decision } = record;
    this.ctx.send(record.link, { t: 'guard-event', event: { kind: 'decision', id: record.id, verdict: decision.verdict, reasons: decision.reasons, ...(decision.until !== undefined ? { until: decision.until } : {}) } });
  }

  /** A refusal that records nothing (the request was not read as one of this wallet's). */
  private async refuse(linkId: string, id: string, reason: DecisionReason): Promise<void> {
    this.ctx.send(linkId, { t: 'guard-event', event: { kind: 'decision', id, verdict: 'refuse', reasons: [reason] } });
    this.ctx.send(linkId, { t: 'sign-reject', id, reason: describeReason(reason, { now: this.ctx.now(), timeZone: 'UTC' }) });
    await this.ctx.store.audit({ wallet: this.ctx.id, actor: this.ctx.actor(linkId), action: 'sign-request', subject: id, outcome: 'refuse', reason: reason.code });
  }

  // ---- the second factor, or the delay instead ----------------------------------------------

  /** After a valid code (checked by the caller): decide again with the second factor. */
  async onCodeAccepted(linkId: string, record: RequestRecord): Promise<RequestRecord | null> {
    const next = await this.ctx.store.decideAgain(this.ctx.id, record.id, requestEffect(signingRequestFromJson(record.request)), { secondFactor: true, delayEnded: null }, this.ctx.actor(linkId));
    if (next) await this.announce(next);
    return next;
  }

  async onDelayChosen(linkId: string, id: string): Promise<RequestRecord | null> {
    const next = await this.ctx.store.delayInstead(this.ctx.id, id, this.ctx.actor(linkId));
    if (next) await this.announce(next);
    return next;
  }

  // ---- rounds -------------------------------------------------------------------------------

  private enqueue(record: RequestRecord): void {
    if (!this.waiting.some((entry) => entry.id === record.id)) this.waiting.push(record);
  }

  private busy(counterpart: number): boolean {
    return [...this.active.values()].some((signing) => signing.counterpart === counterpart);
  }

  /** Starts every waiting request whose pair is free. */
  private async pump(): Promise<void> {
    for (const record of [...this.waiting]) {
      if (this.busy(record.counterpart) || this.active.has(record.id)) continue;
      this.waiting.splice(this.waiting.indexOf(record), 1);
      await this.startAttempt(record);
    }
  }

  private async startAttempt(record: RequestRecord): Promise<void> {
    const share = this.ctx.share();
    const attempt = await this.ctx.store.nextAttempt(this.ctx.id, record.id);
    if (attempt === null) return;
    if (!share || attempt > MAX_ATTEMPTS) {
      return this.fail(record, { t: 'sign-failed', id: record.id, reason: 'protocol_error', message: share ? 'Co-signing was restarted too many times.' : 'The Guard is no longer a member of this wallet.' });
    }
    const request = signingRequestFromJson(record.request);
    try {
      const round = p1SignStart(this.pair(share, record.counterpart), { sessionId: signSessionId(record.id, attempt), digest: signingDigest(request), accountIndex: request.account.index }, null);
      this.active.set(record.id, { id: record.id, link: record.link, counterpart: record.counterpart, attempt, session: round.session });
      this.ctx.send(record.link, { t: 'sign', id: record.id, attempt, body: encodeSignMsg1(round.message) });
    } catch (error) {
      await this.fail(record, { t: 'sign-failed', id: record.id, reason: error instanceof MpcError && error.code === 'key_tainted' ? 'tainted' : 'protocol_error', message: error instanceof Error ? error.message : 'co-signing failed' });
    }
  }

  async onSign(linkId: string, id: string, attempt: number, body: unknown): Promise<void> {
    const signing = this.active.get(id);
    const share = this.ctx.share();
    if (!signing || signing.link !== linkId || signing.attempt !== attempt || !share) return;
    try {
      const pair = this.pair(share, signing.counterpart);
      if (signing.session.step === 'sign/awaiting-2') {
        const round = p1SignReveal(pair, signing.session, decodeSignMsg2(body));
        signing.session = round.session;
        this.ctx.send(linkId, { t: 'sign', id, attempt, body: encodeSignMsg3(round.message) });
        return;
      }
      const outcome = p1SignFinish(pair, signing.session, decodeSignMsg4(body, pair.paillier.publicKey.n));
      this.active.delete(id);
      if (outcome.kind === 'tainted') {
        await this.taint(signing, outcome.keyShare.taints);
      } else {
        const { r, s, yParity } = outcome.signature;
        const answer: AppMessage = { t: 'sign-result', id, r: `0x${r.toString(16)}`, s: `0x${s.toString(16)}`, yParity };
        // Recorded as signed (its charges kept) before the signature leaves the Guard.
        if (await this.ctx.store.settle(this.ctx.id, id, 'signed', answer, { actor: 'guard', action: 'sign', outcome: 'signed', detail: { attempt } }, ['approved'])) this.ctx.send(linkId, answer);
      }
    } catch (error) {
      this.active.delete(id);
      const record = await this.ctx.store.request(this.ctx.id, id);
      if (record) await this.fail(record, { t: 'sign-failed', id, reason: 'protocol_error', message: error instanceof Error ? error.message : 'co-signing failed' });
    }
    await this.pump();
  }

  /** The device stopped waiting: an open request ends, its attempt and charges with it. */
  async onCancel(linkId: string, id: string): Promise<void> {
    const record = await this.ctx.store.request(this.ctx.id, id);
    if (!record || record.link !== linkId || (record.status !== 'approved' && record.status !== 'awaiting_code')) return;
    await this.cancel(record, this.ctx.actor(linkId));
  }

  /** Ends an open request without a signature (a device cancelled it, or it expired). */
  async cancel(record: RequestRecord, actor: string, status: 'cancelled' | 'failed' = 'cancelled'): Promise<boolean> {
    const active = this.active.get(record.id);
    if (active) this.drop(active);
    this.waiting.splice(0, this.waiting.length, ...this.waiting.filter((entry) => entry.id !== record.id));
    const answer: AppMessage | null = status === 'failed' ? { t: 'sign-failed', id: record.id, reason: 'protocol_error', message: 'The device did not finish co-signing in time.' } : null;
    const done = await this.ctx.store.settle(this.ctx.id, record.id, status, answer, { actor, action: 'cancel', outcome: status });
    await this.pump();
    return done;
  }

  /** Approved requests whose device went away: fail them and release their charges. */
  async expire(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const record = await this.ctx.store.request(this.ctx.id, id);
      if (record?.status === 'approved') await this.cancel(record, 'guard', 'failed');
    }
  }

  private drop(signing: ActiveSigning): void {
    this.active.delete(signing.id);
  }

  private async fail(record: RequestRecord, answer: AppMessage & { t: 'sign-failed' }): Promise<void> {
    if (await this.ctx.store.settle(this.ctx.id, record.id, 'failed', answer, { actor: 'guard', action: 'sign', outcome: 'failed', reason: answer.reason }, ['approved'])) this.ctx.send(record.link, answer);
  }

  /**
   * P1's final check failed (a leaked-abort attempt, CVE-2023-33242): the taint is stored first,
   * then the request fails, every open request of that pair fails, and every device is told.
   */
  private async taint(signing: ActiveSigning, taints: Parameters<typeof withTaints>[1]): Promise<void> {
    const share = this.ctx.share();
    if (!share) return;
    const tainted = withTaints(share, taints);
    await this.ctx.saveShare(tainted, { wallet: this.ctx.id, actor: 'guard', action: 'taint', subject: signing.id, outcome: 'tainted', reason: 'invalid_signature', detail: { counterpart: signing.counterpart } });
    const message = 'The Guard refuses to co-sign with this device: a signature it computed failed the check, so the device may be compromised. Remove it from your wallet.';
    const record = await this.ctx.store.request(this.ctx.id, signing.id);
    if (record) await this.fail(record, { t: 'sign-failed', id: signing.id, reason: 'tainted', message });
    for (const open of await this.ctx.store.requestsWithStatus(this.ctx.id, ['approved', 'awaiting_code'])) {
      if (open.counterpart === signing.counterpart) await this.ctx.store.settle(this.ctx.id, open.id, 'failed', { t: 'sign-failed', id: open.id, reason: 'tainted', message }, { actor: 'guard', action: 'sign', outcome: 'failed', reason: 'tainted' });
    }
    this.waiting.splice(0, this.waiting.length, ...this.waiting.filter((entry) => entry.counterpart !== signing.counterpart));
    const suspect = tainted.wallet.members.find((member: Member) => member.index === signing.counterpart);
    if (suspect) this.ctx.broadcast({ t: 'guard-event', event: { kind: 'taint', notice: encodeTaintNotice(taintNotice(tainted, suspect.index, this.ctx.identity())) } });
  }
}
