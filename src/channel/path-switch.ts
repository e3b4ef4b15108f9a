/**
 * The frame transport under the encrypted channel: the relay (relay-client.ts), or a direct
 * WebRTC data channel while one is open (direct-path.ts). The channel's frames are the same on
 * both (same AEAD, sequence numbers, replay checks); this layer only decides how each leaves, and
 * guarantees that what the channel sends arrives once and in order whichever carried it.
 *
 * Frames on a direct carrier (one type byte, then big-endian u32s):
 *   HELLO 1 ‖ direct received ‖ relay received      both, as soon as the carrier is open
 *   DATA  2 ‖ dseq ‖ frame                           a channel frame, numbered per direction
 *   ACK   3 ‖ direct received ‖ direct stored ‖ relay received
 * A frame the relay carries is the channel's frame as it is, or, for a direct frame sent again
 * through the relay, RESENT 0x10 ‖ dseq ‖ frame (channel frames start with 1…5).
 *
 * One direction's rules (each device sends by them; the other only receives and acknowledges):
 * - Relay → direct: the sender moves to the carrier only once the peer has received every frame
 *   it sent through the relay (the peer's `relay received` ≥ the relay client's last sequence
 *   number), so a fast direct frame never overtakes a slow relay one.
 * - Direct frames stay in the outbox until the peer has *stored* a state that includes them
 *   (`direct stored`, sent after the peer's confirmSaved), as the relay keeps a frame until it is
 *   acknowledged after a save. The outbox is part of the saved state.
 * - Direct → relay (the carrier closed, or a frame was not received within `stallMs`): the outbox
 *   goes to the relay first, as RESENT frames in dseq order, then every new frame. The receiver
 *   drops a dseq it already has: nothing is lost, nothing delivered twice, nothing reordered.
 * - Numbering: a HELLO says how far the peer received, and the sender continues above it, so a
 *   sender restored from an older state never reuses a number the peer has seen.
 */
import { decodeBase64Url, encodeBase64Url } from './base64url.ts';
import type { RelayClient } from './relay-client.ts';
import type { FrameTransport } from './secure-channel.ts';

export type LinkPath = 'relay' | 'direct';

/** An open direct carrier (the data channel of rtc-session.ts). */
export interface DirectCarrier {
  send(bytes: Uint8Array): void;
  close(): void;
}

/** What PathSwitch needs of the relay client. */
export type RelayCarrier = Pick<RelayClient, 'send' | 'onMessage' | 'sentSeq' | 'receivedSeq'>;

export const PATH_STATE_VERSION = 1;

export interface PathSwitchState {
  readonly v: typeof PATH_STATE_VERSION;
  readonly lastDirectSent: number;
  readonly lastDirectReceived: number;
  /** Direct frames the peer has not stored yet (base64url). */
  readonly outbox: readonly { readonly seq: number; readonly frame: string }[];
}

export class PathStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathStateError';
  }
}

/** A direct frame the peer has not acknowledged within this long: the carrier is taken as dead. */
export const DIRECT_STALL_MS = 3_000;

const Kind = { hello: 1, data: 2, ack: 3 } as const;
const RESENT = 0x10;
const U32 = 4;
const MAX_U32 = 0xffffffff;

function withHeader(kind: number, numbers: readonly number[], payload?: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + U32 * numbers.length + (payload?.length ?? 0));
  out[0] = kind;
  const view = new DataView(out.buffer);
  numbers.forEach((value, index) => view.setUint32(1 + U32 * index, value, false));
  if (payload) out.set(payload, 1 + U32 * numbers.length);
  return out;
}

function readU32(bytes: Uint8Array, index: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1 + U32 * index, false);
}

export interface PathSwitchOptions {
  readonly state?: PathSwitchState;
  readonly stallMs?: number;
  readonly now?: () => number;
}

interface Outgoing {
  readonly frame: Uint8Array;
  readonly sentAt: number;
}

