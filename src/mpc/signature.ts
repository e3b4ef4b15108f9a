/**
 * ECDSA signature finishing and checking on secp256k1, for Ethereum.
 */
import { CURVE_ORDER, G, invertMod, modQ, type Point } from './curve.ts';

export interface EcdsaSignature {
  readonly r: bigint;
  readonly s: bigint;
  /** Parity of R's y coordinate after low-s normalisation (Ethereum's v − 27, EIP-155 yParity). */
  readonly yParity: 0 | 1;
}

const HALF_ORDER = CURVE_ORDER >> 1n;

/** EIP-2: s ≤ q/2. Negating s mirrors R, so the recovery bit flips with it. */
export function normalizeLowS(s: bigint, yParity: 0 | 1): { s: bigint; yParity: 0 | 1 } {
  return s > HALF_ORDER ? { s: CURVE_ORDER - s, yParity: yParity === 0 ? 1 : 0 } : { s, yParity };
}

/**
 * Standard ECDSA verification of (r, s) on a 32-byte digest m: x(m·s⁻¹·G + r·s⁻¹·Q) ≡ r.
 * Every input is public, so the variable-time multiplication is safe here.
 */
export function verifyEcdsa(digest: bigint, signature: EcdsaSignature, publicKey: Point): boolean {
  const { r, s } = signature;
  if (r <= 0n || r >= CURVE_ORDER || s <= 0n || s >= CURVE_ORDER) return false;
  const sInverse = invertMod(s, CURVE_ORDER);
  const u1 = modQ(digest * sInverse);
  const u2 = modQ(r * sInverse);
  const point = u1 === 0n ? publicKey.multiplyUnsafe(u2) : G.multiply(u1).add(publicKey.multiplyUnsafe(u2));
  if (point.is0()) return false;
  const affine = point.toAffine();
  if (modQ(affine.x) !== r) return false;
  // The recovery bit must name R itself, so a wrong bit is an invalid signature too.
  const parity = Number(affine.y & 1n) as 0 | 1;
  return parity === signature.yParity && affine.x < CURVE_ORDER;
}
