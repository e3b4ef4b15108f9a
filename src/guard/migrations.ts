/**
 * The Guard's schema, as numbered migrations applied in order at start (`migrate`), each in its own
 * transaction together with its row in guard_schema_migrations, under an advisory lock so two
 * Guards starting on one PostgreSQL never apply a migration twice. A database whose schema is newer
 * than this Guard knows is refused (an older Guard must not write a schema it does not understand).
 * A migration, once released, is never edited: changes come as a new one.
 *
 * What is secret (key shares, Paillier keys, identity keys, channel keys, TOTP secrets, enrolment
 * code secrets) is stored sealed with the key-encryption key (key-encryption.ts); the SQL sees
 * only ciphertext there. Times are Unix milliseconds from the Guard's clock (int8), amounts
 * numeric(78,0) (any uint256).
 */
import type { Database } from './database.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'wallets, links, requests, charges, queue, recovery gates, audit',
    sql: `
CREATE TABLE guard_meta (key text PRIMARY KEY, value text NOT NULL);

CREATE TABLE guard_wallets (
  id text PRIMARY KEY,
  created_at bigint NOT NULL,
  status text NOT NULL CHECK (status IN ('enrolling', 'member', 'removed')),
  wallet_id text UNIQUE,
  identity text NOT NULL,
  identity_public text NOT NULL UNIQUE,
  share text,
  pending text,
  last_reshare text,
  policy jsonb NOT NULL,
  totp_secret text,
  totp_confirmed boolean NOT NULL DEFAULT false,
  totp_last_step bigint NOT NULL DEFAULT 0,
  code_failures integer NOT NULL DEFAULT 0,
  code_window_start bigint NOT NULL DEFAULT 0
);

CREATE TABLE guard_links (
  id text PRIMARY KEY,
  wallet text NOT NULL REFERENCES guard_wallets (id),
  device_key text NOT NULL,
  device_role text NOT NULL CHECK (device_role IN ('extension', 'phone')),
  state text NOT NULL,
  created_at bigint NOT NULL,
  last_seen bigint,
  retired boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX guard_links_device ON guard_links (wallet, device_key) WHERE NOT retired;

CREATE TABLE guard_enrolment_codes (
  id text PRIMARY KEY,
  secret text NOT NULL,
  wallet text REFERENCES guard_wallets (id),
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  failures integer NOT NULL DEFAULT 0,
  used_at bigint
);

CREATE TABLE guard_requests (
  wallet text NOT NULL REFERENCES guard_wallets (id),
  id text NOT NULL,
  link text NOT NULL REFERENCES guard_links (id),
  counterpart integer NOT NULL,
  request text NOT NULL,
  digest text NOT NULL,
  status text NOT NULL CHECK (status IN ('awaiting_code', 'delayed', 'approved', 'signed', 'refused', 'failed', 'cancelled')),
  decision jsonb NOT NULL,
  attempt integer NOT NULL DEFAULT 0,
  answer jsonb,
  release_at bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (wallet, id)
);
CREATE INDEX guard_requests_open ON guard_requests (status) WHERE status IN ('approved', 'delayed', 'awaiting_code');

CREATE TABLE guard_charges (
  id bigserial PRIMARY KEY,
  wallet text NOT NULL REFERENCES guard_wallets (id),
  request text NOT NULL,
  scope text NOT NULL,
  amount numeric(78, 0) NOT NULL CHECK (amount >= 0),
  at bigint NOT NULL,
  released boolean NOT NULL DEFAULT false,
  UNIQUE (wallet, request, scope)
);
CREATE INDEX guard_charges_window ON guard_charges (wallet, scope, at);

CREATE TABLE guard_policy_changes (
  id text PRIMARY KEY,
  wallet text NOT NULL REFERENCES guard_wallets (id),
  policy jsonb NOT NULL,
  requested_by text NOT NULL,
  requested_at bigint NOT NULL,
  effective_at bigint NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'applied', 'cancelled', 'superseded')),
  closed_at bigint,
  closed_by text
);

CREATE TABLE guard_recoveries (
  id text PRIMARY KEY,
  wallet text NOT NULL REFERENCES guard_wallets (id),
  from_epoch integer NOT NULL,
  members jsonb NOT NULL,
  dealers jsonb NOT NULL,
  opened_by text NOT NULL,
  opened_at bigint NOT NULL,
  ready_at bigint NOT NULL,
  status text NOT NULL CHECK (status IN ('waiting', 'used', 'cancelled')),
  closed_at bigint,
  closed_by text
);

CREATE TABLE guard_audit (
  seq bigserial PRIMARY KEY,
  wallet text,
  at bigint NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  subject text,
  outcome text NOT NULL,
  reason text,
  detail jsonb
);
CREATE INDEX guard_audit_wallet ON guard_audit (wallet, seq);

CREATE FUNCTION guard_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the Guard''s audit log is append-only';
END
$$;
CREATE TRIGGER guard_audit_no_update BEFORE UPDATE OR DELETE ON guard_audit FOR EACH ROW EXECUTE FUNCTION guard_audit_append_only();
CREATE TRIGGER guard_audit_no_truncate BEFORE TRUNCATE ON guard_audit FOR EACH STATEMENT EXECUTE FUNCTION guard_audit_append_only();
`,
  },
];

export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

/** Any constant works: it only keeps two Guards from migrating one database at the same time. */
const MIGRATION_LOCK = 7_305_015;

/** Applies the migrations `db` lacks; returns the versions applied now. */
export async function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS, now: () => number = Date.now): Promise<number[]> {
  const latest = migrations.at(-1)?.version ?? 0;
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.query('CREATE TABLE IF NOT EXISTS guard_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
      const rows = await tx.query<{ version: number }>('SELECT version FROM guard_schema_migrations ORDER BY version');
      const newest = rows.at(-1)?.version ?? 0;
      if (newest > latest) throw new SchemaError(`the database's schema (version ${newest}) is newer than this Guard's (version ${latest}): run a newer Guard`);
      if (rows.some((row) => row.version === migration.version)) return false;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query('INSERT INTO guard_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, now()]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}

/** The schema version of `db` (0 when nothing was applied). */
export async function schemaVersion(db: Database): Promise<number> {
  const exists = await db.query<{ name: string | null }>("SELECT to_regclass('guard_schema_migrations')::text AS name");
  if (!exists[0]?.name) return 0;
  const rows = await db.query<{ version: number | null }>('SELECT max(version) AS version FROM guard_schema_migrations');
  return rows[0]?.version ?? 0;
}

/** Statements separated by ";" at the end of a line, with $$-quoted bodies kept whole. */
function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let inBody = false;
  for (const line of sql.split('\n')) {
    current += `${line}\n`;
    if ((line.match(/\$\$/g) ?? []).length % 2 === 1) inBody = !inBody;
    if (!inBody && line.trimEnd().endsWith(';')) {
      statements.push(current.trim());
      current = '';
    }
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}
