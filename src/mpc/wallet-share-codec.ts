/**
 * JSON encoding of a member's wallet share for storage (the caller encrypts it), with a strict
 * decoder: a damaged or foreign record is refused with an MpcError naming the field. Also the two
 * ways a pair share of the first version becomes a wallet share: right after key generation (the
 * pair's key is the keygen's), and migration of a stored share (no pair key until a fresh pair
 * setup: the old modulus was accepted by the checks of before the modulus proof).
 */
import { G, invertMod, modQ, CURVE_ORDER, type Point } from './curve.ts';
import { MpcError } from './errors.ts';
import { CHAIN_CODE_BYTES } from './keygen.ts';
import type { P1KeyShare, P2KeyShare, Taint } from './key-share.ts';
import { paillierSecretKeyFromPrimes } from './paillier.ts';
import { modulusHash } from './pair-setup.ts';
import { isProbablePrime } from './primes.ts';
import { KEY_ID_BYTES } from './protocol-context.ts';
import { assertMemberIndex } from './shamir.ts';
import {
  IDENTITY_KEY_BYTES,
  MEMBER_ROLES,
  WALLET_SHARE_VERSION,
  checkWalletPublic,
  memberByIndex,
  memberId,
  pairRoles,
  publicShareOf,
  type Member,
  type MemberRole,
  type PairKey,
  type WalletPublic,
  type WalletShare,
} from './wallet-share.ts';
import { FieldReader, encodeInteger, encodePoint, encodeScalar, hexFromBytes } from './wire.ts';
import { PAILLIER_MODULUS_MAX_BITS, checkPaillierModulus } from './zk/paillier-validity.ts';

/** More than this many members, taints or moduli is damage, not a wallet. */
const MAX_MEMBERS = 64;
const MAX_TAINTS = 64;
const MAX_MODULI = 4096;
const STORED_PRIME_ROUNDS = 20;

export function encodeMember(member: Member): object {
  return { index: member.index, identityKey: hexFromBytes(member.identityKey), role: member.role, joinedEpoch: member.joinedEpoch };
}

export function decodeMember(value: unknown, field: string): Member {
  const reader = new FieldReader(value, field);
  const index = reader.count('index');
  assertMemberIndex(index, reader.field('index'));
  const identityKey = reader.bytes('identityKey', IDENTITY_KEY_BYTES);
  const role = reader.string('role', 16);
  if (!(MEMBER_ROLES as readonly string[]).includes(role)) throw new MpcError('malformed', reader.field('role'), `expected one of ${MEMBER_ROLES.join(', ')}`);
  const joinedEpoch = reader.count('joinedEpoch');
  reader.end();
  return { index, identityKey, role: role as MemberRole, joinedEpoch };
}

export function encodeTaint(taint: Taint): object {
  return { suspect: taint.suspect, epoch: taint.epoch };
}

export function decodeTaint(value: unknown, field: string): Taint {
  const reader = new FieldReader(value, field);
  const taint: Taint = { suspect: reader.string('suspect'), epoch: reader.count('epoch') };
  reader.end();
  return taint;
}

function encodePair(pair: PairKey): object {
  return pair.role === 'P1'
    ? { counterpart: pair.counterpart, role: 'P1', paillierP: encodeInteger(pair.paillier.p), paillierQ: encodeInteger(pair.paillier.q) }
    : { counterpart: pair.counterpart, role: 'P2', paillierN: encodeInteger(pair.paillierN), ckey: encodeInteger(pair.ckey) };
}

function checkPrime(prime: bigint, field: string): void {
  if (prime % 4n !== 3n || !isProbablePrime(prime, STORED_PRIME_ROUNDS)) throw new MpcError('malformed', field, 'not a Blum prime');
}

