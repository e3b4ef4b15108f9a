/**
 * Everything the Guard keeps, in SQL that runs unchanged on PGlite and PostgreSQL (migrations.ts
 * holds the schema). Secrets are sealed with the key-encryption key before they are written and
 * opened after they are read; the rest is plain.
 *
 * Limits and races. Every decision that may charge a limit runs in one transaction that first
 * locks the wallet's row (SELECT … FOR UPDATE), then sums the charges of the last 24 hours, decides
 * and inserts the request with its charges. A second request of the same wallet — from another
 * connection, another Guard process on the same PostgreSQL — waits for the lock and sees the first
 * one's charges, so two requests never both pass one limit (test/guard/store.test.ts races 50).
 * Request ids are unique per wallet (primary key), so a request is charged at most once, whatever
 * is resent or restarted; a charge is released only when no signature was made (failed, cancelled,
 * expired).
 *
 * The audit log is append-only (a trigger refuses UPDATE, DELETE and TRUNCATE): who asked (a
 * device's key prefix, an address, or the Guard), what, the outcome and the reason; never a secret.
 */
import { encodeBase64Url } from '../channel/base64url.ts';
import type { LinkState } from '../channel/stored-link-state.ts';
import type { MemberIdentity } from '../mpc/member-signature.ts';
import type { CommitCertificate, PendingReshare, ReshareProposal } from '../mpc/reshare.ts';
import { decodeCertificate, decodeReshareMessage, encodeCertificate, encodeReshareMessage } from '../mpc/reshare-messages.ts';
import { decodeWalletShare, encodeWalletShare } from '../mpc/wallet-share-codec.ts';
import type { WalletShare } from '../mpc/wallet-share.ts';
import { bytesFromHex, hexFromBytes } from '../mpc/wire.ts';
import { big, int, type Database, type SqlClient } from './database.ts';
import type { Decision } from './decision-reasons.ts';
import { CODE_FAILURES, newEnrolmentCode, type EnrolmentCode } from './enrolment-code.ts';
import type { KeyEncryptionKey } from './key-encryption.ts';
import { DEFAULT_POLICY, decodePolicy, delayMs, encodePolicy, isAtLeastAsStrict, strictest, type Policy } from './policy.ts';
import { chargedScopes, decide, type DecisionContext, type PolicyOutcome } from './policy-decision.ts';
import type { RequestEffect } from './request-effect.ts';
import { afterWrongCode, throttleState, verifyTotp, type ThrottleState } from './second-factor.ts';

export const DAY_MS = 24 * 3_600_000;

export type WalletStatus = 'enrolling' | 'member' | 'removed';
export type RequestStatus = 'awaiting_code' | 'delayed' | 'approved' | 'signed' | 'refused' | 'failed' | 'cancelled';
export const SETTLED: readonly RequestStatus[] = ['signed', 'refused', 'failed', 'cancelled'];

export interface WalletRecord {
  readonly id: string;
  readonly status: WalletStatus;
  readonly identity: MemberIdentity;
  readonly share: WalletShare | null;
  readonly pending: { readonly pending: PendingReshare; readonly proposal: ReshareProposal } | null;
  readonly lastReshare: { readonly proposal: ReshareProposal; readonly certificate: CommitCertificate } | null;
  readonly totpConfirmed: boolean;
}

export interface LinkRecord {
  readonly id: string;
  readonly wallet: string;
  /** The device's pinned identity key (hex). */
  readonly deviceKey: string;
  readonly deviceRole: 'extension' | 'phone';
  readonly state: LinkState;
}

export interface RequestRecord {
  readonly wallet: string;
  readonly id: string;
  readonly link: string;
  readonly counterpart: number;
  /** The frozen request, canonical JSON (signingRequestToJson). */
  readonly request: string;
  readonly digest: string;
  readonly status: RequestStatus;
  readonly decision: Decision & { readonly until?: number };
  readonly attempt: number;
  readonly answer: unknown;
  readonly releaseAt: number | null;
  readonly createdAt: number;
}

export interface AuditEntry {
  readonly wallet: string | null;
  readonly actor: string;
  readonly action: string;
  readonly subject?: string | null;
  readonly outcome: string;
  readonly reason?: string | null;
  readonly detail?: unknown;
}

export interface PendingPolicy {
  readonly id: string;
  readonly policy: Policy;
  readonly requestedAt: number;
  readonly effectiveAt: number;
}

