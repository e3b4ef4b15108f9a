/** Helpers for relay tests: real relay on loopback, real ws clients. */
import { WebSocket } from 'ws';
import { RelayClient, type RelayClientState, type WebSocketConstructor } from '../../src/channel/relay-client.ts';
import type { Role } from '../../src/channel/relay-protocol.ts';
import { encodeBase64Url } from '../../src/channel/base64url.ts';

export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

export function newChannelId(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}

export function client(wsUrl: string, channelId: string, role: Role, state?: RelayClientState): RelayClient {
  return new RelayClient({ relayUrl: wsUrl, channelId, role, WebSocket: NodeWebSocket, keepaliveMs: 1_000, backoff: { initialMs: 20, maxMs: 200 }, ...(state ? { state } : {}) });
}

export function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (condition()) return resolve();
      if (Date.now() > deadline) return reject(new Error('timed out waiting for condition'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

/** A raw ws connection, to misbehave on purpose. Resolves with the close code. */
export function rawSocket(wsUrl: string): { socket: WebSocket; closed: Promise<{ code: number; reason: string }>; opened: Promise<void> } {
  const socket = new WebSocket(wsUrl);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise<void>((resolve) => socket.on('open', () => resolve()));
  socket.on('error', () => undefined);
  return { socket, closed, opened };
}

export function hello(channel: string, role: Role, token = encodeBase64Url(crypto.getRandomValues(new Uint8Array(32)))): string {
  return JSON.stringify({ t: 'hello', v: 1, channel, role, token, received: 0 });
}

export const text = (value: string) => new TextEncoder().encode(value);
export const untext = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
