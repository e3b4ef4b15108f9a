/**
 * One wallet as the Guard serves it: the messages of its linked devices, handled one at a time
 * (so a wallet's state changes in order; different wallets run side by side), after the abuse
 * checks — a size cap per message and a token bucket per wallet for signing requests and
 * operations. Signing goes to guard-signer.ts, operations to guard-operations.ts, reshares to
 * guard-membership.ts.
 */
import { decodeTaintNotice, acceptTaintNotice } from '../mpc/taint-notice.ts';
import type { MemberIdentity } from '../mpc/member-signature.ts';
import { memberId, type Member, type WalletShare } from '../mpc/wallet-share.ts';
import type { PreparedPaillierKey } from '../mpc/zk/paillier-modulus.ts';
import { TokenBucket } from '../relay/token-bucket.ts';
import { parseAppMessage } from '../session/messages.ts';
import type { ReshareWire } from '../session/reshare-participant.ts';
import { describeReason, type DecisionReason } from './decision-reasons.ts';
import { deviceActor, type AuditEntry, type GuardStore } from './guard-store.ts';
import { GuardMembership, RESHARE_TYPES } from './guard-membership.ts';
import { GuardMessageError, MAX_MESSAGE_CHARS, MAX_OP_CHARS, parseGuardOp, type GuardError, type GuardReply } from './guard-messages.ts';
import { errorReply, GuardOperations } from './guard-operations.ts';
import { GuardSigner } from './guard-signer.ts';
import type { LinkInfo, WalletContext } from './wallet-context.ts';

export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** Per wallet: signing requests and operations (the rounds of a signing and reshare messages are not counted). */
export const DEFAULT_WALLET_RATE: RateLimit = { perSecond: 2, burst: 60 };

const MAX_DEFERRED = 16;
const DEFER_MS = 60_000;

export interface WalletTransport {
  send(linkId: string, message: unknown): void;
  links(wallet: string): readonly LinkInfo[];
  /** Ends the links of devices that left the wallet, once what was sent to them is out. */
  retire(wallet: string, deviceKeys: readonly string[]): void;
}

export interface GuardWalletOptions {
  readonly id: string;
  readonly store: GuardStore;
  readonly now: () => number;
  readonly transport: WalletTransport;
  readonly preparedKey: () => Promise<PreparedPaillierKey>;
  /** The Guard's URL as devices reach it (for device codes). */
  readonly guardUrl: string;
  readonly rate?: RateLimit;
  readonly log: (line: string) => void;
}

type Json = Record<string, unknown>;

export class GuardWallet implements WalletContext {
  readonly id: string;
  readonly store: GuardStore;
  readonly now: () => number;
  private readonly options: GuardWalletOptions;
  private currentShare: WalletShare | null;
  private readonly guardIdentity: MemberIdentity;
  private readonly signer: GuardSigner;
  private readonly operations: GuardOperations;
  private readonly membership: GuardMembership;
  private readonly bucket: TokenBucket;
  private turn: Promise<void> = Promise.resolve();
  /** Signing requests that came while a reshare was finishing here: handled once it ended. */
  private deferred: { readonly linkId: string; readonly message: unknown; readonly at: number }[] = [];

  private constructor(options: GuardWalletOptions, identity: MemberIdentity, share: WalletShare | null) {
    this.options = options;
    this.id = options.id;
    this.store = options.store;
    this.now = options.now;
    this.guardIdentity = identity;
    this.currentShare = share;
    const rate = options.rate ?? DEFAULT_WALLET_RATE;
    this.bucket = new TokenBucket(rate.perSecond, rate.burst, options.now());
    this.signer = new GuardSigner(this);
    this.operations = new GuardOperations(this, this.signer, () => options.guardUrl);
    this.membership = new GuardMembership(this, options.preparedKey, {
      committed: async () => {
        await this.reload();
        this.replay(this.deferred);
      },
      retireLinks: (keys) => options.transport.retire(this.id, keys),
    });
  }

  static async load(options: GuardWalletOptions): Promise<GuardWallet> {
    const record = await options.store.wallet(options.id);
    if (!record) throw new Error(`no wallet ${options.id}`);
    return new GuardWallet(options, record.identity, record.share);
  }

  /** After a start: approved requests sign again (new attempts), a pending reshare asks for its certificate. */
  resume(): Promise<void> {
    return this.exclusive(async () => {
      await this.membership.resume();
      await this.signer.resume();
    });
  }

  private async reload(): Promise<void> {
    this.currentShare = (await this.store.wallet(this.id))?.share ?? null;
  }

  // ---- WalletContext ------------------------------------------------------------------------

  identity(): MemberIdentity {
    return this.guardIdentity;
  }

  share(): WalletShare | null {
    return this.currentShare;
  }

  async saveShare(share: WalletShare, audit: AuditEntry): Promise<void> {
    await this.store.saveShare(this.id, share, audit);
    this.currentShare = share;
  }

  links(): readonly LinkInfo[] {
    return this.options.transport.links(this.id);
  }

  memberOfLink(linkId: string): Member | null {
    const link = this.links().find((candidate) => candidate.id === linkId);
    return (link && this.currentShare?.wallet.members.find((member) => memberId(member) === link.deviceKey)) ?? null;
  }

  actor(linkId: string): string {
    const link = this.links().find((candidate) => candidate.id === linkId);
    return link ? deviceActor(link.deviceKey) : `link:${linkId.slice(0, 8)}`;
  }

  send(linkId: string, message: unknown): void {
    this.options.transport.send(linkId, message);
  }

