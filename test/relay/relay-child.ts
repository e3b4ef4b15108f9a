/**
 * A relay in its own process, for tests that measure its memory or kill it: options as JSON in
 * DUET_RELAY_OPTIONS; prints "port N" once listening; SIGTERM/SIGINT stop it gracefully.
 */
import { startRelay } from '../../src/relay/relay-server.ts';

const options = JSON.parse(process.env.DUET_RELAY_OPTIONS ?? '{}') as Record<string, unknown>;
const relay = await startRelay({ port: 0, staticDir: null, log: () => undefined, ...options });
process.stdout.write(`port ${relay.port}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void relay.close().then(() => process.exit(0)));
