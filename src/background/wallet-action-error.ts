/** Errors of the extension's own pages' actions (popup, approval window): a stable code and a message for people. */
export type WalletActionErrorCode =
  | 'weak_password'
  | 'wrong_password'
  | 'already_created'
  | 'not_created'
  | 'locked'
  | 'not_paired'
  | 'invalid_input'
  | 'not_found'
  | 'network_mismatch'
  | 'unreachable'
  | 'insufficient_funds';

export class WalletActionError extends Error {
  readonly code: WalletActionErrorCode;
  readonly field: string | null;

  constructor(code: WalletActionErrorCode, message: string, field: string | null = null) {
    super(message);
    this.name = 'WalletActionError';
    this.code = code;
    this.field = field;
  }
}
