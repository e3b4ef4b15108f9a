/**
 * Web Worker: makes a Paillier key and its modulus proof off the phone app's main thread and
 * posts them back once (paillier-key-pool.ts).
 */
import { encodePaillierModulusProof, preparePaillierKey } from '../mpc/zk/paillier-modulus.ts';

export interface PreparedKeyMessage {
  readonly p: string;
  readonly q: string;
  readonly proof: object;
}

const prepared = preparePaillierKey();
const message: PreparedKeyMessage = { p: prepared.key.p.toString(16), q: prepared.key.q.toString(16), proof: encodePaillierModulusProof(prepared.proof) };
(globalThis as unknown as { postMessage(message: PreparedKeyMessage): void }).postMessage(message);
