/**
 * secp256k1 group helpers shared by the protocol rounds and proofs.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { MpcError } from './errors.ts';

export const Point = secp256k1.Point;
export type Point = InstanceType<typeof secp256k1.Point>;

/** Order q of the secp256k1 group. */
export const CURVE_ORDER: bigint = secp256k1.Point.Fn.ORDER;
export const G: Point = secp256k1.Point.BASE;

/** Compressed SEC1 encoding length of a point. */
export const POINT_BYTES = 33;
/** Big-endian encoding length of a scalar mod q. */
export const SCALAR_BYTES = 32;

export function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r >= 0n ? r : r + m;
}

export function modQ(a: bigint): bigint {
  return mod(a, CURVE_ORDER);
}

/** a⁻¹ mod m by the extended Euclidean algorithm; throws when gcd(a, m) ≠ 1. */
export function invertMod(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  if (oldR !== 1n) throw new RangeError('value is not invertible');
  return mod(oldS, m);
}

/** Scalar multiple of the base point; k must be in [1, q). */
export function mulBase(k: bigint): Point {
  return G.multiply(k);
}

/** Checks a scalar is in [1, q) and names the field when it is not. */
export function assertNonZeroScalar(value: bigint, field: string): bigint {
  if (value <= 0n || value >= CURVE_ORDER) {
    throw new MpcError('out_of_range', field, 'scalar must be in [1, q)');
  }
  return value;
}

/** Decodes a compressed point, refusing anything off the curve or the identity. */
export function pointFromBytes(bytes: Uint8Array, field: string): Point {
  if (bytes.length !== POINT_BYTES) {
    throw new MpcError('invalid_point', field, `expected ${POINT_BYTES} bytes, got ${bytes.length}`);
  }
  let point: Point;
  try {
    point = Point.fromBytes(bytes);
  } catch {
    throw new MpcError('invalid_point', field, 'not a point on secp256k1');
  }
  if (point.is0()) throw new MpcError('invalid_point', field, 'identity point');
  return point;
}
