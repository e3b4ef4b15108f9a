/**
 * The phone's next Paillier key and its modulus proof, prepared in idle time (about 1 s of big-integer
 * work): in a Web Worker where there is one, so the app stays responsive, else on the main thread
 * after the current task. The key is held in memory only and used for one pairing; `take` hands it
 * out and the next one is prepared when `fill` is called again (after that pairing finished).
 */
import { decodePreparedKey, preparePaillierKey, type PreparedKeyMessage, type PreparedPaillierKey } from '../mpc/zk/paillier-modulus.ts';

export type PaillierKeySource = () => Promise<PreparedPaillierKey>;

/** Prepares one key in a module worker (the phone app build bundles paillier-worker.ts). */
function prepareInWorker(): Promise<PreparedPaillierKey> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./paillier-worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<PreparedKeyMessage>) => {
      worker.terminate();
      resolve(decodePreparedKey(event.data));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`the key could not be prepared: ${event.message}`));
    };
  });
}

function prepareOnMainThread(): Promise<PreparedPaillierKey> {
  return new Promise((resolve, reject) => setTimeout(() => {
    try {
      resolve(preparePaillierKey());
    } catch (error) {
      reject(error);
    }
  }, 0));
}

/** A Web Worker where there is one, else the main thread. */
export const defaultPaillierKeySource: PaillierKeySource = typeof Worker === 'function' ? () => prepareInWorker().catch(prepareOnMainThread) : prepareOnMainThread;

export class PaillierKeyPool {
  private next: Promise<PreparedPaillierKey> | null = null;
  private readonly prepare: PaillierKeySource;

  constructor(prepare: PaillierKeySource = defaultPaillierKeySource) {
    this.prepare = prepare;
  }

  /** Starts preparing a key unless one is ready or on its way. */
  fill(): void {
    if (this.next) return;
    this.next = this.prepare();
    // A failure surfaces to whoever takes the key; here it must not be an unhandled rejection.
    this.next.catch(() => undefined);
  }

  /** The prepared key (waiting for it if needed); the pool is empty afterwards. */
  take(): Promise<PreparedPaillierKey> {
    this.fill();
    const key = this.next as Promise<PreparedPaillierKey>;
    this.next = null;
    return key;
  }
}
