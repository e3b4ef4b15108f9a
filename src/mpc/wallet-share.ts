/**
 * A member's state in a {2,n} wallet: a degree-1 Shamir sharing of x over the members
 * (shamir.ts), and, per other member, the two-party key of that pair (Lindell 2017: Paillier key
 * on the pair's P1, ckey on its P2). Any two members sign with today's two-party protocol
 * (sign.ts) on the additive shares λ_i·s_i + λ_j·s_j = x; the pair views below are exactly the
 * P1KeyShare / P2KeyShare that protocol takes, so one engine serves every n, and n = 2 is the
 * pair of the first pairing.
 *
 * Roles in a pair (the less exposed device is P1: it owns the Paillier key, verifies the final
 * signature and keeps the taint): Guard over phone over extension; between two of a kind, the one
 * that joined first (lower epoch, then lower index).
 *
 * Plain data: the caller stores it (encrypted) and passes it back; see wallet-share-codec.ts.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bigIntToBytes, concatBytes, equalBytes } from './bytes.ts';
import { CURVE_ORDER, invertMod, modQ, type Point } from './curve.ts';
import { MpcError } from './errors.ts';
import { KEY_SHARE_VERSION, type P1KeyShare, type P2KeyShare, type Taint } from './key-share.ts';
import type { PaillierSecretKey } from './paillier.ts';
import { pairCoefficients } from './shamir.ts';
import { hexFromBytes } from './wire.ts';

export const WALLET_SHARE_VERSION = 3;
export const IDENTITY_KEY_BYTES = 32;

export type MemberRole = 'extension' | 'phone' | 'guard';
export const MEMBER_ROLES: readonly MemberRole[] = ['extension', 'phone', 'guard'];

export interface Member {
  /** Shamir index: ≥ 1, distinct, never reused in a wallet. */
  readonly index: number;
  /** The member's pinned Ed25519 identity public key. */
  readonly identityKey: Uint8Array;
  readonly role: MemberRole;
  /** The epoch it joined in (orders two members of one role). */
  readonly joinedEpoch: number;
}

/** What every member of an epoch holds alike. */
export interface WalletPublic {
  /** Chosen at the first key generation; the same in every epoch. */
  readonly walletId: Uint8Array;
  readonly publicKey: Point;
  readonly chainCode: Uint8Array;
  readonly epoch: number;
  /** Sorted by index. */
  readonly members: readonly Member[];
  /** S_i = s_i·G, aligned with `members`. */
  readonly publicShares: readonly Point[];
  /** Failed signatures over the wallet's whole life, each naming its suspect (memberId); never cleared. */
  readonly taints: readonly Taint[];
  /** The smallest index never used in this wallet: indices of removed members are not reused. */
  readonly nextIndex: number;
}

/** This member is the pair's P1: it owns the pair's Paillier key. */
export interface P1Pair {
  readonly counterpart: number;
  readonly role: 'P1';
  readonly paillier: PaillierSecretKey;
}

/** This member is the pair's P2: it holds the counterpart's modulus and ckey = Enc(λ·s). */
export interface P2Pair {
  readonly counterpart: number;
  readonly role: 'P2';
  readonly paillierN: bigint;
  readonly ckey: bigint;
}

export type PairKey = P1Pair | P2Pair;

export interface WalletShare {
  readonly version: typeof WALLET_SHARE_VERSION;
  readonly wallet: WalletPublic;
  /** This member's index. */
  readonly self: number;
  /** s_self = F(self). */
  readonly share: bigint;
  /** One per other member once its pair setup is done. */
  readonly pairs: readonly PairKey[];
  /** SHA-256 of every Paillier modulus this member accepted as a P2, in any epoch: none twice. */
  readonly acceptedModuli: readonly string[];
  /** Members whose removal began: no pair with them signs, from that moment (stored first). */
  readonly blocked: readonly number[];
}

const ROLE_RANK: Record<MemberRole, number> = { extension: 0, phone: 1, guard: 2 };

