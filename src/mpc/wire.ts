/**
 * Strict JSON wire codec for protocol messages.
 *
 * Messages travel as JSON objects whose integers, points and byte strings are lowercase hex.
 * `FieldReader` decodes one received object and checks every field as it reads it:
 * hex syntax, byte sizes, scalars in [1, q), points on the curve and not the identity,
 * integers below a bit bound, ciphertexts in Z*_{N²}. A violation is an `MpcError` naming the
 * field, never a crash; unknown fields are refused so a message has exactly one encoding.
 */
import { bigIntToBytes, bitLength, bytesToBigInt } from './bytes.ts';
import { CURVE_ORDER, POINT_BYTES, SCALAR_BYTES, pointFromBytes, type Point } from './curve.ts';
import { MpcError } from './errors.ts';

/** Largest hex string we accept for any integer (a Z_{N²} element of a 4096-bit N). */
export const MAX_INTEGER_BITS = 8192;
const HEX = /^(?:[0-9a-f]{2})*$/;

export function hexFromBytes(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

export function bytesFromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function encodeScalar(value: bigint): string {
  return hexFromBytes(bigIntToBytes(value, SCALAR_BYTES));
}

export function encodePoint(point: Point): string {
  return hexFromBytes(point.toBytes(true));
}

/** Non-negative integer as minimal even-length hex. */
export function encodeInteger(value: bigint): string {
  const hex = value.toString(16);
  return hex.length % 2 === 0 ? hex : `0${hex}`;
}

/** Any integer: minimal even-length hex, with a leading '-' when negative. */
export function encodeSignedInteger(value: bigint): string {
  return value < 0n ? `-${encodeInteger(-value)}` : encodeInteger(value);
}

export function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a < 0n ? -a : a, b < 0n ? -b : b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** A non-negative integer in lowercase hex of at most `maxBits` bits. */
export function decodeInteger(value: unknown, field: string, maxBits: number): bigint {
  const limit = Math.min(maxBits, MAX_INTEGER_BITS);
  if (typeof value !== 'string' || value.length === 0) throw new MpcError('malformed', field, 'expected an integer in lowercase hex');
  if (value.length > 2 * Math.ceil(limit / 8) + 2) throw new MpcError('out_of_range', field, `integer exceeds ${limit} bits`);
  if (!HEX.test(value)) throw new MpcError('malformed', field, 'expected an integer in lowercase hex');
  const integer = bytesToBigInt(bytesFromHex(value));
  if (bitLength(integer) > limit) throw new MpcError('out_of_range', field, `integer exceeds ${limit} bits`);
  return integer;
}

/** An integer of magnitude below 2^maxBits in lowercase hex, '-' first when negative (no "-00"). */
export function decodeSignedInteger(value: unknown, field: string, maxBits: number): bigint {
  if (typeof value === 'string' && value.startsWith('-')) {
    const magnitude = decodeInteger(value.slice(1), field, maxBits);
    if (magnitude === 0n) throw new MpcError('malformed', field, 'negative zero');
    return -magnitude;
  }
  return decodeInteger(value, field, maxBits);
}

export class FieldReader {
  private readonly fields: Record<string, unknown>;
  private readonly path: string;
  private readonly seen = new Set<string>();

  constructor(value: unknown, path: string) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new MpcError('malformed', path, 'expected an object');
    }
    this.fields = value as Record<string, unknown>;
    this.path = path;
  }

  field(name: string): string {
    return `${this.path}.${name}`;
  }

  private take(name: string): unknown {
    this.seen.add(name);
    if (!Object.prototype.hasOwnProperty.call(this.fields, name)) {
      throw new MpcError('malformed', this.field(name), 'missing');
    }
    return this.fields[name];
  }

  /** The undecoded value of a nested field, for a decoder of its own. */
  raw(name: string): unknown {
    return this.take(name);
  }

  string(name: string, maxLength = 256): string {
    const value = this.take(name);
    if (typeof value !== 'string' || value.length > maxLength) {
      throw new MpcError('malformed', this.field(name), `expected a string of at most ${maxLength} chars`);
    }
    return value;
  }

  literal<T extends string | number>(name: string, expected: T): T {
    const value = this.take(name);
    if (value !== expected) {
      const code = name === 'version' ? 'unsupported_version' : 'malformed';
      throw new MpcError(code, this.field(name), `expected ${String(expected)}`);
    }
    return expected;
  }

  bytes(name: string, length: number): Uint8Array {
    const value = this.take(name);
    if (typeof value !== 'string' || value.length !== 2 * length || !HEX.test(value)) {
      throw new MpcError('malformed', this.field(name), `expected ${length} bytes of lowercase hex`);
    }
    return bytesFromHex(value);
  }

  /** A non-negative integer of at most `maxBits` bits. */
  integer(name: string, maxBits: number): bigint {
    return decodeInteger(this.take(name), this.field(name), maxBits);
  }

  /** A non-negative safe integer carried as a JSON number (an epoch, an index, a count). */
  count(name: string): number {
    const value = this.take(name);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new MpcError('malformed', this.field(name), 'expected a non-negative integer');
    return value;
  }

  /** An integer of magnitude below 2^maxBits, possibly negative. */
  signedInteger(name: string, maxBits: number): bigint {
    return decodeSignedInteger(this.take(name), this.field(name), maxBits);
  }

  /** A scalar in [1, q). */
  scalar(name: string): bigint {
    const value = bytesToBigInt(this.bytes(name, SCALAR_BYTES));
    if (value === 0n || value >= CURVE_ORDER) {
      throw new MpcError('out_of_range', this.field(name), 'scalar must be in [1, q)');
    }
    return value;
  }

  point(name: string): Point {
    const value = this.take(name);
    if (typeof value !== 'string' || value.length !== 2 * POINT_BYTES || !HEX.test(value)) {
      throw new MpcError('invalid_point', this.field(name), `expected ${POINT_BYTES} bytes of lowercase hex`);
    }
    return pointFromBytes(bytesFromHex(value), this.field(name));
  }

  /** A Paillier ciphertext: 0 < c < N² and gcd(c, N) = 1. */
  ciphertext(name: string, n: bigint): bigint {
    const n2 = n * n;
    const value = this.integer(name, bitLength(n2));
    if (value <= 0n || value >= n2 || gcd(value, n) !== 1n) {
      throw new MpcError('invalid_ciphertext', this.field(name), 'not an element of Z*_{N^2}');
    }
    return value;
  }

  /** An array of exactly `length` entries, each decoded by `read`. */
  array<T>(name: string, length: number, read: (item: unknown, field: string) => T): T[] {
    const value = this.take(name);
    if (!Array.isArray(value) || value.length !== length) {
      throw new MpcError('malformed', this.field(name), `expected an array of exactly ${length} entries`);
    }
    return value.map((item, index) => read(item, `${this.field(name)}[${index}]`));
  }

  /** An array of at most `maxLength` entries, each decoded by `read`. */
  list<T>(name: string, maxLength: number, read: (item: unknown, field: string) => T): T[] {
    const value = this.take(name);
    if (!Array.isArray(value) || value.length > maxLength) {
      throw new MpcError('malformed', this.field(name), `expected an array of at most ${maxLength} entries`);
    }
    return value.map((item, index) => read(item, `${this.field(name)}[${index}]`));
  }

  /** A nested object, decoded by its own reader. */
  object<T>(name: string, read: (reader: FieldReader) => T): T {
    const reader = new FieldReader(this.take(name), this.field(name));
    const result = read(reader);
    reader.end();
    return result;
  }

  /** Refuses any field that was not read: a message has exactly one accepted shape. */
  end(): void {
    for (const name of Object.keys(this.fields)) {
      if (!this.seen.has(name)) throw new MpcError('malformed', this.field(name), 'unexpected field');
    }
  }
}
