/**
 * The extension's side (P2) of key generation and co-signing, over the encrypted channel.
 * It keeps no secrets of its own beyond the key share it is given; the caller persists state.
 *
 * keygen/0 (the phone's Paillier modulus and its proof) may arrive before the pairing code is
 * confirmed: it is checked at once (while the users compare codes) and used only by keygen/1,
 * which comes over the confirmed channel. A modulus that fails its proof ends the pairing. The
 * two travel on different channels (keygen/0 on the pairing channel, keygen/1 on the paired one
 * or the direct path), so keygen/1 may arrive first: the first one is held until keygen/0 is
 * verified, later copies are dropped. One key generation per pairing: any keygen/1 after the first
 * is dropped, and after a failure nothing continues it.
 */
import { accountAddress } from '../mpc/derivation.ts';
import {
  decodeKeyGenMsg0,
  decodeKeyGenMsg1,
  decodeKeyGenMsg3,
  encodeKeyGenMsg2,
  p2KeyGenFinish,
  p2KeyGenRespond,
  p2KeyGenVerifyModulus,
  type P2KeyGenState,
} from '../mpc/keygen.ts';
import type { VerifiedPaillierModulus } from '../mpc/zk/paillier-modulus.ts';
import type { P2KeyShare } from '../mpc/key-share.ts';
import { NoncePool, paillierPublicKey } from '../mpc/paillier.ts';
import { modulusHash } from '../mpc/pair-setup.ts';
import { extensionWalletShare, FIRST_PAIR, type FirstPairIdentities } from '../mpc/wallet-share-codec.ts';
import { p2PairShare } from '../mpc/wallet-share.ts';
import { decodeSignMsg1, decodeSignMsg3, encodeSignMsg2, encodeSignMsg4 } from '../mpc/sign-messages.ts';
import { p2SignCompute, p2SignRespond, type P2SignSession } from '../mpc/sign.ts';
import type { EcdsaSignature } from '../mpc/signature.ts';
import { encodeSigningRequest, signingDigest, type SigningRequest } from '../wallet/signing-request.ts';
import { parseAppMessage, signSessionId, type AppMessage } from './messages.ts';
import { Signature, recoverAddress, hexlify, toBeHex } from 'ethers';

/**
 * The share a new wallet's extension signs with: its keygen share as member 2 of the wallet (the
 * phone is member 1), seen as the pair {1, 2} — the key id both sides bind is the pair's.
 */
export function firstPairShare(share: P2KeyShare, identities: FirstPairIdentities): P2KeyShare {
  return p2PairShare(extensionWalletShare(share, identities, true), FIRST_PAIR.phone);
}

/** The extension checks the returned signature itself before using it. */
export function signatureMatchesAccount(request: SigningRequest, signature: EcdsaSignature): boolean {
  try {
    const recovered = recoverAddress(hexlify(signingDigest(request)), Signature.from({ r: toBeHex(signature.r, 32), s: toBeHex(signature.s, 32), yParity: signature.yParity }));
    return recovered === request.account.address;
  } catch {
    return false;
  }
}

export class CoSigningRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CoSigningRejected';
  }
}

export class CoSigningFailed extends Error {
  readonly reason: string;

  constructor(reason: string, message: string) {
    super(message);
    this.name = 'CoSigningFailed';
    this.reason = reason;
  }
}

interface PendingSignature {
  readonly request: SigningRequest;
  /** The phone's signing attempt this session answers (0 before the first round). */
  attempt: number;
  session: P2SignSession | null;
  /** The key share (and its nonce pool) the current attempt started with. */
  share: P2KeyShare | null;
  pool: NoncePool | null;
  resolve(signature: EcdsaSignature): void;
  reject(error: Error): void;
}

export interface ExtensionCoSignerOptions {
  readonly send: (message: AppMessage) => void;
  /**
   * Persist the new key share (encrypted) before the keygen is announced as done. It may return
   * the share to sign with from then on: the pair's view of the {2,n} wallet (firstPairShare).
   */
  readonly onKeyShare: (share: P2KeyShare) => Promise<P2KeyShare | void>;
  /** Key generation stopped (a bad proof, a message out of order): the pairing failed. */
  readonly onKeygenFailed?: (error: Error) => void;
  readonly keyShare?: P2KeyShare;
}

