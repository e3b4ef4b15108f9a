/**
 * The relay: routes opaque frames between the two members of a channel, keeps a mailbox per
 * direction for a member that is offline, and serves the phone app's static files on the same port.
 * It parses only the hello and the 5-byte frame headers; payloads are never read or logged.
 *
 * What must hold wherever a channel's members are connected lives in the store (relay-store.ts):
 * in this process by default, or in Redis shared by several instances. This file keeps what is
 * per connection and per instance, and moves frames between sockets and the store:
 *
 *   hello ─▶ verify the role's signature (relay-auth.ts) ─▶ store.claim ─▶ welcome, then pump
 *   DATA  ─▶ store.store ─▶ STORED to the sender; the frame is offered to the peer's connection
 *            (on this instance directly, on another through the store's event)
 *   pump  ─▶ what the peer is owed, from the offered frames or store.read, within the send windows
 *   ACK   ─▶ store.acknowledge (one at a time per connection, the latest seq wins)
 *
 * Resources are bounded (docs/relay.md, "Limits"): a role is taken only with its credential;
 * connections are counted per address (here and, across instances, in the store) and in all, and
 * TCP connections that do not upgrade in time are closed; frames are rate-limited per role of a
 * channel and per address; mailbox bytes are capped by the store; and what is handed to a socket
 * but not yet taken by the reader is capped per socket and in all — the rest waits in the mailbox
 * and is sent as the reader takes it (`pump`), so a reader that never reads costs at most one
 * window, and is closed after `slowReaderTimeoutMs`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { encodeBase64Url } from '../channel/base64url.ts';
import {
  CloseCode,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_HELLO_BYTES,
  RELAY_PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  otherRole,
  parseHello,
  type Role,
} from '../channel/relay-protocol.ts';
import { AddressLedger, type AddressEntry } from './address-ledger.ts';
import { addressKey, clientAddress } from './client-address.ts';
import { MemoryStore } from './memory-store.ts';
import { newChallenge, verifyHello } from './relay-auth.ts';
import { relayMetrics } from './relay-metrics.ts';
import { DEFAULT_RELAY_OPTIONS, type RelayOptions } from './relay-options.ts';
import { RedisStore } from './redis-store.ts';
import { gapBefore, type FramesRead, type QueuedFrame, type RelayStore, type StoreEvent, type StoreFrameResult, type StoreKind, type StoreLimits, type StoreStats } from './relay-store.ts';
import { serveStaticFile } from './static-files.ts';
import { TokenBucket } from './token-bucket.ts';

/** The channel and role a connection's hello named, once its signature checked out. */
interface Member {
  readonly channel: string;
  readonly role: Role;
  /** Frames of this role on this instance, across its reconnections. */
  readonly frames: TokenBucket;
}

interface Connection {
  readonly id: string;
  readonly socket: WebSocket;
  readonly address: string;
  readonly entry: AddressEntry;
  readonly nonce: Uint8Array;
  readonly openedAt: number;
  /** Counted by the store against the address's connection cap (across instances). */
  admitted: boolean;
  member: Member | null;
  /** The store gave this connection its role (the welcome was sent). */
  attached: boolean;
  /** It sent RETIRE: what it sends after is ignored. */
  retiring: boolean;
  /** Messages that arrived while the store was claiming the role (the socket is paused meanwhile). */
  readonly early: [RawData, boolean][];
  lastHeard: number;
  /** The next sequence number of the peer's frames to send to this connection. */
  nextSeq: number;
  /** The highest sequence number of the peer's frames known to be stored (reads stop past it). */
  peerStored: number;
  /** Peer frames at hand to send, in order. */
  backlog: QueuedFrame[];
  /** What the last read said about the peer's mailbox (for gap notices). */
  readState: Pick<FramesRead, 'acknowledgedUpTo' | 'expiredUpTo'>;
  reading: boolean;
  /** The sequence number of the last DATA frame handed to the store. */
  lastSubmitted: number;
  /** Payload bytes handed to the store that it has not answered yet (the socket pauses above a window). */
  storing: number;
  pausedForStore: boolean;
  /** The highest ACK received; whether one arrived since the store last applied it. */
  ackTo: number;
  ackPending: boolean;
  acking: boolean;
  /** Bytes handed to the socket that it has not flushed to the network yet. */
  inflight: number;
  lastDrained: number;
  pendingStored: number | null;
  pendingPong: boolean;
  closing: boolean;
  closed: boolean;
}

