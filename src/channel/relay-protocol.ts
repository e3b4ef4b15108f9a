/**
 * The relay wire protocol, shared by the relay server and the relay client.
 *
 * A client opens a WebSocket and sends one JSON text frame:
 *   { "t": "hello", "v": 1, "channel": <22–64 base64url chars, ≥ 128 bits>, "role": "extension" | "phone",
 *     "token": <43 base64url chars: the client's secret slot token>, "received": <last relay seq it received> }
 * The relay answers with a JSON text frame { "t": "welcome", "v": 1, "stored": <last seq of this client it holds> }.
 * After that every frame is binary: one type byte, a big-endian u32 sequence number, and for DATA
 * the payload (opaque to the relay: AEAD ciphertext from the session layer).
 *
 *   DATA   client → relay: a frame to the peer, numbered by the sender (1, 2, 3, …)
 *          relay → client: a frame from the peer, same number
 *   STORED relay → client: the relay holds every frame of this client up to seq (drop them locally)
 *   ACK    client → relay: this client received every frame of the peer up to seq (the relay drops them)
 *   PING / PONG: keepalive, seq unused
 *
 * The slot token lets the same client reconnect to its role (replacing a half-open socket) while a
 * third party without the token is refused.
 */
export const RELAY_PROTOCOL_VERSION = 1;

export const FrameType = {
  data: 1,
  stored: 2,
  ack: 3,
  ping: 4,
  pong: 5,
} as const;

export type Role = 'extension' | 'phone';
export const ROLES: readonly Role[] = ['extension', 'phone'];

export const FRAME_HEADER_BYTES = 5;
export const CHANNEL_ID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
export const MAX_SEQUENCE = 0xffffffff;

/** WebSocket close codes the relay uses (4000–4999 is the application range, RFC 6455 §7.4.2). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  tooLarge: 1009,
  malformed: 4000,
  unsupportedVersion: 4001,
  channelFull: 4002,
  rateLimited: 4004,
  tooManyChannels: 4005,
  idleTimeout: 4006,
  replaced: 4007,
  mailboxFull: 4008,
  helloTimeout: 4009,
} as const;

export interface Hello {
  readonly t: 'hello';
  readonly v: number;
  readonly channel: string;
  readonly role: Role;
  readonly token: string;
  readonly received: number;
}

export interface Welcome {
  readonly t: 'welcome';
  readonly v: number;
  readonly stored: number;
}

function isSequence(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_SEQUENCE;
}

export function parseHello(text: string): Hello | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const hello = value as Partial<Hello>;
  if (hello.t !== 'hello' || typeof hello.v !== 'number') return null;
  if (typeof hello.channel !== 'string' || !CHANNEL_ID_PATTERN.test(hello.channel)) return null;
  if (hello.role !== 'extension' && hello.role !== 'phone') return null;
  if (typeof hello.token !== 'string' || !TOKEN_PATTERN.test(hello.token)) return null;
  if (!isSequence(hello.received)) return null;
  return { t: 'hello', v: hello.v, channel: hello.channel, role: hello.role, token: hello.token, received: hello.received };
}

export function parseWelcome(text: string): Welcome | null {
  try {
    const value = JSON.parse(text) as Partial<Welcome>;
    if (value.t === 'welcome' && typeof value.v === 'number' && isSequence(value.stored)) return { t: 'welcome', v: value.v, stored: value.stored };
  } catch {
    return null;
  }
  return null;
}

export function encodeFrame(type: number, seq: number, payload?: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + (payload?.length ?? 0));
  frame[0] = type;
  new DataView(frame.buffer).setUint32(1, seq, false);
  if (payload) frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

export interface DecodedFrame {
  readonly type: number;
  readonly seq: number;
  readonly payload: Uint8Array;
}

export function decodeFrame(bytes: Uint8Array): DecodedFrame | null {
  if (bytes.length < FRAME_HEADER_BYTES) return null;
  const type = bytes[0] as number;
  if (type < FrameType.data || type > FrameType.pong) return null;
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, false);
  if (type !== FrameType.data && bytes.length !== FRAME_HEADER_BYTES) return null;
  return { type, seq, payload: bytes.subarray(FRAME_HEADER_BYTES) };
}

export function otherRole(role: Role): Role {
  return role === 'extension' ? 'phone' : 'extension';
}
