/**
 * The phone's side (P1) of key generation and co-signing. The phone decodes every request itself,
 * computes the digest itself, and signs only what its user approved here. A failed final check
 * taints the key: the tainted share is persisted before anything is sent back.
 */
import { accountAddress } from '../mpc/derivation.ts';
import { decodeKeyGenMsg2, encodeKeyGenMsg1, encodeKeyGenMsg3, p1KeyGenFinish, p1KeyGenStart, type P1KeyGenState } from '../mpc/keygen.ts';
import type { P1KeyShare } from '../mpc/key-share.ts';
import type { PaillierSecretKey } from '../mpc/paillier.ts';
import { randomBytes } from '../mpc/random.ts';
import { decodeSignMsg2, decodeSignMsg4, encodeSignMsg1, encodeSignMsg3 } from '../mpc/sign-messages.ts';
import { p1SignFinish, p1SignReveal, p1SignStart, type P1SignSession } from '../mpc/sign.ts';
import { displayModel, type DisplayModel } from '../wallet/decode.ts';
import { decodeSigningRequest, shortCode, signingDigest, type SigningRequest } from '../wallet/signing-request.ts';
import { parseAppMessage, signSessionId, type AppMessage } from './messages.ts';

export type PhoneRequestStatus = 'pending' | 'signing' | 'signed' | 'rejected' | 'failed';

export interface PhoneRequest {
  readonly request: SigningRequest;
  readonly display: DisplayModel;
  readonly code: string;
  status: PhoneRequestStatus;
  session: P1SignSession | null;
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
}

export class PhoneCoSigner {
  private readonly options: PhoneCoSignerOptions;
  private keyShare: P1KeyShare | null;
  private keygen: P1KeyGenState | null = null;
  private readonly requests = new Map<string, PhoneRequest>();

  constructor(options: PhoneCoSignerOptions) {
    this.options = options;
    this.keyShare = options.keyShare ?? null;
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
        return this.onSign(message.id, message.body);
      default:
        return;
    }
  }

  approve(id: string): void {
    const entry = this.requests.get(id);
    const share = this.keyShare;
    if (!entry || entry.status !== 'pending' || !share) return;
    if (share.tainted) return this.refuseTainted(entry);
    const active = [...this.requests.values()].find((r) => r.status === 'signing')?.session ?? null;
    const round = p1SignStart(share, this.signRequest(entry.request), active);
    entry.session = round.session;
    entry.status = 'signing';
    this.options.onEvent({ kind: 'request-updated', request: entry });
    this.options.send({ t: 'sign', id, body: encodeSignMsg1(round.message) });
  }

  reject(id: string, reason = 'the request was rejected on the phone'): void {
    const entry = this.requests.get(id);
    if (!entry || entry.status !== 'pending') return;
    entry.status = 'rejected';
    this.options.onEvent({ kind: 'request-updated', request: entry });
    this.options.send({ t: 'sign-reject', id, reason });
  }

  private signRequest(request: SigningRequest) {
    return { sessionId: signSessionId(request.id), digest: signingDigest(request), accountIndex: request.account.index };
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
    } catch {
      return;
    }
    if (this.requests.has(request.id)) return;
    const entry: PhoneRequest = { request, display: displayModel(request), code: shortCode(request), status: 'pending', session: null };
    this.requests.set(request.id, entry);
    if (this.keyShare?.tainted) return this.refuseTainted(entry);
    this.options.onEvent({ kind: 'request', request: entry });
  }

  private refuseTainted(entry: PhoneRequest): void {
    entry.status = 'failed';
    this.options.onEvent({ kind: 'tainted' });
    this.options.send({ t: 'sign-failed', id: entry.request.id, reason: 'tainted', message: 'This key failed a safety check on the phone. Move your funds to a new wallet.' });
  }

  private async onSign(id: string, body: unknown): Promise<void> {
    const entry = this.requests.get(id);
    const share = this.keyShare;
    if (!entry || !share || entry.status !== 'signing' || !entry.session) return;
    try {
      if (entry.session.step === 'sign/awaiting-2') {
        const round = p1SignReveal(share, entry.session, decodeSignMsg2(body));
        entry.session = round.session;
        this.options.send({ t: 'sign', id, body: encodeSignMsg3(round.message) });
        return;
      }
      const outcome = p1SignFinish(share, entry.session, decodeSignMsg4(body, share.paillier.publicKey.n));
      entry.session = null;
      if (outcome.kind === 'tainted') {
        await this.options.saveKeyShare(outcome.keyShare);
        this.keyShare = outcome.keyShare;
        entry.status = 'failed';
        this.options.onEvent({ kind: 'tainted' });
        this.options.send({ t: 'sign-failed', id, reason: 'tainted', message: 'The signature failed the phone\'s check. Move your funds to a new wallet.' });
        return;
      }
      entry.status = 'signed';
      this.options.onEvent({ kind: 'request-updated', request: entry });
      const { r, s, yParity } = outcome.signature;
      this.options.send({ t: 'sign-result', id, r: `0x${r.toString(16)}`, s: `0x${s.toString(16)}`, yParity });
    } catch (error) {
      entry.status = 'failed';
      entry.session = null;
      this.options.onEvent({ kind: 'request-updated', request: entry });
      this.options.send({ t: 'sign-failed', id, reason: 'protocol_error', message: error instanceof Error ? error.message : 'co-signing failed' });
    }
  }
}
