/**
 * The phone's side (P1) of key generation and co-signing. The phone decodes every request itself,
 * computes the digest itself, and signs only what its user approved here. A failed final check
 * taints the key: the tainted share is persisted before anything is sent back.
 *
 * A request's life: pending (shown) → approved (waits while another request of this key is being
 * co-signed) → signing (attempt n) → signed | failed; or pending → rejected; or, when the
 * extension stops waiting, → cancelled (an attempt in progress is dropped with its nonces). The phone keeps the
 * answer of a settled request and sends it again when the extension asks again (its service
 * worker restarted); a request asked again while signing restarts as attempt n + 1 (messages.ts).
 */
import { accountAddress } from '../mpc/derivation.ts';
import { decodeKeyGenMsg2, encodeKeyGenMsg1, encodeKeyGenMsg3, p1KeyGenFinish, p1KeyGenStart, type P1KeyGenState } from '../mpc/keygen.ts';
import type { P1KeyShare } from '../mpc/key-share.ts';
import type { PaillierSecretKey } from '../mpc/paillier.ts';
import { randomBytes } from '../mpc/random.ts';
import { decodeSignMsg2, decodeSignMsg4, encodeSignMsg1, encodeSignMsg3 } from '../mpc/sign-messages.ts';
import { p1SignFinish, p1SignReveal, p1SignStart, type P1SignSession } from '../mpc/sign.ts';
import { displayModel, type DisplayModel } from '../wallet/decode.ts';
import { decodeSigningRequest, signingRequestToJson, shortCode, signingDigest, type SigningRequest } from '../wallet/signing-request.ts';
import { MAX_SIGN_ATTEMPTS, parseAppMessage, signSessionId, type AppMessage } from './messages.ts';
import { derivedAccount } from './request-account.ts';

const OPEN_STATUSES = ['pending', 'approved', 'signing'] as const;
type OpenStatus = (typeof OPEN_STATUSES)[number];
/** How a request ended. */
export type SettledStatus = 'signed' | 'rejected' | 'failed' | 'cancelled';
export type PhoneRequestStatus = OpenStatus | SettledStatus;

/** Still waiting for the user or being co-signed (shown on the home screen). */
export function isOpenRequest(status: PhoneRequestStatus): status is OpenStatus {
  return (OPEN_STATUSES as readonly PhoneRequestStatus[]).includes(status);
}

export interface PhoneRequest {
  readonly request: SigningRequest;
  readonly display: DisplayModel;
  readonly code: string;
  status: PhoneRequestStatus;
  /** The current signing attempt (0 before the first). */
  attempt: number;
  session: P1SignSession | null;
  /** What the phone answered once the request settled; sent again if the extension asks again. */
  answer: AppMessage | null;
}

/** What the phone keeps of a request across reloads (never a nonce or a session). */
export interface SavedPhoneRequest {
  readonly request: string;
  readonly status: PhoneRequestStatus;
  readonly attempt: number;
  readonly answer: AppMessage | null;
}

export type PhoneEvent =
  | { readonly kind: 'keygen-progress'; readonly step: string }
  | { readonly kind: 'paired'; readonly address: string }
  | { readonly kind: 'request'; readonly request: PhoneRequest }
  | { readonly kind: 'request-updated'; readonly request: PhoneRequest }
  | { readonly kind: 'tainted' };

export interface PhoneCoSignerOptions {
  readonly send: (message: AppMessage) => void;
  /** Persists the key share (encrypted); awaited before any reply that depends on it. */
  readonly saveKeyShare: (share: P1KeyShare) => Promise<void>;
  readonly onEvent: (event: PhoneEvent) => void;
  readonly keyShare?: P1KeyShare;
  /** Requests saved before a reload (see saved()). */
  readonly savedRequests?: readonly SavedPhoneRequest[];
}

const TAINTED_MESSAGE = 'This key failed a safety check on the phone. Move your funds to a new wallet.';

export class PhoneCoSigner {
  private readonly options: PhoneCoSignerOptions;
  private keyShare: P1KeyShare | null;
  private keygen: P1KeyGenState | null = null;
  private readonly requests = new Map<string, PhoneRequest>();

