/**
 * Worker thread: makes one Paillier key and its modulus proof off the Guard's main thread and
 * posts them back (guard-key-pool.ts).
 */
import { parentPort } from 'node:worker_threads';
import { encodePaillierModulusProof, preparePaillierKey } from '../mpc/zk/paillier-modulus.ts';

export interface PreparedKeyMessage {
  readonly p: string;
  readonly q: string;
  readonly proof: object;
}

const prepared = preparePaillierKey();
const message: PreparedKeyMessage = { p: prepared.key.p.toString(16), q: prepared.key.q.toString(16), proof: encodePaillierModulusProof(prepared.proof) };
parentPort?.postMessage(message);