function decodePair(value: unknown, field: string): PairKey {
  const reader = new FieldReader(value, field);
  const counterpart = reader.count('counterpart');
  assertMemberIndex(counterpart, reader.field('counterpart'));
  const role = reader.string('role', 2);
  if (role === 'P1') {
    const p = reader.integer('paillierP', PAILLIER_MODULUS_MAX_BITS / 2);
    const q = reader.integer('paillierQ', PAILLIER_MODULUS_MAX_BITS / 2);
    reader.end();
    checkPrime(p, `${field}.paillierP`);
    checkPrime(q, `${field}.paillierQ`);
    checkPaillierModulus(p * q, `${field}.paillier`);
    return { counterpart, role: 'P1', paillier: paillierSecretKeyFromPrimes(p, q) };
  }
  if (role !== 'P2') throw new MpcError('malformed', reader.field('role'), 'expected P1 or P2');
  const paillierN = reader.integer('paillierN', PAILLIER_MODULUS_MAX_BITS);
  const ckey = reader.ciphertext('ckey', paillierN);
  reader.end();
  return { counterpart, role: 'P2', paillierN, ckey };
}

export function encodeWalletPublic(wallet: WalletPublic): object {
  return {
    walletId: hexFromBytes(wallet.walletId),
    publicKey: encodePoint(wallet.publicKey),
    chainCode: hexFromBytes(wallet.chainCode),
    epoch: wallet.epoch,
    members: wallet.members.map(encodeMember),
    publicShares: wallet.publicShares.map(encodePoint),
    taints: wallet.taints.map(encodeTaint),
    nextIndex: wallet.nextIndex,
  };
}

export function decodeWalletPublic(value: unknown, field: string): WalletPublic {
  const reader = new FieldReader(value, field);
  const wallet: WalletPublic = {
    walletId: reader.bytes('walletId', KEY_ID_BYTES),
    publicKey: reader.point('publicKey'),
    chainCode: reader.bytes('chainCode', CHAIN_CODE_BYTES),
    epoch: reader.count('epoch'),
    members: reader.list('members', MAX_MEMBERS, decodeMember),
    publicShares: reader.list('publicShares', MAX_MEMBERS, (item, itemField) => new FieldReader({ point: item }, itemField).point('point')),
    taints: reader.list('taints', MAX_TAINTS, decodeTaint),
    nextIndex: reader.count('nextIndex'),
  };
  reader.end();
  checkWalletPublic(wallet, field);
  return wallet;
}

export function encodeWalletShare(share: WalletShare): object {
  return {
    kind: 'duet/wallet-share',
    version: WALLET_SHARE_VERSION,
    wallet: encodeWalletPublic(share.wallet),
    self: share.self,
    share: encodeScalar(share.share),
    pairs: share.pairs.map(encodePair),
    acceptedModuli: [...share.acceptedModuli],
    blocked: [...share.blocked],
  };
}

export function decodeWalletShare(value: unknown): WalletShare {
  const reader = new FieldReader(value, 'walletShare');
  reader.literal('kind', 'duet/wallet-share');
  reader.literal('version', WALLET_SHARE_VERSION);
  const wallet = decodeWalletPublic(reader.raw('wallet'), reader.field('wallet'));
  const self = reader.count('self');
  const share = reader.scalar('share');
  const pairs = reader.list('pairs', MAX_MEMBERS, decodePair);
  const acceptedModuli = reader.list('acceptedModuli', MAX_MODULI, (item, itemField) => {
    if (typeof item !== 'string' || !/^[0-9a-f]{64}$/.test(item)) throw new MpcError('malformed', itemField, 'expected a SHA-256 in hex');
    return item;
  });
  const blocked = reader.list('blocked', MAX_MEMBERS, (item, itemField) => new FieldReader({ index: item }, itemField).count('index'));
  reader.end();
  const me = memberByIndex(wallet, self, 'walletShare.self');
  if (!G.multiply(share).equals(publicShareOf(wallet, self))) throw new MpcError('malformed', 'walletShare.share', 'does not match this member\'s public share');
  const seen = new Set<number>();
  pairs.forEach((pair, k) => {
    const field = `walletShare.pairs[${k}]`;
    if (pair.counterpart === self || seen.has(pair.counterpart)) throw new MpcError('malformed', field, 'one pair per other member');
    seen.add(pair.counterpart);
    const roles = pairRoles(me, memberByIndex(wallet, pair.counterpart, `${field}.counterpart`));
    if ((roles.p1.index === self) !== (pair.role === 'P1')) throw new MpcError('malformed', `${field}.role`, 'the role rule gives this member the other role');
  });
  return { version: WALLET_SHARE_VERSION, wallet, self, share, pairs, acceptedModuli, blocked };
}

