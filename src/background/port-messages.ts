/**
 * Messages between the content-script bridge and the service worker on the provider port.
 */
export const PROVIDER_PORT_NAME = 'duet-provider';

export interface PortRequest {
  readonly id: number;
  readonly method: string;
  readonly params?: unknown;
}

export function parsePortRequest(value: unknown): PortRequest | null {
  if (typeof value !== 'object' || value === null) return null;
  const request = value as Partial<PortRequest>;
  if (typeof request.id !== 'number' || typeof request.method !== 'string') return null;
  return { id: request.id, method: request.method, params: request.params };
}
