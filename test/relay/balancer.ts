/**
 * A TCP load balancer for tests: several relay instances behind one address, no sticky routing.
 * Each new connection goes to the next backend in turn (round robin, so a channel's two ends land
 * on different instances); a backend that refuses the connection (stopped, killed) is skipped.
 * WebSocket upgrades and plain HTTP requests (the phone app's files) take turns separately, so
 * page loads do not change where the WebSockets go; nothing else is read from the stream.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Balancer {
  readonly port: number;
  readonly wsUrl: string;
  readonly url: string;
  /** How many WebSocket connections each backend port was given. */
  readonly placed: Map<number, number>;
  close(): Promise<void>;
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

export async function startBalancer(backendPorts: readonly number[]): Promise<Balancer> {
  const sockets = new Set<Socket>();
  const placed = new Map<number, number>();
  const turns = { websocket: 0, http: 0 };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.once('close', () => sockets.delete(client));
    client.once('data', (first: Buffer) => {
      client.pause();
      const kind = /^upgrade:\s*websocket/im.test(first.toString('latin1')) ? 'websocket' : 'http';
      void (async () => {
        for (let tries = 0; tries < backendPorts.length; tries++) {
          const port = backendPorts[turns[kind]++ % backendPorts.length] as number;
          try {
            const backend = await dial(port);
            if (kind === 'websocket') placed.set(port, (placed.get(port) ?? 0) + 1);
            sockets.add(backend);
            backend.on('error', () => undefined);
            backend.once('close', () => (sockets.delete(backend), client.destroy()));
            client.once('close', () => backend.destroy());
            backend.write(first);
            client.pipe(backend);
            backend.pipe(client);
            client.resume();
            return;
          } catch {
            // That instance is down: the next one.
          }
        }
        client.destroy();
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    placed,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
