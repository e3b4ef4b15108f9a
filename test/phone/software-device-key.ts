/**
 * A software stand-in for the phone's platform authenticator, for Node tests (the browser's own
 * WebAuthn PRF runs in the end-to-end tests with Chromium's virtual authenticator): each
 * credential has a random HMAC key; the PRF is HMAC-SHA256(key, "WebAuthn PRF" ‖ 0x00 ‖ salt), as
 * the spec's hmac-secret mapping computes it.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { DeviceKeyAuthenticator } from '../../src/phone/device-key.ts';

const PRF_PREFIX = new TextEncoder().encode('WebAuthn PRF\0');
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

export class SoftwareDeviceKey implements DeviceKeyAuthenticator {
  private readonly credentials = new Map<string, Uint8Array>();
  /** false: an authenticator without PRF. */
  hasPrf = true;
  /** The next ceremony fails as a cancelled prompt does. */
  cancelNext = false;
  ceremonies = 0;

  async available(): Promise<boolean> {
    return true;
  }

  async register(salt: Uint8Array) {
    this.ceremony();
    if (!this.hasPrf) return null;
    const credentialId = crypto.getRandomValues(new Uint8Array(16));
    this.credentials.set(hex(credentialId), crypto.getRandomValues(new Uint8Array(32)));
    return { credentialId, prfOutput: await this.evaluate(credentialId, salt, false) };
  }

  async evaluate(credentialId: Uint8Array, salt: Uint8Array, counted = true): Promise<Uint8Array> {
    if (counted) this.ceremony();
    const key = this.credentials.get(hex(credentialId));
    if (!key) throw new DOMException('no such credential', 'NotAllowedError');
    return hmac(sha256, key, new Uint8Array([...PRF_PREFIX, ...salt]));
  }

  /** As if the passkey were deleted from the phone. */
  forget(): void {
    this.credentials.clear();
  }

  private ceremony(): void {
    this.ceremonies += 1;
    if (this.cancelNext) {
      this.cancelNext = false;
      throw new DOMException('The operation either timed out or was not allowed.', 'NotAllowedError');
    }
  }
}
