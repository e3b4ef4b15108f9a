/**
 * The relay suite runs against both stores: `describe.each(STORES)` and, inside, `storeBackend(kind)`
 * gives the options a relay needs for that store. For Redis, one real redis-server per test file
 * (redis-server.ts), and a fresh key prefix per relay unless instances must share their channels.
 */
import { afterAll, beforeAll } from 'vitest';
import type { RelayOptions } from '../../src/relay/relay-options.ts';
import type { StoreKind } from '../../src/relay/relay-store.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';

export const STORES: readonly StoreKind[] = process.env.DUET_SKIP_REDIS === '1' ? ['memory'] : ['memory', 'redis'];

export interface StoreBackend {
  readonly kind: StoreKind;
  /** Options for a relay on this store; relays given the same `shared` name serve the same channels. */
  options(shared?: string): Partial<RelayOptions>;
  /** The Redis server (Redis only). */
  readonly redis: RedisServer;
}

let prefixes = 0;

/** Registers the hooks that start and stop what `kind` needs; call it inside a describe block. */
export function storeBackend(kind: StoreKind): StoreBackend {
  let server: RedisServer | null = null;
  const run = `t${process.pid}-${Date.now().toString(36)}`;
  if (kind === 'redis') {
    beforeAll(async () => {
      server = await startRedisServer();
    });
    afterAll(async () => {
      await server?.dispose();
    });
  }
  return {
    kind,
    options: (shared) => {
      if (kind === 'memory') return {};
      if (!server) throw new Error('the Redis server is not started yet (use options() inside a test or hook)');
      return { redisUrl: server.url, redisPrefix: `${run}:${shared ?? `r${prefixes++}`}:` };
    },
    get redis(): RedisServer {
      if (!server) throw new Error('no Redis server for this store');
      return server;
    },
  };
}
