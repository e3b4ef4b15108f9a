/**
 * Encrypted frames of one session: ChaCha20-Poly1305 (RFC 8439) with one key per direction.
 * Frame = seq (u64 big-endian) ‖ ciphertext; nonce = 4 zero bytes ‖ seq; associated data =
 * "duet/frame/v1" ‖ direction ‖ seq. Sequence numbers start at 1 in each direction.
 * Opening a frame: the next seq → message; an older seq → duplicate (dropped); a later seq →
 * gap (the frames in between were lost; the message is still delivered and the gap reported);
 * any authentication failure → `tampered` (the caller closes the session).
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { decodeBase64Url, encodeBase64Url } from './base64url.ts';
import { ChannelError } from './channel-error.ts';
import type { DeviceRole, DirectionalKeys } from './handshake.ts';

const SEQ_BYTES = 8;
const TAG_BYTES = 16;
const AAD_LABEL = new TextEncoder().encode('duet/frame/v1');

export interface SessionState {
  readonly role: DeviceRole;
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
  readonly sent: number;
  readonly received: number;
}

export type OpenOutcome =
  | { readonly kind: 'message'; readonly plaintext: Uint8Array; readonly missed: number }
  | { readonly kind: 'duplicate'; readonly seq: number };

export function createSession(role: DeviceRole, keys: DirectionalKeys): SessionState {
  return role === 'extension'
    ? { role, sendKey: keys.toPhone, receiveKey: keys.toExtension, sent: 0, received: 0 }
    : { role, sendKey: keys.toExtension, receiveKey: keys.toPhone, sent: 0, received: 0 };
}

function nonceFor(seq: number): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, BigInt(seq), false);
  return nonce;
}

function aadFor(senderRole: DeviceRole, seq: number): Uint8Array {
  const aad = new Uint8Array(AAD_LABEL.length + 1 + SEQ_BYTES);
  aad.set(AAD_LABEL);
  aad[AAD_LABEL.length] = senderRole === 'extension' ? 0x45 : 0x50;
  new DataView(aad.buffer).setBigUint64(AAD_LABEL.length + 1, BigInt(seq), false);
  return aad;
}

const peerOf = (role: DeviceRole): DeviceRole => (role === 'extension' ? 'phone' : 'extension');

export function seal(state: SessionState, plaintext: Uint8Array): { state: SessionState; frame: Uint8Array } {
  const seq = state.sent + 1;
  const ciphertext = chacha20poly1305(state.sendKey, nonceFor(seq), aadFor(state.role, seq)).encrypt(plaintext);
  const frame = new Uint8Array(SEQ_BYTES + ciphertext.length);
  new DataView(frame.buffer).setBigUint64(0, BigInt(seq), false);
  frame.set(ciphertext, SEQ_BYTES);
  return { state: { ...state, sent: seq }, frame };
}

export function open(state: SessionState, frame: Uint8Array): { state: SessionState; outcome: OpenOutcome } {
  if (frame.length < SEQ_BYTES + TAG_BYTES) throw new ChannelError('tampered', 'frame too short');
  const seqBig = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(0, false);
  if (seqBig === 0n || seqBig > BigInt(Number.MAX_SAFE_INTEGER)) throw new ChannelError('tampered', 'invalid sequence number');
  const seq = Number(seqBig);
  if (seq <= state.received) return { state, outcome: { kind: 'duplicate', seq } };
  let plaintext: Uint8Array;
  try {
    plaintext = chacha20poly1305(state.receiveKey, nonceFor(seq), aadFor(peerOf(state.role), seq)).decrypt(frame.subarray(SEQ_BYTES));
  } catch {
    throw new ChannelError('tampered', 'frame failed authentication');
  }
  return { state: { ...state, received: seq }, outcome: { kind: 'message', plaintext, missed: seq - state.received - 1 } };
}

export interface SessionStateJson {
  readonly role: DeviceRole;
  readonly sendKey: string;
  readonly receiveKey: string;
  readonly sent: number;
  readonly received: number;
}

export function saveSession(state: SessionState): SessionStateJson {
  return { role: state.role, sendKey: encodeBase64Url(state.sendKey), receiveKey: encodeBase64Url(state.receiveKey), sent: state.sent, received: state.received };
}

export function restoreSession(json: SessionStateJson): SessionState {
  const sendKey = decodeBase64Url(json.sendKey);
  const receiveKey = decodeBase64Url(json.receiveKey);
  if (!sendKey || sendKey.length !== 32 || !receiveKey || receiveKey.length !== 32 || (json.role !== 'extension' && json.role !== 'phone')) {
    throw new ChannelError('malformed_frame', 'saved session state is damaged');
  }
  return { role: json.role, sendKey, receiveKey, sent: json.sent, received: json.received };
}
