/**
 * The phone's side (P1) of key generation and co-signing. The phone decodes every request itself,
 * computes the digest itself, and signs only what its user approved here.
 *
 * Key generation: the Paillier key and its modulus proof are prepared in idle time; keygen/0
 * announces them as soon as the channel exists (the extension checks the proof while both users
 * compare the pairing code), keygen/1 starts once the pairing is confirmed.
 *
 * Taint (CVE-2023-33242): a failed final check taints the share in memory at once, before any
 * await, so no path (a new request, one asked again, the next approved one) can sign with the
 * untainted share; the taint record is then written by itself, ahead of queued writes, and retried
 * until it is stored; nothing is sent until it is. After that the phone answers "tainted" to
 * everything except a rescue transfer (src/wallet/rescue.ts) to the address its user typed here.
 *
 * A request's life: pending (shown) → approved (waits while another request of this key is being
 * co-signed) → signing (attempt n) → signed | failed; or pending → rejected; or, when the
 * extension stops waiting, → cancelled (an attempt in progress is dropped with its nonces). The phone keeps the
 * answer of a settled request and sends it again when the extension asks again (its service
 * worker restarted); a request asked again while signing restarts as attempt n + 1 (messages.ts).
 */
import { accountAddress } from '../mpc/derivation.ts';
import { decodeKeyGenMsg2, encodeKeyGenMsg0, encodeKeyGenMsg1, encodeKeyGenMsg3, p1KeyGenAnnounce, p1KeyGenFinish, p1KeyGenStart, type P1KeyGenState } from '../mpc/keygen.ts';
import { failuresWithCounterpart, type P1KeyShare, type Taint } from '../mpc/key-share.ts';
import { randomBytes } from '../mpc/random.ts';
import { decodeSignMsg2, decodeSignMsg4, encodeSignMsg1, encodeSignMsg3 } from '../mpc/sign-messages.ts';
import { RESCUE_FAILURE_LIMIT, p1SignFinish, p1SignReveal, p1SignStart, type P1SignSession } from '../mpc/sign.ts';
import { hexFromBytes } from '../mpc/wire.ts';
import { preparePaillierKey, type PreparedPaillierKey } from '../mpc/zk/paillier-modulus.ts';
import { displayModel, type DisplayModel } from '../wallet/decode.ts';
import { isRescueTransfer } from '../wallet/rescue.ts';
import { decodeSigningRequest, signingRequestToJson, shortCode, signingDigest, type SigningRequest } from '../wallet/signing-request.ts';
import { modulusHash } from '../mpc/pair-setup.ts';
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
  /** The key share the current attempt started with (memory only): a share replaced meanwhile does not join it. */
  share: P1KeyShare | null;
  /** Signed under the rescue exception after a taint (a transfer to the rescue address). */
  readonly rescue: boolean;
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
  | { readonly kind: 'tainted'; readonly stored: boolean }
  | { readonly kind: 'keygen-failed'; readonly message: string };

/** The taint as stored on its own, ahead of the full state (the share's `taints`, by key id). */
export interface TaintRecord {
  readonly keyId: string;
  readonly taints: readonly Taint[];
}

export interface PhoneCoSignerOptions {
  /** Sends over the confirmed channel. */
  readonly send: (message: AppMessage) => void;
  /** Sends before the pairing code is confirmed (keygen/0); defaults to `send`. */
  readonly sendEarly?: (message: AppMessage) => void;
  /** Persists the key share (encrypted); awaited before any reply that depends on it. */
  readonly saveKeyShare: (share: P1KeyShare) => Promise<void>;
  /** Writes the taint record by itself, ahead of any queued write. Retried until it succeeds. */
  readonly saveTaint: (record: TaintRecord) => Promise<void>;
  readonly onEvent: (event: PhoneEvent) => void;
  /** The Paillier key and its proof, prepared in idle time (default: made when first needed). */
  readonly preparedKey?: () => Promise<PreparedPaillierKey>;
  readonly keyShare?: P1KeyShare;
  /** Requests saved before a reload (see saved()). */
  readonly savedRequests?: readonly SavedPhoneRequest[];
  /** After a taint: the address the user typed on the phone to move the funds to. */
  readonly rescueAddress?: string | null;
  /** First delay before retrying a failed taint write (doubles up to TAINT_RETRY_MAX_MS). */
  readonly taintRetryMs?: number;
  /** The extension signs with another pair key than this phone's (it asked with `have`): set up a new one. */
  readonly onPairMismatch?: (have: string) => void;
}

