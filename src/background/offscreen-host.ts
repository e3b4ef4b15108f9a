/**
 * The offscreen document's side of the extension's WebRTC (offscreen-rtc.ts): on each CONNECT
 * from the service worker it drops the sessions of the previous port, serves a new one with the
 * page's RTCPeerConnection, and hands the port to the worker. While sessions are open it sends
 * the worker a message every KEEPALIVE_MS, which keeps a worker alive that would otherwise stop
 * after ~30 s without events (its relay socket may be down while the direct path carries
 * everything).
 */
import { serveRtcSessions, type RtcHost } from '../channel/rtc-over-port.ts';
import { browserRtcSessions, type PeerConnectionConstructor } from '../channel/rtc-session.ts';
import { OFFSCREEN_CONNECT, OFFSCREEN_KEEPALIVE, OFFSCREEN_PORT } from './offscreen-rtc.ts';

const KEEPALIVE_MS = 20_000;

interface HostRuntime {
  readonly onMessage: { addListener(listener: (message: unknown, sender: unknown, sendResponse: (response: unknown) => void) => boolean | undefined): void };
  sendMessage(message: unknown): Promise<unknown>;
}

interface HostScope {
  readonly RTCPeerConnection: PeerConnectionConstructor;
  readonly MessageChannel: typeof MessageChannel;
  readonly navigator: { readonly serviceWorker: { readonly ready: Promise<{ readonly active: { postMessage(message: unknown, transfer: Transferable[]): void } | null }> } };
}

export function serveOffscreenRtc(runtime: HostRuntime, scope: HostScope): void {
  let host: RtcHost | null = null;
  let keepalive: ReturnType<typeof setInterval> | null = null;
  const sized = (size: number) => {
    if (size > 0 && !keepalive) keepalive = setInterval(() => void runtime.sendMessage({ type: OFFSCREEN_KEEPALIVE }).catch(() => undefined), KEEPALIVE_MS);
    if (size === 0 && keepalive) {
      clearInterval(keepalive);
      keepalive = null;
    }
  };
  runtime.onMessage.addListener((message, _sender, sendResponse) => {
    if ((message as { type?: unknown } | null)?.type !== OFFSCREEN_CONNECT) return undefined;
    host?.close();
    const channel = new scope.MessageChannel();
    host = serveRtcSessions(channel.port1, browserRtcSessions(scope.RTCPeerConnection), sized);
    void scope.navigator.serviceWorker.ready.then((registration) => {
      registration.active?.postMessage({ type: OFFSCREEN_PORT }, [channel.port2]);
      sendResponse(true);
    });
    return true;
  });
}
