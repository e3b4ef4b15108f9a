/**
 * A Guard in its own process for tests that kill it (test/guard/restart.test.ts): options as JSON
 * in DUET_GUARD_TEST_OPTIONS, Paillier keys from the fixtures. Prints "guard <url>" once it serves.
 */
import { openDatabase } from '../../../src/guard/database.ts';
import { GuardService } from '../../../src/guard/guard-service.ts';
import { KeyEncryptionKey } from '../../../src/guard/key-encryption.ts';
import { cyclingKeys } from './guard-harness.ts';
import { FAST_LINK, NodeWebSocket } from './member-device.ts';

interface ChildOptions {
  readonly databaseUrl: string | null;
  readonly dataDir: string | null;
  readonly relayUrl: string;
  readonly port: number;
  readonly kek: string;
  readonly clockOffset: number;
  /** The first Paillier fixture this process uses (a process started again must not offer a key its wallet saw). */
  readonly keyStart?: number;
}

const options = JSON.parse(process.env.DUET_GUARD_TEST_OPTIONS ?? '{}') as ChildOptions;
const db = await openDatabase({ databaseUrl: options.databaseUrl, dataDir: options.dataDir });
const guard = await GuardService.start({
  db,
  kek: new KeyEncryptionKey(Uint8Array.from(Buffer.from(options.kek, 'hex'))),
  relayUrl: options.relayUrl,
  port: options.port,
  now: () => Date.now() + options.clockOffset,
  preparedKey: cyclingKeys(options.keyStart ?? 15),
  log: () => undefined,
  WebSocket: NodeWebSocket,
  link: FAST_LINK,
});
console.log(`guard ${guard.url} code ${(await guard.issueEnrolmentCode()).code}`);
process.once('SIGINT', () => process.exit(0));
