/**
 * The relay: routes opaque frames between the two members of a channel, keeps a mailbox per
 * direction for a member that is offline, and serves the phone app's static files on the same port.
 * It parses only the hello and the 5-byte frame headers; payloads are never read or logged.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  CloseCode,
  FrameType,
  RELAY_PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  otherRole,
  parseHello,
  type Role,
} from '../channel/relay-protocol.ts';
import { Mailbox } from './mailbox.ts';
import { DEFAULT_RELAY_OPTIONS, type RelayOptions } from './relay-options.ts';
import { serveStaticFile } from './static-files.ts';

interface Member {
  token: string;
  socket: WebSocket | null;
}

interface Channel {
  readonly id: string;
  readonly ip: string;
  readonly members: Partial<Record<Role, Member>>;
  /** Frames sent by each role, waiting for the other. */
  readonly outboxes: Record<Role, Mailbox>;
  lastActivity: number;
}

export interface RelayStats {
  readonly channels: number;
  readonly connections: number;
  readonly framesRouted: number;
  readonly framesQueued: number;
}

export interface RunningRelay {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  stats(): RelayStats;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 5_000;

function channelLabel(id: string): string {
  return `${id.slice(0, 6)}…`;
}

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export async function startRelay(overrides: Partial<RelayOptions> = {}): Promise<RunningRelay> {
  const options: RelayOptions = { ...DEFAULT_RELAY_OPTIONS, ...overrides };
  const channels = new Map<string, Channel>();
  const channelsPerIp = new Map<string, number>();
  let framesRouted = 0;
  let closing = false;

  const httpServer: Server = createServer((request, response) => {
    if (request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: true, channels: channels.size, connections: wss.clients.size }));
      return;
    }
    void serveStaticFile(options.staticDir, request, response);
  });

  const wss = new WebSocketServer({ server: httpServer, maxPayload: options.maxFrameBytes + 64 });

  function closeSocket(socket: WebSocket, code: number, reason: string): void {
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
  }

  function releaseChannel(channel: Channel): void {
    channels.delete(channel.id);
    const count = (channelsPerIp.get(channel.ip) ?? 1) - 1;
    if (count <= 0) channelsPerIp.delete(channel.ip);
    else channelsPerIp.set(channel.ip, count);
  }

  function openChannel(id: string, ip: string): Channel | null {
    const existing = channels.get(id);
    if (existing) return existing;
    const count = channelsPerIp.get(ip) ?? 0;
    if (count >= options.maxChannelsPerIp) return null;
    const channel: Channel = {
      id,
      ip,
      members: {},
      outboxes: {
        extension: new Mailbox(options.maxMailboxFrames, options.maxMailboxBytes),
        phone: new Mailbox(options.maxMailboxFrames, options.maxMailboxBytes),
      },
      lastActivity: Date.now(),
    };
    channels.set(id, channel);
    channelsPerIp.set(ip, count + 1);
    return channel;
  }

  function attach(socket: WebSocket, ip: string, text: string): { channel: Channel; role: Role } | null {
    const hello = parseHello(text);
    if (!hello) {
      closeSocket(socket, CloseCode.malformed, 'malformed hello');
      return null;
    }
    if (hello.v !== RELAY_PROTOCOL_VERSION) {
      closeSocket(socket, CloseCode.unsupportedVersion, 'unsupported relay protocol version');
      return null;
    }
    const channel = openChannel(hello.channel, ip);
    if (!channel) {
      closeSocket(socket, CloseCode.tooManyChannels, 'too many channels from this address');
      return null;
    }
    const member = channel.members[hello.role];
    if (member && !sameToken(member.token, hello.token)) {
      closeSocket(socket, CloseCode.channelFull, 'this channel already has that member');
      return null;
    }
    if (member?.socket && member.socket !== socket) closeSocket(member.socket, CloseCode.replaced, 'replaced by a newer connection');
    channel.members[hello.role] = { token: hello.token, socket };
    channel.lastActivity = Date.now();

    const inbox = channel.outboxes[otherRole(hello.role)];
    inbox.acknowledge(hello.received);
    socket.send(JSON.stringify({ t: 'welcome', v: RELAY_PROTOCOL_VERSION, stored: channel.outboxes[hello.role].lastStored }));
    for (const frame of inbox.pending()) socket.send(encodeFrame(FrameType.data, frame.seq, frame.payload));
    options.log(`${hello.role} joined channel ${channelLabel(channel.id)} (${inbox.size} queued for it)`);
    return { channel, role: hello.role };
  }

  function route(socket: WebSocket, channel: Channel, role: Role, bytes: Uint8Array): void {
    const frame = decodeFrame(bytes);
    if (!frame) {
      closeSocket(socket, CloseCode.malformed, 'malformed frame');
      return;
    }
    channel.lastActivity = Date.now();
    switch (frame.type) {
      case FrameType.data: {
        const outbox = channel.outboxes[role];
        const result = outbox.store(frame.seq, frame.payload, Date.now());
        if (result === 'gap') return closeSocket(socket, CloseCode.malformed, 'sequence gap');
        if (result === 'full') return closeSocket(socket, CloseCode.mailboxFull, 'mailbox full');
        socket.send(encodeFrame(FrameType.stored, outbox.lastStored));
        if (result === 'duplicate') return;
        framesRouted++;
        options.onRoutedFrame?.(channel.id, role, frame.payload);
        const peer = channel.members[otherRole(role)]?.socket;
        if (peer && peer.readyState === peer.OPEN) peer.send(encodeFrame(FrameType.data, frame.seq, frame.payload));
        return;
      }
      case FrameType.ack:
        channel.outboxes[otherRole(role)].acknowledge(frame.seq);
        return;
      case FrameType.ping:
        socket.send(encodeFrame(FrameType.pong, 0));
        return;
      default:
        closeSocket(socket, CloseCode.malformed, 'unexpected frame type');
    }
  }

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    if (closing) return closeSocket(socket, CloseCode.goingAway, 'relay shutting down');
    const ip = request.socket.remoteAddress ?? 'unknown';
    const bucket = new TokenBucket(options.framesPerSecond, options.frameBurst, Date.now());
    let attached: { channel: Channel; role: Role } | null = null;
    let lastHeard = Date.now();
    const helloTimer = setTimeout(() => {
      if (!attached) closeSocket(socket, CloseCode.helloTimeout, 'no hello');
    }, options.helloTimeoutMs);
    const idleTimer = setInterval(() => {
      if (Date.now() - lastHeard > options.idleTimeoutMs) closeSocket(socket, CloseCode.idleTimeout, 'idle');
    }, Math.max(50, Math.min(options.idleTimeoutMs / 4, 5_000)));

    socket.on('message', (data: RawData, isBinary: boolean) => {
      lastHeard = Date.now();
      if (!bucket.take(lastHeard)) return closeSocket(socket, CloseCode.rateLimited, 'too many frames');
      if (!attached) {
        if (isBinary) return closeSocket(socket, CloseCode.malformed, 'expected hello');
        attached = attach(socket, ip, Buffer.from(toBytes(data)).toString('utf8'));
        if (attached) clearTimeout(helloTimer);
        return;
      }
      if (!isBinary) return closeSocket(socket, CloseCode.malformed, 'expected a binary frame');
      const bytes = toBytes(data);
      if (bytes.length > options.maxFrameBytes) return closeSocket(socket, CloseCode.tooLarge, 'frame too large');
      route(socket, attached.channel, attached.role, bytes);
    });

    socket.on('close', () => {
      clearTimeout(helloTimer);
      clearInterval(idleTimer);
      const member = attached ? attached.channel.members[attached.role] : undefined;
      if (member?.socket === socket) member.socket = null;
    });
    socket.on('error', () => undefined);
  });

  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const channel of channels.values()) {
      const dropped = channel.outboxes.extension.expire(now, options.mailboxTtlMs) + channel.outboxes.phone.expire(now, options.mailboxTtlMs);
      if (dropped > 0) options.log(`channel ${channelLabel(channel.id)}: ${dropped} expired frames dropped`);
      const anyoneConnected = channel.members.extension?.socket || channel.members.phone?.socket;
      const empty = channel.outboxes.extension.size === 0 && channel.outboxes.phone.size === 0;
      if (!anyoneConnected && (empty || now - channel.lastActivity > options.mailboxTtlMs)) releaseChannel(channel);
    }
  }, Math.min(SWEEP_INTERVAL_MS, Math.max(50, options.mailboxTtlMs / 4)));

  await new Promise<void>((resolve) => httpServer.listen(options.port, options.host, resolve));
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  options.log(`listening on http://${hostForUrl}:${port}`);

  function undelivered(): number {
    let count = 0;
    for (const channel of channels.values()) {
      for (const role of ['extension', 'phone'] as const) {
        const peer = channel.members[otherRole(role)]?.socket;
        if (peer && peer.readyState === peer.OPEN) count += channel.outboxes[role].size;
      }
    }
    return count;
  }

  return {
    url: `http://${hostForUrl}:${port}`,
    wsUrl: `ws://${hostForUrl}:${port}`,
    port,
    stats: () => ({
      channels: channels.size,
      connections: wss.clients.size,
      framesRouted,
      framesQueued: [...channels.values()].reduce((sum, c) => sum + c.outboxes.extension.size + c.outboxes.phone.size, 0),
    }),
    close: async () => {
      closing = true;
      const deadline = Date.now() + options.drainTimeoutMs;
      while (undelivered() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      clearInterval(sweeper);
      for (const socket of wss.clients) closeSocket(socket, CloseCode.goingAway, 'relay shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
