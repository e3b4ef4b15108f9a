/**
 * Forward secrecy that runs: the two real apps over a real relay. Every key either device has
 * stored is captured (as malware reading an unlocked vault would), the extension's service worker
 * restarts, and a request is co-signed: no frame the relay carried after the restart opens under
 * any captured key.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase64Url } from '../../src/channel/base64url.ts';
import { PHONE_VAULT } from '../../src/phone/phone-controller.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { unlockVault } from '../../src/vault/vault.ts';
import { waitFor } from '../relay/relay-support.ts';
import { coSign, linkApps, PIN, type LinkedApps } from './app-link.ts';

let relay: RunningRelay;
let apps: LinkedApps;
const routed: Uint8Array[] = [];

beforeAll(async () => {
  relay = await startRelay({ port: 0, staticDir: null, log: () => undefined, onRoutedFrame: (_channel, _from, payload) => routed.push(payload) });
  apps = await linkApps(relay.wsUrl);
});
afterAll(async () => {
  apps.close();
  await relay.close();
});

/** Every 32-byte value stored as base64url anywhere in `value`. */
function keysIn(value: unknown, found: Uint8Array[] = []): Uint8Array[] {
  if (typeof value === 'string') {
    const bytes = decodeBase64Url(value);
    if (bytes?.length === 32) found.push(bytes);
  } else if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) keysIn(inner, found);
  }
  return found;
}

/** Whether `frame` (a channel frame as the relay carried it) opens under `key`, whatever the header layout. */
function opensUnder(frame: Uint8Array, key: Uint8Array): boolean {
  for (const headerBytes of [1, 5]) {
    if (frame.length < headerBytes + 8 + 16) continue;
    const seq = new DataView(frame.buffer, frame.byteOffset + headerBytes, 8).getBigUint64(0);
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setBigUint64(4, seq);
    for (const direction of [0x45, 0x50]) {
      const aad = new Uint8Array([...new TextEncoder().encode('duet/frame/v1'), direction, ...nonce.subarray(4)]);
      try {
        chacha20poly1305(key, nonce, aad).decrypt(frame.subarray(headerBytes + 8));
        return true;
      } catch {
        // not this key, layout or direction
      }
    }
  }
  return false;
}

describe('forward secrecy between the apps', () => {
  it('keys captured from both devices open no frame sent after the next connection', async () => {
    await coSign(apps, 'before the capture');
    const vault = await unlockVault(PHONE_VAULT, PIN);
    const captured = [...keysIn(await apps.secrets.get('channel')), ...keysIn(await vault.get('channel'))];
    vault.lock();
    expect(captured.length).toBeGreaterThanOrEqual(4);
    // The captured keys do open what they protected.
    expect(routed.some((frame) => captured.some((key) => opensUnder(frame, key)))).toBe(true);

    const mark = routed.length;
    apps.restartExtension();
    await waitFor(() => apps.link.coSigner.status().reachable, 15_000);
    await coSign(apps, 'after the restart');
    const after = routed.slice(mark);
    expect(after.length).toBeGreaterThan(4);
    expect(after.filter((frame) => captured.some((key) => opensUnder(frame, key))).length).toBe(0);
  });
});
