/**
 * Typed errors of the members' session protocol (src/session): a message of the wrong shape, from
 * a device that is not a member, a bad signature, an envelope seen before, a code that does not
 * match. Messages never carry secrets.
 */
export type SessionErrorCode = 'malformed' | 'not_member' | 'bad_signature' | 'stale' | 'sas_mismatch' | 'not_ready' | 'refused';

export class SessionError extends Error {
  readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string) {
    super(message);
    this.name = 'SessionError';
    this.code = code;
  }
}
