/**
 * Worker thread: makes one Paillier key and its modulus proof off the Guard's main thread and
 * posts them back (guard-key-pool.ts).
 */
import { parentPort } from 'node:worker_threads';
import { encodePreparedKey, preparePaillierKey } from '../mpc/zk/paillier-modulus.ts';

parentPort?.postMessage(encodePreparedKey(preparePaillierKey()));
