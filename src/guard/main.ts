/**
 * `npm run guard`: starts Duet Guard with options from flags and environment (guard-config.ts):
 * PGlite in ./guard-data by default, PostgreSQL with DATABASE_URL; the key-encryption key from
 * GUARD_KEK or a file outside the data folder. Prints a one-time enrolment code (and its QR code)
 * for the Devices page, and a new one whenever that one was used or expired.
 */
import { mkdirSync } from 'node:fs';
import QRCode from 'qrcode';
import { openDatabase } from './database.ts';
import { GuardConfigError, parseGuardConfig } from './guard-config.ts';
import { GuardService } from './guard-service.ts';
import { KekError, loadKek } from './key-encryption.ts';
import { SchemaError } from './migrations.ts';
import { startCodePrinter } from './enrolment-printer.ts';

try {
  const config = parseGuardConfig(process.argv.slice(2), process.env);
  const usesPglite = config.databaseUrl === null;
  if (usesPglite) mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const { kek, created } = loadKek({ envKey: config.kekEnv, file: config.kekFile, dataDir: usesPglite ? config.dataDir : null, createIfMissing: config.kekFileIsDefault });
  if (created) console.log(`[guard] ${created}`);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const guard = await GuardService.start({ db, kek, relayUrl: config.relayUrl, host: config.host, port: config.port, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}), trustProxy: config.trustProxy });
  console.log(`[guard] Duet Guard on ${guard.url} — database: ${usesPglite ? `PGlite in ${config.dataDir}` : 'PostgreSQL'}; relay ${config.relayUrl}`);
  const printer = startCodePrinter(guard, async (code, link) => {
    console.log(`[guard] Enrolment code (one use, 15 minutes): ${code}`);
    console.log(await QRCode.toString(link, { type: 'terminal', small: true }));
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      printer.stop();
      void guard.close().then(() => db.close()).then(() => process.exit(0));
    });
  }
} catch (error) {
  if (error instanceof GuardConfigError || error instanceof KekError || error instanceof SchemaError) {
    console.error(`guard: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