export interface RecoveryRecord {
  readonly id: string;
  readonly fromEpoch: number;
  /** Encoded members (wallet-share-codec encodeMember) and the dealer indices. */
  readonly members: readonly unknown[];
  readonly dealers: readonly [number, number];
  readonly openedBy: string;
  readonly openedAt: number;
  readonly readyAt: number;
}

export type CodeCheck = { readonly kind: 'ok' } | { readonly kind: 'wrong'; readonly attemptsLeft: number } | { readonly kind: 'locked'; readonly until: number } | { readonly kind: 'not_enrolled' };

export type ClaimResult = { readonly ok: true; readonly wallet: string | null; readonly secret: string } | { readonly ok: false; readonly reason: 'unknown_code' | 'expired' | 'used' | 'bad_code' };

type Row = Record<string, unknown>;

const newId = () => encodeBase64Url(crypto.getRandomValues(new Uint8Array(16)));
const json = (value: unknown) => JSON.stringify(value);

export class GuardStore {
  constructor(
    readonly db: Database,
    private readonly kek: KeyEncryptionKey,
    private readonly now: () => number,
  ) {}

  // ---- the key-encryption key ---------------------------------------------------------------

  /** The first start stores a check value; later starts refuse a KEK that does not open it. */
  async checkKek(): Promise<void> {
    const rows = await this.db.query<{ value: string }>("SELECT value FROM guard_meta WHERE key = 'kek_check'");
    if (rows[0]) {
      this.kek.open('kek-check', 'guard', rows[0].value);
      return;
    }
    await this.db.query("INSERT INTO guard_meta (key, value) VALUES ('kek_check', $1) ON CONFLICT (key) DO NOTHING", [this.kek.seal('kek-check', 'guard', 'duet-guard')]);
  }

  // ---- audit --------------------------------------------------------------------------------

