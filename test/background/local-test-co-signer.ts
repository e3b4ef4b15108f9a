/**
 * TEST STAND-IN for the phone's half of co-signing — never shipped, never used by the extension
 * build. It holds a whole private key (anvil's public dev key by default), which the real design
 * never does: it lets the background tests run approve → co-sign → verify → broadcast without the
 * phone app. Accounts are derived as in src/mpc/derivation.ts: key_i = key + t_i mod n.
 */
import { SigningKey, hexlify } from 'ethers';
import type { CoSignature, CoSigner, PhoneStatus } from '../../src/background/co-signer.ts';
import { CoSignerFailedError, CoSignerRejectedError } from '../../src/background/co-signer.ts';
import { pairedKeyFromParts, type PairedKey } from '../../src/background/accounts.ts';
import { CURVE_ORDER, Point } from '../../src/mpc/curve.ts';
import { accountOffset } from '../../src/mpc/derivation.ts';
import { signingDigest, type SigningRequest } from '../../src/wallet/signing-request.ts';

/** Anvil's first dev account key: a public test value (src/devstack/anvil.ts). */
export const ANVIL_DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

/** approve: sign at once; reject: the phone's user refuses; hold: wait for release(); wrong-key: sign with another key; fail: protocol failure. */
export type TestPhoneMode = 'approve' | 'reject' | 'hold' | 'wrong-key' | 'fail' | 'tainted';

interface Held {
  readonly request: SigningRequest;
  resolve(signature: CoSignature): void;
  reject(error: unknown): void;
}

export class LocalTestCoSigner implements CoSigner {
  mode: TestPhoneMode = 'approve';
  readonly received: SigningRequest[] = [];
  private readonly privateKey: bigint;
  private readonly chainCode: Uint8Array;
  private held: Held[] = [];
  private reachable = true;
  private readonly listeners = new Set<(status: PhoneStatus) => void>();

  constructor(privateKeyHex = ANVIL_DEV_KEY, chainCode = new Uint8Array(32).fill(7)) {
    this.privateKey = BigInt(privateKeyHex);
    this.chainCode = chainCode;
  }

  get pairedKey(): PairedKey {
    return pairedKeyFromParts(Point.BASE.multiply(this.privateKey).toBytes(true), this.chainCode);
  }

  status(): PhoneStatus {
    return { reachable: this.reachable, lastSeen: null };
  }

  onStatusChange(listener: (status: PhoneStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    for (const listener of this.listeners) listener(this.status());
  }

  sign(request: SigningRequest, signal: AbortSignal): Promise<CoSignature> {
    this.received.push(request);
    signal.throwIfAborted();
    switch (this.mode) {
      case 'reject':
        return Promise.reject(new CoSignerRejectedError());
      case 'fail':
        return Promise.reject(new CoSignerFailedError('protocol_error', 'test phone failed'));
      case 'tainted':
        return Promise.reject(new CoSignerFailedError('tainted', 'the phone refuses this browser'));
      case 'wrong-key':
        return Promise.resolve(this.signWith(this.privateKey + 1n, request));
      case 'hold':
        return new Promise((resolve, reject) => {
          this.held.push({ request, resolve, reject });
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      case 'approve':
        return Promise.resolve(this.signFor(request));
    }
  }

  /** Signs every held request, as if the phone came online and its user approved. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const entry of held) entry.resolve(this.signFor(entry.request));
  }

  get heldCount(): number {
    return this.held.length;
  }

  private signFor(request: SigningRequest): CoSignature {
    const publicKey = Point.BASE.multiply(this.privateKey);
    const key = (this.privateKey + accountOffset(this.chainCode, publicKey, request.account.index)) % CURVE_ORDER;
    return this.signWith(key, request);
  }

  private signWith(key: bigint, request: SigningRequest): CoSignature {
    const signature = new SigningKey(`0x${key.toString(16).padStart(64, '0')}`).sign(hexlify(signingDigest(request)));
    return { r: BigInt(signature.r), s: BigInt(signature.s), yParity: signature.yParity };
  }
}
