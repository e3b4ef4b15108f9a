/**
 * The other half of every signature, as the approval pipeline sees it: a member of the wallet this
 * browser signs with (a phone, the Guard). After the user approves a request in the extension, the
 * frozen SigningRequest goes to `sign`; the implementation runs the two-party protocol with that
 * member (which shows the request again and asks its user, or applies its policy).
 *
 * Contract for implementations:
 * - resolve only with a signature for exactly `request` (the pipeline verifies it anyway);
 * - reject with CoSignerRejectedError when the phone's user refuses, CoSignerFailedError when the
 *   protocol cannot complete, and with `signal.reason` as soon as `signal` aborts;
 * - `sign` may be called again with the same request after a service-worker restart: resume, or
 *   refuse with CoSignerFailedError('interrupted').
 */
import type { SigningRequest } from '../wallet/signing-request.ts';

export interface CoSignature {
  readonly r: bigint;
  readonly s: bigint;
  readonly yParity: 0 | 1;
  /** The member that co-signed (identity key, hex), when the co-signer knows it. */
  readonly by?: string;
}

export interface PhoneStatus {
  /** True while the channel to the phone is up (relay connected); requests still queue when not. */
  readonly reachable: boolean;
  /** Unix ms of the last message from the phone, if any. */
  readonly lastSeen: number | null;
  /** Why the phone cannot be reached, in words (the relay refused, the pairing ended…), if known. */
  readonly problem?: string | null;
  /** How messages to the phone travel now: a direct WebRTC data channel, or the relay. */
  readonly path?: 'direct' | 'relay';
}

export interface CoSigner {
  /**
   * `via`: the member (identity key, hex) to ask; without it, the default co-signer if it is
   * reachable, else the first reachable member this browser signs with.
   */
  sign(request: SigningRequest, signal: AbortSignal, via?: string | null): Promise<CoSignature>;
  /** The status of `via`, or of the member a request would go to now. */
  status(via?: string | null): PhoneStatus;
  onStatusChange(listener: (status: PhoneStatus) => void): () => void;
}

export class CoSignerRejectedError extends Error {
  readonly code = 'phone_rejected';

  constructor(message = 'Rejected on your phone.') {
    super(message);
    this.name = 'CoSignerRejectedError';
  }
}

export type CoSignerFailure = 'not_paired' | 'tainted' | 'protocol_error' | 'interrupted' | 'unavailable';

export class CoSignerFailedError extends Error {
  readonly code: CoSignerFailure;

  constructor(code: CoSignerFailure, message: string) {
    super(message);
    this.name = 'CoSignerFailedError';
    this.code = code;
  }
}
