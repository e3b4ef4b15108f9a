/**
 * The open provider ports, each tagged with the origin the browser reported for it. Events go to
 * one origin (accountsChanged) or to every page (chainChanged, connect).
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

  sendAll(message: unknown): void {
    for (const port of this.origins.keys()) port.postMessage(message);
  }
}