/** The suspect id a taint records: the member's identity key, hex. */
export function memberId(member: Pick<Member, 'identityKey'>): string {
  return hexFromBytes(member.identityKey);
}

export function memberByIndex(wallet: WalletPublic, index: number, field = 'member'): Member {
  const member = wallet.members.find((candidate) => candidate.index === index);
  if (!member) throw new MpcError('out_of_range', field, `no member ${index} in epoch ${wallet.epoch}`);
  return member;
}

export function publicShareOf(wallet: WalletPublic, index: number): Point {
  const position = wallet.members.findIndex((member) => member.index === index);
  if (position < 0) throw new MpcError('out_of_range', 'member', `no member ${index} in epoch ${wallet.epoch}`);
  return wallet.publicShares[position] as Point;
}

/** The pair's P1 and P2 by the role rule above. */
export function pairRoles(a: Member, b: Member): { readonly p1: Member; readonly p2: Member } {
  const rank = (member: Member) => [ROLE_RANK[member.role], -member.joinedEpoch, -member.index] as const;
  const [ra, rb] = [rank(a), rank(b)];
  for (let k = 0; k < ra.length; k++) {
    if (ra[k] !== rb[k]) return (ra[k] as number) > (rb[k] as number) ? { p1: a, p2: b } : { p1: b, p2: a };
  }
  throw new MpcError('out_of_range', 'pair', 'a pair needs two distinct members');
}

/** The key id the pair's two-party transcripts bind: H("duet/pair" ‖ wallet id ‖ P1 ‖ P2). */
export function pairKeyId(walletId: Uint8Array, p1: number, p2: number): Uint8Array {
  return sha256(concatBytes(new TextEncoder().encode('duet/pair'), walletId, bigIntToBytes(BigInt(p1), 2), bigIntToBytes(BigInt(p2), 2)));
}

/** How many signatures with `suspect` failed, over the wallet's life. */
export function failuresOf(wallet: WalletPublic, suspect: Member): number {
  return wallet.taints.filter((taint) => taint.suspect === memberId(suspect)).length;
}

function pairKey(share: WalletShare, counterpart: number): PairKey {
  if (share.blocked.includes(counterpart)) throw new MpcError('membership_refused', 'pair', `member ${counterpart} is being removed: its pairs do not sign`);
  const pair = share.pairs.find((candidate) => candidate.counterpart === counterpart);
  if (!pair) throw new MpcError('unexpected_message', 'pair', `no pair set up with member ${counterpart} in epoch ${share.wallet.epoch}`);
  return pair;
}

/** P1's additive view of the pair {self, counterpart}: x1 = λ_self·s_self, Q2 = λ_other·S_other. */
export function p1PairShare(share: WalletShare, counterpart: number): P1KeyShare {
  const pair = pairKey(share, counterpart);
  if (pair.role !== 'P1') throw new MpcError('unexpected_message', 'pair', `this member is P2 in its pair with member ${counterpart}`);
  const lambda = pairCoefficients(share.self, counterpart);
  const other = memberByIndex(share.wallet, counterpart);
  const { wallet } = share;
  return {
    version: KEY_SHARE_VERSION,
    keyId: pairKeyId(wallet.walletId, share.self, counterpart),
    publicKey: wallet.publicKey,
    chainCode: wallet.chainCode,
    x1: modQ(lambda.self * share.share),
    q2: publicShareOf(wallet, counterpart).multiply(lambda.other),
    paillier: pair.paillier,
    epoch: wallet.epoch,
    counterpart: memberId(other),
    taints: wallet.taints,
  };
}

