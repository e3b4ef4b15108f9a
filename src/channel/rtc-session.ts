/**
 * One WebRTC peer connection carrying one data channel: what the direct path (direct-path.ts)
 * needs of WebRTC, small enough to run in a page (the phone app), or in the extension's offscreen
 * document behind a message port (rtc-over-port.ts: a service worker has no RTCPeerConnection).
 *
 * The offering side creates the data channel ("duet", reliable and ordered: SCTP, RFC 8831 §6.1);
 * descriptions and ICE candidates leave through `onSignal` and the peer's arrive through
 * `signal` (trickle ICE, RFC 8838), both carried by the caller over the encrypted channel. The
 * session reports `onOpen` once the data channel is open, and `onClose` once, whatever ended it
 * (the peer, ICE failing or disconnecting, `close`).
 */
export interface IceServerConfig {
  /** One stun:, turn: or turns: URL (RFC 7064, RFC 7065). */
  readonly urls: string;
  readonly username?: string;
  readonly credential?: string;
}

export type RtcSignal =
  | { readonly kind: 'description'; readonly type: 'offer' | 'answer'; readonly sdp: string }
  | { readonly kind: 'candidate'; readonly candidate: string; readonly sdpMid: string | null; readonly sdpMLineIndex: number | null };

export interface RtcSessionOptions {
  readonly role: 'offer' | 'answer';
  readonly iceServers: readonly IceServerConfig[];
}

export interface RtcSessionEvents {
  onSignal(signal: RtcSignal): void;
  onOpen(): void;
  onMessage(bytes: Uint8Array): void;
  onClose(reason: string): void;
}

export interface RtcSession {
  /** What the peer's session signalled (its description, its candidates). */
  signal(signal: RtcSignal): void;
  /** Sends on the open data channel; dropped when it is not open (the path then falls back). */
  send(bytes: Uint8Array): void;
  close(): void;
}

export type RtcSessionFactory = (options: RtcSessionOptions, events: RtcSessionEvents) => RtcSession;

/** The parts of RTCPeerConnection used here (the browser's class fits). */
export type PeerConnectionConstructor = new (configuration: RTCConfiguration) => RTCPeerConnection;

const DATA_CHANNEL_LABEL = 'duet';

/** Sessions on the browser's own RTCPeerConnection. */
export function browserRtcSessions(PeerConnection: PeerConnectionConstructor): RtcSessionFactory {
  return (options, events) => new BrowserRtcSession(PeerConnection, options, events);
}

class BrowserRtcSession implements RtcSession {
  private readonly connection: RTCPeerConnection;
  private readonly events: RtcSessionEvents;
  private channel: RTCDataChannel | null = null;
  /** Remote descriptions and candidates are applied one at a time, in the order they came. */
  private applying: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(PeerConnection: PeerConnectionConstructor, options: RtcSessionOptions, events: RtcSessionEvents) {
    this.events = events;
    this.connection = new PeerConnection({ iceServers: options.iceServers.map((server) => ({ ...server })) });
    this.connection.onicecandidate = (event) => {
      const candidate = event.candidate;
      if (candidate?.candidate) events.onSignal({ kind: 'candidate', candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex });
    };
    this.connection.onconnectionstatechange = () => {
      const state = this.connection.connectionState;
      if (state === 'failed' || state === 'disconnected' || state === 'closed') this.finish(`connection ${state}`);
    };
    if (options.role === 'offer') {
      this.wire(this.connection.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true }));
      this.run(async () => {
        await this.connection.setLocalDescription(await this.connection.createOffer());
        this.sendDescription();
      });
    } else {
      this.connection.ondatachannel = (event) => {
        if (!this.channel && event.channel.label === DATA_CHANNEL_LABEL) this.wire(event.channel);
      };
    }
  }

  private wire(channel: RTCDataChannel): void {
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    channel.onopen = () => {
      if (!this.closed) this.events.onOpen();
    };
    channel.onmessage = (event: MessageEvent) => {
      if (!this.closed && event.data instanceof ArrayBuffer) this.events.onMessage(new Uint8Array(event.data));
    };
    channel.onclose = () => this.finish('data channel closed');
  }

  private sendDescription(): void {
    const description = this.connection.localDescription;
    if (description && (description.type === 'offer' || description.type === 'answer')) this.events.onSignal({ kind: 'description', type: description.type, sdp: description.sdp });
  }

  private run(step: () => Promise<void>): void {
    this.applying = this.applying.then(step).catch(() => this.finish('signalling failed'));
  }

  signal(signal: RtcSignal): void {
    if (this.closed) return;
    this.run(async () => {
      if (this.closed) return;
      if (signal.kind === 'candidate') {
        await this.connection.addIceCandidate({ candidate: signal.candidate, sdpMid: signal.sdpMid, sdpMLineIndex: signal.sdpMLineIndex });
        return;
      }
      await this.connection.setRemoteDescription({ type: signal.type, sdp: signal.sdp });
      if (signal.type === 'offer') {
        await this.connection.setLocalDescription(await this.connection.createAnswer());
        this.sendDescription();
      }
    });
  }

  send(bytes: Uint8Array): void {
    if (this.closed || this.channel?.readyState !== 'open') return;
    this.channel.send(bytes as Uint8Array<ArrayBuffer>);
  }

  close(): void {
    this.finish('closed');
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.channel?.close();
    this.connection.close();
    this.events.onClose(reason);
  }
}
