/**
 * `npm run relay`: starts the relay with options from flags and environment (see relay-options.ts).
 * In memory, queued mailboxes are kept across a graceful stop in ./relay-state unless --state-dir
 * says otherwise (an empty value keeps nothing); with RELAY_REDIS_URL they are in Redis.
 */
import { parseRelayOptions, RelayConfigError } from './relay-options.ts';
import { startRelay } from './relay-server.ts';
import { RelayStoreError } from './relay-store.ts';

try {
  const relay = await startRelay({ stateDir: 'relay-state', ...parseRelayOptions(process.argv.slice(2), process.env) });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void relay.close().then(() => process.exit(0));
    });
  }
} catch (error) {
  if (error instanceof RelayConfigError || error instanceof RelayStoreError) {
    console.error(`relay: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
