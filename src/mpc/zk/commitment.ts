/**
 * Hash commitments through the transcript: C = H(context ‖ opening ‖ committed values), with a
 * 32-byte random opening. Hiding in the random-oracle model, binding by collision resistance.
 */
import { equalBytes } from '../bytes.ts';
import { MpcError } from '../errors.ts';
import { randomBytes } from '../random.ts';
import { Transcript, type TranscriptContext } from '../transcript.ts';

export const OPENING_BYTES = 32;
export const COMMITMENT_BYTES = 32;

/** Writes the committed values into the transcript, in a fixed order. */
export type CommittedValues = (transcript: Transcript) => void;

export function commitmentDigest(context: TranscriptContext, opening: Uint8Array, values: CommittedValues): Uint8Array {
  const transcript = Transcript.start(context).appendBytes('opening', opening);
  values(transcript);
  return transcript.digest();
}

export function commit(context: TranscriptContext, values: CommittedValues): { commitment: Uint8Array; opening: Uint8Array } {
  const opening = randomBytes(OPENING_BYTES);
  return { commitment: commitmentDigest(context, opening, values), opening };
}

/** Throws `commitment_mismatch` naming `field` when the opening does not match. */
export function verifyCommitment(
  context: TranscriptContext,
  commitment: Uint8Array,
  opening: Uint8Array,
  values: CommittedValues,
  field: string,
): void {
  if (!equalBytes(commitmentDigest(context, opening, values), commitment)) {
    throw new MpcError('commitment_mismatch', field, 'decommitment does not open the commitment');
  }
}
