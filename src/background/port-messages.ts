/**
 * Messages between the content-script bridge and the service worker on the provider port.
 * `key` identifies one page request across reconnections: the bridge re-sends requests still
 * unanswered when its port drops (service-worker restart) with the same key.
 */
export const PROVIDER_PORT_NAME = 'duet-provider';
const MAX_KEY_LENGTH = 100;
const MAX_METHOD_LENGTH = 128;
const MAX_ORIGIN_LENGTH = 2048;

export interface PortRequest {
  readonly id: number;
  readonly key: string;
  readonly method: string;
  readonly params?: unknown;
  /** The top-level site the bridge read from location.ancestorOrigins (used only for subframes). */
  readonly top?: string;
}

export function parsePortRequest(value: unknown): PortRequest | null {
  if (typeof value !== 'object' || value === null) return null;
  const request = value as Partial<PortRequest>;
  if (typeof request.id !== 'number' || !Number.isSafeInteger(request.id)) return null;
  if (typeof request.key !== 'string' || request.key.length === 0 || request.key.length > MAX_KEY_LENGTH) return null;
  if (typeof request.method !== 'string' || request.method.length === 0 || request.method.length > MAX_METHOD_LENGTH) return null;
  const top = typeof request.top === 'string' && request.top.length <= MAX_ORIGIN_LENGTH ? { top: request.top } : {};
  return { id: request.id, key: request.key, method: request.method, params: request.params, ...top };
}
