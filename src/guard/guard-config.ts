/**
 * The Guard's configuration from flags and environment variables (flags win):
 *
 *   --host            GUARD_HOST        127.0.0.1
 *   --port            GUARD_PORT        8790
 *   --public-url      GUARD_PUBLIC_URL  http://<host>:<port>   (what devices type; https behind TLS)
 *   --relay-url       GUARD_RELAY_URL   ws://127.0.0.1:8787
 *   --data-dir        GUARD_DATA_DIR    ./guard-data            (PGlite; unused with DATABASE_URL)
 *   --database-url    DATABASE_URL      —                       (postgres://… : a PostgreSQL server)
 *   --kek-file        GUARD_KEK_FILE    ./guard-kek.key         (made owner-only on first start if it
 *                                                                is the default and missing)
 *                     GUARD_KEK         —                       (the key itself, 64 hex digits)
 *   --trust-proxy     GUARD_TRUST_PROXY —                       (comma-separated proxy addresses)
 */
import { resolve } from 'node:path';

export interface GuardConfig {
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string | null;
  readonly relayUrl: string;
  readonly dataDir: string;
  readonly databaseUrl: string | null;
  readonly kekFile: string;
  /** The KEK file is the default one (then a missing file is made, for development). */
  readonly kekFileIsDefault: boolean;
  readonly kekEnv: string | undefined;
  readonly trustProxy: readonly string[];
}

export class GuardConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuardConfigError';
  }
}

const FLAGS: Record<string, { readonly env: string; readonly key: keyof GuardConfig }> = {
  '--host': { env: 'GUARD_HOST', key: 'host' },
  '--port': { env: 'GUARD_PORT', key: 'port' },
  '--public-url': { env: 'GUARD_PUBLIC_URL', key: 'publicUrl' },
  '--relay-url': { env: 'GUARD_RELAY_URL', key: 'relayUrl' },
  '--data-dir': { env: 'GUARD_DATA_DIR', key: 'dataDir' },
  '--database-url': { env: 'DATABASE_URL', key: 'databaseUrl' },
  '--kek-file': { env: 'GUARD_KEK_FILE', key: 'kekFile' },
  '--trust-proxy': { env: 'GUARD_TRUST_PROXY', key: 'trustProxy' },
};

export const DEFAULT_KEK_FILE = 'guard-kek.key';

export function parseGuardConfig(argv: readonly string[], env: NodeJS.ProcessEnv): GuardConfig {
  const values: Partial<Record<keyof GuardConfig, string>> = {};
  for (const spec of Object.values(FLAGS)) if (env[spec.env] !== undefined && env[spec.env] !== '') values[spec.key] = env[spec.env];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = (argv[i] as string).split('=', 2) as [string, string | undefined];
    const spec = FLAGS[flag];
    if (!spec) throw new GuardConfigError(`unknown option ${flag}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new GuardConfigError(`${flag} needs a value`);
    values[spec.key] = value;
  }
  const port = Number(values.port ?? 8790);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new GuardConfigError('--port must be a port number');
  const relayUrl = values.relayUrl ?? 'ws://127.0.0.1:8787';
  if (!/^wss?:\/\//.test(relayUrl)) throw new GuardConfigError('--relay-url must be a ws:// or wss:// URL');
  const databaseUrl = values.databaseUrl ?? null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new GuardConfigError('DATABASE_URL must be a postgres:// URL');
  return {
    host: values.host ?? '127.0.0.1',
    port,
    publicUrl: values.publicUrl ?? null,
    relayUrl,
    dataDir: resolve(values.dataDir ?? 'guard-data'),
    databaseUrl,
    kekFile: resolve(values.kekFile ?? DEFAULT_KEK_FILE),
    kekFileIsDefault: values.kekFile === undefined,
    kekEnv: env.GUARD_KEK,
    trustProxy: (values.trustProxy ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0),
  };
}
