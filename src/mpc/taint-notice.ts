/**
 * A taint notice: the P1 that saw a signature fail tells every member, signed with its identity
 * key, so that all of them refuse the suspect from then on (in pairs and as a dealer or recipient
 * of a reshare), and a coordinator cannot leave the taint out of a proposal: a member that knows it
 * refuses such a proposal (reshare.ts).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bigIntToBytes, concatBytes, equalBytes } from './bytes.ts';
import { MpcError } from './errors.ts';
import type { Taint } from './key-share.ts';
import { MEMBER_SIGNATURE_BYTES, signStatement, verifyStatement, type MemberIdentity } from './member-signature.ts';
import { KEY_ID_BYTES } from './protocol-context.ts';
import { assertMemberIndex } from './shamir.ts';
import { PROTOCOL_VERSION } from './transcript.ts';
import { decodeTaint, encodeTaint } from './wallet-share-codec.ts';
import { FieldReader, hexFromBytes } from './wire.ts';
import { memberByIndex, memberId, pairRoles, withTaints, type WalletShare } from './wallet-share.ts';

export interface TaintNotice {
  readonly type: 'wallet/taint';
  readonly walletId: Uint8Array;
  /** The P1 that saw the failure. */
  readonly reporter: number;
  /** The P2 it was signing with. */
  readonly suspect: number;
  readonly taint: Taint;
  readonly signature: Uint8Array;
}

function noticeDigest(walletId: Uint8Array, reporter: number, suspect: number, taint: Taint): Uint8Array {
  const encoder = new TextEncoder();
  return sha256(concatBytes(encoder.encode('duet/wallet/taint'), walletId, bigIntToBytes(BigInt(reporter), 4), bigIntToBytes(BigInt(suspect), 4), encoder.encode(taint.suspect), bigIntToBytes(BigInt(taint.epoch), 4)));
}

/** The reporter (`share`, with the taint already folded in) signs the notice for `suspect`. */
export function taintNotice(share: WalletShare, suspect: number, identity: MemberIdentity): TaintNotice {
  const member = memberByIndex(share.wallet, suspect);
  const taint = share.wallet.taints.find((candidate) => candidate.suspect === memberId(member));
  if (!taint) throw new MpcError('unexpected_message', 'taint.suspect', `no taint of member ${suspect} recorded`);
  const { walletId } = share.wallet;
  return { type: 'wallet/taint', walletId, reporter: share.self, suspect, taint, signature: signStatement(identity, 'wallet/taint', noticeDigest(walletId, share.self, suspect, taint)) };
}

/**
 * Another member records the taint: signed by the reporter, who is the P1 of its pair with the
 * suspect (only a P1 can see a signature fail), and naming the suspect by its identity.
 */
export function acceptTaintNotice(share: WalletShare, notice: TaintNotice): WalletShare {
  const { wallet } = share;
  if (!equalBytes(notice.walletId, wallet.walletId)) throw new MpcError('session_mismatch', 'taint.walletId', 'a notice of another wallet');
  const reporter = memberByIndex(wallet, notice.reporter, 'taint.reporter');
  const suspect = memberByIndex(wallet, notice.suspect, 'taint.suspect');
  if (pairRoles(reporter, suspect).p1.index !== reporter.index) throw new MpcError('membership_refused', 'taint.reporter', 'only the P1 of a pair sees its signatures fail');
  if (notice.taint.suspect !== memberId(suspect)) throw new MpcError('malformed', 'taint.taint', 'the taint names another member');
  verifyStatement(reporter.identityKey, notice.signature, 'wallet/taint', noticeDigest(notice.walletId, notice.reporter, notice.suspect, notice.taint), 'taint.signature');
  return withTaints(share, [notice.taint]);
}

export function encodeTaintNotice(notice: TaintNotice): object {
  return {
    type: notice.type,
    version: PROTOCOL_VERSION,
    walletId: hexFromBytes(notice.walletId),
    reporter: notice.reporter,
    suspect: notice.suspect,
    taint: encodeTaint(notice.taint),
    signature: hexFromBytes(notice.signature),
  };
}

export function decodeTaintNotice(value: unknown, field = 'taint'): TaintNotice {
  const reader = new FieldReader(value, field);
  reader.literal('type', 'wallet/taint');
  reader.literal('version', PROTOCOL_VERSION);
  const walletId = reader.bytes('walletId', KEY_ID_BYTES);
  const reporter = reader.count('reporter');
  const suspect = reader.count('suspect');
  assertMemberIndex(reporter, reader.field('reporter'));
  assertMemberIndex(suspect, reader.field('suspect'));
  const notice: TaintNotice = { type: 'wallet/taint', walletId, reporter, suspect, taint: decodeTaint(reader.raw('taint'), reader.field('taint')), signature: reader.bytes('signature', MEMBER_SIGNATURE_BYTES) };
  reader.end();
  return notice;
}
