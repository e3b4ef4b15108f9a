/**
 * The service worker's request router: one handler per EIP-1193 method, the requesting origin
 * taken from the browser's sender data. Methods not handled yet answer 4200.
 */
import { ProviderRpcError, RpcErrorCode } from '../provider/rpc-error.ts';

export interface RequestContext {
  /** The origin the browser reports for the sending frame, never a value from the page. */
  readonly origin: string;
}

export type MethodHandler = (params: unknown, context: RequestContext) => Promise<unknown>;

export class RequestRouter {
  private readonly handlers = new Map<string, MethodHandler>();

  register(method: string, handler: MethodHandler): this {
    this.handlers.set(method, handler);
    return this;
  }

  async handle(method: string, params: unknown, context: RequestContext): Promise<unknown> {
    const handler = this.handlers.get(method);
    if (!handler) throw new ProviderRpcError(RpcErrorCode.unsupportedMethod, `Duet does not support ${method}.`);
    return handler(params, context);
  }
}

/** The browser's sender origin; requests from frames without a web origin are refused. */
export function originFromSender(sender: { origin?: string; url?: string }): string {
  const candidate = sender.origin ?? (sender.url ? new URL(sender.url).origin : undefined);
  if (!candidate || candidate === 'null' || !/^https?:\/\//.test(candidate)) {
    throw new ProviderRpcError(RpcErrorCode.unauthorized, 'Requests are accepted only from web pages.');
  }
  return candidate;
}
