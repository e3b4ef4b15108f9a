/**
 * Paillier keys with their modulus proofs for the pairs the Guard is P1 of (it is P1 against every
 * other member), made in idle time in worker threads so signing never waits behind a key
 * generation (about 1–3 s of big-integer work each on this machine class). The pool keeps `size`
 * keys ready and hands each out once: no Paillier key serves two pairs (docs/protocol.md).
 */
import { Worker } from 'node:worker_threads';
import { decodePreparedKey, type PreparedKeyMessage, type PreparedPaillierKey } from '../mpc/zk/paillier-modulus.ts';

export type PreparedKeySource = () => Promise<PreparedPaillierKey>;

/** One key from a worker thread. */
export function prepareKeyInWorker(): Promise<PreparedPaillierKey> {
  return new Promise((resolve, reject) => {
    // The Guard runs its TypeScript through tsx (npm run guard); the worker registers it first.
    const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
    const script = JSON.stringify(new URL('./paillier-key-worker.ts', import.meta.url).href);
    const worker = new Worker(`import(${tsx}).then(({ register }) => { register(); return import(${script}); })`, { eval: true });
    worker.once('message', (message: PreparedKeyMessage) => {
      void worker.terminate();
      resolve(decodePreparedKey(message));
    });
    worker.once('error', (error) => reject(new Error(`a Paillier key could not be prepared: ${error.message}`)));
  });
}

export class GuardKeyPool {
  private readonly ready: Promise<PreparedPaillierKey>[] = [];

  constructor(
    private readonly size = 2,
    private readonly prepare: PreparedKeySource = prepareKeyInWorker,
  ) {}

  /** Starts preparing keys until `size` are ready or on their way. */
  fill(): void {
    while (this.ready.length < this.size) {
      const key = this.prepare();
      // A failure reaches whoever takes this key; here it must not be an unhandled rejection.
      key.catch(() => undefined);
      this.ready.push(key);
    }
  }

  /** The oldest prepared key (waiting for it if needed); a replacement starts at once. */
  take(): Promise<PreparedPaillierKey> {
    this.fill();
    const key = this.ready.shift() as Promise<PreparedPaillierKey>;
    this.fill();
    return key;
  }
}
