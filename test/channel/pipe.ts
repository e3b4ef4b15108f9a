/**
 * Two frame transports wired to each other, optionally through an interceptor that may rewrite
 * or drop frames (the relay's position), for channel tests without a network.
 */
import type { FrameTransport } from '../../src/channel/secure-channel.ts';

export type Interceptor = (frame: Uint8Array, direction: 'toPhone' | 'toExtension') => Uint8Array | null;

export function pipe(intercept: Interceptor = (frame) => frame): { extension: FrameTransport; phone: FrameTransport; seen: Uint8Array[] } {
  const handlers: Record<'extension' | 'phone', ((frame: Uint8Array) => void)[]> = { extension: [], phone: [] };
  const seen: Uint8Array[] = [];
  const make = (self: 'extension' | 'phone'): FrameTransport => ({
    send(frame) {
      const direction = self === 'extension' ? 'toPhone' : 'toExtension';
      const target = self === 'extension' ? 'phone' : 'extension';
      seen.push(frame);
      const delivered = intercept(frame.slice(), direction);
      if (delivered) queueMicrotask(() => handlers[target].forEach((h) => h(delivered)));
    },
    onMessage(handler) {
      handlers[self].push(handler);
      return () => (handlers[self] = handlers[self].filter((h) => h !== handler));
    },
  });
  return { extension: make('extension'), phone: make('phone'), seen };
}

export const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
