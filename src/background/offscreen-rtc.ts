/**
 * The extension's WebRTC (docs/channel.md, "The direct path"). A service worker has no
 * RTCPeerConnection, so the peer connections run in the extension's offscreen document
 * (`chrome.offscreen`, reason WEB_RTC), and the worker drives them over a MessageChannel port
 * (src/channel/rtc-over-port.ts). Only one offscreen document may exist, and it outlives a
 * stopped worker: a worker finds it (or creates it) when its first session opens, and asks it for
 * a fresh port, which makes the document drop the sessions of the worker before. The document is
 * closed once no session has been open for `idleCloseMs`.
 *
 *   worker                                  offscreen document
 *   runtime.sendMessage {type: CONNECT}  ──▶  new MessageChannel; old sessions closed
 *                                       ◀──  ServiceWorker.postMessage {type: PORT}, [port]
 */
import { RtcPortClient, type MessagePortLike } from '../channel/rtc-over-port.ts';
import type { RtcSessionFactory } from '../channel/rtc-session.ts';

export const OFFSCREEN_DOCUMENT = 'extension/offscreen/index.html';
export const OFFSCREEN_CONNECT = 'duet/offscreen/connect';
export const OFFSCREEN_PORT = 'duet/offscreen/port';
export const OFFSCREEN_KEEPALIVE = 'duet/offscreen/keepalive';
export const OFFSCREEN_IDLE_CLOSE_MS = 30_000;
const CONNECT_TIMEOUT_MS = 5_000;

/** What the worker needs of chrome.offscreen and its messaging (ChromeOffscreenDocument in the worker). */
export interface OffscreenDocumentApi {
  exists(): Promise<boolean>;
  create(): Promise<void>;
  close(): Promise<void>;
  /** Asks the document for a fresh port. */
  connect(): Promise<MessagePortLike>;
}

export interface OffscreenRtc {
  /** RTC sessions in the offscreen document, which is created on demand and closed when idle. */
  readonly sessions: RtcSessionFactory;
  /**
   * At the worker's start: a document left by the worker before is taken over at once (a new port,
   * so its sessions end and the phone falls back to the relay without waiting for a stall), and
   * closed if this worker opens no session before the idle time.
   */
  claim(): Promise<void>;
}

export function offscreenRtc(document: OffscreenDocumentApi, idleCloseMs = OFFSCREEN_IDLE_CLOSE_MS): OffscreenRtc {
  let idleTimer: ReturnType<typeof setTimeout> | null = null;
  const client = new RtcPortClient(
    async () => {
      if (!(await document.exists())) await document.create();
      return document.connect();
    },
    () => document.exists(),
  );
  client.onIdle = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idleTimer = null;
      if (client.size > 0) return;
      client.forget();
      void document.close().catch(() => undefined);
    }, idleCloseMs);
  };
  return {
    sessions: (options, events) => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = null;
      return client.factory(options, events);
    },
    claim: async () => {
      if (!(await document.exists().catch(() => false))) return;
      client.prepare();
      if (client.size === 0) client.onIdle?.();
    },
  };
}

interface ChromeOffscreen {
  readonly offscreen: {
    hasDocument(): Promise<boolean>;
    createDocument(parameters: { url: string; reasons: string[]; justification: string }): Promise<void>;
    closeDocument(): Promise<void>;
  };
  readonly runtime: { sendMessage(message: unknown): Promise<unknown> };
}

interface PortMessageEvent {
  readonly data: unknown;
  readonly ports: readonly MessagePortLike[];
}

/**
 * The worker's side of the real document. Construct it while the worker script first runs: it
 * listens for the document's port on the worker's `message` event.
 */
export class ChromeOffscreenDocument implements OffscreenDocumentApi {
  private readonly chrome: ChromeOffscreen;
  private waiting: ((port: MessagePortLike) => void) | null = null;

  constructor(chrome: ChromeOffscreen, worker: { addEventListener(type: 'message', listener: (event: PortMessageEvent) => void): void }) {
    this.chrome = chrome;
    worker.addEventListener('message', (event) => {
      const port = event.ports[0];
      if ((event.data as { type?: unknown } | null)?.type === OFFSCREEN_PORT && port && this.waiting) this.waiting(port);
    });
  }

  exists(): Promise<boolean> {
    return this.chrome.offscreen.hasDocument();
  }

  async create(): Promise<void> {
    try {
      await this.chrome.offscreen.createDocument({ url: OFFSCREEN_DOCUMENT, reasons: ['WEB_RTC'], justification: 'A direct WebRTC data channel to the paired phone: service workers have no RTCPeerConnection.' });
    } catch (error) {
      // Another start of this worker made it in the meantime: only one may exist.
      if (!(await this.exists())) throw error;
    }
  }

  close(): Promise<void> {
    return this.chrome.offscreen.closeDocument();
  }

  connect(): Promise<MessagePortLike> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error('the offscreen document did not answer'));
      }, CONNECT_TIMEOUT_MS);
      this.waiting = (port) => {
        clearTimeout(timer);
        this.waiting = null;
        resolve(port);
      };
      this.chrome.runtime.sendMessage({ type: OFFSCREEN_CONNECT }).catch((error: unknown) => {
        clearTimeout(timer);
        this.waiting = null;
        reject(error instanceof Error ? error : new Error('the offscreen document did not answer'));
      });
    });
  }
}