export class PathSwitch implements FrameTransport {
  private relay: RelayCarrier;
  private readonly stallMs: number;
  private readonly now: () => number;
  private readonly handlers = new Set<(frame: Uint8Array) => void>();
  private readonly pathHandlers = new Set<(path: LinkPath) => void>();
  private carrier: DirectCarrier | null = null;
  /** The peer's HELLO arrived on the current carrier. */
  private carrierReady = false;
  private sending: LinkPath = 'relay';
  private lastDirectSent: number;
  private lastDirectReceived: number;
  /** The highest direct seq of a state the owner stored (confirmSaved). */
  private directStored: number;
  private readonly outbox = new Map<number, Outgoing>();
  private peerDirectReceived = 0;
  private peerRelayReceived = 0;
  private stallTimer: ReturnType<typeof setTimeout> | null = null;
  private offRelay: () => void;

  constructor(relay: RelayCarrier, options: PathSwitchOptions = {}) {
    this.relay = relay;
    this.stallMs = options.stallMs ?? DIRECT_STALL_MS;
    this.now = options.now ?? Date.now;
    const state = options.state;
    if (state && state.v !== PATH_STATE_VERSION) throw new PathStateError('the saved direct-path state is from another version of Duet');
    this.lastDirectSent = state?.lastDirectSent ?? 0;
    this.lastDirectReceived = state?.lastDirectReceived ?? 0;
    this.directStored = this.lastDirectReceived;
    this.offRelay = relay.onMessage((frame) => this.fromRelay(frame));
    // A restored outbox: no carrier survives a restart, so its frames go through the relay.
    const restored = (state?.outbox ?? []).map(({ seq, frame }) => {
      const bytes = decodeBase64Url(frame);
      if (!bytes || !Number.isSafeInteger(seq) || seq < 1 || seq > MAX_U32) throw new PathStateError('the saved direct-path state is damaged');
      return [seq, bytes] as const;
    });
    for (const [seq, frame] of restored.sort(([a], [b]) => a - b)) relay.send(withHeader(RESENT, [seq], frame));
  }

  /**
   * The link moved to another relay channel (pairing → paired): frames go there from now on. What
   * still arrives on the previous one (the peer sent it before it moved too) is delivered until
   * the owner closes that channel or this switch.
   */
  useRelay(relay: RelayCarrier): void {
    const offPrevious = this.offRelay;
    this.relay = relay;
    const off = relay.onMessage((frame) => this.fromRelay(frame));
    this.offRelay = () => {
      offPrevious();
      off();
    };
  }

  get path(): LinkPath {
    return this.sending;
  }

  /** A direct carrier is open and the peer answered on it. */
  get directOpen(): boolean {
    return this.carrierReady;
  }

  onPathChange(handler: (path: LinkPath) => void): () => void {
    this.pathHandlers.add(handler);
    return () => this.pathHandlers.delete(handler);
  }

