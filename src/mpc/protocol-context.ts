/**
 * Session identifiers and the transcript context every round binds.
 */
import { MpcError } from './errors.ts';
import type { Role, TranscriptContext } from './transcript.ts';

export const SESSION_ID_BYTES = 32;
export const KEY_ID_BYTES = 32;
/** Key generation runs before a key id exists; its transcripts bind this all-zero id. */
export const KEYGEN_KEY_ID = new Uint8Array(KEY_ID_BYTES);

export function transcriptContext(purpose: string, sessionId: Uint8Array, keyId: Uint8Array, role: Role): TranscriptContext {
  return { purpose, sessionId, keyId, role };
}

export function assertSessionId(sessionId: Uint8Array, field: string): void {
  if (!(sessionId instanceof Uint8Array) || sessionId.length !== SESSION_ID_BYTES) {
    throw new MpcError('malformed', field, `session id must be ${SESSION_ID_BYTES} bytes`);
  }
}