  constructor(options: PhoneCoSignerOptions) {
    this.options = options;
    this.keyShare = options.keyShare ?? null;
    for (const saved of options.savedRequests ?? []) this.restore(saved);
  }

  get share(): P1KeyShare | null {
    return this.keyShare;
  }

  get tainted(): boolean {
    return this.keyShare?.tainted === true;
  }

  list(): PhoneRequest[] {
    return [...this.requests.values()];
  }

  /** The requests to keep across a reload; one being co-signed is kept as approved. */
  saved(): SavedPhoneRequest[] {
    return this.list().map((entry) => ({
      request: signingRequestToJson(entry.request),
      status: entry.status === 'signing' ? 'approved' : entry.status,
      attempt: entry.attempt,
      answer: entry.answer,
    }));
  }

  /** After a reload: continue an approved request with a fresh attempt. */
  resume(): void {
    this.startNextApproved();
  }

  /** Right after pairing: P1 opens key generation. */
  startKeygen(): void {
    const round = p1KeyGenStart(randomBytes(32));
    this.keygen = round.state;
    this.options.onEvent({ kind: 'keygen-progress', step: 'committing' });
    this.options.send({ t: 'keygen', body: encodeKeyGenMsg1(round.message) });
  }

  async handle(raw: unknown, preparedPaillierKey?: PaillierSecretKey): Promise<void> {
    const message = parseAppMessage(raw);
    if (!message) return;
    switch (message.t) {
      case 'keygen':
        return this.onKeygen(message.body, preparedPaillierKey);
      case 'keygen-done':
        if (this.keyShare) this.options.onEvent({ kind: 'paired', address: accountAddress(this.keyShare.publicKey, this.keyShare.chainCode, 0) });
        return;
      case 'sign-request':
        return this.onRequest(message.request);
      case 'sign':
        return this.onSign(message.id, message.attempt, message.body);
      case 'sign-cancel':
        return this.onCancel(message.id);
      default:
        return;
    }
  }

  /** The user approved: sign now, or as soon as the request being co-signed settles. */
  approve(id: string): void {
    const entry = this.requests.get(id);
    if (!entry || entry.status !== 'pending' || !this.keyShare) return;
    entry.status = 'approved';
    this.options.onEvent({ kind: 'request-updated', request: entry });
    this.startNextApproved();
  }

  reject(id: string, reason = 'the request was rejected on the phone'): void {
    const entry = this.requests.get(id);
    if (!entry || (entry.status !== 'pending' && entry.status !== 'approved')) return;
    this.settle(entry, 'rejected', { t: 'sign-reject', id, reason });
  }

  private restore(saved: SavedPhoneRequest): void {
    const request = decodeSigningRequest(JSON.parse(saved.request));
    this.requests.set(request.id, { request, display: displayModel(request), code: shortCode(request), status: saved.status, attempt: saved.attempt, session: null, answer: saved.answer });
  }

  private signRequest(entry: PhoneRequest) {
    return { sessionId: signSessionId(entry.request.id, entry.attempt), digest: signingDigest(entry.request), accountIndex: entry.request.account.index };
  }

  private settle(entry: PhoneRequest, status: Exclude<SettledStatus, 'cancelled'>, answer: AppMessage): void {
    entry.status = status;
    entry.session = null;
    entry.answer = answer;
    this.options.onEvent({ kind: 'request-updated', request: entry });
    this.options.send(answer);
  }

  /** Starts the oldest approved request when no other request of this key is being co-signed. */
  private startNextApproved(): void {
    const share = this.keyShare;
    if (!share || this.list().some((entry) => entry.status === 'signing')) return;
    const next = this.list().find((entry) => entry.status === 'approved');
    if (!next) return;
    if (share.tainted) return this.refuseTainted(next);
    if (next.attempt >= MAX_SIGN_ATTEMPTS) return this.settle(next, 'failed', { t: 'sign-failed', id: next.request.id, reason: 'protocol_error', message: 'Co-signing was restarted too many times.' });
    next.attempt += 1;
    const round = p1SignStart(share, this.signRequest(next), null);
    next.session = round.session;
    next.status = 'signing';
    this.options.onEvent({ kind: 'request-updated', request: next });
    this.options.send({ t: 'sign', id: next.request.id, attempt: next.attempt, body: encodeSignMsg1(round.message) });
  }