// ---- from the pair of the first pairing ---------------------------------------------------

/** The phone is member 1 and the extension member 2: λ₁ = 2, λ₂ = −1 for the pair {1, 2}. */
export const FIRST_PAIR = { phone: 1, extension: 2 } as const;

export interface FirstPairIdentities {
  readonly phone: Uint8Array;
  readonly extension: Uint8Array;
}

const TWO_INVERSE = invertMod(2n, CURVE_ORDER);

/**
 * The n = 2 wallet of additive shares x1 (phone) + x2 (extension): s₁ = x1/2, s₂ = −x2,
 * S₁ = 2⁻¹·Q1, S₂ = −Q2 (so 2·s₁ − s₂ = x1 + x2 = x). `taints` of the phone's share are renamed to
 * the extension's member id.
 */
function firstPairWallet(base: { keyId: Uint8Array; publicKey: Point; chainCode: Uint8Array; epoch: number }, q1: Point, q2: Point, identities: FirstPairIdentities, taints: readonly Taint[]): WalletPublic {
  const members: Member[] = [
    { index: FIRST_PAIR.phone, identityKey: identities.phone, role: 'phone', joinedEpoch: 0 },
    { index: FIRST_PAIR.extension, identityKey: identities.extension, role: 'extension', joinedEpoch: 0 },
  ];
  return {
    walletId: base.keyId,
    publicKey: base.publicKey,
    chainCode: base.chainCode,
    epoch: base.epoch,
    members,
    publicShares: [q1.multiply(TWO_INVERSE), q2.negate()],
    taints,
    nextIndex: 3,
  };
}

const extensionTaints = (share: P1KeyShare, extension: Uint8Array): Taint[] =>
  share.taints.map((taint) => (taint.suspect === share.counterpart ? { suspect: memberId({ identityKey: extension }), epoch: taint.epoch } : taint));

/**
 * The phone's wallet share from its pair share. `keepPair`: true right after the key generation of
 * this version (its modulus passed the modulus proof), false when migrating a stored share.
 */
export function phoneWalletShare(share: P1KeyShare, identities: FirstPairIdentities, keepPair: boolean): WalletShare {
  const wallet = firstPairWallet(share, G.multiply(share.x1), share.q2, identities, extensionTaints(share, identities.extension));
  const pairs: PairKey[] = keepPair ? [{ counterpart: FIRST_PAIR.extension, role: 'P1', paillier: share.paillier }] : [];
  return { version: WALLET_SHARE_VERSION, wallet, self: FIRST_PAIR.phone, share: modQ(share.x1 * TWO_INVERSE), pairs, acceptedModuli: [], blocked: [] };
}

/** The extension's wallet share from its pair share (see phoneWalletShare for `keepPair`). */
export function extensionWalletShare(share: P2KeyShare, identities: FirstPairIdentities, keepPair: boolean): WalletShare {
  const wallet = firstPairWallet(share, share.q1, G.multiply(share.x2), identities, []);
  const pairs: PairKey[] = keepPair ? [{ counterpart: FIRST_PAIR.phone, role: 'P2', paillierN: share.paillierN, ckey: share.ckey }] : [];
  return { version: WALLET_SHARE_VERSION, wallet, self: FIRST_PAIR.extension, share: modQ(-share.x2), pairs, acceptedModuli: [modulusHash(share.paillierN)], blocked: [] };
}