/** P2's additive view of the pair {counterpart, self}: x2 = λ_self·s_self, Q1 = λ_other·S_other. */
export function p2PairShare(share: WalletShare, counterpart: number): P2KeyShare {
  const pair = pairKey(share, counterpart);
  if (pair.role !== 'P2') throw new MpcError('unexpected_message', 'pair', `this member is P1 in its pair with member ${counterpart}`);
  const lambda = pairCoefficients(share.self, counterpart);
  const { wallet } = share;
  if (failuresOf(wallet, memberByIndex(wallet, counterpart)) > 0) throw new MpcError('key_tainted', 'pair', `member ${counterpart} is the suspect of a failed signature`);
  return {
    version: KEY_SHARE_VERSION,
    keyId: pairKeyId(wallet.walletId, counterpart, share.self),
    publicKey: wallet.publicKey,
    chainCode: wallet.chainCode,
    x2: modQ(lambda.self * share.share),
    q1: publicShareOf(wallet, counterpart).multiply(lambda.other),
    paillierN: pair.paillierN,
    ckey: pair.ckey,
    epoch: wallet.epoch,
  };
}

/** Folds the taints of a pair signing (p1SignFinish's tainted share) back into the wallet share. */
export function withTaints(share: WalletShare, taints: readonly Taint[]): WalletShare {
  const known = new Set(share.wallet.taints.map((taint) => `${taint.suspect}/${taint.epoch}`));
  const added = taints.filter((taint) => !known.has(`${taint.suspect}/${taint.epoch}`));
  return added.length === 0 ? share : { ...share, wallet: { ...share.wallet, taints: [...share.wallet.taints, ...added] } };
}

/** The checks every decoded or newly built wallet state must pass. */
export function checkWalletPublic(wallet: WalletPublic, field: string): void {
  if (wallet.members.length < 2) throw new MpcError('out_of_range', `${field}.members`, 'a wallet has at least two members');
  if (wallet.publicShares.length !== wallet.members.length) throw new MpcError('malformed', `${field}.publicShares`, 'one public share per member');
  for (let k = 1; k < wallet.members.length; k++) {
    if ((wallet.members[k] as Member).index <= (wallet.members[k - 1] as Member).index) throw new MpcError('malformed', `${field}.members`, 'indices must be distinct and sorted');
  }
  if (wallet.nextIndex <= (wallet.members.at(-1) as Member).index) throw new MpcError('malformed', `${field}.nextIndex`, 'must exceed every member index');
  const identities = new Set(wallet.members.map(memberId));
  if (identities.size !== wallet.members.length) throw new MpcError('malformed', `${field}.members`, 'two members share an identity key');
  // Any two public shares interpolate to Q (a degree-1 sharing is fixed by two points).
  const [a, b] = wallet.members as [Member, Member];
  const lambda = pairCoefficients(a.index, b.index);
  const fromPair = (wallet.publicShares[0] as Point).multiply(lambda.self).add((wallet.publicShares[1] as Point).multiply(lambda.other));
  if (!fromPair.equals(wallet.publicKey)) throw new MpcError('malformed', `${field}.publicShares`, 'the public shares do not interpolate to the public key');
  for (let k = 2; k < wallet.members.length; k++) {
    const m = wallet.members[k] as Member;
    // S_m must lie on the same line: S_m = S_a + (m − a)/(b − a)·(S_b − S_a).
    const onLine = linePoint(a.index, wallet.publicShares[0] as Point, b.index, wallet.publicShares[1] as Point, m.index);
    if (!onLine.equals(wallet.publicShares[k] as Point)) throw new MpcError('malformed', `${field}.publicShares[${k}]`, 'public share is not on the sharing polynomial');
  }
}

/** The point of the degree-1 polynomial through (i, Si), (j, Sj) at m: F(0)·G + m·(Sj − Si)/(j − i). */
function linePoint(i: number, si: Point, j: number, sj: Point, m: number): Point {
  const { self: li, other: lj } = pairCoefficients(i, j);
  const constant = si.multiply(li).add(sj.multiply(lj));
  const slope = sj.subtract(si);
  return slope.is0() ? constant : constant.add(slope.multiply(modQ(BigInt(m) * invertMod(modQ(BigInt(j - i)), CURVE_ORDER))));
}

export function sameMember(a: Member, b: Member): boolean {
  return a.index === b.index && a.role === b.role && a.joinedEpoch === b.joinedEpoch && equalBytes(a.identityKey, b.identityKey);
}