export const TAINT_RETRY_MAX_MS = 10_000;
const TAINTED_MESSAGE =
  "The phone refuses to co-sign with this browser: a signature it computed failed the phone's check, so this browser may be compromised. Move your funds to a new wallet: set a rescue address on the phone, then send to it.";

/** The taint record of a share, for storage on its own. */
export function taintRecord(share: P1KeyShare): TaintRecord {
  return { keyId: hexFromBytes(share.keyId), taints: share.taints };
}

/** A share read from the full state, with any taint stored on its own applied. */
export function applyTaintRecord(share: P1KeyShare, record: TaintRecord | undefined): P1KeyShare {
  if (!record || record.keyId !== hexFromBytes(share.keyId) || record.taints.length <= share.taints.length) return share;
  return { ...share, taints: record.taints };
}

export class PhoneCoSigner {
  private readonly options: PhoneCoSignerOptions;
  private keyShare: P1KeyShare | null;
  private keygen: P1KeyGenState | null = null;
  private prepared: Promise<PreparedPaillierKey> | null = null;
  private announced: Promise<void> | null = null;
  private readonly requests = new Map<string, PhoneRequest>();
  /** Until the taint record is stored: nothing leaves the phone. */
  private taintWrite: Promise<void> | null = null;
  private rescueAddress: string | null;

  constructor(options: PhoneCoSignerOptions) {
    this.options = options;
    this.keyShare = options.keyShare ?? null;
    this.rescueAddress = options.rescueAddress ?? null;
    for (const saved of options.savedRequests ?? []) this.restore(saved);
  }

  get share(): P1KeyShare | null {
    return this.keyShare;
  }

  /**
   * The pair's key share changed (a new epoch, a new pair key, a taint another member saw, a
   * removal began): requests from now on use it; an attempt under way finishes with the share it
   * started with. Null: this pair signs nothing more.
   */
  setKeyShare(share: P1KeyShare | null): void {
    if (this.keyShare && share && this.tainted && failuresWithCounterpart(share) < failuresWithCounterpart(this.keyShare)) return;
    this.keyShare = share;
  }

  get tainted(): boolean {
    return this.keyShare !== null && failuresWithCounterpart(this.keyShare) > 0;
  }

  /** Resolves once a taint of this run is stored (at once when there is none). */
  get taintStored(): Promise<void> {
    return this.taintWrite ?? Promise.resolve();
  }

