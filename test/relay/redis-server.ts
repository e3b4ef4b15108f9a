/**
 * A real redis-server for the relay's Redis tests and benchmark: Debian's `redis-server` (installed
 * by .ci/run; REDIS_SERVER_PATH overrides), on a free loopback port, its files in a fresh temporary
 * folder, with the append-only file on and fsynced before every reply (`appendfsync always`), so a
 * restart — even after SIGKILL — keeps every write it acknowledged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/devstack/free-port.ts';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** The running server's process id (0 when stopped). */
  pid(): number;
  /** SIGTERM (Redis saves and exits) or SIGKILL (nothing but what the AOF already holds). */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and folder (it reloads the AOF). */
  start(): Promise<void>;
  /** Stops it and deletes its folder. */
  dispose(): Promise<void>;
}

export class RedisServerNotFoundError extends Error {
  constructor(path: string) {
    super(`redis-server not found at ${path}: install it (Debian/Ubuntu: sudo apt-get install -y redis-server; bash .ci/run does) or set REDIS_SERVER_PATH. DUET_SKIP_REDIS=1 skips the Redis tests.`);
    this.name = 'RedisServerNotFoundError';
  }
}

export function redisServerPath(): string {
  const path = process.env.REDIS_SERVER_PATH ?? '/usr/bin/redis-server';
  if (!existsSync(path)) throw new RedisServerNotFoundError(path);
  return path;
}

/** Resolves once something answers PING on the port with PONG. */
async function answersPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.setTimeout(500, () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(false));
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startRedisServer(options: { appendfsync?: 'always' | 'everysec' } = {}): Promise<RedisServer> {
  const binary = redisServerPath();
  const dir = mkdtempSync(join(tmpdir(), 'duet-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', options.appendfsync ?? 'always', '--save', '', '--daemonize', 'no', '--logfile', join(dir, 'redis.log')];
  const start = async () => {
    const spawned = spawn(binary, args, { stdio: 'ignore' });
    child = spawned;
    // Never outlive the test process.
    const kill = () => spawned.kill('SIGKILL');
    process.once('exit', kill);
    exited = new Promise((resolve) =>
      spawned.once('exit', () => {
        process.off('exit', kill);
        resolve();
      }),
    );
    await answersPing(port, 10_000);
  };
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const running = child;
    if (running && running.exitCode === null && running.signalCode === null) running.kill(signal);
    await exited;
    child = null;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    pid: () => (child as ChildProcess | null)?.pid ?? 0,
    stop,
    start,
    dispose: async () => {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
