/**
 * The service worker's request router: one handler per EIP-1193 method. The requesting origin
 * comes from the browser's sender data; the request key from the content script identifies one
 * page request across service-worker restarts. Methods without a handler answer 4200.
 */
import { rpcErrors } from '../provider/rpc-error.ts';

export interface RequestContext {
  /** The origin the browser reports for the sending frame, never a value from the page. */
  readonly origin: string;
  /** Unique per page request (page session id + request id), stable when the bridge re-sends it. */
  readonly requestKey: string;
  /** The browser tab of the sending frame (null when unknown): all frames of a page share its limits. */
  readonly tabId: number | null;
  /** The top-level site when the sending frame is embedded in another site's page, else null. */
  readonly embeddedIn: string | null;
  /** Set by the wallet itself for the calls of a wallet_sendCalls batch. */
  readonly batchCall?: { readonly index: number; readonly count: number };
}

export type MethodHandler = (params: unknown, context: RequestContext) => Promise<unknown>;

export class RequestRouter {
  private readonly handlers = new Map<string, MethodHandler>();
  private fallback: ((method: string) => MethodHandler | undefined) | null = null;

  register(method: string, handler: MethodHandler): this {
    this.handlers.set(method, handler);
    return this;
  }

  /** Handlers for a family of methods (the read-only proxy), consulted after the named ones. */
  registerFallback(resolve: (method: string) => MethodHandler | undefined): this {
    this.fallback = resolve;
    return this;
  }

  async handle(method: string, params: unknown, context: RequestContext): Promise<unknown> {
    const handler = this.handlers.get(method) ?? this.fallback?.(method);
    if (!handler) throw rpcErrors.unsupportedMethod(`Duet does not support ${method}.`);
    return handler(params, context);
  }
}

/**
 * The top-level site of a request from a subframe: the browser says whether the frame is the top
 * one (frameId 0); the content script reads the top site from location.ancestorOrigins, which the
 * page cannot change. Null for a top frame or when that site is not a web origin.
 */
export function embeddingSite(frameId: number | undefined, topOrigin: unknown, origin: string): string | null {
  if (frameId === 0 || frameId === undefined || typeof topOrigin !== 'string' || !/^https?:\/\//.test(topOrigin)) return null;
  let top: string;
  try {
    top = new URL(topOrigin).origin;
  } catch {
    return null;
  }
  return top === 'null' || top === origin ? null : top;
}

/** The browser's sender origin; requests from frames without a web origin are refused. */
export function originFromSender(sender: { origin?: string; url?: string }): string {
  const candidate = sender.origin ?? (sender.url ? new URL(sender.url).origin : undefined);
  if (!candidate || candidate === 'null' || !/^https?:\/\//.test(candidate)) {
    throw rpcErrors.unauthorized('Requests are accepted only from web pages.');
  }
  return candidate;
}