  private async onKeygen(body: unknown, preparedPaillierKey?: PaillierSecretKey): Promise<void> {
    if (!this.keygen || (body as { type?: unknown } | null)?.type !== 'keygen/2') return;
    this.options.onEvent({ kind: 'keygen-progress', step: 'proving' });
    const round = p1KeyGenFinish(this.keygen, decodeKeyGenMsg2(body), preparedPaillierKey);
    this.keygen = null;
    await this.options.saveKeyShare(round.keyShare);
    this.keyShare = round.keyShare;
    this.options.send({ t: 'keygen', body: encodeKeyGenMsg3(round.message) });
  }

  private onRequest(raw: unknown): void {
    let request: SigningRequest;
    try {
      request = decodeSigningRequest(raw);
      // The phone shows, and signs for, the account it derives itself (request-account.ts).
      request = { ...request, account: derivedAccount(this.keyShare, request.account) };
    } catch (error) {
      const id = (raw as { id?: unknown } | null)?.id;
      if (typeof id === 'string' && !this.requests.has(id)) {
        this.options.send({ t: 'sign-failed', id, reason: 'bad_request', message: `The phone refuses this request (${error instanceof Error ? error.message : 'malformed'}).` });
      }
      return;
    }
    const known = this.requests.get(request.id);
    if (known) return this.onRequestAgain(known, request);
    const entry: PhoneRequest = { request, display: displayModel(request), code: shortCode(request), status: 'pending', attempt: 0, session: null, answer: null };
    this.requests.set(request.id, entry);
    if (this.keyShare?.tainted) return this.refuseTainted(entry);
    this.options.onEvent({ kind: 'request', request: entry });
  }

  /** The extension asks again (its service worker restarted): answer, or restart the signing. */
  private onRequestAgain(entry: PhoneRequest, request: SigningRequest): void {
    // Only the very same request may be asked again; anything else under a known id is dropped.
    if (signingRequestToJson(request) !== signingRequestToJson(entry.request)) return;
    if (entry.answer) return this.options.send(entry.answer);
    if (entry.status !== 'signing') return;
    entry.status = 'approved';
    entry.session = null;
    this.startNextApproved();
  }

  private onCancel(id: string): void {
    const entry = this.requests.get(id);
    if (!entry || !isOpenRequest(entry.status)) return;
    entry.status = 'cancelled';
    entry.session = null;
    this.options.onEvent({ kind: 'request-updated', request: entry });
    this.startNextApproved();
  }

  private refuseTainted(entry: PhoneRequest): void {
    this.settle(entry, 'failed', { t: 'sign-failed', id: entry.request.id, reason: 'tainted', message: TAINTED_MESSAGE });
    this.options.onEvent({ kind: 'tainted' });
  }

  private async onSign(id: string, attempt: number, body: unknown): Promise<void> {
    const entry = this.requests.get(id);
    const share = this.keyShare;
    if (!entry || !share || entry.status !== 'signing' || !entry.session || attempt !== entry.attempt) return;
    try {
      if (entry.session.step === 'sign/awaiting-2') {
        const round = p1SignReveal(share, entry.session, decodeSignMsg2(body));
        entry.session = round.session;
        this.options.send({ t: 'sign', id, attempt, body: encodeSignMsg3(round.message) });
        return;
      }
      const outcome = p1SignFinish(share, entry.session, decodeSignMsg4(body, share.paillier.publicKey.n));
      entry.session = null;
      if (outcome.kind === 'tainted') {
        await this.options.saveKeyShare(outcome.keyShare);
        this.keyShare = outcome.keyShare;
        this.settle(entry, 'failed', { t: 'sign-failed', id, reason: 'tainted', message: "The signature failed the phone's check. Move your funds to a new wallet." });
        this.options.onEvent({ kind: 'tainted' });
        return;
      }
      const { r, s, yParity } = outcome.signature;
      this.settle(entry, 'signed', { t: 'sign-result', id, r: `0x${r.toString(16)}`, s: `0x${s.toString(16)}`, yParity });
    } catch (error) {
      this.settle(entry, 'failed', { t: 'sign-failed', id, reason: 'protocol_error', message: error instanceof Error ? error.message : 'co-signing failed' });
    }
    this.startNextApproved();
  }
}
