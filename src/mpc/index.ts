/**
 * Duet's two-party ECDSA engine (Lindell 2017, P1 = phone, P2 = extension). Pure: no I/O,
 * no clocks, no storage. See docs/protocol.md.
 */
export { MpcError, type MpcErrorCode } from './errors.ts';
export type { P1KeyShare, P2KeyShare } from './key-share.ts';
export { encodeP1KeyShare, decodeP1KeyShare, encodeP2KeyShare, decodeP2KeyShare, type P1KeyShareJson, type P2KeyShareJson } from './key-share-codec.ts';
export {
  p1KeyGenStart,
  p2KeyGenRespond,
  p1KeyGenFinish,
  p2KeyGenFinish,
  encodeKeyGenMsg1,
  encodeKeyGenMsg2,
  encodeKeyGenMsg3,
  decodeKeyGenMsg1,
  decodeKeyGenMsg2,
  decodeKeyGenMsg3,
  type KeyGenMsg1,
  type KeyGenMsg2,
  type KeyGenMsg3,
  type P1KeyGenState,
  type P2KeyGenState,
} from './keygen.ts';
export {
  p1SignStart,
  p2SignRespond,
  p1SignReveal,
  p2SignCompute,
  p1SignFinish,
  type SignRequest,
  type SignMsg1,
  type SignMsg2,
  type SignMsg3,
  type SignMsg4,
  type P1SignSession,
  type P2SignSession,
  type P1SignOutcome,
} from './sign.ts';
export { encodeSignMsg1, encodeSignMsg2, encodeSignMsg3, encodeSignMsg4, decodeSignMsg1, decodeSignMsg2, decodeSignMsg3, decodeSignMsg4 } from './sign-messages.ts';
export * from './refresh.ts';
export { accountAddress, accountPublicKey, ethereumAddress, MAX_ACCOUNT_INDEX } from './derivation.ts';
export type { EcdsaSignature } from './signature.ts';
export { generatePaillierKey, NoncePool, type PaillierSecretKey } from './paillier.ts';
