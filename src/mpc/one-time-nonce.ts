/**
 * A signing nonce that can be used once and never stored.
 *
 * A round state holding a nonce must not be resumed twice: P1's k1 answered against two
 * different R2 (or P2's k2 against two different R1) gives the other party two signatures with
 * one nonce and a linear system for the private key. So the nonce lives in this holder: taking it
 * empties the holder (a second use is `unexpected_message`), and serialising it throws, so no
 * caller can persist a state that holds one. An interrupted signing restarts as a new attempt.
 */
import { MpcError } from './errors.ts';

export class OneTimeNonce {
  #value: bigint | null;

  constructor(value: bigint) {
    this.#value = value;
  }

  /** The nonce, once; `field` names the round that asked for it a second time. */
  take(field: string): bigint {
    const value = this.#value;
    if (value === null) throw new MpcError('unexpected_message', field, 'this round state was already used; start a new attempt');
    this.#value = null;
    return value;
  }

  toJSON(): never {
    throw new MpcError('unexpected_message', 'sign.session', 'a signing state holding a nonce is never stored; restart as a new attempt');
  }
}

/** The nonce of a round state; a state that was copied or rebuilt (no live holder) is refused. */
export function takeNonce(holder: unknown, field: string): bigint {
  if (!(holder instanceof OneTimeNonce)) throw new MpcError('unexpected_message', field, 'this round state was copied or restored; start a new attempt');
  return holder.take(field);
}
