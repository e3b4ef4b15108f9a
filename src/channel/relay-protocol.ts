/**
 * The relay wire protocol (version 2), shared by the relay server and the relay client.
 *
 *   relay → client  text  {"t":"challenge","v":2,"nonce":<32 random bytes, base64url>}
 *   client → relay  text  {"t":"hello","v":2,"channel":N,"role":"extension"|"phone",
 *                          "keys":{"extension":K_E,"phone":K_P},"proof":S,"received":R}
 *   relay → client  text  {"t":"welcome","v":2,"stored":<last seq of this client it holds>}
 *
 * N = base64url(SHA-256("duet/relay-channel/v2" ‖ K_E ‖ K_P)) names the channel by its roster,
 * the Ed25519 public keys of its two roles (relay-credential.ts), so nobody can register other
 * keys under a name. S = Ed25519 signature by the role's key over
 * "duet/relay-auth/v2" ‖ nonce ‖ N ‖ role: only the holder of a role's secret key can take it,
 * and a proof is good for one connection to one relay. Every refusal of a hello is the same
 * (4003) whether or not the channel exists.
 *
 * After the welcome every frame is binary: one type byte, a big-endian u32 sequence number, and
 * for DATA the payload (opaque to the relay: AEAD ciphertext from the session layer).
 *
 *   DATA   client → relay: a frame to the peer, numbered by the sender (1, 2, 3, …)
 *          relay → client: a frame from the peer, same number
 *   STORED relay → client: the relay holds every frame of this client up to seq (drop them locally)
 *   ACK    client → relay: this client received every frame of the peer up to seq (the relay drops them)
 *   PING / PONG: keepalive, seq unused
 *   RETIRE client → relay: this member ends the channel for good (unpaired, or the other member was
 *          removed from the wallet): the relay drops its mailboxes and refuses both roles (4010)
 *
 * Text from the relay after the welcome: {"t":"gap","missed":n,"reason":"expired"|"relay-restarted"}
 * just before a DATA frame that follows frames the relay no longer has.
 */
export const RELAY_PROTOCOL_VERSION = 2;

export const FrameType = {
  data: 1,
  stored: 2,
  ack: 3,
  ping: 4,
  pong: 5,
  retire: 6,
} as const;

export type Role = 'extension' | 'phone';
export const ROLES: readonly Role[] = ['extension', 'phone'];

export const FRAME_HEADER_BYTES = 5;
export const CHANNEL_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const PROOF_PATTERN = /^[A-Za-z0-9_-]{86}$/;
export const MAX_SEQUENCE = 0xffffffff;
/** A hello is ~330 bytes; anything longer is refused (1009) before it is parsed. */
export const MAX_HELLO_BYTES = 1024;

/** WebSocket close codes the relay uses (4000–4999 is the application range, RFC 6455 §7.4.2). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  tooLarge: 1009,
  /** RFC 6455 registry: "Try Again Later" — the relay is at a global capacity limit. */
  tryAgainLater: 1013,
  malformed: 4000,
  unsupportedVersion: 4001,
  unauthorized: 4003,
  rateLimited: 4004,
  /** A limit of the client's network address (connections, channels): not final, retried. */
  addressLimit: 4005,
  idleTimeout: 4006,
  replaced: 4007,
  mailboxFull: 4008,
  helloTimeout: 4009,
  retired: 4010,
  slowReader: 4011,
} as const;

export type GapReason = 'expired' | 'relay-restarted';

export interface Challenge {
  readonly t: 'challenge';
  readonly v: number;
  readonly nonce: string;
}

export interface Hello {
  readonly t: 'hello';
  readonly v: number;
  readonly channel: string;
  readonly role: Role;
  readonly keys: { readonly extension: string; readonly phone: string };
  readonly proof: string;
  readonly received: number;
}

export interface Welcome {
  readonly t: 'welcome';
  readonly v: number;
  readonly stored: number;
}

export interface GapNotice {
  readonly t: 'gap';
  readonly missed: number;
  readonly reason: GapReason;
}

export type RelayText = Challenge | Welcome | GapNotice;

function isSequence(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_SEQUENCE;
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Null for anything but a well-formed hello (the version is checked by the caller). */
export function parseHello(text: string): Hello | null {
  if (text.length > MAX_HELLO_BYTES) return null;
  const hello = parseObject(text);
  if (!hello || hello.t !== 'hello' || typeof hello.v !== 'number') return null;
  const { channel, role, keys, proof, received } = hello;
  if (typeof channel !== 'string' || !CHANNEL_ID_PATTERN.test(channel)) return null;
  if (role !== 'extension' && role !== 'phone') return null;
  if (typeof keys !== 'object' || keys === null) return null;
  const { extension, phone } = keys as Record<string, unknown>;
  if (typeof extension !== 'string' || !KEY_PATTERN.test(extension) || typeof phone !== 'string' || !KEY_PATTERN.test(phone)) return null;
  if (typeof proof !== 'string' || !PROOF_PATTERN.test(proof) || !isSequence(received)) return null;
  return { t: 'hello', v: hello.v, channel, role, keys: { extension, phone }, proof, received };
}

/** The relay's text frames as the client reads them; null for anything else. */
export function parseRelayText(text: string): RelayText | null {
  const value = parseObject(text);
  if (!value) return null;
  if (value.t === 'challenge' && typeof value.v === 'number' && typeof value.nonce === 'string' && KEY_PATTERN.test(value.nonce)) return { t: 'challenge', v: value.v, nonce: value.nonce };
  if (value.t === 'welcome' && typeof value.v === 'number' && isSequence(value.stored)) return { t: 'welcome', v: value.v, stored: value.stored };
  if (value.t === 'gap' && isSequence(value.missed) && (value.reason === 'expired' || value.reason === 'relay-restarted')) return { t: 'gap', missed: value.missed, reason: value.reason };
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
  if (type < FrameType.data || type > FrameType.retire) return null;
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, false);
  if (type !== FrameType.data && bytes.length !== FRAME_HEADER_BYTES) return null;
  return { type, seq, payload: bytes.subarray(FRAME_HEADER_BYTES) };
}

export function otherRole(role: Role): Role {
  return role === 'extension' ? 'phone' : 'extension';
}
