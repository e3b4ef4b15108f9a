/**
 * Health of the quorum: each member proves, now and then, that it still holds a working share — a
 * Schnorr proof of knowledge of s_i for its public share S_i of the current epoch, bound to the
 * wallet, the epoch, the member and the time it was made. It costs two scalar multiplications,
 * shows nothing of s_i, and catches a phone whose storage was evicted (Safari drops script-written
 * storage of sites unused for 7 days unless installed to the home screen) before that phone is
 * needed.
 *
 *   member → every other member   {t:"health", epoch, member, at, proof}
 *
 * A receiver accepts a proof for its own epoch, made less than MAX_PROOF_AGE_MS ago (and not from
 * the future beyond the same margin), and records `at` as that member's last proof.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bigIntToBytes, concatBytes } from '../mpc/bytes.ts';
import { transcriptContext } from '../mpc/protocol-context.ts';
import { decodeSchnorrProof, encodeSchnorrProof, proveDiscreteLog, verifyDiscreteLog } from '../mpc/zk/schnorr.ts';
import { publicShareOf, type WalletPublic, type WalletShare } from '../mpc/wallet-share.ts';
import { SessionError } from './session-error.ts';

export const MAX_PROOF_AGE_MS = 24 * 3600_000;
/** How often a member sends a fresh proof to the others while it runs. */
export const HEALTH_INTERVAL_MS = 6 * 3600_000;

export interface HealthMessage {
  readonly t: 'health';
  readonly epoch: number;
  readonly member: number;
  readonly at: number;
  readonly proof: { readonly commitment: string; readonly response: string };
}

function context(wallet: Pick<WalletPublic, 'walletId'>, epoch: number, member: number, at: number) {
  const session = sha256(concatBytes(new TextEncoder().encode('duet/health'), bigIntToBytes(BigInt(epoch), 4), bigIntToBytes(BigInt(member), 4), bigIntToBytes(BigInt(at), 8)));
  return transcriptContext('health/share', session, wallet.walletId, 'P1');
}

export function proveShareHealth(share: WalletShare, at: number): HealthMessage {
  const { wallet, self } = share;
  const proof = proveDiscreteLog(context(wallet, wallet.epoch, self, at), share.share, publicShareOf(wallet, self));
  return { t: 'health', epoch: wallet.epoch, member: self, at, proof: encodeSchnorrProof(proof) };
}

/** The time the member proved its share at; SessionError or MpcError when the proof does not hold. */
export function checkShareHealth(wallet: WalletPublic, message: HealthMessage, now: number): number {
  if (message.epoch !== wallet.epoch) throw new SessionError('stale', `a proof for epoch ${message.epoch}; this member is in epoch ${wallet.epoch}`);
  if (!Number.isSafeInteger(message.at) || Math.abs(now - message.at) > MAX_PROOF_AGE_MS) throw new SessionError('stale', 'the proof is too old (or from the future)');
  const statement = publicShareOf(wallet, message.member);
  verifyDiscreteLog(context(wallet, message.epoch, message.member, message.at), statement, decodeSchnorrProof(message.proof, 'health.proof'), 'health.proof');
  return message.at;
}
