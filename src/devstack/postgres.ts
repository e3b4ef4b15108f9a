/**
 * A real PostgreSQL server for the Guard's tests and bench:guard: Debian's `postgresql` (initdb + pg_ctl) in a
 * temporary folder on a free loopback port, trust authentication on 127.0.0.1 only, fsync off
 * unless `durable` (a test server). initdb and pg_ctl refuse to run as root: as root they run as the `postgres` user
 * (runuser) on a folder that user owns. Each test gets its own database (`createDatabase`).
 * .ci/run installs the package when it is missing.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.ts';

const BIN_ROOT = '/usr/lib/postgresql';

export interface PostgresServer {
  readonly port: number;
  /** A new, empty database on the server; its postgres:// URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

function postgresBin(): string {
  const fromEnv = process.env.GUARD_TEST_PG_BIN;
  if (fromEnv) return fromEnv;
  const versions = existsSync(BIN_ROOT) ? readdirSync(BIN_ROOT).filter((name) => existsSync(join(BIN_ROOT, name, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`PostgreSQL is not installed (no ${BIN_ROOT}/*/bin/initdb): apt-get install postgresql, or set GUARD_TEST_PG_BIN`);
  return join(BIN_ROOT, newest, 'bin');
}

/** `durable`: keep fsync on (a benchmark's numbers); tests turn it off. */
export async function startPostgres(options: { readonly durable?: boolean } = {}): Promise<PostgresServer> {
  const bin = postgresBin();
  const asRoot = process.getuid?.() === 0;
  const run = (tool: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { stdio: 'pipe' }) : execFileSync(join(bin, tool), args, { stdio: 'pipe' });
  const folder = mkdtempSync(join(tmpdir(), 'duet-guard-pg-'));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(folder, uid, gid);
  }
  const data = join(folder, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  run('pg_ctl', ['-D', data, '-l', join(folder, 'log'), '-w', '-o', `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 ${options.durable ? '' : '-c fsync=off '}-c max_connections=200`, 'start']);
  let counter = 0;
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  return {
    port,
    async createDatabase() {
      const name = `guard_test_${process.pid}_${++counter}`;
      await admin.query(`CREATE DATABASE ${name}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await admin.end().catch(() => undefined);
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    },
  };
}
