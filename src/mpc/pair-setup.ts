/**
 * Pair setup: the two-party key of one pair {P1, P2} of a wallet epoch (Lindell 2017 key
 * generation's last step, on the pair's additive shares λ_1·s_1 + λ_2·s_2 = x).
 *
 *   P1 → P2  PairSetupMsg: N with the proof of its modulus (paillier-modulus.ts);
 *                          ckey = Enc_N(λ_1·s_1) with the PDL-with-range proof against λ_1·S_1
 *
 * P2 checks the roles (pairRoles), the modulus proof, that it never accepted this N before (in any
 * pair or epoch: no Paillier key serves two pairs), and the PDL proof against the public share
 * S_1 of the new epoch. The range bound (ckey < 2^769) and the sign mask ρ < 2^897 are exactly those
 * of the pair of the first pairing (docs/protocol.md). The message is also what every other member
 * hashes into the reshare transcript (N's hash and ckey), so all agree on every pair's key.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bitLength, equalBytes } from './bytes.ts';
import { modQ } from './curve.ts';
import { MpcError } from './errors.ts';
import { encrypt, paillierPublicKey } from './paillier.ts';
import { SESSION_ID_BYTES, transcriptContext } from './protocol-context.ts';
import { randomUnit } from './random.ts';
import { assertMemberIndex, pairCoefficients } from './shamir.ts';
import { PROTOCOL_VERSION } from './transcript.ts';
import { memberByIndex, pairKeyId, pairRoles, publicShareOf, type P1Pair, type P2Pair, type WalletPublic } from './wallet-share.ts';
import { FieldReader, bytesFromHex, encodeInteger, hexFromBytes } from './wire.ts';
import { decodePdlProof, encodePdlProof, provePdl, verifyPdl, type PdlProof } from './zk/paillier-dlog-range.ts';
import {
  decodePaillierModulusProof,
  encodePaillierModulusProof,
  verifyPaillierModulus,
  type PaillierModulusProof,
  type PreparedPaillierKey,
} from './zk/paillier-modulus.ts';
import { PAILLIER_MODULUS_MAX_BITS, checkPaillierModulus } from './zk/paillier-validity.ts';

export interface PairSetupMsg {
  readonly type: 'pair/setup';
  /** The keygen or reshare this setup belongs to. */
  readonly sessionId: Uint8Array;
  readonly walletId: Uint8Array;
  readonly epoch: number;
  readonly p1: number;
  readonly p2: number;
  readonly paillierN: bigint;
  readonly modulusProof: PaillierModulusProof;
  readonly ckey: bigint;
  readonly pdlProof: PdlProof;
}

/** What the other members bind into the reshare transcript for this pair. */
export interface PairSummary {
  readonly p1: number;
  readonly p2: number;
  /** SHA-256 of N, hex. */
  readonly modulusHash: string;
  readonly ckey: bigint;
}

export function modulusHash(n: bigint): string {
  return hexFromBytes(sha256(bytesFromHex(encodeInteger(n))));
}

function pdlContext(message: Pick<PairSetupMsg, 'sessionId' | 'walletId' | 'epoch' | 'p1' | 'p2'>) {
  return transcriptContext(`pair/${message.epoch}/pdl`, message.sessionId, pairKeyId(message.walletId, message.p1, message.p2), 'P1');
}

/** The point and scalar P1 proves: λ_1·S_1 and λ_1·s_1 for the pair {p1, p2}. */
function weighted(wallet: WalletPublic, p1: number, p2: number) {
  const lambda = pairCoefficients(p1, p2).self;
  return { lambda, point: publicShareOf(wallet, p1).multiply(lambda) };
}

/** P1: its pair key with `counterpart`, from a Paillier key and proof prepared in idle time. */
export function p1PairSetup(
  input: { readonly sessionId: Uint8Array; readonly wallet: WalletPublic; readonly self: number; readonly share: bigint; readonly counterpart: number },
  prepared: PreparedPaillierKey,
): { pair: P1Pair; message: PairSetupMsg } {
  const { wallet, self, counterpart } = input;
  const roles = pairRoles(memberByIndex(wallet, self), memberByIndex(wallet, counterpart));
  if (roles.p1.index !== self) throw new MpcError('membership_refused', 'pairSetup.p1', `member ${self} is P2 in its pair with member ${counterpart}`);
  const { lambda, point } = weighted(wallet, self, counterpart);
  const x = modQ(lambda * input.share);
  const pk = prepared.key.publicKey;
  const nonce = randomUnit(pk.n);
  const ckey = encrypt(pk, x, nonce);
  const header = { sessionId: input.sessionId, walletId: wallet.walletId, epoch: wallet.epoch, p1: self, p2: counterpart };
  return {
    pair: { counterpart, role: 'P1', paillier: prepared.key },
    message: {
      type: 'pair/setup',
      ...header,
      paillierN: pk.n,
      modulusProof: prepared.proof,
      ckey,
      pdlProof: provePdl(pdlContext(header), { publicKey: pk, ciphertext: ckey, point }, { x, r: nonce }),
    },
  };
}

