/**
 * The one error type of src/wallet: a stable `code` for programs and a `field` path (for example
 * `request.tx.gas` or `typedData.domain.chainId`) naming the value that was refused. Messages say
 * what was expected; they never repeat the refused value.
 */
export type WalletErrorCode =
  /** A frozen signing request (or one of its parts) is malformed. */
  | 'bad_request'
  /** A wallet_addEthereumChain parameter or an RPC URL is malformed. */
  | 'bad_chain_params'
  /** EIP-712 typed data is malformed or inconsistent. */
  | 'bad_typed_data'
  /** Typed data or a transaction names a chain other than the active one. */
  | 'chain_mismatch'
  /** personal_sign parameters are malformed. */
  | 'bad_personal_sign_params'
  /** A signature is malformed, not low-s, or does not recover to the request's account. */
  | 'bad_signature';

export class WalletError extends Error {
  readonly code: WalletErrorCode;
  readonly field: string;

  constructor(code: WalletErrorCode, field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = 'WalletError';
    this.code = code;
    this.field = field;
  }
}
