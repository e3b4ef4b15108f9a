/** Typed errors for requests both devices build, decode and check. */
export class WalletRequestError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'WalletRequestError';
    this.field = field;
  }
}
