/**
 * Web Worker: makes a Paillier key and its modulus proof off the phone app's main thread and
 * posts them back once (paillier-key-pool.ts).
 */
import { encodePreparedKey, preparePaillierKey, type PreparedKeyMessage } from '../mpc/zk/paillier-modulus.ts';

(globalThis as unknown as { postMessage(message: PreparedKeyMessage): void }).postMessage(encodePreparedKey(preparePaillierKey()));
