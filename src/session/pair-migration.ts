/**
 * Moving a device of the first version (one pair: the phone P1, the extension P2, additive shares)
 * onto the {2,n} wallet, once, at the first unlock after the update: its stored pair share becomes
 * its WalletShare (wallet-share-codec.ts: the phone is member 1, the extension member 2; the other
 * device's identity is the one its channel pinned at pairing), its channel (with its direct-path
 * state, if stored) becomes the channel record of that member, and the old records go — all in
 * one vault transaction, so a crash leaves either the old records or the new ones.
 *
 * The migrated pair has no pair key: the old Paillier modulus and ckey were accepted by the checks
 * of before the modulus proofs. Its P1 (the phone) sets up a fresh one over the channel before the
 * first signature (wallet-member.ts, "pair keys"). The phone's taint record is applied first, so
 * a taint survives the move, renamed to the extension's member id.
 */
import { decodeBase64Url } from '../channel/base64url.ts';
import type { PathSwitchState } from '../channel/path-switch.ts';
import type { RelayClientState } from '../channel/relay-client.ts';
import type { SecureChannelState } from '../channel/secure-channel.ts';
import type { Identity } from '../channel/handshake.ts';
import { decodeP1KeyShare, decodeP2KeyShare } from '../mpc/key-share-codec.ts';
import { extensionWalletShare, phoneWalletShare } from '../mpc/wallet-share-codec.ts';
import { memberId, type MemberRole, type WalletShare } from '../mpc/wallet-share.ts';
import { hexFromBytes } from '../mpc/wire.ts';
import type { DirectoryEntry } from './member-records.ts';
import { LINK_PREFIX, membershipRecords, type RecordStore } from './member-vault.ts';
import { applyTaintRecord, type TaintRecord } from './phone-cosigner.ts';
import { SessionError } from './session-error.ts';

/** The pair share, and the link's channel, relay-client and direct-path states (the last one absent before the direct path). */
const LEGACY = ['keyShare', 'channel', 'relay', 'path'] as const;

export interface MigrationNames {
  readonly self: string;
  /** What the other device was called on this one. */
  readonly peer: string;
}

/**
 * Migrates this device's records if they are of the first version; returns the new share, or null
 * when there was nothing to migrate. `extraDeletes`: other records of the first version to drop in
 * the same transaction; `extraPuts`: records to write with it.
 */
export async function migratePairRecords(
  store: RecordStore,
  identity: Identity,
  role: Extract<MemberRole, 'phone' | 'extension'>,
  names: MigrationNames,
  now: number,
  extra: { readonly puts?: Record<string, unknown>; readonly deletes?: readonly string[] } = {},
): Promise<WalletShare | null> {
  const [shareJson, channel, relay, path] = await Promise.all(LEGACY.map((key) => store.get<unknown>(key)));
  if (shareJson === undefined || (await store.get<unknown>('walletShare')) !== undefined) return null;
  const pinned = typeof (channel as SecureChannelState | undefined)?.pinnedPeer === 'string' ? decodeBase64Url((channel as SecureChannelState).pinnedPeer as string) : null;
  if (!pinned || pinned.length !== 32 || !relay) throw new SessionError('malformed', 'the stored pairing has no pinned identity: unpair and pair again');
  const peer = hexFromBytes(pinned);
  let share: WalletShare;
  if (role === 'phone') {
    const p1 = applyTaintRecord(decodeP1KeyShare(shareJson), await store.get<TaintRecord>('taint'));
    share = phoneWalletShare(p1, { phone: identity.publicKey, extension: pinned }, false);
  } else {
    share = extensionWalletShare(decodeP2KeyShare(shareJson), { phone: pinned, extension: identity.publicKey }, false);
  }
  const self = memberId({ identityKey: identity.publicKey });
  const directory: DirectoryEntry[] = [
    { identityKey: self, role, name: names.self, addedAt: now },
    { identityKey: peer, role: role === 'phone' ? 'extension' : 'phone', name: names.peer, addedAt: now },
  ];
  const { puts } = membershipRecords({ share, directory });
  await store.replace({ ...puts, [`${LINK_PREFIX}${peer}`]: { channel: channel as SecureChannelState, relay: relay as RelayClientState, ...(path !== undefined ? { path: path as PathSwitchState } : {}) }, ...extra.puts }, [...LEGACY, ...(extra.deletes ?? [])]);
  return share;
}
