/** Helpers for relay tests: real relay on loopback, real ws clients. */
import { WebSocket } from 'ws';
import { ed25519 } from '@noble/curves/ed25519.js';
import { RelayClient, type RelayClientState, type WebSocketConstructor } from '../../src/channel/relay-client.ts';
import { encodeFrame, type Role } from '../../src/channel/relay-protocol.ts';
import { decodeBase64Url, encodeBase64Url } from '../../src/channel/base64url.ts';
import { pairingCredential, relayChannelNameOf, signRelayChallenge, type RelayCredential } from '../../src/channel/relay-credential.ts';
import { rawWebSocket, type RawWebSocket } from './raw-websocket.ts';

export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** A channel secret (as in a pairing QR): whoever knows it holds both roles' credentials. */
export function newChannelId(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}

export function credentialFor(secret: string, role: Role): RelayCredential {
  return pairingCredential(decodeBase64Url(secret) as Uint8Array, role);
}

/** The channel's name on the relay (what the relay, and anyone reading its traffic, knows). */
export function relayNameOf(secret: string): string {
  return relayChannelNameOf(credentialFor(secret, 'phone').roster);
}

export function client(wsUrl: string, channelId: string, role: Role, state?: RelayClientState, WebSocketImpl: WebSocketConstructor = NodeWebSocket): RelayClient {
  return new RelayClient({
    relayUrl: wsUrl,
    credential: credentialFor(channelId, role),
    WebSocket: WebSocketImpl,
    keepaliveMs: 1_000,
    backoff: { initialMs: 20, maxMs: 200 },
    ...(state ? { state } : {}),
  });
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await sleep(10);
  }
}

export const text = (value: string) => new TextEncoder().encode(value);
export const untext = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A WebSocket subclass bound to one loopback source address (127.0.0.0/8 all reach the relay on Linux). */
export function fromAddress(localAddress: string, headers: Record<string, string> = {}): WebSocketConstructor {
  class BoundWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { localAddress, headers });
    }
  }
  return BoundWebSocket as unknown as WebSocketConstructor;
}

async function challenge(raw: RawWebSocket): Promise<Uint8Array> {
  const deadline = Date.now() + 5_000;
  while (raw.texts.length === 0 && Date.now() < deadline) await sleep(5);
  const nonce = JSON.parse(raw.texts[0] ?? '{}').nonce as string | undefined;
  if (!nonce) throw new Error('no challenge from the relay');
  return decodeBase64Url(nonce) as Uint8Array;
}

/** The hello a client holding `credential` sends for `nonce` (a squatter passes its own `signingKey`). */
export function helloFor(credential: RelayCredential, nonce: Uint8Array, received = 0, signingKey?: Uint8Array): string {
  const proof = signingKey ? ed25519.sign(new Uint8Array(32), signingKey) : signRelayChallenge(credential, nonce);
  return JSON.stringify({
    t: 'hello',
    v: 2,
    channel: relayChannelNameOf(credential.roster),
    role: credential.role,
    keys: { extension: encodeBase64Url(credential.roster.extension), phone: encodeBase64Url(credential.roster.phone) },
    proof: encodeBase64Url(proof),
    received,
  });
}

/** Joins `role` of the channel named by `secret` on a raw socket (see raw-websocket.ts), reading until the welcome. */
export async function rawMember(port: number, secret: string, role: Role, options: { localAddress?: string; headers?: Record<string, string>; received?: number } = {}): Promise<RawWebSocket> {
  const raw = await rawWebSocket({ port, ...options });
  raw.sendText(helloFor(credentialFor(secret, role), await challenge(raw), options.received ?? 0));
  return raw;
}

/**
 * A third party's hello for `role` of the channel named by `secret`: it knows the channel's name
 * and its roster's public keys (as the relay operator does), not the member's secret key.
 */
export async function squatterMember(port: number, secret: string, role: Role): Promise<RawWebSocket> {
  const raw = await rawWebSocket({ port });
  raw.sendText(helloFor(credentialFor(secret, role), await challenge(raw), 0, ed25519.utils.randomSecretKey()));
  return raw;
}

export function binaryFrame(type: number, seq: number, payload?: Uint8Array): Uint8Array {
  return encodeFrame(type, seq, payload);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
