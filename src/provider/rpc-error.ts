/**
 * EIP-1193 / EIP-1474 errors with the standard codes, shared by the in-page provider and the
 * service worker.
 */
export const RpcErrorCode = {
  userRejected: 4001,
  unauthorized: 4100,
  unsupportedMethod: 4200,
  disconnected: 4900,
  chainDisconnected: 4901,
  unrecognizedChain: 4902,
  invalidParams: -32602,
  internal: -32603,
  resourceUnavailable: -32002,
  limitExceeded: -32005,
} as const;

export type RpcErrorCodeValue = (typeof RpcErrorCode)[keyof typeof RpcErrorCode] | number;

export class ProviderRpcError extends Error {
  readonly code: RpcErrorCodeValue;
  readonly data: unknown;

  constructor(code: RpcErrorCodeValue, message: string, data?: unknown) {
    super(message);
    this.name = 'ProviderRpcError';
    this.code = code;
    this.data = data;
  }

  toJSON(): SerializedRpcError {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export interface SerializedRpcError {
  code: number;
  message: string;
  data?: unknown;
}

export function isSerializedRpcError(value: unknown): value is SerializedRpcError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SerializedRpcError).code === 'number' &&
    typeof (value as SerializedRpcError).message === 'string'
  );
}

/** Constructors for the errors the wallet returns, so each call site names only what went wrong. */
export const rpcErrors = {
  userRejected: (message = 'The user rejected the request.') => new ProviderRpcError(RpcErrorCode.userRejected, message),
  unauthorized: (message: string) => new ProviderRpcError(RpcErrorCode.unauthorized, message),
  unsupportedMethod: (message: string) => new ProviderRpcError(RpcErrorCode.unsupportedMethod, message),
  chainDisconnected: (message: string) => new ProviderRpcError(RpcErrorCode.chainDisconnected, message),
  unrecognizedChain: (message: string) => new ProviderRpcError(RpcErrorCode.unrecognizedChain, message),
  invalidParams: (message: string) => new ProviderRpcError(RpcErrorCode.invalidParams, message),
  internal: (message: string, data?: unknown) => new ProviderRpcError(RpcErrorCode.internal, message, data),
  resourceUnavailable: (message: string) => new ProviderRpcError(RpcErrorCode.resourceUnavailable, message),
  limitExceeded: (message: string) => new ProviderRpcError(RpcErrorCode.limitExceeded, message),
};

/** Any thrown value as the error a page may see: our own errors as they are, the rest as -32603. */
export function toProviderRpcError(error: unknown): ProviderRpcError {
  if (error instanceof ProviderRpcError) return error;
  return new ProviderRpcError(RpcErrorCode.internal, 'Internal error in Duet.');
}
