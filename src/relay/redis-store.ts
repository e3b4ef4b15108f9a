/**
 * The relay's store in Redis (relay-store.ts), shared by every relay instance that points at the
 * same Redis (`--redis-url` / RELAY_REDIS_URL): mailboxes as streams, who holds each role, the
 * retired channels and the cross-instance counters, each changed by one Lua script
 * (redis-scripts.ts). A frame for a member connected to another instance is published on that
 * instance's pub/sub channel by the script that stored it.
 *
 * Every instance renews its entry in `instances` with a heartbeat; connections of an instance whose
 * entry lapsed (killed, or cut from Redis) count as gone. A command that fails (Redis unreachable)
 * fails at once (no offline queue, nothing resent on reconnection: the relay closes the connection
 * it served and the client resends what was not STORED); when Redis is back after an outage the
 * store reports `reconnected`, and the relay asks its clients to connect again.
 */
import { Redis } from 'ioredis';
import type { Role } from '../channel/relay-protocol.ts';
import { ACKNOWLEDGE, ADMIT, CLAIM, HEARTBEAT, READ, RELEASE, RETIRE, STORE, SWEEP } from './redis-scripts.ts';
import {
  RelayStoreError,
  newInstanceId,
  type ClaimRequest,
  type ClaimResult,
  type FramesRead,
  type QueuedFrame,
  type RelayStore,
  type StoreEvent,
  type StoreFrameRequest,
  type StoreFrameResult,
  type StoreHealth,
  type StoreLimits,
  type StoreStats,
  type SweepReport,
} from './relay-store.ts';

export interface RedisStoreOptions {
  readonly url: string;
  /** Prefix of every key and pub/sub channel; instances that share it share their channels. */
  readonly prefix: string;
  readonly limits: StoreLimits;
  readonly log: (line: string) => void;
  /** An instance that has not renewed its heartbeat for this long counts as gone. */
  readonly instanceTtlMs?: number;
}

type Argument = string | number | Buffer;
type Reply = (string | number | Buffer | null)[];

const SCRIPTS = { duetAdmit: ADMIT, duetHeartbeat: HEARTBEAT, duetClaim: CLAIM, duetRelease: RELEASE, duetStore: STORE, duetRead: READ, duetAcknowledge: ACKNOWLEDGE, duetRetire: RETIRE, duetSweep: SWEEP };
type ScriptName = keyof typeof SCRIPTS;

/** A channel with members looks at its mailboxes again this often (expiry of frames it does not take). */
const CONNECTED_RECHECK_MS = 30_000;
const SWEEP_BATCH = 256;
const DEFAULT_INSTANCE_TTL_MS = 10_000;
/** A command that gets no answer in this time fails (the connection it served is closed). */
const COMMAND_TIMEOUT_MS = 5_000;

