/**
 * The Guard's suites run on both databases it supports: the embedded PGlite (in memory here) and a
 * real PostgreSQL server started for the test file. `useDatabases()` registers the server's start
 * and stop; `fresh(kind)` gives each test an empty database of that kind and closes it afterwards.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { openDatabase, type Database, type DatabaseConfig, type DatabaseKind } from '../../../src/guard/database.ts';
import { startPostgres, type PostgresServer } from '../../../src/devstack/postgres.ts';

export const DATABASE_KINDS: readonly DatabaseKind[] = ['pglite', 'postgresql'];

export interface TestDatabases {
  /** A config for a new empty database of `kind` (a new PostgreSQL database, or PGlite in memory). */
  config(kind: DatabaseKind): Promise<DatabaseConfig>;
  /** An open, empty database of `kind`, closed after the test. */
  fresh(kind: DatabaseKind, poolSize?: number): Promise<Database>;
}

export function useDatabases(): TestDatabases {
  let server: PostgresServer | null = null;
  const opened: Database[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close().catch(() => undefined)));
  });
  afterAll(async () => {
    await server?.stop();
  });
  const config = async (kind: DatabaseKind): Promise<DatabaseConfig> => {
    if (kind === 'pglite') return { dataDir: null };
    if (!server) throw new Error('the PostgreSQL server is not running');
    return { databaseUrl: await server.createDatabase() };
  };
  return {
    config,
    async fresh(kind, poolSize) {
      const db = await openDatabase({ ...(await config(kind)), ...(poolSize ? { poolSize } : {}) });
      opened.push(db);
      return db;
    },
  };
}
