/**
 * The Guard's database: one small interface over the embedded PostgreSQL (PGlite, WASM, one
 * connection, in a data folder) and a PostgreSQL server (`pg`, a pool), so the same SQL runs on
 * both.
 *
 * Transactions: `transaction(fn)` runs fn inside BEGIN … COMMIT on one connection and retries it
 * (from the start, a bounded number of times) when PostgreSQL reports a serialization failure or
 * a deadlock, so callers write their check-then-update in one transaction with SELECT … FOR UPDATE
 * and never see those errors. On PGlite everything runs on its single connection, one transaction
 * at a time (the wrapper queues them), so a check and its update can never interleave there either.
 *
 * Types come back the same from both drivers: int8 (bigint) and numeric as strings (convert with
 * `int`/`big`), json/jsonb as values, booleans and int4 as JavaScript values.
 */
import { randomInt } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface SqlClient {
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

export type DatabaseKind = 'pglite' | 'postgresql';

export interface Database extends SqlClient {
  readonly kind: DatabaseKind;
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseConfig {
  /** postgres://… selects a PostgreSQL server; otherwise PGlite in `dataDir` (memory when null). */
  readonly databaseUrl?: string | null;
  readonly dataDir?: string | null;
  /** Connections of the PostgreSQL pool. */
  readonly poolSize?: number;
}

/** How often a transaction is retried after a serialization failure or a deadlock. */
export const TRANSACTION_RETRIES = 8;
const RETRYABLE = new Set(['40001', '40P01']);
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** An int8 column (a string from both drivers) as a safe integer. */
export function int(value: unknown): number {
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(number)) throw new Error(`not a safe integer: ${String(value)}`);
  return number;
}

/** A numeric(78,0) column as a bigint. */
export function big(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error('not a number');
  return BigInt(value);
}

function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && RETRYABLE.has(String((error as { code?: unknown }).code));
}

async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isRetryable(error) || tries >= TRANSACTION_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, randomInt(5 * (tries + 1) + 1)));
    }
  }
}

class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  /** PGlite has one connection: statements and transactions take turns here. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: PGlite) {}

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.turn.then(work, work);
    this.turn = run.catch(() => undefined);
    return run;
  }

  query<T extends object>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.exclusive(async () => (await this.db.query<T>(sql, [...params])).rows);
  }

  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.exclusive(() =>
      withRetries(() =>
        this.db.transaction(async (tx) => fn({ query: async <R extends object>(sql: string, params: readonly unknown[] = []) => (await tx.query<R>(sql, [...params])).rows })),
      ),
    );
  }

  close(): Promise<void> {
    return this.exclusive(() => this.db.close());
  }
}

class PostgresDatabase implements Database {
  readonly kind = 'postgresql' as const;

  constructor(private readonly pool: pg.Pool) {}

  async query<T extends object>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T & pg.QueryResultRow>(sql, [...params])).rows;
  }

  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return withRetries(async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({ query: async <R extends object>(sql: string, params: readonly unknown[] = []) => (await client.query<R & pg.QueryResultRow>(sql, [...params])).rows });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    });
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

const asText = (value: string) => value;

export function isPostgresUrl(url: string | null | undefined): url is string {
  return typeof url === 'string' && /^postgres(ql)?:\/\//.test(url);
}

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (isPostgresUrl(config.databaseUrl)) {
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: config.poolSize ?? 10,
      types: { getTypeParser: (oid: number, format?: string) => (oid === INT8_OID || oid === NUMERIC_OID ? asText : pg.types.getTypeParser(oid, format as 'text')) } as pg.CustomTypesConfig,
    });
    // A dropped connection is reported on the pool; a query on it fails on its own.
    pool.on('error', () => undefined);
    await pool.query('SELECT 1');
    return new PostgresDatabase(pool);
  }
  const db = await PGlite.create({ ...(config.dataDir ? { dataDir: config.dataDir } : {}), parsers: { [INT8_OID]: asText, [NUMERIC_OID]: asText } });
  return new PgliteDatabase(db);
}