  broadcast(message: unknown): void {
    for (const link of this.links()) this.send(link.id, message);
  }

  queueChanged(): void {
    void this.operations.queue().then(
      (items) => this.broadcast({ t: 'guard-event', event: { kind: 'queue', items } }),
      () => undefined,
    );
  }

  // ---- messages -----------------------------------------------------------------------------

  private exclusive(work: () => Promise<void>): Promise<void> {
    const run = this.turn.then(work, work);
    this.turn = run.catch(() => undefined);
    return run;
  }

  private replay(entries: readonly { readonly linkId: string; readonly message: unknown }[]): void {
    const due = [...entries];
    this.deferred = this.deferred.filter((entry) => !due.includes(entry));
    for (const entry of due) void this.handle(entry.linkId, entry.message, true);
  }

  /** A message from one of the wallet's linked devices (already decrypted by its channel). */
  handle(linkId: string, message: unknown, replayed = false): Promise<void> {
    return this.exclusive(() =>
      this.dispatch(linkId, message, replayed).catch((error: unknown) => {
        this.options.log(`wallet ${this.id.slice(0, 8)}: a message from ${this.actor(linkId)} failed: ${error instanceof Error ? error.name : 'error'}`);
      }),
    );
  }

  /** The periodic sweep: approved requests whose device went away fail and release their charges. */
  expire(ids: readonly string[]): Promise<void> {
    return this.exclusive(() => this.signer.expire(ids));
  }

  private reply(linkId: string, reply: { readonly rid: string; readonly ok: true; readonly result: unknown } | { readonly rid: string; readonly ok: false; readonly error: GuardError }): void {
    this.send(linkId, { t: 'guard-reply', ...reply } satisfies GuardReply);
  }

  private async dispatch(linkId: string, message: unknown, replayed: boolean): Promise<void> {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return;
    const value = message as Json;
    const size = JSON.stringify(value).length;
    switch (value.t) {
      case 'guard':
        return this.onOperation(linkId, value, size);
      case 'sign-request': {
        const id = (value.request as { id?: unknown } | null)?.id;
        const refuse = (reason: DecisionReason) => {
          if (typeof id !== 'string' || id.length > 64) return;
          this.send(linkId, { t: 'guard-event', event: { kind: 'decision', id, verdict: 'refuse', reasons: [reason] } });
          this.send(linkId, { t: 'sign-reject', id, reason: describeReason(reason, { now: this.now(), timeZone: 'UTC' }) });
        };
        if (size > MAX_MESSAGE_CHARS) return refuse({ code: 'bad_request', detail: `larger than ${MAX_MESSAGE_CHARS} characters` });
        if (!this.bucket.take(this.now())) return refuse({ code: 'rate_limited' });
        // The device may have seen the reshare end before the Guard did: the request waits for it.
        if (!replayed && (!this.currentShare || !this.memberOfLink(linkId)) && this.membership.inProgress && this.deferred.length < MAX_DEFERRED) {
          const entry = { linkId, message, at: this.now() };
          this.deferred.push(entry);
          // Not for ever: if the reshare does not end here in time, the request is answered as things are.
          setTimeout(() => {
            if (this.deferred.includes(entry)) this.replay([entry]);
          }, DEFER_MS).unref();
          return;
        }
        return this.signer.onRequest(linkId, value.request);
      }
      case 'sign': {
        const parsed = parseAppMessage(value);
        if (parsed?.t === 'sign' && size <= MAX_OP_CHARS) await this.signer.onSign(linkId, parsed.id, parsed.attempt, parsed.body);
        return;
      }
      case 'sign-cancel': {
        const parsed = parseAppMessage(value);
        if (parsed?.t === 'sign-cancel') await this.signer.onCancel(linkId, parsed.id);
        return;
      }
      case 'taint-notice':
        return this.onTaintNotice(linkId, value.notice);
      default:
        if ((RESHARE_TYPES as readonly unknown[]).includes(value.t) && size <= MAX_MESSAGE_CHARS) await this.membership.onMessage(linkId, value as unknown as ReshareWire);
    }
  }

  private async onOperation(linkId: string, value: Json, size: number): Promise<void> {
    const rid = typeof value.rid === 'string' && value.rid.length <= 64 ? value.rid : '';
    try {
      if (size > MAX_OP_CHARS) throw new GuardMessageError('too_large', `An operation may be at most ${MAX_OP_CHARS} characters.`);
      const { request } = parseGuardOp(value);
      if (!this.bucket.take(this.now())) throw new GuardMessageError('rate_limited', 'Too many requests: try again in a minute.');
      this.reply(linkId, { rid, ok: true, result: await this.operations.run(linkId, request) });
    } catch (error) {
      this.reply(linkId, { rid, ok: false, error: errorReply(error) });
    }
  }

  /** Another member's P1 saw a signature fail: the Guard refuses that suspect from now on. */
  private async onTaintNotice(linkId: string, raw: unknown): Promise<void> {
    const share = this.currentShare;
    if (!share) return;
    try {
      const next = acceptTaintNotice(share, decodeTaintNotice(raw));
      if (next !== share) await this.saveShare(next, { wallet: this.id, actor: this.actor(linkId), action: 'taint-notice', outcome: 'recorded' });
    } catch (error) {
      await this.store.audit({ wallet: this.id, actor: this.actor(linkId), action: 'taint-notice', outcome: 'refused', reason: error instanceof Error ? error.message.slice(0, 200) : 'malformed' });
    }
  }
}
