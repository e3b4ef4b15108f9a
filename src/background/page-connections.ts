/**
 * The open provider ports, each tagged with the origin the browser reported for it. Events go to
 * one origin (accountsChanged, a site's own chainChanged) or to every page (the wallet's chainChanged,
 * except to sites on a network of their own).
 */
export interface PagePort {
  postMessage(message: unknown): void;
}

export class PageConnections<P extends PagePort> {
  private readonly origins = new Map<P, string>();

  add(port: P, origin: string): void {
    this.origins.set(port, origin);
  }

  remove(port: P): void {
    this.origins.delete(port);
  }

  originOf(port: P): string | undefined {
    return this.origins.get(port);
  }

  sendTo(origin: string, message: unknown): void {
    for (const [port, portOrigin] of this.origins) if (portOrigin === origin) port.postMessage(message);
  }

  /** To every port, except those of the origins in `except` (sites on a network of their own). */
  sendAll(message: unknown, except?: ReadonlySet<string>): void {
    for (const [port, origin] of this.origins) if (!except?.has(origin)) port.postMessage(message);
  }
}
