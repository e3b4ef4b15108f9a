/**
 * The relay: routes opaque frames between the two members of a channel, keeps a mailbox per
 * direction for a member that is offline, and serves the phone app's static files on the same port.
 * It parses only the hello and the 5-byte frame headers; payloads are never read or logged.
 *
 * Resources are bounded (docs/relay.md, "Limits"): a role is taken only with its credential
 * (relay-auth.ts); connections are counted per address (client-address.ts) and in all, and TCP
 * connections that do not upgrade in time are closed; frames are rate-limited per role of a
 * channel and per address; mailbox bytes are capped per mailbox, per address and in all; and what
 * is handed to a socket but not yet taken by the reader is capped per socket and in all — the rest
 * waits in the mailbox and is sent as the reader takes it (`pump`), so a reader that never reads
 * costs at most one window, and is closed after `slowReaderTimeoutMs`.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { encodeBase64Url } from '../channel/base64url.ts';
import type { RelayRoster } from '../channel/relay-credential.ts';
import {
  CloseCode,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_HELLO_BYTES,
  RELAY_PROTOCOL_VERSION,
  ROLES,
  decodeFrame,
  encodeFrame,
  otherRole,
  parseHello,
  type Role,
} from '../channel/relay-protocol.ts';
import { AddressLedger, type AddressEntry } from './address-ledger.ts';
import { addressKey, clientAddress } from './client-address.ts';
import { Mailbox, type StoredFrame } from './mailbox.ts';
import { newChallenge, verifyHello } from './relay-auth.ts';
import { DEFAULT_RELAY_OPTIONS, type RelayOptions } from './relay-options.ts';
import { appendRetired, loadRetired, saveMailboxes, takeMailboxes, type ChannelSnapshot } from './relay-state-file.ts';
import { serveStaticFile } from './static-files.ts';
import { TokenBucket } from './token-bucket.ts';

interface Member {
  connection: Connection | null;
  /** Frames of this role, across its reconnections. */
  readonly frames: TokenBucket;
}

interface Channel {
  readonly name: string;
  readonly roster: RelayRoster;
  /** The address key that opened it (counted against its channel cap). */
  readonly creator: string;
  readonly members: Record<Role, Member>;
  /** Frames sent by each role, waiting for the other. */
  readonly outboxes: Record<Role, Mailbox>;
  lastActivity: number;
}

