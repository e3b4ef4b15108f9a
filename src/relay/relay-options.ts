/**
 * Relay configuration: defaults, and parsing from command-line flags and environment variables.
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
  /** Token bucket per connection: sustained frames per second and burst size. */
  readonly framesPerSecond: number;
  readonly frameBurst: number;
  readonly maxChannelsPerIp: number;
  /** A connection that sends nothing (not even a ping) for this long is closed. */
  readonly idleTimeoutMs: number;
  readonly helloTimeoutMs: number;
  /** How long close() waits for online peers to acknowledge frames still in mailboxes. */
  readonly drainTimeoutMs: number;
  /** Directory of the phone app's built files, served over HTTP; null serves none. */
  readonly staticDir: string | null;
  /** Counts and channel-id prefixes only, never payloads. */
  readonly log: (line: string) => void;
  /** Test hook: sees every routed payload (to prove the relay forwards bytes unmodified). */
  readonly onRoutedFrame?: (channel: string, from: 'extension' | 'phone', payload: Uint8Array) => void;
}

export const DEFAULT_RELAY_OPTIONS: RelayOptions = {
  port: 8787,
  host: '127.0.0.1',
  mailboxTtlMs: 10 * 60_000,
  maxFrameBytes: 512 * 1024,
  maxMailboxFrames: 1024,
  maxMailboxBytes: 16 * 1024 * 1024,
  framesPerSecond: 100,
  frameBurst: 400,
  maxChannelsPerIp: 32,
  idleTimeoutMs: 60_000,
  helloTimeoutMs: 10_000,
  drainTimeoutMs: 2_000,
  staticDir: 'dist-phone',
  log: (line) => console.log(`[relay] ${line}`),
};

const FLAGS: Record<string, { env: string; key: keyof RelayOptions; kind: 'number' | 'string' }> = {
  '--port': { env: 'RELAY_PORT', key: 'port', kind: 'number' },
  '--host': { env: 'RELAY_HOST', key: 'host', kind: 'string' },
  '--mailbox-ttl-ms': { env: 'RELAY_MAILBOX_TTL_MS', key: 'mailboxTtlMs', kind: 'number' },
  '--max-frame-bytes': { env: 'RELAY_MAX_FRAME_BYTES', key: 'maxFrameBytes', kind: 'number' },
  '--max-mailbox-frames': { env: 'RELAY_MAX_MAILBOX_FRAMES', key: 'maxMailboxFrames', kind: 'number' },
  '--frames-per-second': { env: 'RELAY_FRAMES_PER_SECOND', key: 'framesPerSecond', kind: 'number' },
  '--frame-burst': { env: 'RELAY_FRAME_BURST', key: 'frameBurst', kind: 'number' },
  '--max-channels-per-ip': { env: 'RELAY_MAX_CHANNELS_PER_IP', key: 'maxChannelsPerIp', kind: 'number' },
  '--idle-timeout-ms': { env: 'RELAY_IDLE_TIMEOUT_MS', key: 'idleTimeoutMs', kind: 'number' },
  '--static-dir': { env: 'RELAY_STATIC_DIR', key: 'staticDir', kind: 'string' },
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
    } else {
      options[spec.key] = raw;
    }
  }
  return options as Partial<RelayOptions>;
}
