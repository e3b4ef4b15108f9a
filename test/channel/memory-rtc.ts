/**
 * WebRTC for Node tests: a stand-in for the browser's peer connection (Node has none), with the
 * same contract as rtc-session.ts. An offer's "SDP" names its session; the answering session that
 * gets it connects to it, and both open once the answer is applied. Frames are delivered
 * asynchronously and in order. The network can cut every session (`cutAll`), or refuse to connect
 * (`blocked`), as a network without a direct route would.
 */
import type { RtcSession, RtcSessionEvents, RtcSessionFactory, RtcSessionOptions, RtcSignal } from '../../src/channel/rtc-session.ts';

interface MemorySession extends RtcSession {
  readonly name: string;
  readonly options: RtcSessionOptions;
  peer: MemorySession | null;
  closed: boolean;
  readonly events: RtcSessionEvents;
}

export class MemoryRtcNetwork {
  private readonly sessions = new Map<string, MemorySession>();
  private counter = 0;
  /** No session connects while set (the devices have no direct route). */
  blocked = false;
  /** Every frame carried, for tests that count direct traffic. */
  readonly carried: Uint8Array[] = [];
  /** The options each session was opened with (ICE servers), in order. */
  readonly opened: RtcSessionOptions[] = [];
  /** Cuts every session instead of carrying the frame it is given, when it says so. */
  cutWhen: ((frame: Uint8Array) => boolean) | null = null;

  readonly factory: RtcSessionFactory = (options, events) => this.open(options, events);

  get openSessions(): number {
    return [...this.sessions.values()].filter((session) => !session.closed && session.peer).length;
  }

  /** Cuts every session, as a lost network or a closed offscreen document would. */
  cutAll(): void {
    for (const session of [...this.sessions.values()]) session.close();
  }

  private open(options: RtcSessionOptions, events: RtcSessionEvents): RtcSession {
    const name = `memory-${++this.counter}`;
    this.opened.push(options);
    const network = this;
    const session: MemorySession = {
      name,
      options,
      peer: null,
      closed: false,
      events,
      signal(signal: RtcSignal) {
        if (session.closed || signal.kind !== 'description') return;
        setTimeout(() => network.apply(session, signal.sdp, signal.type), 0);
      },
      send(bytes: Uint8Array) {
        const peer = session.peer;
        if (session.closed || !peer) return;
        if (network.cutWhen?.(bytes)) {
          network.cutWhen = null;
          network.cutAll();
          return;
        }
        network.carried.push(bytes);
        const copy = bytes.slice();
        setTimeout(() => {
          if (!peer.closed) peer.events.onMessage(copy);
        }, 0);
      },
      close() {
        if (session.closed) return;
        session.closed = true;
        network.sessions.delete(name);
        setTimeout(() => events.onClose('closed'), 0);
        const peer = session.peer;
        if (peer && !peer.closed) peer.close();
      },
    };
    this.sessions.set(name, session);
    if (options.role === 'offer') {
      setTimeout(() => {
        if (session.closed) return;
        events.onSignal({ kind: 'description', type: 'offer', sdp: name });
        events.onSignal({ kind: 'candidate', candidate: `candidate:1 1 udp 1 memory ${name} typ host`, sdpMid: '0', sdpMLineIndex: 0 });
      }, 0);
    }
    return session;
  }

  private apply(session: MemorySession, sdp: string, type: 'offer' | 'answer'): void {
    const remote = this.sessions.get(sdp);
    if (!remote || remote.closed || session.closed || this.blocked) return;
    if (type === 'offer') {
      session.peer = remote;
      session.events.onSignal({ kind: 'description', type: 'answer', sdp: session.name });
    } else {
      session.peer = remote;
      remote.peer = session;
      remote.events.onOpen();
      session.events.onOpen();
    }
  }
}