export interface RelayStats {
  readonly channels: number;
  readonly connections: number;
  readonly framesRouted: number;
  readonly framesQueued: number;
  readonly mailboxBytes: number;
  readonly bufferedBytes: number;
}

export interface RunningRelay {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly store: StoreKind;
  stats(): Promise<RelayStats>;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 5_000;
/** A refused or replaced socket gets this long to read its close frame, then it is cut. */
const CLOSE_GRACE_MS = 500;
const UNREACHABLE_STORE = 'relay store unavailable; try again later';

function channelLabel(name: string): string {
  return `${name.slice(0, 6)}…`;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A hello of another protocol version (answered 4001, not 4000). */
function isOtherVersionHello(text: string): boolean {
  try {
    const value = JSON.parse(text) as { t?: unknown; v?: unknown };
    return value.t === 'hello' && typeof value.v === 'number' && value.v !== RELAY_PROTOCOL_VERSION;
  } catch {
    return false;
  }
}

/** The close code and reason for a store's refusal of a frame. */
const FRAME_REFUSALS: Record<Exclude<StoreFrameResult['kind'], 'stored' | 'duplicate'>, [number, string]> = {
  full: [CloseCode.mailboxFull, 'mailbox full'],
  'address-full': [CloseCode.mailboxFull, 'your address has too much waiting in mailboxes'],
  'total-full': [CloseCode.mailboxFull, "the relay's mailboxes are full"],
  replaced: [CloseCode.replaced, 'replaced by a newer connection'],
  retired: [CloseCode.retired, 'this channel was retired by one of its members'],
  unclaimed: [CloseCode.goingAway, 'the relay lost this connection; connect again'],
  'out-of-order': [CloseCode.tryAgainLater, 'an earlier frame was not stored; connect again'],
};

function storeLimits(options: RelayOptions): StoreLimits {
  return {
    maxMailboxFrames: options.maxMailboxFrames,
    maxMailboxBytes: options.maxMailboxBytes,
    maxMailboxBytesPerAddress: options.maxMailboxBytesPerAddress,
    maxMailboxBytesTotal: options.maxMailboxBytesTotal,
    maxChannelsPerAddress: options.maxChannelsPerIp,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress,
    mailboxTtlMs: options.mailboxTtlMs,
    retiredTtlMs: options.retiredTtlMs,
    maxRetired: options.maxRetired,
  };
}

function openStore(options: RelayOptions): Promise<RelayStore> {
  const limits = storeLimits(options);
  if (options.redisUrl) return RedisStore.open({ url: options.redisUrl, prefix: options.redisPrefix, limits, log: options.log });
  return MemoryStore.open(limits, options.stateDir, options.log);
}

export async function startRelay(overrides: Partial<RelayOptions> = {}): Promise<RunningRelay> {
  const options: RelayOptions = { ...DEFAULT_RELAY_OPTIONS, ...overrides };
  const socketWindow = Math.max(options.socketWindowBytes, options.maxFrameBytes + FRAME_HEADER_BYTES);
  // At least one window, or a frame could wait for room that never comes.
  const bufferedCap = Math.max(options.maxBufferedBytesTotal, socketWindow);
  /** Payload bytes of one connection handed to the store and not answered yet; above it the socket pauses. */
  const storeWindow = 4 * socketWindow;
  const trustedProxies = new Set(options.trustProxy.map(addressKey));
  const ledger = new AddressLedger({
    framesPerSecond: options.addressFramesPerSecond,
    frameBurst: options.addressFrameBurst,
    connectsPerSecond: options.addressConnectsPerSecond,
    connectBurst: options.addressConnectBurst,
  });
  const store = await openStore(options);
  const connections = new Set<Connection>();
  const byId = new Map<string, Connection>();
  /** The connections of this instance per channel and role. */
  const members = new Map<string, Partial<Record<Role, Connection>>>();
  /** Per role of a channel, kept across its reconnections to this instance. */
  const memberBuckets = new Map<string, TokenBucket>();
  /** Connections waiting for room under maxBufferedBytesTotal. */
  const waiting = new Set<Connection>();
  const upgraded = new WeakSet<Socket>();
  const servingHttp = new WeakSet<Socket>();
  let nextConnection = 0;
  let tcpConnections = 0;
  let bufferedBytes = 0;
  let framesRouted = 0;
  let lastStoreStats: StoreStats = { channels: 0, framesQueued: 0, mailboxBytes: 0 };
  let closing = false;
  let storeErrorLogged = false;

  const metrics = relayMetrics(
    {
      connections: () => connections.size,
      bufferedBytes: () => bufferedBytes,
      storeStats: () => storeStats(),
      storeHealth: () => store.health(),
    },
    { store: store.kind, instance: store.instance },
  );

  async function storeStats(): Promise<StoreStats> {
    try {
      lastStoreStats = await store.stats();
    } catch {
      // The store is unreachable: the last figures it gave.
    }
    return lastStoreStats;
  }

  function memberBucket(channel: string, role: Role, now: number): TokenBucket {
    const key = `${channel} ${role}`;
    let bucket = memberBuckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(options.framesPerSecond, options.frameBurst, now);
      memberBuckets.set(key, bucket);
    }
    return bucket;
  }

  function localPeer(connection: Connection): Connection | undefined {
    const member = connection.member as Member;
    return members.get(member.channel)?.[otherRole(member.role)];
  }

  // ---- sending, within the windows ------------------------------------------------------------

  function hasRoom(connection: Connection, bytes: number): boolean {
    if (connection.inflight + bytes > socketWindow) return false;
    if (bufferedBytes + bytes > bufferedCap) {
      waiting.add(connection);
      return false;
    }
    return true;
  }

  function send(connection: Connection, data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (connection.inflight === 0) connection.lastDrained = Date.now();
    connection.inflight += bytes;
    bufferedBytes += bytes;
    connection.socket.send(data, () => {
      if (connection.closed) return;
      connection.inflight -= bytes;
      bufferedBytes -= bytes;
      connection.lastDrained = Date.now();
      pump(connection);
      for (const other of [...waiting]) {
        waiting.delete(other);
        pump(other);
      }
    });
  }

  /** Control frames owed to this connection (STORED, PONG), when there is room. */
  function sendControl(connection: Connection): void {
    if (connection.pendingStored !== null && hasRoom(connection, FRAME_HEADER_BYTES)) {
      send(connection, encodeFrame(FrameType.stored, connection.pendingStored));
      connection.pendingStored = null;
    }
    if (connection.pendingPong && hasRoom(connection, FRAME_HEADER_BYTES)) {
      send(connection, encodeFrame(FrameType.pong, 0));
      connection.pendingPong = false;
    }
  }

  /** Sends what this connection is owed while there is room: control frames, then the peer's frames (read from the store when not at hand). */
  function pump(connection: Connection): void {
    if (connection.closing || !connection.attached) return;
    sendControl(connection);
    while (connection.backlog.length > 0) {
      const frame = connection.backlog[0] as QueuedFrame;
      if (frame.seq < connection.nextSeq) {
        connection.backlog.shift();
        continue;
      }
      if (!hasRoom(connection, FRAME_HEADER_BYTES + frame.payload.length)) return;
      connection.backlog.shift();
      const gap = gapBefore(connection.nextSeq - 1, frame.seq, connection.readState);
      if (gap) send(connection, JSON.stringify({ t: 'gap', ...gap }));
      send(connection, encodeFrame(FrameType.data, frame.seq, frame.payload));
      metrics.frame('delivered');
      connection.nextSeq = frame.seq + 1;
    }
    if (connection.reading || connection.nextSeq > connection.peerStored || !hasRoom(connection, FRAME_HEADER_BYTES)) return;
    readMore(connection);
  }

  function readMore(connection: Connection): void {
    const { channel, role } = connection.member as Member;
    const from = connection.nextSeq;
    connection.reading = true;
    // Frames offered while the read runs raise this again; the read's own answer sets the rest.
    connection.peerStored = 0;
    store.read(channel, otherRole(role), from, Math.max(1, socketWindow - connection.inflight)).then(
      (read) => {
        connection.reading = false;
        if (connection.closing) return;
        connection.readState = read;
        connection.backlog = read.frames.filter((frame) => frame.seq >= connection.nextSeq);
        // Nothing readable from `from` on (acknowledged or expired): wait for the next frame stored.
        const readable = read.frames.length > 0 ? read.lastStored : Math.min(read.lastStored, from - 1);
        connection.peerStored = Math.max(connection.peerStored, readable);
        pump(connection);
      },
      (error: unknown) => {
        connection.reading = false;
        storeFailed(connection, error);
      },
    );
  }

  /** A frame the peer just stored: sent at once when it is the next one and nothing else waits. */
  function offer(connection: Connection, frame: QueuedFrame): void {
    if (connection.closing || !connection.attached) return;
    connection.peerStored = Math.max(connection.peerStored, frame.seq);
    if (!connection.reading && connection.backlog.length === 0 && frame.seq === connection.nextSeq) connection.backlog.push(frame);
    pump(connection);
  }

  function refuse(connection: Connection | null, code: number, reason: string, socket = connection?.socket): void {
    if (connection) {
      if (connection.closing) return;
      connection.closing = true;
    }
    if (!socket) return;
    metrics.refusal(code);
    if (socket.readyState === socket.OPEN) socket.close(code, reason);
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  function storeFailed(connection: Connection, error: unknown): void {
    if (!storeErrorLogged) {
      storeErrorLogged = true;
      options.log(`store error: ${error instanceof Error ? error.message : String(error)}`);
    }
    refuse(connection, CloseCode.tryAgainLater, UNREACHABLE_STORE);
  }

  // ---- the hello ------------------------------------------------------------------------------

  function hello(connection: Connection, text: string, now: number): void {
    const parsed = parseHello(text);
    if (!parsed || parsed.v !== RELAY_PROTOCOL_VERSION) {
      if (parsed || isOtherVersionHello(text)) return refuse(connection, CloseCode.unsupportedVersion, `this relay speaks protocol version ${RELAY_PROTOCOL_VERSION}`);
      return refuse(connection, CloseCode.malformed, 'malformed hello');
    }
    const roster = verifyHello(parsed, connection.nonce);
    if (!roster) return refuse(connection, CloseCode.unauthorized, 'not a member of this channel');
    connection.member = { channel: parsed.channel, role: parsed.role, frames: memberBucket(parsed.channel, parsed.role, now) };
    connection.socket.pause();
    store.claim({ channel: parsed.channel, roster, role: parsed.role, connection: connection.id, address: connection.address, received: parsed.received }).then(
      (result) => {
        if (connection.closing) {
          if (result.kind === 'claimed') void store.release(parsed.channel, parsed.role, connection.id).catch(() => undefined);
          return;
        }
        if (result.kind === 'retired') return refuse(connection, CloseCode.retired, 'this channel was retired by one of its members');
        if (result.kind === 'address-limit') return refuse(connection, CloseCode.addressLimit, 'too many channels from your address; retrying later');
        const previous = result.replaced ? byId.get(result.replaced) : undefined;
        if (previous) refuse(previous, CloseCode.replaced, 'replaced by a newer connection');
        const local = members.get(parsed.channel) ?? {};
        local[parsed.role] = connection;
        members.set(parsed.channel, local);
        connection.attached = true;
        connection.nextSeq = parsed.received + 1;
        connection.peerStored = Number.MAX_SAFE_INTEGER;
        send(connection, JSON.stringify({ t: 'welcome', v: RELAY_PROTOCOL_VERSION, stored: result.stored }));
        options.log(`${parsed.role} joined channel ${channelLabel(parsed.channel)} (${result.queued} queued for it)`);
        connection.socket.resume();
        for (const [data, isBinary] of connection.early.splice(0)) onMessage(connection, data, isBinary);
        pump(connection);
      },
      (error: unknown) => storeFailed(connection, error),
    );
  }

  // ---- frames ---------------------------------------------------------------------------------

  function storeFrame(connection: Connection, seq: number, payload: Uint8Array): void {
    const { channel, role } = connection.member as Member;
    const previous = connection.lastSubmitted;
    connection.lastSubmitted = seq;
    connection.storing += payload.length;
    if (connection.storing > storeWindow && !connection.pausedForStore) {
      connection.pausedForStore = true;
      connection.socket.pause();
    }
    store.store({ channel, role, connection: connection.id, seq, previous, payload, owner: connection.address }).then(
      (result) => {
        connection.storing -= payload.length;
        if (connection.pausedForStore && connection.storing <= storeWindow / 2) {
          connection.pausedForStore = false;
          connection.socket.resume();
        }
        if (result.kind === 'stored' || result.kind === 'duplicate') {
          if (result.kind === 'stored') {
            framesRouted++;
            options.onRoutedFrame?.(channel, role, payload);
          }
          metrics.frame(result.kind);
          // The frame is in the store whatever became of this connection since: the peer is told
          // (a duplicate too, in case the connection that stored it first was closed before it could).
          const peer = localPeer(connection);
          if (peer) offer(peer, { seq, payload });
          if (connection.closing) return;
          connection.pendingStored = Math.max(connection.pendingStored ?? 0, result.lastStored);
          return sendControl(connection);
        }
        if (connection.closing) return;
        const [code, reason] = FRAME_REFUSALS[result.kind];
        refuse(connection, code, reason);
      },
      (error: unknown) => {
        connection.storing -= payload.length;
        storeFailed(connection, error);
      },
    );
  }

  /**
   * Applies the latest ACK; one store call at a time per connection (ACKs that arrive meanwhile are
   * applied together after it). The same ACK again is applied again: it drops what was stored since.
   */
  function acknowledge(connection: Connection): void {
    if (connection.acking || !connection.ackPending) return;
    const { channel, role } = connection.member as Member;
    const seq = connection.ackTo;
    connection.acking = true;
    connection.ackPending = false;
    store.acknowledge(channel, role, seq).then(
      () => {
        connection.acking = false;
        acknowledge(connection);
      },
      (error: unknown) => {
        connection.acking = false;
        storeFailed(connection, error);
      },
    );
  }

  function retire(connection: Connection): void {
    const { channel } = connection.member as Member;
    connection.retiring = true;
    store.retire(channel).then(
      () => {
        closeRetired(channel);
        options.log(`channel ${channelLabel(channel)} retired`);
      },
      (error: unknown) => storeFailed(connection, error),
    );
  }

  function closeRetired(channel: string): void {
    for (const connection of Object.values(members.get(channel) ?? {})) refuse(connection, CloseCode.retired, 'this channel was retired by one of its members');
  }

  function route(connection: Connection, bytes: Uint8Array): void {
    const frame = decodeFrame(bytes);
    if (!frame) return refuse(connection, CloseCode.malformed, 'malformed frame');
    switch (frame.type) {
      case FrameType.data:
        return storeFrame(connection, frame.seq, frame.payload);
      case FrameType.ack:
        connection.ackTo = Math.max(connection.ackTo, frame.seq);
        connection.ackPending = true;
        return acknowledge(connection);
      case FrameType.ping:
        connection.pendingPong = true;
        return sendControl(connection);
      case FrameType.retire:
        return retire(connection);
      default:
        return refuse(connection, CloseCode.malformed, 'unexpected frame type');
    }
  }

  function onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    if (connection.closing || connection.retiring) return;
    if (connection.member && !connection.attached) {
      connection.early.push([data, isBinary]);
      return;
    }
    const now = Date.now();
    connection.lastHeard = now;
    const bytes = toBytes(data);
    if (!connection.member) {
      if (isBinary) return refuse(connection, CloseCode.malformed, 'expected hello');
      if (bytes.length > MAX_HELLO_BYTES) return refuse(connection, CloseCode.tooLarge, 'hello too large');
      return hello(connection, Buffer.from(bytes).toString('utf8'), now);
    }
    if (!isBinary) return refuse(connection, CloseCode.malformed, 'expected a binary frame');
    if (bytes.length > options.maxFrameBytes + FRAME_HEADER_BYTES) return refuse(connection, CloseCode.tooLarge, 'frame too large');
    if (!connection.member.frames.take(now) || !connection.entry.frames.take(now)) return refuse(connection, CloseCode.rateLimited, 'too many frames');
    route(connection, bytes);
  }

  // ---- store events (other instances) --------------------------------------------------------

  function onStoreEvent(event: StoreEvent): void {
    switch (event.kind) {
      case 'frame': {
        const receiver = members.get(event.channel)?.[otherRole(event.from)];
        if (receiver) offer(receiver, event.frame);
        return;
      }
      case 'replaced': {
        const replaced = byId.get(event.connection);
        if (replaced) refuse(replaced, CloseCode.replaced, 'replaced by a newer connection');
        return;
      }
      case 'retired':
        return closeRetired(event.channel);
      case 'reconnected':
        storeErrorLogged = false;
        // What the store lost or changed while it was out of reach is learnt again from new hellos.
        for (const connection of connections) refuse(connection, CloseCode.goingAway, 'the relay reconnected to its store; connect again');
        return;
    }
  }
  store.onEvent(onStoreEvent);

  // ---- connections ----------------------------------------------------------------------------

  function onSocket(socket: WebSocket, address: string): void {
    socket.on('error', () => undefined);
    const now = Date.now();
    const entry = ledger.get(address, now);
    const refusal: [number, string] | null = closing
      ? [CloseCode.goingAway, 'relay shutting down']
      : connections.size >= options.maxConnections
        ? [CloseCode.tryAgainLater, 'relay at capacity; try again later']
        : entry.sockets >= options.maxConnectionsPerAddress
          ? [CloseCode.addressLimit, 'too many connections from your address; retrying later']
          : !entry.connects.take(now)
            ? [CloseCode.addressLimit, 'too many new connections from your address; retrying later']
            : null;
    if (refusal) return refuse(null, refusal[0], refusal[1], socket);
    const connection: Connection = {
      id: `${store.instance}/${(nextConnection++).toString(36)}`,
      socket,
      address,
      entry,
      nonce: newChallenge(),
      openedAt: now,
      admitted: false,
      member: null,
      attached: false,
      retiring: false,
      early: [],
      lastHeard: now,
      nextSeq: 1,
      peerStored: 0,
      backlog: [],
      readState: { acknowledgedUpTo: 0, expiredUpTo: 0 },
      reading: false,
      lastSubmitted: 0,
      storing: 0,
      pausedForStore: false,
      ackTo: 0,
      ackPending: false,
      acking: false,
      inflight: 0,
      lastDrained: now,
      pendingStored: null,
      pendingPong: false,
      closing: false,
      closed: false,
    };
    connections.add(connection);
    byId.set(connection.id, connection);
    entry.sockets++;
    const delay = options.testDelayMs ?? 0;
    socket.on('message', (data: RawData, isBinary: boolean) => (delay > 0 ? setTimeout(() => onMessage(connection, data, isBinary), delay) : onMessage(connection, data, isBinary)));
    socket.on('close', () => {
      connection.closed = true;
      connection.closing = true;
      bufferedBytes -= connection.inflight;
      connection.inflight = 0;
      connections.delete(connection);
      byId.delete(connection.id);
      waiting.delete(connection);
      entry.sockets--;
      if (connection.admitted) void store.forget(address, entry.sockets).catch(() => undefined);
      const member = connection.member;
      if (member && connection.attached) {
        const local = members.get(member.channel);
        if (local?.[member.role] === connection) {
          delete local[member.role];
          if (!local.extension && !local.phone) members.delete(member.channel);
        }
        void store.release(member.channel, member.role, connection.id).catch(() => undefined);
      }
    });
    // Across instances, an address has its cap in all: the store counts this instance's share.
    store.admit(address, entry.sockets).then(
      (admitted) => {
        connection.admitted = admitted;
        if (connection.closing) return;
        if (!admitted) return refuse(connection, CloseCode.addressLimit, 'too many connections from your address; retrying later');
        send(connection, JSON.stringify({ t: 'challenge', v: RELAY_PROTOCOL_VERSION, nonce: encodeBase64Url(connection.nonce) }));
      },
      (error: unknown) => storeFailed(connection, error),
    );
  }

  function onTcp(socket: Socket): void {
    const peer = addressKey(socket.remoteAddress ?? 'unknown');
    const entry = trustedProxies.has(peer) ? null : ledger.get(peer, Date.now());
    tcpConnections++;
    if (entry) entry.tcp++;
    const timer = setTimeout(() => {
      if (!upgraded.has(socket) && !servingHttp.has(socket)) socket.destroy();
    }, options.upgradeTimeoutMs);
    socket.once('close', () => {
      tcpConnections--;
      if (entry) entry.tcp--;
      clearTimeout(timer);
    });
    // Hard limits on raw connections (clear refusals happen after the upgrade, below them).
    const reserve = Math.ceil(options.maxConnections / 8) + 64;
    if (tcpConnections > options.maxConnections + reserve || (entry && entry.tcp > 2 * options.maxConnectionsPerAddress)) socket.destroy();
  }

  async function answerHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.url === '/healthz') {
      const health = await store.health();
      const stats = await storeStats();
      response.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: health.ok, store: health, channels: stats.channels, connections: connections.size }));
      return;
    }
    if (request.url === '/metrics') {
      const text = await metrics.registry.metrics();
      response.writeHead(200, { 'content-type': metrics.registry.contentType });
      response.end(text);
      return;
    }
    await serveStaticFile(options.staticDir, request, response, options.phoneGuardOrigins?.() ?? []);
  }

  const httpServer: Server = createServer((request, response) => {
    servingHttp.add(request.socket);
    answerHttp(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes + FRAME_HEADER_BYTES + 64 });
  httpServer.on('connection', onTcp);
  httpServer.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    upgraded.add(socket);
    const address = clientAddress(socket.remoteAddress, request.headers['x-forwarded-for'], trustedProxies);
    wss.handleUpgrade(request, socket, head, (ws) => onSocket(ws, address));
  });

  // ---- timers ---------------------------------------------------------------------------------

  const watchdog = setInterval(
    () => {
      const now = Date.now();
      for (const connection of connections) {
        if (connection.closing) continue;
        if (!connection.attached && now - connection.openedAt > options.helloTimeoutMs) refuse(connection, CloseCode.helloTimeout, 'no hello');
        else if (now - connection.lastHeard > options.idleTimeoutMs) refuse(connection, CloseCode.idleTimeout, 'idle');
        else if (connection.inflight > 0 && now - connection.lastDrained > options.slowReaderTimeoutMs) refuse(connection, CloseCode.slowReader, 'not reading');
      }
    },
    Math.max(50, Math.min(1_000, options.helloTimeoutMs / 4, options.idleTimeoutMs / 4, options.slowReaderTimeoutMs / 4)),
  );

  let sweeping = false;
  async function sweep(): Promise<void> {
    const now = Date.now();
    for (const [key, bucket] of memberBuckets) {
      const [channel, role] = key.split(' ') as [string, Role];
      if (!members.get(channel)?.[role] && bucket.isFull(now)) memberBuckets.delete(key);
    }
    ledger.sweep(now);
    const report = await store.sweep();
    for (const { channel, frames } of report.expired) options.log(`channel ${channelLabel(channel)}: ${frames} expired frames dropped`);
  }
  const sweeper = setInterval(
    () => {
      if (sweeping) return;
      sweeping = true;
      sweep()
        .catch(() => undefined)
        .finally(() => (sweeping = false));
    },
    Math.min(SWEEP_INTERVAL_MS, Math.max(50, options.mailboxTtlMs / 4)),
  );

  // ---- start ----------------------------------------------------------------------------------

  await new Promise<void>((resolve) => httpServer.listen(options.port, options.host, resolve));
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  options.log(`listening on http://${hostForUrl}:${port} (store: ${store.kind})`);

  return {
    url: `http://${hostForUrl}:${port}`,
    wsUrl: `ws://${hostForUrl}:${port}`,
    port,
    store: store.kind,
    stats: async () => {
      const stats = await store.stats();
      return { ...stats, connections: connections.size, framesRouted, bufferedBytes };
    },
    close: async () => {
      closing = true;
      const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await store.drain(Date.now() + options.drainTimeoutMs);
      clearInterval(sweeper);
      clearInterval(watchdog);
      for (const connection of connections) refuse(connection, CloseCode.goingAway, 'relay shutting down');
      // Roles held here are freed, so the other instances stop sending this one their frames.
      await Promise.all(
        [...connections].filter((c) => c.attached && c.member).map((c) => store.release((c.member as Member).channel, (c.member as Member).role, c.id).catch(() => undefined)),
      );
      await store.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (const connection of connections) connection.socket.terminate();
      wss.close();
      httpServer.closeAllConnections();
      await stopped;
    },
  };
}
