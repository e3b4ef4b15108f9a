/**
 * Relay configuration: defaults, and parsing from command-line flags and environment variables.
 * Without `--redis-url` the relay keeps its channels in memory (one instance); with it, in Redis
 * (any number of instances behind one address, docs/relay.md).
 * The defaults keep a relay with 9,000 paired channels (18,000 sockets) under ~512 MB of memory
 * even when every cap is reached at once (docs/relay.md, "Memory budget").
 */
export interface RelayOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host: string;
  /** Frames wait this long in a mailbox for an offline peer. */
  readonly mailboxTtlMs: number;
  readonly maxFrameBytes: number;
  readonly maxMailboxFrames: number;
  readonly maxMailboxBytes: number;
  /** All mailbox bytes stored by one address, and by everybody. */
  readonly maxMailboxBytesPerAddress: number;
  readonly maxMailboxBytesTotal: number;
  /** Token bucket per role of a channel (kept across reconnections): frames per second and burst. */
  readonly framesPerSecond: number;
  readonly frameBurst: number;
  /** Token bucket per address, shared by all its connections. */
  readonly addressFramesPerSecond: number;
  readonly addressFrameBurst: number;
  /** New WebSocket connections per address. */
  readonly addressConnectsPerSecond: number;
  readonly addressConnectBurst: number;
  readonly maxChannelsPerIp: number;
  /** WebSocket connections per address (TCP connections: twice that); over it: 4005. */
  readonly maxConnectionsPerAddress: number;
  /** WebSocket connections in all; over it: 1013. Keep it below the open-files limit. */
  readonly maxConnections: number;
  /** A TCP connection that has not upgraded (or sent an HTTP request) by then is closed. */
  readonly upgradeTimeoutMs: number;
  /** Bytes handed to one socket that it has not taken yet; the mailbox holds the rest. */
  readonly socketWindowBytes: number;
  /** The same, over all sockets. */
  readonly maxBufferedBytesTotal: number;
  /** A socket that takes none of its pending bytes for this long is closed (4011). */
  readonly slowReaderTimeoutMs: number;
  /** A connection that sends nothing (not even a ping) for this long is closed. */
  readonly idleTimeoutMs: number;
  readonly helloTimeoutMs: number;
  /** How long close() waits for online peers to acknowledge frames still in mailboxes. */
  readonly drainTimeoutMs: number;
  /** Addresses of reverse proxies whose X-Forwarded-For is believed (client-address.ts). */
  readonly trustProxy: readonly string[];
  /** Where a graceful stop saves the mailboxes and RETIRE records the channel; null keeps nothing (memory store only). */
  readonly stateDir: string | null;
  /** Redis holds the channels instead of this process (several instances share it); null: in memory. */
  readonly redisUrl: string | null;
  /** Prefix of the relay's Redis keys: instances with the same URL and prefix serve the same channels. */
  readonly redisPrefix: string;
  /** How long a retired channel stays refused (4010), and how many are remembered. */
  readonly retiredTtlMs: number;
  readonly maxRetired: number;
  /** Directory of the phone app's built files, served over HTTP; null serves none. */
  readonly staticDir: string | null;
  /**
   * Development (npm start, tests; no flag): http(s) origins of Duet Guards the served phone app may
   * reach (its CSP's connect-src), read at each request (a Guard may start after the relay).
   */
  readonly phoneGuardOrigins?: () => readonly string[];
  /** Counts and channel-id prefixes only, never payloads. */
  readonly log: (line: string) => void;
  /**
   * Tests and bench:cosign only (no flag): every message a client sends is handled this many ms
   * after it arrived, in arrival order, as a far-away relay would (the one-way delay of a path
   * through the relay). 0, the default, handles it at once.
   */
  readonly testDelayMs?: number;
  /** Test hook: sees every routed payload (to prove the relay forwards bytes unmodified). */
  readonly onRoutedFrame?: (channel: string, from: 'extension' | 'phone', payload: Uint8Array) => void;
}

const MiB = 1024 * 1024;

export const DEFAULT_RELAY_OPTIONS: RelayOptions = {
  port: 8787,
  host: '127.0.0.1',
  mailboxTtlMs: 10 * 60_000,
  maxFrameBytes: 512 * 1024,
  maxMailboxFrames: 1024,
  maxMailboxBytes: 16 * MiB,
  maxMailboxBytesPerAddress: 32 * MiB,
  maxMailboxBytesTotal: 128 * MiB,
  framesPerSecond: 100,
  frameBurst: 400,
  addressFramesPerSecond: 1000,
  addressFrameBurst: 4000,
  addressConnectsPerSecond: 20,
  addressConnectBurst: 100,
  maxChannelsPerIp: 256,
  maxConnectionsPerAddress: 256,
  maxConnections: 19_000,
  upgradeTimeoutMs: 10_000,
  socketWindowBytes: MiB,
  maxBufferedBytesTotal: 64 * MiB,
  slowReaderTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  helloTimeoutMs: 10_000,
  drainTimeoutMs: 2_000,
  trustProxy: [],
  stateDir: null,
  redisUrl: null,
  redisPrefix: 'duet:relay:',
  retiredTtlMs: 90 * 24 * 3600_000,
  maxRetired: 100_000,
  staticDir: 'dist-phone',
  log: (line) => console.log(`[relay] ${line}`),
};

