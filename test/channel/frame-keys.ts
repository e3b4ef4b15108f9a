/** What an attacker holding stolen channel keys does with frames it recorded. */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { decodeBase64Url } from '../../src/channel/base64url.ts';

/** Every 32-byte value stored as base64url anywhere in `value` (keys, among others). */
export function keysIn(value: unknown, found: Uint8Array[] = []): Uint8Array[] {
  if (typeof value === 'string') {
    const bytes = decodeBase64Url(value);
    if (bytes?.length === 32) found.push(bytes);
  } else if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) keysIn(inner, found);
  }
  return found;
}

/** Whether a channel frame (as a relay carried it) opens under `key`, whatever its header layout or direction. */
export function opensUnder(frame: Uint8Array, key: Uint8Array): boolean {
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

/** The frames of `frames` that any of `keys` opens. */
export function openedBy(frames: readonly Uint8Array[], keys: readonly Uint8Array[]): Uint8Array[] {
  return frames.filter((frame) => keys.some((key) => opensUnder(frame, key)));
}
