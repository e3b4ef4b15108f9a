/**
 * Π^mod: N is a Paillier–Blum modulus, N = p·q with p ≡ q ≡ 3 (mod 4) (CGGMP21, ePrint 2021/060,
 * §6.3 / Fig. 16; Goldberg, Reyzin, Sagga, Baldimtsi, ACNS 2019). Only the fourth-root half is
 * here: the N-th roots that give gcd(N, φ(N)) = 1 are paillier-validity.ts, and the statement is
 * checked as a whole in paillier-modulus.ts.
 *
 *   prover:   w ∈ Z*_N with Jacobi symbol (w/N) = −1
 *             y_i = H(context, N, w, i) ∈ Z*_N for i < 128
 *             x_i with x_i^4 = (−1)^a_i · w^b_i · y_i (mod N), for the one a_i, b_i ∈ {0, 1}
 *             that make the right side a square modulo p and q
 *   verifier: x_i^4 = (−1)^a_i · w^b_i · y_i (mod N) for every i
 *
 * Soundness, given what paillier-modulus.ts checks first (N odd, composite, square-free): write
 * N = p_1⋯p_k. Z*_{p_j} is cyclic of order p_j − 1, so the fourth powers have index gcd(4, p_j − 1)
 * there and index ∏_j gcd(4, p_j − 1) ≥ 2^k in Z*_N. The y that pass are the union of the four
 * cosets (−1)^a·w^b·(fourth powers), a fraction ≤ 4 / ∏_j gcd(4, p_j − 1). That is ≤ 1/2 unless
 * k = 2 and p_1 ≡ p_2 ≡ 3 (mod 4): then ∏ = 4. So each round passes a non-Blum N with
 * probability ≤ 1/2, and 128 rounds give ≤ 2^-128. The verifier needs no check on w: a w outside
 * the claimed class only shrinks the union.
 *
 * Cost: the prover takes one exponentiation mod p and one mod q per round (f below); the
 * verifier three multiplications mod N per round.
 */
import { invertMod, mod } from '../curve.ts';
import { MpcError } from '../errors.ts';
import { modPow } from '../modpow.ts';
import type { PaillierSecretKey } from '../paillier.ts';
import { randomUnit } from '../random.ts';
import { Transcript, type TranscriptContext } from '../transcript.ts';
import { FieldReader, decodeInteger, encodeInteger, gcd } from '../wire.ts';

/** Rounds for 2^-128 soundness (each round: error ≤ 1/2). */
export const BLUM_ROUNDS = 128;

export interface BlumRoot {
  /** x with x^4 = (−1)^a · w^b · y (mod N). */
  readonly x: bigint;
  readonly a: 0 | 1;
  readonly b: 0 | 1;
}

export interface PaillierBlumProof {
  readonly w: bigint;
  readonly roots: readonly BlumRoot[];
}

function challenges(context: TranscriptContext, n: bigint, w: bigint): bigint[] {
  const transcript = Transcript.start({ ...context, purpose: `${context.purpose}/paillier-blum` }).appendBigInt('N', n).appendBigInt('w', w);
  return Array.from({ length: BLUM_ROUNDS }, (_, i) => transcript.challengeBelow(`y-${i}`, n));
}

/**
 * For a prime p ≡ 3 (mod 4), f(v) = v^(((p+1)/4)² mod (p−1)) mod p satisfies f(v)^4 = v when v is
 * a square mod p and f(v)^4 = −v when it is not; f is multiplicative.
 */
function fourthRootMap(prime: bigint): (value: bigint) => bigint {
  const quarter = (prime + 1n) / 4n;
  const exponent = (quarter * quarter) % (prime - 1n);
  return (value) => modPow(mod(value, prime), exponent, prime);
}

/** +1 when value is a square mod prime, −1 when not (value coprime to prime): Euler's criterion. */
function legendre(value: bigint, prime: bigint): 1 | -1 {
  return modPow(mod(value, prime), (prime - 1n) / 2n, prime) === 1n ? 1 : -1;
}

