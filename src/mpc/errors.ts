/**
 * Typed errors of the two-party ECDSA engine. Every rejection names the field that failed,
 * so a caller (and a test) can tell exactly which check fired. Messages never carry secrets.
 */
export type MpcErrorCode =
  /** A field has the wrong type, length or encoding. */
  | 'malformed'
  /** An integer or scalar is outside its allowed range (e.g. 0 or ≥ q). */
  | 'out_of_range'
  /** A point is not on secp256k1, or is the identity. */
  | 'invalid_point'
  /** A Paillier ciphertext is not in Z*_{N²}. */
  | 'invalid_ciphertext'
  /** The counterparty's Paillier modulus fails a validity check. */
  | 'invalid_modulus'
  /** A zero-knowledge proof does not verify. */
  | 'proof_failed'
  /** A decommitment does not open the earlier commitment. */
  | 'commitment_mismatch'
  /** The two devices are not signing the same digest. */
  | 'digest_mismatch'
  /** The message belongs to another session, key or protocol version. */
  | 'session_mismatch'
  /** The message is a replay, arrives out of order, or the session is finished. */
  | 'unexpected_message'
  /** Another signing session with this key is in progress. */
  | 'session_busy'
  /** The key is tainted by a failed signature (possible leaked-abort attack). */
  | 'key_tainted'
  /** The final signature is invalid: the key is now tainted. */
  | 'invalid_signature'
  /** The message uses a protocol version this engine does not speak. */
  | 'unsupported_version'
  /** A reshare statement is not signed by the identity key of the member it names. */
  | 'bad_member_signature'
  /** A reshare would give shares to, or take them from, members this member may not accept. */
  | 'membership_refused'
  /** A sealed sub-share does not open for this recipient and transcript. */
  | 'tampered_envelope'
  /** A dealer's commitments or sub-shares are inconsistent (the field names the dealer). */
  | 'dealer_mismatch';

export class MpcError extends Error {
  readonly code: MpcErrorCode;
  /** Dotted path of the offending field, e.g. `keygen2.q2` or `sign3.c3`. */
  readonly field: string;

  constructor(code: MpcErrorCode, field: string, detail: string) {
    super(`${code} at ${field}: ${detail}`);
    this.name = 'MpcError';
    this.code = code;
    this.field = field;
  }
}
