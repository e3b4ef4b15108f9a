/**
 * Schnorr proof of knowledge of a discrete logarithm, X = x·G (Schnorr 1991), made
 * non-interactive by Fiat–Shamir over the transcript.
 *
 *   prover: a ← [1, q), A = a·G, e = H(context, X, A) mod q, z = a + e·x mod q
 *   verifier: z·G = A + e·X
 *
 * Soundness error 1/q ≈ 2^-256 per proof (special soundness with a 256-bit challenge).
 * Verification works on public values only, so it uses variable-time multiplication.
 */
import { CURVE_ORDER, G, modQ, type Point } from '../curve.ts';
import { MpcError } from '../errors.ts';
import { randomScalar } from '../random.ts';
import { Transcript, type TranscriptContext } from '../transcript.ts';
import { FieldReader, encodePoint, encodeScalar } from '../wire.ts';

export interface SchnorrProof {
  readonly commitment: Point;
  readonly response: bigint;
}

function challenge(context: TranscriptContext, statement: Point, commitment: Point): bigint {
  return Transcript.start({ ...context, purpose: `${context.purpose}/schnorr` })
    .appendPoint('statement', statement)
    .appendPoint('commitment', commitment)
    .challengeBelow('e', CURVE_ORDER);
}

export function proveDiscreteLog(context: TranscriptContext, secret: bigint, statement: Point): SchnorrProof {
  const nonce = randomScalar();
  const commitment = G.multiply(nonce);
  const e = challenge(context, statement, commitment);
  return { commitment, response: modQ(nonce + e * secret) };
}

/** Throws `proof_failed` naming `field` when the proof does not verify. */
export function verifyDiscreteLog(context: TranscriptContext, statement: Point, proof: SchnorrProof, field: string): void {
  const e = challenge(context, statement, proof.commitment);
  const left = G.multiply(proof.response);
  const right = e === 0n ? proof.commitment : proof.commitment.add(statement.multiplyUnsafe(e));
  if (!left.equals(right)) throw new MpcError('proof_failed', field, 'Schnorr proof does not verify');
}

export function encodeSchnorrProof(proof: SchnorrProof): { commitment: string; response: string } {
  return { commitment: encodePoint(proof.commitment), response: encodeScalar(proof.response) };
}

export function decodeSchnorrProof(value: unknown, field: string): SchnorrProof {
  const reader = new FieldReader(value, field);
  const proof = { commitment: reader.point('commitment'), response: reader.scalar('response') };
  reader.end();
  return proof;
}