interface Connection {
  readonly socket: WebSocket;
  readonly address: string;
  readonly entry: AddressEntry;
  readonly nonce: Uint8Array;
  readonly openedAt: number;
  attached: { readonly channel: Channel; readonly role: Role } | null;
  lastHeard: number;
  /** The next sequence number of the peer's frames to send to this connection. */
  nextSeq: number;
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
  stats(): RelayStats;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 5_000;
/** What a stored frame costs besides its payload (object, array slot), counted against the mailbox caps. */
const FRAME_OVERHEAD_BYTES = 128;
/** A refused or replaced socket gets this long to read its close frame, then it is cut. */
const CLOSE_GRACE_MS = 500;

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

export async function startRelay(overrides: Partial<RelayOptions> = {}): Promise<RunningRelay> {
  const options: RelayOptions = { ...DEFAULT_RELAY_OPTIONS, ...overrides };
  const socketWindow = Math.max(options.socketWindowBytes, options.maxFrameBytes + FRAME_HEADER_BYTES);
  // At least one window, or a frame could wait for room that never comes.
  const bufferedCap = Math.max(options.maxBufferedBytesTotal, socketWindow);
  const trustedProxies = new Set(options.trustProxy.map(addressKey));
  const ledger = new AddressLedger({
    framesPerSecond: options.addressFramesPerSecond,
    frameBurst: options.addressFrameBurst,
    connectsPerSecond: options.addressConnectsPerSecond,
    connectBurst: options.addressConnectBurst,
  });
  const channels = new Map<string, Channel>();
  const connections = new Set<Connection>();
  /** Connections waiting for room under maxBufferedBytesTotal. */
  const waiting = new Set<Connection>();
  const upgraded = new WeakSet<Socket>();
  const servingHttp = new WeakSet<Socket>();
  let tcpConnections = 0;
  let mailboxBytes = 0;
  let bufferedBytes = 0;
  let framesRouted = 0;
  let closing = false;

  const retired = options.stateDir ? await loadRetired(options.stateDir, Date.now(), options.maxRetired) : new Map<string, number>();

  // ---- channels and mailbox accounting ------------------------------------------------------

  function newChannel(name: string, roster: RelayRoster, creator: string, now: number): Channel {
    const member = (): Member => ({ connection: null, frames: new TokenBucket(options.framesPerSecond, options.frameBurst, now) });
    const mailbox = () => new Mailbox(options.maxMailboxFrames, options.maxMailboxBytes);
    const channel: Channel = { name, roster, creator, members: { extension: member(), phone: member() }, outboxes: { extension: mailbox(), phone: mailbox() }, lastActivity: now };
    channels.set(name, channel);
    ledger.get(creator, now).channels++;
    return channel;
  }

  function account(owner: string, bytes: number, now: number): void {
    ledger.get(owner, now).mailboxBytes += bytes;
    mailboxBytes += bytes;
  }

  function released(frames: readonly StoredFrame[], now: number): void {
    for (const frame of frames) account(frame.owner, -(frame.payload.length + FRAME_OVERHEAD_BYTES), now);
  }

  function deleteChannel(channel: Channel, now: number): void {
    channels.delete(channel.name);
    ledger.get(channel.creator, now).channels--;
  }

  function retireChannel(channel: Channel, now: number): void {
    const expiresAt = now + options.retiredTtlMs;
    retired.delete(channel.name);
    retired.set(channel.name, expiresAt);
    if (retired.size > options.maxRetired) retired.delete(retired.keys().next().value as string);
    if (options.stateDir) appendRetired(options.stateDir, channel.name, expiresAt);
    for (const role of ROLES) {
      released(channel.outboxes[role].clear(), now);
      const connection = channel.members[role].connection;
      if (connection) refuse(connection, CloseCode.retired, 'this channel was retired by one of its members');
    }
    deleteChannel(channel, now);
    options.log(`channel ${channelLabel(channel.name)} retired`);
  }

  function isRetired(name: string, now: number): boolean {
    const expiresAt = retired.get(name);
    return expiresAt !== undefined && expiresAt > now;
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

  /** Sends what this connection is owed (control frames, then the peer's frames) while there is room. */
  function pump(connection: Connection): void {
    if (connection.closing || !connection.attached) return;
    if (connection.pendingStored !== null && hasRoom(connection, FRAME_HEADER_BYTES)) {
      send(connection, encodeFrame(FrameType.stored, connection.pendingStored));
      connection.pendingStored = null;
    }
    if (connection.pendingPong && hasRoom(connection, FRAME_HEADER_BYTES)) {
      send(connection, encodeFrame(FrameType.pong, 0));
      connection.pendingPong = false;
    }
    const { channel, role } = connection.attached;
    const inbox = channel.outboxes[otherRole(role)];
    for (;;) {
      const frame = inbox.firstFrom(connection.nextSeq);
      if (!frame || !hasRoom(connection, FRAME_HEADER_BYTES + frame.payload.length)) return;
      const gap = inbox.gapBefore(connection.nextSeq - 1, frame.seq);
      if (gap) send(connection, JSON.stringify({ t: 'gap', ...gap }));
      send(connection, encodeFrame(FrameType.data, frame.seq, frame.payload));
      connection.nextSeq = frame.seq + 1;
    }
  }

  function refuse(connection: Connection | null, code: number, reason: string, socket = connection?.socket): void {
    if (connection) {
      if (connection.closing) return;
      connection.closing = true;
    }
    if (!socket) return;
    if (socket.readyState === socket.OPEN) socket.close(code, reason);
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  // ---- the hello ------------------------------------------------------------------------------

  function attach(connection: Connection, text: string, now: number): void {
    const hello = parseHello(text);
    if (!hello || hello.v !== RELAY_PROTOCOL_VERSION) {
      if (hello || isOtherVersionHello(text)) return refuse(connection, CloseCode.unsupportedVersion, `this relay speaks protocol version ${RELAY_PROTOCOL_VERSION}`);
      return refuse(connection, CloseCode.malformed, 'malformed hello');
    }
    const roster = verifyHello(hello, connection.nonce);
    if (!roster) return refuse(connection, CloseCode.unauthorized, 'not a member of this channel');
    if (isRetired(hello.channel, now)) return refuse(connection, CloseCode.retired, 'this channel was retired by one of its members');
    let channel = channels.get(hello.channel);
    if (!channel) {
      if (connection.entry.channels >= options.maxChannelsPerIp) return refuse(connection, CloseCode.addressLimit, 'too many channels from your address; retrying later');
      channel = newChannel(hello.channel, roster, connection.address, now);
    }
    const member = channel.members[hello.role];
    const previous = member.connection;
    member.connection = connection;
    connection.attached = { channel, role: hello.role };
    if (previous) refuse(previous, CloseCode.replaced, 'replaced by a newer connection');
    channel.lastActivity = now;
    const inbox = channel.outboxes[otherRole(hello.role)];
    released(inbox.acknowledge(hello.received), now);
    connection.nextSeq = hello.received + 1;
    send(connection, JSON.stringify({ t: 'welcome', v: RELAY_PROTOCOL_VERSION, stored: channel.outboxes[hello.role].lastStored }));
    pump(connection);
    options.log(`${hello.role} joined channel ${channelLabel(channel.name)} (${inbox.size} queued for it)`);
  }

  // ---- frames ---------------------------------------------------------------------------------

  function storeFrame(connection: Connection, channel: Channel, role: Role, seq: number, payload: Uint8Array, now: number): void {
    const outbox = channel.outboxes[role];
    const cost = payload.length + FRAME_OVERHEAD_BYTES;
    if (seq > outbox.lastStored) {
      if (connection.entry.mailboxBytes + cost > options.maxMailboxBytesPerAddress) return refuse(connection, CloseCode.mailboxFull, 'your address has too much waiting in mailboxes');
      if (mailboxBytes + cost > options.maxMailboxBytesTotal) return refuse(connection, CloseCode.mailboxFull, "the relay's mailboxes are full");
    }
    // A copy: the received buffer may be a slice of a larger one that it would keep alive.
    const result = outbox.store(seq, payload.slice(), now, connection.address);
    if (result === 'full') return refuse(connection, CloseCode.mailboxFull, 'mailbox full');
    if (result === 'stored') {
      account(connection.address, cost, now);
      framesRouted++;
      options.onRoutedFrame?.(channel.name, role, payload);
      const peer = channel.members[otherRole(role)].connection;
      if (peer) pump(peer);
    }
    connection.pendingStored = outbox.lastStored;
    pump(connection);
  }

  function route(connection: Connection, bytes: Uint8Array, now: number): void {
    const frame = decodeFrame(bytes);
    if (!frame || !connection.attached) return refuse(connection, CloseCode.malformed, 'malformed frame');
    const { channel, role } = connection.attached;
    channel.lastActivity = now;
    switch (frame.type) {
      case FrameType.data:
        return storeFrame(connection, channel, role, frame.seq, frame.payload, now);
      case FrameType.ack:
        return released(channel.outboxes[otherRole(role)].acknowledge(frame.seq), now);
      case FrameType.ping:
        connection.pendingPong = true;
        return pump(connection);
      case FrameType.retire:
        return retireChannel(channel, now);
      default:
        return refuse(connection, CloseCode.malformed, 'unexpected frame type');
    }
  }

  function onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    if (connection.closing) return;
    const now = Date.now();
    connection.lastHeard = now;
    const bytes = toBytes(data);
    if (!connection.attached) {
      if (isBinary) return refuse(connection, CloseCode.malformed, 'expected hello');
      if (bytes.length > MAX_HELLO_BYTES) return refuse(connection, CloseCode.tooLarge, 'hello too large');
      return attach(connection, Buffer.from(bytes).toString('utf8'), now);
    }
    if (!isBinary) return refuse(connection, CloseCode.malformed, 'expected a binary frame');
    if (bytes.length > options.maxFrameBytes + FRAME_HEADER_BYTES) return refuse(connection, CloseCode.tooLarge, 'frame too large');
    const member = connection.attached.channel.members[connection.attached.role];
    if (!member.frames.take(now) || !connection.entry.frames.take(now)) return refuse(connection, CloseCode.rateLimited, 'too many frames');
    route(connection, bytes, now);
  }

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
      socket,
      address,
      entry,
      nonce: newChallenge(),
      openedAt: now,
      attached: null,
      lastHeard: now,
      nextSeq: 1,
      inflight: 0,
      lastDrained: now,
      pendingStored: null,
      pendingPong: false,
      closing: false,
      closed: false,
    };
    connections.add(connection);
    entry.sockets++;
    send(connection, JSON.stringify({ t: 'challenge', v: RELAY_PROTOCOL_VERSION, nonce: encodeBase64Url(connection.nonce) }));
    const delay = options.testDelayMs ?? 0;
    socket.on('message', (data: RawData, isBinary: boolean) => (delay > 0 ? setTimeout(() => onMessage(connection, data, isBinary), delay) : onMessage(connection, data, isBinary)));
    socket.on('close', () => {
      connection.closed = true;
      connection.closing = true;
      bufferedBytes -= connection.inflight;
      connection.inflight = 0;
      connections.delete(connection);
      waiting.delete(connection);
      entry.sockets--;
      const member = connection.attached?.channel.members[connection.attached.role];
      if (member?.connection === connection) member.connection = null;
    });
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

  const httpServer: Server = createServer((request, response) => {
    servingHttp.add(request.socket);
    if (request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: true, channels: channels.size, connections: connections.size }));
      return;
    }
    void serveStaticFile(options.staticDir, request, response);
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

  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const channel of channels.values()) {
        const expired = [...channel.outboxes.extension.expire(now, options.mailboxTtlMs), ...channel.outboxes.phone.expire(now, options.mailboxTtlMs)];
        released(expired, now);
        if (expired.length > 0) options.log(`channel ${channelLabel(channel.name)}: ${expired.length} expired frames dropped`);
        const anyoneConnected = channel.members.extension.connection || channel.members.phone.connection;
        const empty = channel.outboxes.extension.size === 0 && channel.outboxes.phone.size === 0;
        // A channel whose frames expired is kept for a TTL, so a member that comes back is told why.
        const expiryToReport = channel.outboxes.extension.hadExpiry || channel.outboxes.phone.hadExpiry;
        if (!anyoneConnected && empty && (!expiryToReport || now - channel.lastActivity > options.mailboxTtlMs)) deleteChannel(channel, now);
      }
      for (const [name, expiresAt] of retired) if (expiresAt <= now) retired.delete(name);
      ledger.sweep(now);
    },
    Math.min(SWEEP_INTERVAL_MS, Math.max(50, options.mailboxTtlMs / 4)),
  );

  // ---- start: reload what a graceful stop saved ---------------------------------------------

  if (options.stateDir) {
    const now = Date.now();
    for (const saved of await takeMailboxes(options.stateDir)) {
      if (isRetired(saved.name, now)) continue;
      const channel = newChannel(saved.name, saved.roster, saved.creator, now);
      for (const role of ROLES) {
        const snapshot = saved.outboxes[role];
        const fresh = snapshot.frames.filter((frame) => now - frame.storedAt < options.mailboxTtlMs);
        const mailbox = new Mailbox(options.maxMailboxFrames, options.maxMailboxBytes, { ...snapshot, frames: fresh });
        channel.outboxes[role] = mailbox;
        for (const frame of fresh) account(frame.owner, frame.payload.length + FRAME_OVERHEAD_BYTES, now);
      }
    }
    if (channels.size > 0) options.log(`restored ${channels.size} channels with queued frames`);
  }

  await new Promise<void>((resolve) => httpServer.listen(options.port, options.host, resolve));
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  options.log(`listening on http://${hostForUrl}:${port}`);

  function undelivered(): number {
    let count = 0;
    for (const channel of channels.values()) {
      for (const role of ROLES) if (channel.members[otherRole(role)].connection) count += channel.outboxes[role].size;
    }
    return count;
  }

  function snapshot(): ChannelSnapshot[] {
    return [...channels.values()]
      .filter((channel) => channel.outboxes.extension.size + channel.outboxes.phone.size > 0)
      .map((channel) => ({ name: channel.name, roster: channel.roster, creator: channel.creator, outboxes: { extension: channel.outboxes.extension.snapshot(), phone: channel.outboxes.phone.snapshot() } }));
  }

  return {
    url: `http://${hostForUrl}:${port}`,
    wsUrl: `ws://${hostForUrl}:${port}`,
    port,
    stats: () => ({
      channels: channels.size,
      connections: connections.size,
      framesRouted,
      framesQueued: [...channels.values()].reduce((sum, c) => sum + c.outboxes.extension.size + c.outboxes.phone.size, 0),
      mailboxBytes,
      bufferedBytes,
    }),
    close: async () => {
      closing = true;
      const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      const deadline = Date.now() + options.drainTimeoutMs;
      while (undelivered() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      clearInterval(sweeper);
      clearInterval(watchdog);
      if (options.stateDir) {
        const saved = snapshot();
        await saveMailboxes(options.stateDir, saved);
        if (saved.length > 0) options.log(`saved ${saved.length} channels with queued frames`);
      }
      for (const connection of connections) refuse(connection, CloseCode.goingAway, 'relay shutting down');
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (const connection of connections) connection.socket.terminate();
      wss.close();
      httpServer.closeAllConnections();
      await stopped;
    },
  };
}