function retryDelay(attempt: number): number {
  return Math.min(100 * attempt, 1_000);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A pub/sub message for this instance (see redis-scripts.ts), or null when malformed. */
export function parseStoreEvent(message: Buffer): StoreEvent | null {
  const kind = String.fromCharCode(message[0] ?? 0);
  if (kind === 'r') return { kind: 'replaced', connection: message.subarray(1).toString() };
  if (kind === 'x') return { kind: 'retired', channel: message.subarray(1).toString() };
  if (kind !== 'f') return null;
  const space1 = message.indexOf(0x20, 1);
  const space2 = space1 < 0 ? -1 : message.indexOf(0x20, space1 + 1);
  const space3 = space2 < 0 ? -1 : message.indexOf(0x20, space2 + 1);
  if (space3 < 0) return null;
  const from = message.subarray(space1 + 1, space2).toString();
  if (from !== 'extension' && from !== 'phone') return null;
  const seq = Number(message.subarray(space2 + 1, space3).toString());
  // A copy: the message buffer is larger than the payload it carries.
  const payload = new Uint8Array(message.subarray(space3 + 1));
  return { kind: 'frame', channel: message.subarray(1, space1).toString(), from, frame: { seq, payload } };
}

export class RedisStore implements RelayStore {
  readonly kind = 'redis';
  readonly instance = newInstanceId();
  private readonly listeners: ((event: StoreEvent) => void)[] = [];
  private readonly instanceTtlMs: number;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private lostConnection = false;
  private closed = false;
  private flushScheduled = false;
  private readonly pendingStores: { request: StoreFrameRequest; resolve: (result: StoreFrameResult) => void; reject: (error: unknown) => void }[] = [];
  private readonly pendingAcknowledgements: { channel: string; receiver: Role; seq: number; resolve: () => void; reject: (error: unknown) => void }[] = [];

  private constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly options: RedisStoreOptions,
  ) {
    this.instanceTtlMs = options.instanceTtlMs ?? DEFAULT_INSTANCE_TTL_MS;
  }

  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const common = { lazyConnect: true, retryStrategy: retryDelay, connectionName: 'duet-relay' };
    const redis = new Redis(options.url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, commandTimeout: COMMAND_TIMEOUT_MS });
    const subscriber = new Redis(options.url, { ...common, autoResubscribe: true });
    // Failures surface through the commands (and the relay's /healthz), not as unhandled events.
    for (const connection of [redis, subscriber]) connection.on('error', () => undefined);
    for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 0, lua });
    const store = new RedisStore(redis, subscriber, options);
    try {
      await Promise.all([redis.connect(), subscriber.connect()]);
      await subscriber.subscribe(store.key(`i:${store.instance}`));
      await store.beat();
    } catch (error) {
      redis.disconnect();
      subscriber.disconnect();
      throw new RelayStoreError(`cannot use Redis at ${redactUrl(options.url)}: ${describe(error)}`);
    }
    store.watch();
    return store;
  }

  private key(name: string): string {
    return `${this.options.prefix}${name}`;
  }

  private run(name: ScriptName, ...args: Argument[]): Promise<Reply> {
    return (this.redis as unknown as Record<ScriptName, (...a: Argument[]) => Promise<Reply>>)[name](this.options.prefix, ...args);
  }

  private runBuffer(name: ScriptName, ...args: Argument[]): Promise<Reply> {
    return (this.redis as unknown as Record<string, (...a: Argument[]) => Promise<Reply>>)[`${name}Buffer`]!(this.options.prefix, ...args);
  }

  private beat(): Promise<Reply> {
    return this.run('duetHeartbeat', this.instance, this.instanceTtlMs);
  }

  private watch(): void {
    this.subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
      const event = parseStoreEvent(message);
      if (event) this.emit(event);
    });
    for (const connection of [this.redis, this.subscriber]) {
      connection.on('close', () => {
        if (this.closed || this.lostConnection) return;
        this.lostConnection = true;
        this.options.log('lost the connection to Redis; reconnecting');
      });
      connection.on('ready', () => {
        if (this.closed || !this.lostConnection || this.redis.status !== 'ready' || this.subscriber.status !== 'ready') return;
        this.lostConnection = false;
        this.options.log('connected to Redis again');
        void this.beat().catch(() => undefined);
        this.emit({ kind: 'reconnected' });
      });
    }
    this.heartbeat = setInterval(() => void this.beat().catch(() => undefined), Math.max(50, Math.floor(this.instanceTtlMs / 4)));
    this.heartbeat.unref();
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  onEvent(listener: (event: StoreEvent) => void): void {
    this.listeners.push(listener);
  }

  async admit(address: string, count: number): Promise<boolean> {
    const admitted = (await this.run('duetAdmit', this.instance, count, address, this.options.limits.maxConnectionsPerAddress)) as unknown;
    return Number(admitted) === 1;
  }

  async forget(address: string, count: number): Promise<void> {
    const key = this.key(`a:${address}`);
    if (count > 0) await this.redis.hset(key, `s:${this.instance}`, count);
    else await this.redis.hdel(key, `s:${this.instance}`);
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const reply = await this.run('duetClaim', request.channel, request.role, request.connection, request.address, request.received, this.options.limits.maxChannelsPerAddress, CONNECTED_RECHECK_MS);
    const [kind, stored, queued, replaced] = reply;
    if (kind === 'retired' || kind === 'address-limit') return { kind };
    return { kind: 'claimed', stored: Number(stored), queued: Number(queued), replaced: replaced ? String(replaced) : null };
  }

  async release(channel: string, role: Role, connection: string): Promise<void> {
    await this.run('duetRelease', channel, role, connection);
  }

  /**
   * Stores and acknowledgements are sent in batches, one script call per batch for all the
   * connections of this instance: everything handed over in one turn of the event loop goes
   * together (their order kept), which saves most of the per-call cost on both sides.
   */
  store(request: StoreFrameRequest): Promise<StoreFrameResult> {
    return new Promise((resolve, reject) => {
      this.pendingStores.push({ request, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushStores();
      this.flushAcknowledgements();
    });
  }

  private flushStores(): void {
    const batch = this.pendingStores.splice(0);
    if (batch.length === 0) return;
    const { limits } = this.options;
    const args: Argument[] = [limits.maxMailboxFrames, limits.maxMailboxBytes, limits.maxMailboxBytesPerAddress, limits.maxMailboxBytesTotal, limits.mailboxTtlMs];
    for (const { request } of batch) {
      // ioredis sends a Buffer as bytes (any other Uint8Array as its toString()).
      const payload = Buffer.from(request.payload.buffer, request.payload.byteOffset, request.payload.byteLength);
      args.push(request.channel, request.role, request.connection, request.seq, request.previous, payload, request.owner);
    }
    this.run('duetStore', ...args).then(
      (reply) =>
        batch.forEach(({ resolve }, i) => {
          const kind = String(reply[2 * i]) as StoreFrameResult['kind'];
          resolve(kind === 'stored' || kind === 'duplicate' ? { kind, lastStored: Number(reply[2 * i + 1]) } : ({ kind } as StoreFrameResult));
        }),
      (error: unknown) => batch.forEach(({ reject }) => reject(error)),
    );
  }

  private flushAcknowledgements(): void {
    const batch = this.pendingAcknowledgements.splice(0);
    if (batch.length === 0) return;
    const args: Argument[] = batch.flatMap(({ channel, receiver, seq }) => [channel, receiver, seq]);
    this.run('duetAcknowledge', ...args).then(
      () => batch.forEach(({ resolve }) => resolve()),
      (error: unknown) => batch.forEach(({ reject }) => reject(error)),
    );
  }

  async read(channel: string, from: Role, fromSeq: number, maxBytes: number): Promise<FramesRead> {
    const reply = await this.runBuffer('duetRead', channel, from, fromSeq, maxBytes);
    const frames: QueuedFrame[] = [];
    for (let i = 3; i + 1 < reply.length; i += 2) frames.push({ seq: Number(reply[i]), payload: new Uint8Array(reply[i + 1] as Buffer) });
    return { acknowledgedUpTo: Number(reply[0]), expiredUpTo: Number(reply[1]), lastStored: Number(reply[2]), frames };
  }

  acknowledge(channel: string, receiver: Role, seq: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pendingAcknowledgements.push({ channel, receiver, seq, resolve, reject });
      this.scheduleFlush();
    });
  }

  async retire(channel: string): Promise<void> {
    await this.run('duetRetire', channel, this.instance, this.options.limits.retiredTtlMs, this.options.limits.maxRetired);
  }

  async sweep(): Promise<SweepReport> {
    const expired: { channel: string; frames: number }[] = [];
    for (let more = true; more; ) {
      const reply = await this.run('duetSweep', this.options.limits.mailboxTtlMs, SWEEP_BATCH, CONNECTED_RECHECK_MS);
      more = Number(reply[0]) === 1;
      for (let i = 1; i + 1 < reply.length; i += 2) expired.push({ channel: String(reply[i]), frames: Number(reply[i + 1]) });
    }
    return { expired };
  }

  /** Nothing to wait for: the mailboxes stay in Redis for the other instances. */
  async drain(): Promise<void> {}

  async stats(): Promise<StoreStats> {
    const [[, totals], [, channels]] = (await this.redis.multi().hmget(this.key('total'), 'frames', 'bytes').zcard(this.key('due')).exec()) as [[unknown, (string | null)[]], [unknown, number]];
    return { channels: Number(channels), framesQueued: Number(totals[0] ?? 0), mailboxBytes: Number(totals[1] ?? 0) };
  }

  async health(): Promise<StoreHealth> {
    const started = performance.now();
    try {
      await this.redis.ping();
      if (this.subscriber.status !== 'ready') return { kind: 'redis', ok: false, error: 'pub/sub connection down' };
      return { kind: 'redis', ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch (error) {
      return { kind: 'redis', ok: false, error: describe(error) };
    }
  }

  /** Leaves the instance set (the other instances stop counting this one's connections at once). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    try {
      await this.redis.zrem(this.key('instances'), this.instance);
    } catch {
      // Redis unreachable: the entry lapses by itself.
    }
    this.redis.disconnect();
    this.subscriber.disconnect();
  }
}

/** The Redis URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured URL';
  }
}
