/**
 * Introducing a device that joins the wallet to a dealer of the reshare that adds it: a six-digit
 * code both users compare, one on each screen. It holds even when the messages pass through the
 * coordinator (or the device in the middle is the coordinator): the dealer commits to its nonce
 * before it sees the newcomer's (Vaudenay's SAS message authentication with a commitment, as in
 * ZRTP and Bluetooth's numeric comparison).
 *
 *   dealer D → newcomer N   {t:"intro", step:"commit", value: c = H("duet/intro/commit" ‖ K_D ‖ K_N ‖ n_D)}
 *   N → D                   {t:"intro", step:"nonce",  value: n_N}
 *   D → N                   {t:"intro", step:"open",   value: n_D}     N checks c
 *   both: SAS = u32(H("duet/intro/sas" ‖ K_D ‖ K_N ‖ n_D ‖ n_N)) mod 10^6
 *
 * K_D, K_N are the identity keys each side believes it talks to (for a direct channel: its own and
 * the channel's pinned peer). A device in the middle holding other keys must fix its nonce towards
 * one side before it learns what the other side chose, so the two codes agree with probability
 * 10^-6 per attempt; the users see different codes otherwise. Nonces are fresh for every attempt.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes } from '../mpc/bytes.ts';
import { randomBytes } from '../mpc/random.ts';
import { bytesFromHex, hexFromBytes } from '../mpc/wire.ts';
import { SessionError } from './session-error.ts';

export const INTRO_NONCE_BYTES = 32;
export const SAS_DIGITS = 6;
const encoder = new TextEncoder();

export type IntroStep = 'commit' | 'nonce' | 'open';
export interface IntroMessage {
  readonly t: 'intro';
  readonly step: IntroStep;
  readonly value: string;
}

function commitment(dealer: Uint8Array, newcomer: Uint8Array, nonce: Uint8Array): Uint8Array {
  return sha256(concatBytes(encoder.encode('duet/intro/commit'), dealer, newcomer, nonce));
}

export function introSas(dealer: Uint8Array, newcomer: Uint8Array, dealerNonce: Uint8Array, newcomerNonce: Uint8Array): string {
  const digest = sha256(concatBytes(encoder.encode('duet/intro/sas'), dealer, newcomer, dealerNonce, newcomerNonce));
  const value = new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0, false) % 10 ** SAS_DIGITS;
  return String(value).padStart(SAS_DIGITS, '0');
}

function value32(message: IntroMessage): Uint8Array {
  if (typeof message.value !== 'string' || !/^[0-9a-f]{64}$/.test(message.value)) throw new SessionError('malformed', `intro.${message.step} must be 32 bytes of hex`);
  return bytesFromHex(message.value);
}

/** The dealer's side: `start` sends the commitment; the newcomer's nonce gives the code and the opening. */
export class DealerIntroduction {
  private readonly nonce = randomBytes(INTRO_NONCE_BYTES);
  private sasValue: string | null = null;

  constructor(
    private readonly self: Uint8Array,
    private readonly newcomer: Uint8Array,
  ) {}

  start(): IntroMessage {
    return { t: 'intro', step: 'commit', value: hexFromBytes(commitment(this.self, this.newcomer, this.nonce)) };
  }

  /** The newcomer's nonce: the code to show, and the opening to send. A second nonce is refused. */
  receive(message: IntroMessage): { readonly sas: string; readonly reply: IntroMessage } {
    if (message.step !== 'nonce' || this.sasValue !== null) throw new SessionError('not_ready', `the dealer does not expect intro.${message.step} now`);
    this.sasValue = introSas(this.self, this.newcomer, this.nonce, value32(message));
    return { sas: this.sasValue, reply: { t: 'intro', step: 'open', value: hexFromBytes(this.nonce) } };
  }

  get sas(): string | null {
    return this.sasValue;
  }
}

/** The newcomer's side: answers a commitment with its nonce, then checks the opening. */
export class NewcomerIntroduction {
  private readonly nonce = randomBytes(INTRO_NONCE_BYTES);
  private committed: Uint8Array | null = null;
  private sasValue: string | null = null;

  constructor(
    private readonly self: Uint8Array,
    private readonly dealer: Uint8Array,
  ) {}

  /** The reply to send, or the code once the opening checked; a wrong opening is `sas_mismatch`. */
  receive(message: IntroMessage): { readonly reply: IntroMessage } | { readonly sas: string } {
    if (message.step === 'commit' && this.committed === null) {
      this.committed = value32(message);
      return { reply: { t: 'intro', step: 'nonce', value: hexFromBytes(this.nonce) } };
    }
    if (message.step === 'open' && this.committed !== null && this.sasValue === null) {
      const opened = value32(message);
      if (!equalBytes(commitment(this.dealer, this.self, opened), this.committed)) throw new SessionError('sas_mismatch', "the dealer's opening does not match its commitment");
      this.sasValue = introSas(this.dealer, this.self, opened, this.nonce);
      return { sas: this.sasValue };
    }
    throw new SessionError('not_ready', `the newcomer does not expect intro.${message.step} now`);
  }

  get sas(): string | null {
    return this.sasValue;
  }
}