  async audit(entry: AuditEntry, client: SqlClient = this.db): Promise<void> {
    await client.query('INSERT INTO guard_audit (wallet, at, actor, action, subject, outcome, reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      entry.wallet,
      this.now(),
      entry.actor,
      entry.action,
      entry.subject ?? null,
      entry.outcome,
      entry.reason ?? null,
      entry.detail === undefined ? null : json(entry.detail),
    ]);
  }

  async auditEntries(wallet: string, limit: number): Promise<Row[]> {
    const rows = await this.db.query('SELECT seq, at, actor, action, subject, outcome, reason, detail FROM guard_audit WHERE wallet = $1 ORDER BY seq DESC LIMIT $2', [wallet, limit]);
    return rows.map((row) => ({ ...row, seq: int(row.seq), at: int(row.at) }));
  }

  // ---- enrolment codes ----------------------------------------------------------------------

  /** A new one-time code: for a new wallet (wallet null) or to link another device of `wallet`. */
  async createCode(wallet: string | null, ttlMs: number): Promise<{ code: EnrolmentCode; expiresAt: number }> {
    for (;;) {
      const code = newEnrolmentCode();
      const expiresAt = this.now() + ttlMs;
      const inserted = await this.db.query('INSERT INTO guard_enrolment_codes (id, secret, wallet, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING id', [
        code.id,
        this.kek.seal('code', code.id, code.secret),
        wallet,
        this.now(),
        expiresAt,
      ]);
      if (inserted.length === 1) return { code, expiresAt };
    }
  }

  /**
   * Uses code `id` once if `proves(secret)`: an unknown, expired, used or exhausted code, or a wrong
   * proof (counted; the code dies after CODE_FAILURES), is refused.
   */
  async claimCode(id: string, proves: (secret: string) => boolean): Promise<ClaimResult> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query('SELECT secret, wallet, expires_at, failures, used_at FROM guard_enrolment_codes WHERE id = $1 FOR UPDATE', [id]);
      if (!row) return { ok: false, reason: 'unknown_code' } as const;
      if (row.used_at !== null || int(row.failures) >= CODE_FAILURES) return { ok: false, reason: 'used' } as const;
      if (int(row.expires_at) <= this.now()) return { ok: false, reason: 'expired' } as const;
      const secret = this.kek.openText('code', id, row.secret as string);
      if (!proves(secret)) {
        await tx.query('UPDATE guard_enrolment_codes SET failures = failures + 1 WHERE id = $1', [id]);
        return { ok: false, reason: 'bad_code' } as const;
      }
      await tx.query('UPDATE guard_enrolment_codes SET used_at = $2 WHERE id = $1', [id, this.now()]);
      return { ok: true, wallet: (row.wallet as string | null) ?? null, secret } as const;
    });
  }

  /** Whether code `id` can still be used (not used, not expired, not exhausted). */
  async codeOpen(id: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM guard_enrolment_codes WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3', [id, this.now(), CODE_FAILURES]);
    return rows.length === 1;
  }

  // ---- wallets and links --------------------------------------------------------------------

  /** A new wallet (after its first device paired): identity, TOTP secret, default policy, and that link. */
  async insertWallet(identity: MemberIdentity, totpSecret: string, link: Omit<LinkRecord, 'wallet'>): Promise<string> {
    const id = newId();
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO guard_wallets (id, created_at, status, identity, identity_public, policy, totp_secret)
         VALUES ($1, $2, 'enrolling', $3, $4, $5, $6)`,
        [id, this.now(), this.kek.seal('identity', id, identity.secretKey), hexFromBytes(identity.publicKey), json(encodePolicy(DEFAULT_POLICY)), this.kek.seal('totp', id, totpSecret)],
      );
      await this.insertLinkRow(tx, id, link);
      await this.audit({ wallet: id, actor: deviceActor(link.deviceKey), action: 'enrol', outcome: 'ok', detail: { role: link.deviceRole } }, tx);
    });
    return id;
  }

  async insertLink(wallet: string, link: Omit<LinkRecord, 'wallet'>): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.insertLinkRow(tx, wallet, link);
      await this.audit({ wallet, actor: deviceActor(link.deviceKey), action: 'link-device', outcome: 'ok', detail: { role: link.deviceRole } }, tx);
    });
  }

  private async insertLinkRow(tx: SqlClient, wallet: string, link: Omit<LinkRecord, 'wallet'>): Promise<void> {
    // A device linking again (a new channel after it lost the old one) replaces its old link.
    await tx.query('UPDATE guard_links SET retired = true WHERE wallet = $1 AND device_key = $2 AND NOT retired', [wallet, link.deviceKey]);
    await tx.query('INSERT INTO guard_links (id, wallet, device_key, device_role, state, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [link.id, wallet, link.deviceKey, link.deviceRole, this.sealLink(link.id, link.state), this.now()]);
  }

  private sealLink(id: string, state: LinkState): string {
    return this.kek.seal('link', id, json(state));
  }

  async saveLinkState(id: string, state: LinkState): Promise<void> {
    await this.db.query('UPDATE guard_links SET state = $2, last_seen = $3 WHERE id = $1', [id, this.sealLink(id, state), this.now()]);
  }

  async retireLink(id: string): Promise<void> {
    await this.db.query('UPDATE guard_links SET retired = true WHERE id = $1', [id]);
  }

  async links(wallet?: string): Promise<LinkRecord[]> {
    const rows = await this.db.query('SELECT id, wallet, device_key, device_role, state FROM guard_links WHERE NOT retired AND ($1::text IS NULL OR wallet = $1) ORDER BY created_at', [wallet ?? null]);
    return rows.map((row) => ({
      id: row.id as string,
      wallet: row.wallet as string,
      deviceKey: row.device_key as string,
      deviceRole: row.device_role as LinkRecord['deviceRole'],
      state: JSON.parse(this.kek.openText('link', row.id as string, row.state as string)) as LinkState,
    }));
  }

  async walletIds(): Promise<string[]> {
    return (await this.db.query<{ id: string }>("SELECT id FROM guard_wallets WHERE status <> 'removed' ORDER BY created_at")).map((row) => row.id);
  }

  async wallet(id: string): Promise<WalletRecord | null> {
    const [row] = await this.db.query('SELECT id, status, identity, identity_public, share, pending, last_reshare, totp_confirmed FROM guard_wallets WHERE id = $1', [id]);
    if (!row) return null;
    const pending = row.pending ? (JSON.parse(this.kek.openText('pending', id, row.pending as string)) as { pending: { proposalDigest: string; h2: string; next: unknown }; proposal: unknown }) : null;
    const last = row.last_reshare ? (JSON.parse(row.last_reshare as string) as { proposal: unknown; certificate: unknown }) : null;
    return {
      id,
      status: row.status as WalletStatus,
      identity: { secretKey: this.kek.open('identity', id, row.identity as string), publicKey: bytesFromHex(row.identity_public as string) },
      share: row.share ? decodeWalletShare(JSON.parse(this.kek.openText('share', id, row.share as string))) : null,
      pending: pending
        ? {
            pending: { proposalDigest: bytesFromHex(pending.pending.proposalDigest), h2: bytesFromHex(pending.pending.h2), next: decodeWalletShare(pending.pending.next) },
            proposal: decodeReshareMessage(pending.proposal) as ReshareProposal,
          }
        : null,
      lastReshare: last ? { proposal: decodeReshareMessage(last.proposal) as ReshareProposal, certificate: decodeCertificate(last.certificate) } : null,
      totpConfirmed: row.totp_confirmed as boolean,
    };
  }

  private sealShare(id: string, share: WalletShare): string {
    return this.kek.seal('share', id, json(encodeWalletShare(share)));
  }

  /** The share changed in place (blocked members, a taint): stored before anything depends on it. */
  async saveShare(id: string, share: WalletShare, audit: AuditEntry): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('UPDATE guard_wallets SET share = $2 WHERE id = $1', [id, this.sealShare(id, share)]);
      await this.audit(audit, tx);
    });
  }

  async savePending(id: string, pending: PendingReshare, proposal: ReshareProposal): Promise<void> {
    const value = { pending: { proposalDigest: hexFromBytes(pending.proposalDigest), h2: hexFromBytes(pending.h2), next: encodeWalletShare(pending.next) }, proposal: encodeReshareMessage(proposal) };
    await this.db.query('UPDATE guard_wallets SET pending = $2 WHERE id = $1', [id, this.kek.seal('pending', id, json(value))]);
  }

  /** The commit point: the new share replaces the old one and the pending one, in one statement. */
  async commitShare(id: string, next: WalletShare, proposal: ReshareProposal, certificate: CommitCertificate, audit: AuditEntry): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query("UPDATE guard_wallets SET share = $2, pending = NULL, last_reshare = $3, wallet_id = $4, status = 'member' WHERE id = $1", [
        id,
        this.sealShare(id, next),
        json({ proposal: encodeReshareMessage(proposal), certificate: encodeCertificate(certificate) }),
        hexFromBytes(next.wallet.walletId),
      ]);
      await this.audit(audit, tx);
    });
  }

  /** Removed from the wallet: its share and pending share are deleted. */
  async removeShare(id: string, audit: AuditEntry): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query("UPDATE guard_wallets SET share = NULL, pending = NULL, status = 'removed' WHERE id = $1", [id]);
      await this.audit(audit, tx);
    });
  }

  async totpSecret(id: string): Promise<string | null> {
    const [row] = await this.db.query('SELECT totp_secret, totp_confirmed FROM guard_wallets WHERE id = $1', [id]);
    return row && !row.totp_confirmed && row.totp_secret ? this.kek.openText('totp', id, row.totp_secret as string) : null;
  }

  // ---- the second factor --------------------------------------------------------------------

  /**
   * Checks a TOTP code under the wallet's lock: throttled, each step used once. `confirm` marks the
   * second factor enrolled (the first code the user typed from the authenticator app).
   */
  async checkCode(id: string, code: string, actor: string, purpose: string, confirm = false): Promise<CodeCheck> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query('SELECT totp_secret, totp_confirmed, totp_last_step, code_failures, code_window_start FROM guard_wallets WHERE id = $1 FOR UPDATE', [id]);
      if (!row?.totp_secret || (!confirm && !row.totp_confirmed)) return { kind: 'not_enrolled' } as const;
      const throttle = { failures: int(row.code_failures), windowStart: int(row.code_window_start) };
      const state: ThrottleState = throttleState(throttle, this.now());
      if (state.locked) {
        await this.audit({ wallet: id, actor, action: purpose, outcome: 'refused', reason: 'code_locked' }, tx);
        return { kind: 'locked', until: state.until } as const;
      }
      const check = verifyTotp(this.kek.openText('totp', id, row.totp_secret as string), code, this.now(), int(row.totp_last_step));
      if (!check.ok) {
        const next = afterWrongCode(throttle, this.now());
        await tx.query('UPDATE guard_wallets SET code_failures = $2, code_window_start = $3 WHERE id = $1', [id, next.failures, next.windowStart]);
        await this.audit({ wallet: id, actor, action: purpose, outcome: 'refused', reason: 'wrong_code' }, tx);
        const after = throttleState(next, this.now());
        return { kind: 'wrong', attemptsLeft: after.locked ? 0 : after.attemptsLeft } as const;
      }
      await tx.query('UPDATE guard_wallets SET totp_last_step = $2, code_failures = 0, totp_confirmed = true WHERE id = $1', [id, check.step]);
      await this.audit({ wallet: id, actor, action: purpose, outcome: 'ok', reason: 'second_factor_accepted' }, tx);
      return { kind: 'ok' } as const;
    });
  }

  // ---- policy -------------------------------------------------------------------------------

  /** The wallet's policy now: a pending loosening whose delay ended is applied first (under the lock). */
  private async currentPolicy(tx: SqlClient, wallet: string): Promise<Policy> {
    const [row] = await tx.query('SELECT policy FROM guard_wallets WHERE id = $1 FOR UPDATE', [wallet]);
    if (!row) throw new Error('unknown wallet');
    const [due] = await tx.query("SELECT id, policy FROM guard_policy_changes WHERE wallet = $1 AND status = 'pending' AND effective_at <= $2 ORDER BY requested_at DESC LIMIT 1", [wallet, this.now()]);
    if (!due) return decodePolicy(row.policy);
    await tx.query("UPDATE guard_wallets SET policy = $2 WHERE id = $1", [wallet, json(due.policy)]);
    await tx.query("UPDATE guard_policy_changes SET status = 'applied', closed_at = $2, closed_by = 'guard' WHERE id = $1", [due.id, this.now()]);
    await this.audit({ wallet, actor: 'guard', action: 'policy-apply', subject: `policy:${due.id as string}`, outcome: 'applied', reason: 'delay_ended' }, tx);
    return decodePolicy(due.policy);
  }

  async policy(wallet: string): Promise<{ policy: Policy; pending: PendingPolicy | null }> {
    return this.db.transaction(async (tx) => ({ policy: await this.currentPolicy(tx, wallet), pending: await this.pendingPolicy(tx, wallet) }));
  }

  private async pendingPolicy(tx: SqlClient, wallet: string): Promise<PendingPolicy | null> {
    const [row] = await tx.query("SELECT id, policy, requested_at, effective_at FROM guard_policy_changes WHERE wallet = $1 AND status = 'pending' ORDER BY requested_at DESC LIMIT 1", [wallet]);
    return row ? { id: row.id as string, policy: decodePolicy(row.policy), requestedAt: int(row.requested_at), effectiveAt: int(row.effective_at) } : null;
  }

  /**
   * A new policy: at once if it is at least as strict as the current one; otherwise (`secondFactor`
   * must be true) its tightening part at once and the whole after the current delay. A new change
   * supersedes a pending one.
   */
  async setPolicy(wallet: string, next: Policy, actor: string, secondFactor: boolean): Promise<{ applied: 'now' } | { applied: 'after-delay'; effectiveAt: number } | { applied: 'refused' }> {
    return this.db.transaction(async (tx) => {
      const current = await this.currentPolicy(tx, wallet);
      // Before the Guard joins the wallet it can sign nothing: the first policy applies at once. Once it
      // holds a pending share (it confirmed the reshare that makes it a member) the member rules hold,
      // though its row turns 'member' only when the certificate arrives.
      const [row] = await tx.query('SELECT status, pending IS NOT NULL AS joining FROM guard_wallets WHERE id = $1', [wallet]);
      const enrolling = row?.status === 'enrolling' && row.joining !== true;
      const tightens = enrolling || isAtLeastAsStrict(next, current);
      if (!tightens && !secondFactor) {
        await this.audit({ wallet, actor, action: 'policy-set', outcome: 'refused', reason: 'code_required' }, tx);
        return { applied: 'refused' } as const;
      }
      await tx.query("UPDATE guard_policy_changes SET status = 'superseded', closed_at = $2, closed_by = $3 WHERE wallet = $1 AND status = 'pending'", [wallet, this.now(), actor]);
      if (tightens) {
        await tx.query('UPDATE guard_wallets SET policy = $2 WHERE id = $1', [wallet, json(encodePolicy(next))]);
        await this.audit({ wallet, actor, action: 'policy-set', outcome: 'applied', reason: enrolling ? 'enrolling' : 'tightened', detail: encodePolicy(next) }, tx);
        return { applied: 'now' } as const;
      }
      const effectiveAt = this.now() + delayMs(current);
      const id = newId();
      await tx.query('UPDATE guard_wallets SET policy = $2 WHERE id = $1', [wallet, json(encodePolicy(strictest(current, next)))]);
      await tx.query("INSERT INTO guard_policy_changes (id, wallet, policy, requested_by, requested_at, effective_at, status) VALUES ($1, $2, $3, $4, $5, $6, 'pending')", [
        id,
        wallet,
        json(encodePolicy(next)),
        actor,
        this.now(),
        effectiveAt,
      ]);
      await this.audit({ wallet, actor, action: 'policy-set', subject: `policy:${id}`, outcome: 'delayed', reason: 'loosened', detail: { policy: encodePolicy(next), effectiveAt } }, tx);
      return { applied: 'after-delay', effectiveAt } as const;
    });
  }

  async cancelPolicyChange(wallet: string, id: string, actor: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const done = await tx.query("UPDATE guard_policy_changes SET status = 'cancelled', closed_at = $3, closed_by = $4 WHERE wallet = $1 AND id = $2 AND status = 'pending' AND effective_at > $3 RETURNING id", [wallet, id, this.now(), actor]);
      if (done.length === 1) await this.audit({ wallet, actor, action: 'cancel', subject: `policy:${id}`, outcome: 'cancelled' }, tx);
      return done.length === 1;
    });
  }

  // ---- signing requests ---------------------------------------------------------------------

  private async spentIn(tx: SqlClient, wallet: string, scopes: readonly string[]): Promise<Map<string, bigint>> {
    const spent = new Map<string, bigint>();
    if (scopes.length === 0) return spent;
    const rows = await tx.query('SELECT scope, sum(amount) AS total FROM guard_charges WHERE wallet = $1 AND scope = ANY($2::text[]) AND at > $3 AND NOT released GROUP BY scope', [wallet, [...scopes], this.now() - DAY_MS]);
    for (const row of rows) spent.set(row.scope as string, big(row.total));
    return spent;
  }

  private async charge(tx: SqlClient, wallet: string, request: string, outcome: PolicyOutcome): Promise<void> {
    for (const charge of outcome.charges) {
      await tx.query('INSERT INTO guard_charges (wallet, request, scope, amount, at) VALUES ($1, $2, $3, $4, $5)', [wallet, request, charge.scope, charge.amount.toString(), this.now()]);
    }
  }

  /** The status a verdict gives a request. */
  private static statusOf(verdict: Decision['verdict']): RequestStatus {
    return verdict === 'sign' ? 'approved' : verdict === 'second_factor' ? 'awaiting_code' : verdict === 'delay' ? 'delayed' : 'refused';
  }

  /**
   * Decides a new request under the wallet's lock and records it (with its charges when it signs).
   * Returns the existing record instead when the id is known (the caller answers from it).
   */
  async decideNew(
    input: { readonly wallet: string; readonly id: string; readonly link: string; readonly counterpart: number; readonly request: string; readonly digest: string; readonly effect: RequestEffect; readonly actor: string; readonly refusal?: Decision },
  ): Promise<{ readonly record: RequestRecord; readonly fresh: boolean }> {
    return this.db.transaction(async (tx) => {
      const policy = await this.currentPolicy(tx, input.wallet);
      const existing = await this.requestIn(tx, input.wallet, input.id);
      if (existing) return { record: existing, fresh: false };
      const outcome: PolicyOutcome = input.refusal ? { ...input.refusal, charges: [] } : decide(policy, input.effect, await this.spentIn(tx, input.wallet, chargedScopes(input.effect)), { secondFactor: false, delayEnded: null });
      const status = GuardStore.statusOf(outcome.verdict);
      const releaseAt = status === 'delayed' ? this.now() + delayMs(policy) : null;
      const decision = { verdict: outcome.verdict, reasons: outcome.reasons, ...(releaseAt !== null ? { until: releaseAt } : {}) };
      await tx.query(
        `INSERT INTO guard_requests (wallet, id, link, counterpart, request, digest, status, decision, release_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
        [input.wallet, input.id, input.link, input.counterpart, input.request, input.digest, status, json(decision), releaseAt, this.now()],
      );
      if (status === 'approved') await this.charge(tx, input.wallet, input.id, outcome);
      await this.audit({ wallet: input.wallet, actor: input.actor, action: 'sign-request', subject: input.id, outcome: outcome.verdict, reason: outcome.reasons.find((reason) => reason.code !== 'within_limit' && reason.code !== 'destination_allowed')?.code ?? outcome.reasons[0]?.code ?? null, detail: decision }, tx);
      return { record: (await this.requestIn(tx, input.wallet, input.id)) as RequestRecord, fresh: true };
    });
  }

  /**
   * Decides again a request that waited — for its code (`secondFactor`) or out its delay
   * (`delayEnded`) — under the wallet's lock, with the charges as they are now.
   */
  async decideAgain(wallet: string, id: string, effect: RequestEffect, context: DecisionContext, actor: string): Promise<RequestRecord | null> {
    return this.db.transaction(async (tx) => {
      const policy = await this.currentPolicy(tx, wallet);
      const existing = await this.requestIn(tx, wallet, id);
      const waiting: RequestStatus = context.delayEnded ? 'delayed' : 'awaiting_code';
      if (!existing || existing.status !== waiting) return null;
      const outcome = decide(policy, effect, await this.spentIn(tx, wallet, chargedScopes(effect)), context);
      const status = GuardStore.statusOf(outcome.verdict);
      const releaseAt = status === 'delayed' ? (existing.releaseAt ?? this.now() + delayMs(policy)) : existing.releaseAt;
      const decision = { verdict: outcome.verdict, reasons: outcome.reasons, ...(status === 'delayed' && releaseAt !== null ? { until: releaseAt } : {}) };
      await tx.query('UPDATE guard_requests SET status = $3, decision = $4, release_at = $5, updated_at = $6 WHERE wallet = $1 AND id = $2', [wallet, id, status, json(decision), releaseAt, this.now()]);
      if (status === 'approved') await this.charge(tx, wallet, id, outcome);
      await this.audit({ wallet, actor, action: context.delayEnded ? 'delay-ended' : 'second-factor', subject: id, outcome: outcome.verdict, detail: decision }, tx);
      return this.requestIn(tx, wallet, id);
    });
  }

  /** The user chose to wait instead of entering the code. */
  async delayInstead(wallet: string, id: string, actor: string): Promise<RequestRecord | null> {
    return this.db.transaction(async (tx) => {
      const policy = await this.currentPolicy(tx, wallet);
      const existing = await this.requestIn(tx, wallet, id);
      if (!existing || existing.status !== 'awaiting_code') return null;
      const until = this.now() + delayMs(policy);
      const decision = { verdict: 'delay', reasons: [...existing.decision.reasons.filter((reason) => reason.code !== 'delayed_until'), { code: 'delayed_until', until }], until };
      await tx.query("UPDATE guard_requests SET status = 'delayed', decision = $3, release_at = $4, updated_at = $5 WHERE wallet = $1 AND id = $2", [wallet, id, json(decision), until, this.now()]);
      await this.audit({ wallet, actor, action: 'choose-delay', subject: id, outcome: 'delay', detail: { until } }, tx);
      return this.requestIn(tx, wallet, id);
    });
  }

  /** Before each signing attempt: its number is stored first, so a restart never reuses it. */
  async nextAttempt(wallet: string, id: string): Promise<number | null> {
    const rows = await this.db.query("UPDATE guard_requests SET attempt = attempt + 1, updated_at = $3 WHERE wallet = $1 AND id = $2 AND status = 'approved' RETURNING attempt", [wallet, id, this.now()]);
    return rows[0] ? int(rows[0].attempt) : null;
  }

  /**
   * A request ends: signed (charges stay), or refused / failed / cancelled (charges of a request
   * that made no signature are released). Only an open request can end; returns whether it did.
   */
  async settle(wallet: string, id: string, status: Exclude<RequestStatus, 'awaiting_code' | 'delayed' | 'approved'>, answer: unknown, audit: Omit<AuditEntry, 'wallet' | 'subject'>, from: readonly RequestStatus[] = ['approved', 'awaiting_code', 'delayed']): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const done = await tx.query('UPDATE guard_requests SET status = $3, answer = $4, updated_at = $5 WHERE wallet = $1 AND id = $2 AND status = ANY($6::text[]) RETURNING id', [wallet, id, status, json(answer), this.now(), [...from]]);
      if (done.length === 0) return false;
      if (status !== 'signed') await tx.query('UPDATE guard_charges SET released = true WHERE wallet = $1 AND request = $2', [wallet, id]);
      await this.audit({ ...audit, wallet, subject: id }, tx);
      return true;
    });
  }

  private async requestIn(client: SqlClient, wallet: string, id: string): Promise<RequestRecord | null> {
    const [row] = await client.query('SELECT * FROM guard_requests WHERE wallet = $1 AND id = $2', [wallet, id]);
    return row ? requestRecord(row) : null;
  }

  request(wallet: string, id: string): Promise<RequestRecord | null> {
    return this.requestIn(this.db, wallet, id);
  }

  async requestsWithStatus(wallet: string, statuses: readonly RequestStatus[]): Promise<RequestRecord[]> {
    const rows = await this.db.query('SELECT * FROM guard_requests WHERE wallet = $1 AND status = ANY($2::text[]) ORDER BY created_at', [wallet, [...statuses]]);
    return rows.map(requestRecord);
  }

  /** Approved requests not signed within `ttlMs`, across wallets (the sweep fails them, releasing their charges). */
  async staleApproved(ttlMs: number): Promise<{ wallet: string; id: string }[]> {
    const rows = await this.db.query("SELECT wallet, id FROM guard_requests WHERE status = 'approved' AND updated_at < $1", [this.now() - ttlMs]);
    return rows.map((row) => ({ wallet: row.wallet as string, id: row.id as string }));
  }

  /** What the wallet's requests have spent in a scope over the last 24 hours (for status and tests). */
  async spent(wallet: string, scope: string): Promise<bigint> {
    return (await this.spentIn(this.db, wallet, [scope])).get(scope) ?? 0n;
  }

  // ---- recovery gates -----------------------------------------------------------------------

  async openRecovery(wallet: string, recovery: Omit<RecoveryRecord, 'id' | 'openedAt'>, actor: string): Promise<RecoveryRecord> {
    const record: RecoveryRecord = { ...recovery, id: newId(), openedAt: this.now() };
    await this.db.transaction(async (tx) => {
      await tx.query("INSERT INTO guard_recoveries (id, wallet, from_epoch, members, dealers, opened_by, opened_at, ready_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'waiting')", [
        record.id,
        wallet,
        record.fromEpoch,
        json(record.members),
        json(record.dealers),
        record.openedBy,
        record.openedAt,
        record.readyAt,
      ]);
      await this.audit({ wallet, actor, action: 'recovery-open', subject: `recovery:${record.id}`, outcome: 'waiting', detail: { readyAt: record.readyAt, members: record.members, dealers: record.dealers } }, tx);
    });
    return record;
  }

  async recoveries(wallet: string): Promise<RecoveryRecord[]> {
    const rows = await this.db.query("SELECT * FROM guard_recoveries WHERE wallet = $1 AND status = 'waiting' ORDER BY opened_at", [wallet]);
    return rows.map((row) => ({
      id: row.id as string,
      fromEpoch: int(row.from_epoch),
      members: row.members as unknown[],
      dealers: row.dealers as [number, number],
      openedBy: row.opened_by as string,
      openedAt: int(row.opened_at),
      readyAt: int(row.ready_at),
    }));
  }

  /** Ends a waiting recovery: used (the Guard dealt) or cancelled (by a device). */
  async closeRecovery(wallet: string, id: string, status: 'used' | 'cancelled', actor: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const done = await tx.query("UPDATE guard_recoveries SET status = $3, closed_at = $4, closed_by = $5 WHERE wallet = $1 AND id = $2 AND status = 'waiting' RETURNING id", [wallet, id, status, this.now(), actor]);
      if (done.length === 1) await this.audit({ wallet, actor, action: status === 'used' ? 'recovery-deal' : 'cancel', subject: `recovery:${id}`, outcome: status }, tx);
      return done.length === 1;
    });
  }
}

function requestRecord(row: Row): RequestRecord {
  return {
    wallet: row.wallet as string,
    id: row.id as string,
    link: row.link as string,
    counterpart: int(row.counterpart),
    request: row.request as string,
    digest: row.digest as string,
    status: row.status as RequestStatus,
    decision: row.decision as RequestRecord['decision'],
    attempt: int(row.attempt),
    answer: row.answer ?? null,
    releaseAt: row.release_at === null ? null : int(row.release_at),
    createdAt: int(row.created_at),
  };
}

/** How the audit log names a device: its identity key's first 16 hex digits. */
export function deviceActor(deviceKey: string): string {
  return `device:${deviceKey.slice(0, 16)}`;
}