/**
 * P2: checks the setup against the epoch's public state and its own history of moduli. Pure:
 * the caller adds `modulusHash` to the share's acceptedModuli when it keeps the pair.
 */
export function p2PairAccept(
  input: { readonly sessionId: Uint8Array; readonly wallet: WalletPublic; readonly self: number; readonly acceptedModuli: readonly string[] },
  message: PairSetupMsg,
  field = 'pairSetup',
): { pair: P2Pair; modulusHash: string } {
  const { wallet, self } = input;
  if (!equalBytes(message.sessionId, input.sessionId)) throw new MpcError('session_mismatch', `${field}.sessionId`, 'setup of another keygen or reshare');
  if (!equalBytes(message.walletId, wallet.walletId) || message.epoch !== wallet.epoch) throw new MpcError('session_mismatch', `${field}.epoch`, 'setup for another wallet or epoch');
  if (message.p2 !== self) throw new MpcError('membership_refused', `${field}.p2`, 'this setup is for another member');
  const roles = pairRoles(memberByIndex(wallet, message.p1, `${field}.p1`), memberByIndex(wallet, self));
  if (roles.p1.index !== message.p1) throw new MpcError('membership_refused', `${field}.p1`, `member ${message.p1} is not the P1 of this pair`);
  const hash = modulusHash(message.paillierN);
  if (input.acceptedModuli.includes(hash)) throw new MpcError('invalid_modulus', `${field}.paillierN`, 'this Paillier key was used before; every pair and epoch needs a fresh one');
  verifyPaillierModulus(message.paillierN, message.modulusProof, `${field}.modulusProof`);
  const { point } = weighted(wallet, message.p1, self);
  verifyPdl(pdlContext(message), { publicKey: paillierPublicKey(message.paillierN), ciphertext: message.ckey, point }, message.pdlProof, `${field}.pdlProof`);
  return { pair: { counterpart: message.p1, role: 'P2', paillierN: message.paillierN, ckey: message.ckey }, modulusHash: hash };
}

export function pairSummary(message: PairSetupMsg): PairSummary {
  return { p1: message.p1, p2: message.p2, modulusHash: modulusHash(message.paillierN), ckey: message.ckey };
}

// ---- wire encoding -------------------------------------------------------------------------

export function encodePairSetupMsg(message: PairSetupMsg): object {
  return {
    type: message.type,
    version: PROTOCOL_VERSION,
    sessionId: hexFromBytes(message.sessionId),
    walletId: hexFromBytes(message.walletId),
    epoch: message.epoch,
    p1: message.p1,
    p2: message.p2,
    paillierN: encodeInteger(message.paillierN),
    modulusProof: encodePaillierModulusProof(message.modulusProof),
    ckey: encodeInteger(message.ckey),
    pdlProof: encodePdlProof(message.pdlProof),
  };
}

export function decodePairSetupMsg(value: unknown, field = 'pairSetup'): PairSetupMsg {
  const reader = new FieldReader(value, field);
  reader.literal('type', 'pair/setup');
  reader.literal('version', PROTOCOL_VERSION);
  const sessionId = reader.bytes('sessionId', SESSION_ID_BYTES);
  const walletId = reader.bytes('walletId', 32);
  const epoch = reader.count('epoch');
  const p1 = reader.count('p1');
  const p2 = reader.count('p2');
  assertMemberIndex(p1, reader.field('p1'));
  assertMemberIndex(p2, reader.field('p2'));
  const paillierN = reader.integer('paillierN', PAILLIER_MODULUS_MAX_BITS);
  checkPaillierModulus(paillierN, reader.field('paillierN'));
  const modulusProof = decodePaillierModulusProof(reader.raw('modulusProof'), reader.field('modulusProof'), paillierN);
  const ckey = reader.ciphertext('ckey', paillierN);
  const pdlProof = decodePdlProof(reader.raw('pdlProof'), reader.field('pdlProof'), bitLength(paillierN));
  reader.end();
  return { type: 'pair/setup', sessionId, walletId, epoch, p1, p2, paillierN, modulusProof, ckey, pdlProof };
}
