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
