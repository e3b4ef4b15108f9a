/** Typed errors of pairing and the encrypted channel. Messages never include key material. */
export type ChannelErrorCode =
  | 'malformed_offer'
  | 'expired_offer'
  | 'unsupported_version'
  | 'malformed_frame'
  | 'tampered'
  | 'bad_signature'
  | 'identity_mismatch'
  | 'not_ready'
  | 'save_required'
  | 'sas_rejected';

export class ChannelError extends Error {
  readonly code: ChannelErrorCode;

  constructor(code: ChannelErrorCode, message: string) {
    super(message);
    this.name = 'ChannelError';
    this.code = code;
  }
}