/** 'path' is a string where an empty value means none (null). */
type FlagKind = 'number' | 'string' | 'path' | 'list';

const FLAGS: Record<string, { env: string; key: keyof RelayOptions; kind: FlagKind }> = {
  '--port': { env: 'RELAY_PORT', key: 'port', kind: 'number' },
  '--host': { env: 'RELAY_HOST', key: 'host', kind: 'string' },
  '--mailbox-ttl-ms': { env: 'RELAY_MAILBOX_TTL_MS', key: 'mailboxTtlMs', kind: 'number' },
  '--max-frame-bytes': { env: 'RELAY_MAX_FRAME_BYTES', key: 'maxFrameBytes', kind: 'number' },
  '--max-mailbox-frames': { env: 'RELAY_MAX_MAILBOX_FRAMES', key: 'maxMailboxFrames', kind: 'number' },
  '--max-mailbox-bytes': { env: 'RELAY_MAX_MAILBOX_BYTES', key: 'maxMailboxBytes', kind: 'number' },
  '--max-mailbox-bytes-per-address': { env: 'RELAY_MAX_MAILBOX_BYTES_PER_ADDRESS', key: 'maxMailboxBytesPerAddress', kind: 'number' },
  '--max-mailbox-bytes-total': { env: 'RELAY_MAX_MAILBOX_BYTES_TOTAL', key: 'maxMailboxBytesTotal', kind: 'number' },
  '--frames-per-second': { env: 'RELAY_FRAMES_PER_SECOND', key: 'framesPerSecond', kind: 'number' },
  '--frame-burst': { env: 'RELAY_FRAME_BURST', key: 'frameBurst', kind: 'number' },
  '--address-frames-per-second': { env: 'RELAY_ADDRESS_FRAMES_PER_SECOND', key: 'addressFramesPerSecond', kind: 'number' },
  '--address-frame-burst': { env: 'RELAY_ADDRESS_FRAME_BURST', key: 'addressFrameBurst', kind: 'number' },
  '--address-connects-per-second': { env: 'RELAY_ADDRESS_CONNECTS_PER_SECOND', key: 'addressConnectsPerSecond', kind: 'number' },
  '--address-connect-burst': { env: 'RELAY_ADDRESS_CONNECT_BURST', key: 'addressConnectBurst', kind: 'number' },
  '--max-channels-per-ip': { env: 'RELAY_MAX_CHANNELS_PER_IP', key: 'maxChannelsPerIp', kind: 'number' },
  '--max-connections-per-address': { env: 'RELAY_MAX_CONNECTIONS_PER_ADDRESS', key: 'maxConnectionsPerAddress', kind: 'number' },
  '--max-connections': { env: 'RELAY_MAX_CONNECTIONS', key: 'maxConnections', kind: 'number' },
  '--upgrade-timeout-ms': { env: 'RELAY_UPGRADE_TIMEOUT_MS', key: 'upgradeTimeoutMs', kind: 'number' },
  '--idle-timeout-ms': { env: 'RELAY_IDLE_TIMEOUT_MS', key: 'idleTimeoutMs', kind: 'number' },
  '--trust-proxy': { env: 'RELAY_TRUST_PROXY', key: 'trustProxy', kind: 'list' },
  '--state-dir': { env: 'RELAY_STATE_DIR', key: 'stateDir', kind: 'path' },
  '--static-dir': { env: 'RELAY_STATIC_DIR', key: 'staticDir', kind: 'path' },
  '--redis-url': { env: 'RELAY_REDIS_URL', key: 'redisUrl', kind: 'path' },
  '--redis-prefix': { env: 'RELAY_REDIS_PREFIX', key: 'redisPrefix', kind: 'string' },
};

export class RelayConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayConfigError';
  }
}

/** Flags override environment variables, which override the defaults. */
export function parseRelayOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Partial<RelayOptions> {
  const values: Record<string, string> = {};
  for (const [flag, spec] of Object.entries(FLAGS)) {
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined) values[flag] = fromEnv;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    if (!(flag in FLAGS)) throw new RelayConfigError(`unknown option ${flag}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new RelayConfigError(`${flag} needs a value`);
    values[flag] = value;
  }
  const options: Record<string, unknown> = {};
  for (const [flag, raw] of Object.entries(values)) {
    const spec = FLAGS[flag] as (typeof FLAGS)[string];
    if (spec.kind === 'number') {
      const number = Number(raw);
      if (!Number.isInteger(number) || number < 0) throw new RelayConfigError(`${flag} must be a non-negative integer`);
      options[spec.key] = number;
    } else if (spec.kind === 'list') {
      options[spec.key] = raw.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
    } else {
      options[spec.key] = spec.kind === 'path' && raw === '' ? null : raw;
    }
  }
  return options as Partial<RelayOptions>;
}
