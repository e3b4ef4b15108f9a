/**
 * Ring-Pedersen parameters (Ñ, s, t) for the range part of the PDL proof (CGGMP21 §6.2).
 *
 * Ñ is the RSA-2048 challenge modulus (RSA Laboratories, 1991): a 2048-bit product of two primes
 * whose factorisation was never published (the challenge's generating machine was destroyed), so
 * no party can know the order of Z*_Ñ. s and t are squares of values hashed from fixed labels,
 * so neither device chooses them ("nothing up my sleeve"). Hence:
 * - binding for the verifier (P2): opening S = s^x·t^μ two ways needs a multiple of the
 *   unknown group order (strong RSA);
 * - hiding for the prover (P1): with μ drawn 2^ℓ times larger than Ñ, t^μ masks s^x statistically
 *   in ⟨t⟩, and nobody can compute discrete logarithms in Z*_Ñ without factoring Ñ.
 * Using a fixed public modulus removes the per-key Ñ generation and the Π^prm proof of CGGMP21
 * (about 1.5 s of big-integer work in JavaScript). The assumption this rests on: docs/protocol.md,
 * "The ring-Pedersen parameters are an assumption".
 */
import { bytesToBigInt } from '../bytes.ts';
import { invertMod } from '../curve.ts';
import { modPow } from '../modpow.ts';
import { Transcript } from '../transcript.ts';

export const RSA_2048_CHALLENGE_MODULUS = BigInt(
  '2519590847565789349402718324004839857142928212620403202777713783604366202070' +
    '7595556264018525880784406918290641249515082189298559149176184502808489120072' +
    '8449926873928072877767359714183472702618963750149718246911650776133798590957' +
    '0009733045974880842840179742910064245869181719511874612151517265463228221686' +
    '9987549182422433637259085141865462043576798423387184774447920739934236584823' +
    '8242811981638150106748104516603773060562016196762561338441436038339044149526' +
    '3443219011465754445417842402092461651572335077870774981712577246796292638635' +
    '6373289912154831438167899885040445364023527381951378636564391212010397122822' +
    '120720357',
);

export interface RingPedersenParameters {
  readonly modulus: bigint;
  readonly s: bigint;
  readonly t: bigint;
}

const GENERATOR_DOMAIN = new Uint8Array(32);

/** A square modulo Ñ derived from a label: H(label)² mod Ñ, H expanded to |Ñ| + 128 bits. */
function hashedSquare(label: string, modulus: bigint): bigint {
  const bytes = Transcript.start({ purpose: 'ring-pedersen/generator', sessionId: GENERATOR_DOMAIN, keyId: GENERATOR_DOMAIN, role: 'P2' })
    .appendText('label', label)
    .challengeBytes('value', 256 + 16);
  const root = bytesToBigInt(bytes) % modulus;
  return (root * root) % modulus;
}

export const RING_PEDERSEN: RingPedersenParameters = {
  modulus: RSA_2048_CHALLENGE_MODULUS,
  s: hashedSquare('duet/ring-pedersen/s', RSA_2048_CHALLENGE_MODULUS),
  t: hashedSquare('duet/ring-pedersen/t', RSA_2048_CHALLENGE_MODULUS),
};

/** base^exponent mod Ñ for any integer exponent (a negative one inverts the base; base must be a unit). */
export function ringPower(ring: RingPedersenParameters, base: bigint, exponent: bigint): bigint {
  return exponent < 0n ? modPow(invertMod(base, ring.modulus), -exponent, ring.modulus) : modPow(base, exponent, ring.modulus);
}

/** The ring-Pedersen commitment s^value · t^mask mod Ñ, for any integers value and mask. */
export function ringCommit(ring: RingPedersenParameters, value: bigint, mask: bigint): bigint {
  return (ringPower(ring, ring.s, value) * ringPower(ring, ring.t, mask)) % ring.modulus;
}