export class ExtensionCoSigner {
  private readonly options: ExtensionCoSignerOptions;
  private keyShare: P2KeyShare | null = null;
  private keygen: P2KeyGenState | null = null;
  private modulus: VerifiedPaillierModulus | null = null;
  /** keygen/1 that overtook keygen/0 (they may take different paths): answered once the modulus is verified. */
  private heldKeygenStart: unknown = null;
  /** waiting for keygen/1; started (answered or held; later copies dropped); failed (the pairing ended). */
  private keygenStage: 'waiting' | 'started' | 'failed' = 'waiting';
  private readonly pending = new Map<string, PendingSignature>();
  /** r^N mod N² for the phone's Paillier key, computed while the phone's user decides; memory only. */
  private noncePool: NoncePool | null = null;

  constructor(options: ExtensionCoSignerOptions) {
    this.options = options;
    if (options.keyShare) this.useKeyShare(options.keyShare);
  }

  get share(): P2KeyShare | null {
    return this.keyShare;
  }

  /**
   * Sends the frozen request to the phone and resolves with the verified signature. Called again
   * with the same request after a service-worker restart, it asks the phone again: the phone
   * answers a settled request again, or restarts the signing as a new attempt.
   */
  requestSignature(request: SigningRequest): Promise<EcdsaSignature> {
    if (!this.keyShare) return Promise.reject(new CoSigningFailed('not_paired', 'pair a phone first'));
    const signature = new Promise<EcdsaSignature>((resolve, reject) => {
      this.pending.set(request.id, { request, attempt: 0, session: null, share: null, pool: null, resolve, reject });
      this.options.send({ t: 'sign-request', request: encodeSigningRequest(request), pair: modulusHash((this.keyShare as P2KeyShare).paillierN) });
    });
    // The phone's user takes seconds to decide: prepare the encryption nonce of c3 meanwhile.
    if (this.noncePool && this.noncePool.size < this.pending.size) this.noncePool.fill(1);
    return signature;
  }

  /** Stops waiting for a request and tells the phone to drop it. */
  cancel(requestId: string, error: Error): void {
    const pending = this.pending.get(requestId);
    if (!pending) return;
    this.pending.delete(requestId);
    pending.reject(error);
    try {
      this.options.send({ t: 'sign-cancel', id: requestId });
    } catch {
      // The channel cannot send now (closed, or locked mid-save); the phone's copy then stays
      // until its user rejects it, and the extension answers nothing for it.
    }
  }

  async handle(raw: unknown): Promise<void> {
    const message = parseAppMessage(raw);
    if (!message) return;
    switch (message.t) {
      case 'keygen':
        return this.onKeygen(message.body);
      case 'sign':
        return this.onSign(message.id, message.attempt, message.body);
      case 'sign-reject':
        return this.settle(message.id, new CoSigningRejected(`Rejected on your phone: ${message.reason}`));
      case 'sign-failed':
        return this.settle(message.id, new CoSigningFailed(message.reason, message.message));
      case 'sign-result': {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        const signature: EcdsaSignature = { r: BigInt(message.r), s: BigInt(message.s), yParity: message.yParity };
        if (!signatureMatchesAccount(pending.request, signature)) {
          pending.reject(new CoSigningFailed('bad_signature', 'the phone returned a signature that does not match the account'));
          return;
        }
        pending.resolve(signature);
        return;
      }
      default:
        return;
    }
  }

  private useKeyShare(share: P2KeyShare): void {
    this.keyShare = share;
    this.noncePool = new NoncePool(paillierPublicKey(share.paillierN));
  }