  /** After a taint: where rescue transfers may go (typed by the user on the phone). */
  setRescueAddress(address: string): void {
    this.rescueAddress = address;
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

  /** As soon as the channel exists: send the Paillier key and its proof for the extension to check. */
  announceKey(): Promise<void> {
    this.announced ??= this.preparedKey().then((prepared) => (this.options.sendEarly ?? this.options.send)({ t: 'keygen', body: encodeKeyGenMsg0(p1KeyGenAnnounce(prepared)) }));
    return this.announced;
  }

  /**
   * Once the pairing is confirmed: P1 opens key generation with `counterpart` (the extension's
   * pinned identity). keygen/0 goes again, on the confirmed channel just ahead of keygen/1: the
   * early copy travelled under the pairing keys, which the extension forgets once the first frame
   * of the paired channel's fresh exchange reaches it, so a late early copy can be lost (80 kB
   * more per pairing; the extension verifies the proof once).
   */
  async startKeygen(counterpart: string): Promise<void> {
    try {
      await this.announceKey();
      const prepared = await this.preparedKey();
      const round = p1KeyGenStart(randomBytes(32), prepared, counterpart);
      this.keygen = round.state;
      this.options.onEvent({ kind: 'keygen-progress', step: 'committing' });
      this.options.send({ t: 'keygen', body: encodeKeyGenMsg0(p1KeyGenAnnounce(prepared)) });
      this.options.send({ t: 'keygen', body: encodeKeyGenMsg1(round.message) });
    } catch (error) {
      this.options.onEvent({ kind: 'keygen-failed', message: error instanceof Error ? error.message : 'key generation failed' });
    }
  }

  private preparedKey(): Promise<PreparedPaillierKey> {
    this.prepared ??= (this.options.preparedKey ?? (async () => preparePaillierKey()))();
    return this.prepared;
  }

  async handle(raw: unknown): Promise<void> {
    const message = parseAppMessage(raw);
    if (!message) return;
    switch (message.t) {
      case 'keygen':
        return this.onKeygen(message.body);
      case 'keygen-done':
        if (this.keyShare) this.options.onEvent({ kind: 'paired', address: accountAddress(this.keyShare.publicKey, this.keyShare.chainCode, 0) });
        return;
      case 'sign-request':
        return this.onRequest(message.request, message.pair ?? null);
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
    if (this.tainted && !this.mayRescue(entry)) return this.refuseTainted(entry);
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
    const rescue = this.rescueAddress !== null && isRescueTransfer(request, this.rescueAddress);
    this.requests.set(request.id, { request, display: displayModel(request), code: shortCode(request), status: saved.status, attempt: saved.attempt, session: null, answer: saved.answer, share: null, rescue });
  }

  /** Why this phone will not sign with the pair key the extension names, or null. */
  private pairProblem(pair: string | null): string | null {
    if (pair === null) return 'The browser extension is older than this phone app: update Duet in the browser, then try again.';
    if (this.keyShare && pair !== modulusHash(this.keyShare.paillier.publicKey.n)) return 'Your browser and this phone hold different keys for this pair: the phone is setting up a new one. Try again in a moment.';
    return null;
  }

  private signRequest(entry: PhoneRequest) {
    return { sessionId: signSessionId(entry.request.id, entry.attempt), digest: signingDigest(entry.request), accountIndex: entry.request.account.index, rescue: entry.rescue };
  }

  /** After a taint: a rescue transfer while the counterpart has no more than one failure. */
  private mayRescue(entry: PhoneRequest): boolean {
    return entry.rescue && this.keyShare !== null && failuresWithCounterpart(this.keyShare) <= RESCUE_FAILURE_LIMIT;
  }

  /** Everything leaves the phone through here: held back while a taint is not yet stored. */
  private send(message: AppMessage): void {
    if (this.taintWrite) void this.taintWrite.then(() => this.options.send(message));
    else this.options.send(message);
  }

  private settle(entry: PhoneRequest, status: Exclude<SettledStatus, 'cancelled'>, answer: AppMessage): void {
    entry.status = status;
    entry.session = null;
    entry.answer = answer;
    this.options.onEvent({ kind: 'request-updated', request: entry });
    this.send(answer);
  }

  /** Starts the oldest approved request when no other request of this key is being co-signed. */
  private startNextApproved(): void {
    const share = this.keyShare;
    if (!share || this.list().some((entry) => entry.status === 'signing')) return;
    const next = this.list().find((entry) => entry.status === 'approved');
    if (!next) return;
    if (this.tainted && !this.mayRescue(next)) {
      this.refuseTainted(next);
      return this.startNextApproved();
    }
    if (next.attempt >= MAX_SIGN_ATTEMPTS) return this.settle(next, 'failed', { t: 'sign-failed', id: next.request.id, reason: 'protocol_error', message: 'Co-signing was restarted too many times.' });
    next.attempt += 1;
    const round = p1SignStart(share, this.signRequest(next), null);
    next.session = round.session;
    next.share = share;
    next.status = 'signing';
    this.options.onEvent({ kind: 'request-updated', request: next });
    this.send({ t: 'sign', id: next.request.id, attempt: next.attempt, body: encodeSignMsg1(round.message) });
  }

  private async onKeygen(body: unknown): Promise<void> {
    if (!this.keygen || (body as { type?: unknown } | null)?.type !== 'keygen/2') return;
    this.options.onEvent({ kind: 'keygen-progress', step: 'proving' });
    try {
      const round = p1KeyGenFinish(this.keygen, decodeKeyGenMsg2(body));
      this.keygen = null;
      await this.options.saveKeyShare(round.keyShare);
      this.keyShare = round.keyShare;
      this.send({ t: 'keygen', body: encodeKeyGenMsg3(round.message) });
    } catch (error) {
      this.keygen = null;
      this.options.onEvent({ kind: 'keygen-failed', message: error instanceof Error ? error.message : 'key generation failed' });
    }
  }

  private onRequest(raw: unknown, pair: string | null): void {
    let request: SigningRequest;
    const id = (raw as { id?: unknown } | null)?.id;
    const pairProblem = this.pairProblem(pair);
    if (pairProblem) {
      if (typeof id === 'string' && !this.requests.has(id)) this.options.send({ t: 'sign-failed', id, reason: pair === null ? 'bad_request' : 'protocol_error', message: pairProblem });
      if (pair !== null) this.options.onPairMismatch?.(pair);
      return;
    }
    try {
      request = decodeSigningRequest(raw);
      // The phone shows, and signs for, the account it derives itself (request-account.ts).
      request = { ...request, account: derivedAccount(this.keyShare, request.account) };
    } catch (error) {
      if (typeof id === 'string' && !this.requests.has(id)) {
        this.options.send({ t: 'sign-failed', id, reason: 'bad_request', message: `The phone refuses this request (${error instanceof Error ? error.message : 'malformed'}).` });
      }
      return;
    }
    const known = this.requests.get(request.id);
    if (known) return this.onRequestAgain(known, request);
    const rescue = this.rescueAddress !== null && isRescueTransfer(request, this.rescueAddress);
    const entry: PhoneRequest = { request, display: displayModel(request), code: shortCode(request), status: 'pending', attempt: 0, session: null, answer: null, share: null, rescue };
    this.requests.set(request.id, entry);
    if (this.tainted && !this.mayRescue(entry)) return this.refuseTainted(entry);
    this.options.onEvent({ kind: 'request', request: entry });
  }

  /** The extension asks again (its service worker restarted): answer, or restart the signing. */
  private onRequestAgain(entry: PhoneRequest, request: SigningRequest): void {
    // Only the very same request may be asked again; anything else under a known id is dropped.
    if (signingRequestToJson(request) !== signingRequestToJson(entry.request)) return;
    if (entry.answer) return this.send(entry.answer);
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
  }

  /**
   * A signature failed: the tainted share takes effect now, synchronously, and every open request
   * that is not a rescue is refused; then the record is written until it is stored.
   */
  private taint(share: P1KeyShare, entry: PhoneRequest): void {
    this.keyShare = share;
    this.taintWrite = this.storeTaintRecord(share);
    this.options.onEvent({ kind: 'tainted', stored: false });
    void this.taintWrite.then(async () => {
      this.options.onEvent({ kind: 'tainted', stored: true });
      // The full share follows; the record stored first already makes it tainted on every load.
      await this.options.saveKeyShare(share).catch(() => undefined);
    });
    this.refuseTainted(entry);
    for (const other of this.list()) if (isOpenRequest(other.status) && !this.mayRescue(other)) this.refuseTainted(other);
  }

  /** Resolves once the record is stored; until then every failed write is retried, backing off. */
  private async storeTaintRecord(share: P1KeyShare): Promise<void> {
    const record = taintRecord(share);
    for (let delay = this.options.taintRetryMs ?? 500; ; delay = Math.min(2 * delay, TAINT_RETRY_MAX_MS)) {
      try {
        return await this.options.saveTaint(record);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async onSign(id: string, attempt: number, body: unknown): Promise<void> {
    const entry = this.requests.get(id);
    const share = entry?.share;
    if (!entry || !share || entry.status !== 'signing' || !entry.session || attempt !== entry.attempt) return;
    try {
      if (entry.session.step === 'sign/awaiting-2') {
        const round = p1SignReveal(share, entry.session, decodeSignMsg2(body));
        entry.session = round.session;
        this.send({ t: 'sign', id, attempt, body: encodeSignMsg3(round.message) });
        return;
      }
      const outcome = p1SignFinish(share, entry.session, decodeSignMsg4(body, share.paillier.publicKey.n));
      entry.session = null;
      entry.share = null;
      if (outcome.kind === 'tainted') {
        this.taint(outcome.keyShare, entry);
        return this.startNextApproved();
      }
      const { r, s, yParity } = outcome.signature;
      this.settle(entry, 'signed', { t: 'sign-result', id, r: `0x${r.toString(16)}`, s: `0x${s.toString(16)}`, yParity });
    } catch (error) {
      this.settle(entry, 'failed', { t: 'sign-failed', id, reason: 'protocol_error', message: error instanceof Error ? error.message : 'co-signing failed' });
    }
    this.startNextApproved();
  }
}
