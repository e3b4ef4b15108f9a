/** Versioned migrations on both databases: applied once, in order, the audit log append-only, a newer schema refused. */
import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion, MIGRATIONS, SchemaError } from '../../src/guard/migrations.ts';
import { DATABASE_KINDS, useDatabases } from './support/databases.ts';

const databases = useDatabases();

describe.each(DATABASE_KINDS)('migrations on %s', (kind) => {
  it('applies every migration once, and again nothing', async () => {
    const db = await databases.fresh(kind);
    expect(await schemaVersion(db)).toBe(0);
    expect(await migrate(db)).toEqual(MIGRATIONS.map((migration) => migration.version));
    expect(await migrate(db)).toEqual([]);
    expect(await schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
  });

  it('two Guards migrating one database at once apply each migration exactly once', async () => {
    const db = await databases.fresh(kind, 4);
    const results = await Promise.all([migrate(db), migrate(db), migrate(db)]);
    expect(results.flat().sort()).toEqual(MIGRATIONS.map((migration) => migration.version));
  });

  it('refuses a database whose schema is newer than this Guard', async () => {
    const db = await databases.fresh(kind);
    await migrate(db);
    await db.query('INSERT INTO guard_schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [99, 'from the future', 0]);
    await expect(migrate(db)).rejects.toThrow(SchemaError);
    await expect(migrate(db)).rejects.toThrow(/schema \(version 99\) is newer than this Guard's/);
  });

  it('the audit log refuses UPDATE, DELETE and TRUNCATE', async () => {
    const db = await databases.fresh(kind);
    await migrate(db);
    await db.query("INSERT INTO guard_audit (wallet, at, actor, action, outcome) VALUES ('w', 1, 'guard', 'start', 'ok')");
    await expect(db.query("UPDATE guard_audit SET outcome = 'changed'")).rejects.toThrow(/append-only/);
    await expect(db.query('DELETE FROM guard_audit')).rejects.toThrow(/append-only/);
    await expect(db.query('TRUNCATE guard_audit')).rejects.toThrow(/append-only/);
    expect(await db.query('SELECT outcome FROM guard_audit')).toEqual([{ outcome: 'ok' }]);
  });
});