  /**
   * The pair's key share changed (a new epoch or pair key): requests from now on use it; null stops
   * this pair (a removal began, the counterpart is a suspect). A session under way keeps its own.
   */
  setKeyShare(share: P2KeyShare | null): void {
    if (share === null) this.keyShare = null;
    else if (share.paillierN !== this.keyShare?.paillierN || share.epoch !== this.keyShare.epoch || share.x2 !== this.keyShare.x2) this.useKeyShare(share);
  }

  private settle(id: string, error: Error): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    pending.reject(error);
  }

  /** A message the phone sent before the pairing code was confirmed: only keygen/0 is accepted. */
  async handleEarly(raw: unknown): Promise<void> {
    const message = parseAppMessage(raw);
    if (message?.t === 'keygen' && (message.body as { type?: unknown } | null)?.type === 'keygen/0') return this.onKeygen(message.body);
  }

  private async onKeygen(body: unknown): Promise<void> {
    if (this.keyShare || this.keygenStage === 'failed') return;
    const type = (body as { type?: unknown } | null)?.type;
    try {
      if (type === 'keygen/0' && !this.modulus) {
        this.modulus = p2KeyGenVerifyModulus(decodeKeyGenMsg0(body));
        const held = this.heldKeygenStart;
        this.heldKeygenStart = null;
        if (held !== null) this.respondToKeygenStart(held, this.modulus);
      } else if (type === 'keygen/1' && this.keygenStage === 'waiting') {
        // One key generation per pairing: later keygen/1s are dropped, also while the share is stored.
        this.keygenStage = 'started';
        if (this.modulus) this.respondToKeygenStart(body, this.modulus);
        else this.heldKeygenStart = body;
      } else if (type === 'keygen/3' && this.keygen) {
        const share = p2KeyGenFinish(this.keygen, decodeKeyGenMsg3(body, this.keygen.paillierN));
        this.keygen = null;
        this.useKeyShare((await this.options.onKeyShare(share)) ?? share);
        this.options.send({ t: 'keygen-done', address: accountAddress(share.publicKey, share.chainCode, 0) });
      }
    } catch (error) {
      // The pairing failed: nothing held or sent later continues it.
      this.keygen = null;
      this.heldKeygenStart = null;
      this.keygenStage = 'failed';
      this.options.onKeygenFailed?.(error instanceof Error ? error : new Error('key generation failed'));
    }
  }

  private respondToKeygenStart(body: unknown, modulus: VerifiedPaillierModulus): void {
    const round = p2KeyGenRespond(decodeKeyGenMsg1(body), modulus);
    this.keygen = round.state;
    this.options.send({ t: 'keygen', body: encodeKeyGenMsg2(round.message) });
  }

  /** sign/1 of a newer attempt starts a fresh session; sign/3 continues the current one; others are dropped. */
  private onSign(id: string, attempt: number, body: unknown): void {
    const pending = this.pending.get(id);
    const round = (body as { type?: unknown } | null)?.type;
    const startsAttempt = round === 'sign/1' && attempt > (pending?.attempt ?? Infinity);
    const continuesAttempt = round === 'sign/3' && attempt === pending?.attempt && pending.session !== null;
    const share = startsAttempt ? this.keyShare : (pending?.share ?? null);
    if (!pending || !share || (!startsAttempt && !continuesAttempt)) return;
    const request = { sessionId: signSessionId(id, attempt), digest: signingDigest(pending.request), accountIndex: pending.request.account.index };
    try {
      if (startsAttempt) {
        const next = p2SignRespond(share, request, decodeSignMsg1(body), null);
        pending.attempt = attempt;
        pending.session = next.session;
        pending.share = share;
        pending.pool = this.noncePool;
        this.options.send({ t: 'sign', id, attempt, body: encodeSignMsg2(next.message) });
      } else {
        const next = p2SignCompute(share, pending.session as P2SignSession, decodeSignMsg3(body), pending.pool ?? undefined);
        pending.session = next.session;
        this.options.send({ t: 'sign', id, attempt, body: encodeSignMsg4(next.message) });
      }
    } catch (error) {
      this.settle(id, new CoSigningFailed('protocol_error', error instanceof Error ? error.message : 'co-signing failed'));
    }
  }
}