  onMessage(handler: (frame: Uint8Array) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  send(frame: Uint8Array): void {
    this.switchToDirectIfCaughtUp();
    if (this.sending === 'relay' || !this.carrier) {
      this.relay.send(frame);
      return;
    }
    const seq = ++this.lastDirectSent;
    this.outbox.set(seq, { frame, sentAt: this.now() });
    this.carrier.send(withHeader(Kind.data, [seq], frame));
    this.watchStall();
  }

  /**
   * A direct carrier opened; returns what receives its bytes. A carrier already attached is
   * detached first (its frames go through the relay), so two carriers never interleave.
   */
  attach(carrier: DirectCarrier): (bytes: Uint8Array) => void {
    if (this.carrier) this.detach(this.carrier);
    this.carrier = carrier;
    this.carrierReady = false;
    this.peerDirectReceived = 0;
    this.peerRelayReceived = 0;
    carrier.send(withHeader(Kind.hello, [this.lastDirectReceived, this.relay.receivedSeq]));
    this.watchStall();
    return (bytes) => {
      if (this.carrier === carrier) this.fromCarrier(bytes);
    };
  }

  /** The carrier closed (or is being replaced): everything not yet stored by the peer goes through the relay. */
  detach(carrier: DirectCarrier): void {
    if (this.carrier !== carrier) return;
    this.carrier = null;
    this.carrierReady = false;
    this.clearStall();
    for (const [seq, { frame }] of [...this.outbox].sort(([a], [b]) => a - b)) this.relay.send(withHeader(RESENT, [seq], frame));
    this.outbox.clear();
    this.setPath('relay');
  }

  save(): PathSwitchState {
    return {
      v: PATH_STATE_VERSION,
      lastDirectSent: this.lastDirectSent,
      lastDirectReceived: this.lastDirectReceived,
      outbox: [...this.outbox].map(([seq, { frame }]) => ({ seq, frame: encodeBase64Url(frame) })),
    };
  }

  /** The owner stored `state`: the peer may drop the direct frames it holds (ACK `direct stored`). */
  confirmSaved(state: PathSwitchState): void {
    if (state.lastDirectReceived <= this.directStored) return;
    this.directStored = state.lastDirectReceived;
    this.acknowledge();
  }

  private setPath(path: LinkPath): void {
    if (this.sending === path) return;
    this.sending = path;
    for (const handler of [...this.pathHandlers]) handler(path);
  }

  private switchToDirectIfCaughtUp(): void {
    if (this.sending === 'relay' && this.carrierReady && this.peerRelayReceived >= this.relay.sentSeq) this.setPath('direct');
  }

  private deliver(frame: Uint8Array): void {
    for (const handler of [...this.handlers]) handler(frame);
  }

  private acknowledge(): void {
    this.carrier?.send(withHeader(Kind.ack, [this.lastDirectReceived, this.directStored, this.relay.receivedSeq]));
  }

  private fromRelay(frame: Uint8Array): void {
    if (frame[0] === RESENT) {
      if (frame.length < 1 + U32) return;
      const seq = readU32(frame, 0);
      if (seq <= this.lastDirectReceived) return;
      this.lastDirectReceived = seq;
      this.deliver(frame.subarray(1 + U32));
    } else {
      this.deliver(frame);
    }
    // The peer waits for this to move its own frames to the carrier.
    if (this.carrierReady) this.acknowledge();
  }

  private fromCarrier(bytes: Uint8Array): void {
    const kind = bytes[0];
    if (kind === Kind.hello && bytes.length === 1 + 2 * U32) {
      this.carrierReady = true;
      // Continue above what the peer has: a number it has seen is never used again.
      this.lastDirectSent = Math.max(this.lastDirectSent, readU32(bytes, 0));
      this.peerRelayReceived = readU32(bytes, 1);
      this.clearStall();
      this.switchToDirectIfCaughtUp();
      // Tell the peer how far the relay got here, if it changed since the HELLO.
      this.acknowledge();
      return;
    }
    if (!this.carrierReady) return;
    if (kind === Kind.data && bytes.length >= 1 + U32) {
      const seq = readU32(bytes, 0);
      if (seq <= this.lastDirectReceived) return;
      this.lastDirectReceived = seq;
      this.acknowledge();
      this.deliver(bytes.subarray(1 + U32));
      return;
    }
    if (kind === Kind.ack && bytes.length === 1 + 3 * U32) {
      this.peerDirectReceived = Math.max(this.peerDirectReceived, readU32(bytes, 0));
      const stored = readU32(bytes, 1);
      for (const seq of [...this.outbox.keys()]) if (seq <= stored) this.outbox.delete(seq);
      this.peerRelayReceived = Math.max(this.peerRelayReceived, readU32(bytes, 2));
      this.switchToDirectIfCaughtUp();
      this.watchStall();
    }
  }

  /** Arms the stall timer for the oldest direct frame the peer has not received (or for its HELLO). */
  private watchStall(): void {
    this.clearStall();
    const carrier = this.carrier;
    if (!carrier) return;
    const waiting = [...this.outbox].find(([seq]) => seq > this.peerDirectReceived)?.[1];
    if (this.carrierReady && !waiting) return;
    const since = waiting?.sentAt ?? this.now();
    this.stallTimer = setTimeout(() => this.stalled(carrier), Math.max(0, since + this.stallMs - this.now()));
  }

  private stalled(carrier: DirectCarrier): void {
    if (this.carrier !== carrier) return;
    this.detach(carrier);
    carrier.close();
  }

  private clearStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  close(): void {
    this.clearStall();
    this.offRelay();
  }
}
