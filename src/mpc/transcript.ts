/**
 * The one Fiat–Shamir transcript of the engine (TSSHOCK-safe hashing).
 *
 * Every commitment and every challenge is derived from a transcript that is:
 * - injective: each entry is `u32(len(label)) ‖ label ‖ u32(len(data)) ‖ data`, so no two
 *   different sequences of (label, data) entries produce the same byte stream;
 * - bound to context: it starts with the protocol tag, the protocol version, the session id,
 *   the key id and the role of the party that proves or commits.
 *
 * Statements (the public values a proof talks about) are appended by the proof itself before
 * any challenge is drawn. Challenges are expanded from SHA-512 in counter mode over the
 * SHA-256 state digest; scalars use 64 bytes of output so the bias mod q is below 2^-256.
 */
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bigIntToMinimalBytes, bytesToBigInt, concatBytes } from './bytes.ts';
import type { Point } from './curve.ts';

export const PROTOCOL_TAG = 'duet/lindell17-2p-ecdsa';
export const PROTOCOL_VERSION = 1;

export type Role = 'P1' | 'P2';

export interface TranscriptContext {
  /** Which sub-protocol or proof, e.g. `keygen/schnorr` or `sign/commit`. */
  readonly purpose: string;
  readonly sessionId: Uint8Array;
  readonly keyId: Uint8Array;
  /** The party that produces the commitment or proof. */
  readonly role: Role;
}

const textEncoder = new TextEncoder();

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

export class Transcript {
  private readonly state: ReturnType<typeof sha256.create>;

  private constructor(state: ReturnType<typeof sha256.create>) {
    this.state = state;
  }

  static start(context: TranscriptContext): Transcript {
    const transcript = new Transcript(sha256.create());
    transcript.appendText('protocol', PROTOCOL_TAG);
    transcript.appendBytes('version', u32(PROTOCOL_VERSION));
    transcript.appendText('purpose', context.purpose);
    transcript.appendBytes('session-id', context.sessionId);
    transcript.appendBytes('key-id', context.keyId);
    transcript.appendText('role', context.role);
    return transcript;
  }

  appendBytes(label: string, data: Uint8Array): this {
    const labelBytes = textEncoder.encode(label);
    this.state.update(u32(labelBytes.length)).update(labelBytes).update(u32(data.length)).update(data);
    return this;
  }

  appendText(label: string, text: string): this {
    return this.appendBytes(label, textEncoder.encode(text));
  }

  /** Non-negative integers, minimal big-endian (the length prefix keeps this injective). */
  appendBigInt(label: string, value: bigint): this {
    if (value < 0n) throw new RangeError(`transcript entry ${label} is negative`);
    return this.appendBytes(label, bigIntToMinimalBytes(value));
  }

  appendPoint(label: string, point: Point): this {
    return this.appendBytes(label, point.toBytes(true));
  }

  /** An independent copy: later appends to either do not affect the other. */
  fork(label: string): Transcript {
    return new Transcript(this.state.clone()).appendText('fork', label);
  }

  /** `length` challenge bytes; the label and the output are absorbed into the transcript. */
  challengeBytes(label: string, length: number): Uint8Array {
    this.appendText('challenge', label);
    this.appendBytes('challenge-length', u32(length));
    const seed = this.state.clone().digest();
    const blocks: Uint8Array[] = [];
    for (let counter = 0, produced = 0; produced < length; counter++, produced += 64) {
      blocks.push(sha512(concatBytes(seed, u32(counter))));
    }
    const out = concatBytes(...blocks).slice(0, length);
    this.appendBytes('challenge-output', out);
    return out;
  }

  /** A challenge integer in [0, bound), with statistical distance below 2^-128 from uniform. */
  challengeBelow(label: string, bound: bigint): bigint {
    const bytes = Math.ceil(bound.toString(2).length / 8) + 16;
    return bytesToBigInt(this.challengeBytes(label, bytes)) % bound;
  }

  /** A 32-byte commitment digest of everything appended so far. */
  digest(): Uint8Array {
    return this.state.clone().digest();
  }
}