/** Key must have Blum primes (paillier.ts generates them so). */
export function provePaillierBlum(context: TranscriptContext, key: PaillierSecretKey): PaillierBlumProof {
  const { p, q } = key;
  const n = key.publicKey.n;
  if (p % 4n !== 3n || q % 4n !== 3n) throw new RangeError('Paillier primes must be ≡ 3 (mod 4)');
  let w = randomUnit(n);
  while (legendre(w, p) === legendre(w, q)) w = randomUnit(n);
  const wSignP = legendre(w, p);
  const fp = fourthRootMap(p);
  const fq = fourthRootMap(q);
  const minusOneRoot = { p: fp(-1n), q: fq(-1n) };
  const wRoot = { p: fp(w), q: fq(w) };
  const qInvModP = invertMod(q, p);

  const roots = challenges(context, n, w).map((y): BlumRoot => {
    const yRootP = fp(y);
    const yRootQ = fq(y);
    // f(y)^4 = ±y tells whether y is a square mod each prime; (−1/p) = (−1/q) = −1, (w/p) ≠ (w/q).
    const signP = modPow(yRootP, 4n, p) === mod(y, p) ? 1 : -1;
    const signQ = modPow(yRootQ, 4n, q) === mod(y, q) ? 1 : -1;
    const b = signP === signQ ? 0 : 1;
    const a = (b === 1 ? signP * wSignP : signP) === 1 ? 0 : 1;
    const xp = (yRootP * (a ? minusOneRoot.p : 1n) * (b ? wRoot.p : 1n)) % p;
    const xq = (yRootQ * (a ? minusOneRoot.q : 1n) * (b ? wRoot.q : 1n)) % q;
    return { x: xq + q * mod((xp - xq) * qInvModP, p), a, b };
  });
  return { w, roots };
}

/** Throws `proof_failed` naming the failing part under `field`. */
export function verifyPaillierBlum(context: TranscriptContext, n: bigint, proof: PaillierBlumProof, field: string): void {
  const { w } = proof;
  if (w <= 0n || w >= n || gcd(w, n) !== 1n) throw new MpcError('proof_failed', `${field}.w`, 'not an element of Z*_N');
  if (proof.roots.length !== BLUM_ROUNDS) throw new MpcError('malformed', `${field}.roots`, `expected ${BLUM_ROUNDS} roots`);
  challenges(context, n, w).forEach((y, i) => {
    const root = proof.roots[i] as BlumRoot;
    const rootField = `${field}.roots[${i}]`;
    if (gcd(y, n) !== 1n) throw new MpcError('proof_failed', rootField, 'challenge not coprime to N');
    if (root.x <= 0n || root.x >= n) throw new MpcError('proof_failed', rootField, 'root out of range');
    let target = root.a ? n - y : y;
    if (root.b) target = (target * w) % n;
    const square = (root.x * root.x) % n;
    if ((square * square) % n !== target) throw new MpcError('proof_failed', rootField, 'not a fourth root of ±w^b·y');
  });
}

export function encodePaillierBlumProof(proof: PaillierBlumProof): { w: string; roots: string[]; signs: string } {
  return {
    w: encodeInteger(proof.w),
    roots: proof.roots.map((root) => encodeInteger(root.x)),
    // One digit per round: a + 2b.
    signs: proof.roots.map((root) => String(root.a + 2 * root.b)).join(''),
  };
}

export function decodePaillierBlumProof(value: unknown, field: string, nBits: number): PaillierBlumProof {
  const reader = new FieldReader(value, field);
  const w = reader.integer('w', nBits);
  const xs = reader.array('roots', BLUM_ROUNDS, (item, itemField) => decodeInteger(item, itemField, nBits));
  const signs = reader.string('signs', BLUM_ROUNDS);
  if (!new RegExp(`^[0-3]{${BLUM_ROUNDS}}$`).test(signs)) throw new MpcError('malformed', reader.field('signs'), `expected ${BLUM_ROUNDS} digits 0–3`);
  reader.end();
  return {
    w,
    roots: xs.map((x, i) => {
      const digit = Number(signs[i]);
      return { x, a: (digit & 1) as 0 | 1, b: (digit >> 1) as 0 | 1 };
    }),
  };
}
