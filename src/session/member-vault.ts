/**
 * Where a member device keeps its membership, in its encrypted vault (the extension's and the
 * phone's alike): one record per piece, so that a commit writes the new share and deletes the old
 * pending one in one transaction, and one record per channel.
 *
 *   walletShare        the share (v3, wallet-share-codec.ts)
 *   member/pending     the pending share of a reshare this member confirmed
 *   member/last        the last reshare it committed, with the deletion receipts that came in
 *   member/joining     a newcomer's state (who brings it in, the dealers it checked)
 *   member/removal     the notice that removed this device
 *   member/directory   names and roles of the members
 *   member/change      the change this device coordinates
 *   member/approvals   member sets its user approved as a dealer
 *   link/<member key>  the channel with that member (its state and the relay client's)
 */
import type { LinkState } from '../channel/stored-link-state.ts';
import type { ChannelStore } from './member-channels.ts';
import {
  decodeCommitted,
  decodeDirectory,
  decodeJoining,
  decodePending,
  decodeRemoval,
  decodeShare,
  encodeCommitted,
  encodePending,
  encodeRemoval,
  encodeShare,
} from './member-records.ts';
import type { ApprovedSet, ChangeProgress, MemberRecords, MemberState, MemberStore } from './wallet-member.ts';

export const SHARE_RECORD = 'walletShare';
export const LINK_PREFIX = 'link/';
const RECORDS = {
  pending: 'member/pending',
  last: 'member/last',
  joining: 'member/joining',
  removal: 'member/removal',
  directory: 'member/directory',
  change: 'member/change',
  approvals: 'member/approvals',
} as const;

/** The vault as these functions use it (UnlockedVault satisfies it). */
export interface RecordStore {
  get<T>(key: string): Promise<T | undefined>;
  putMany(records: Record<string, unknown>): Promise<void>;
  replace(records: Record<string, unknown>, deletes: readonly string[]): Promise<void>;
  keys(): Promise<string[]>;
}

async function optional<T>(store: RecordStore, key: string, decode: (value: unknown) => T): Promise<T | null> {
  const value = await store.get<unknown>(key);
  return value === undefined ? null : decode(value);
}

/** What this device stored of its membership, and its channels. */
export async function loadMembership(store: RecordStore): Promise<{ state: MemberState; links: Map<string, LinkState> }> {
  const state: MemberState = {
    share: await optional(store, SHARE_RECORD, decodeShare),
    pending: await optional(store, RECORDS.pending, decodePending),
    last: await optional(store, RECORDS.last, decodeCommitted),
    joining: await optional(store, RECORDS.joining, decodeJoining),
    removal: await optional(store, RECORDS.removal, decodeRemoval),
    directory: (await optional(store, RECORDS.directory, decodeDirectory)) ?? [],
    change: (await store.get<ChangeProgress>(RECORDS.change)) ?? null,
    approvals: (await store.get<ApprovedSet[]>(RECORDS.approvals)) ?? [],
  };
  const links = new Map<string, LinkState>();
  for (const key of await store.keys()) {
    if (!key.startsWith(LINK_PREFIX)) continue;
    const link = await store.get<LinkState>(key);
    if (link) links.set(key.slice(LINK_PREFIX.length), link);
  }
  return { state, links };
}

/** The records a MemberRecords change writes (and deletes, for nulls), for one transaction. */
export function membershipRecords(records: MemberRecords): { puts: Record<string, unknown>; deletes: string[] } {
  const puts: Record<string, unknown> = {};
  const deletes: string[] = [];
  const set = (key: string, value: unknown) => (value === null ? deletes.push(key) : (puts[key] = value));
  if (records.share !== undefined) set(SHARE_RECORD, records.share && encodeShare(records.share));
  if (records.pending !== undefined) set(RECORDS.pending, records.pending && encodePending(records.pending));
  if (records.last !== undefined) set(RECORDS.last, records.last && encodeCommitted(records.last));
  if (records.joining !== undefined) set(RECORDS.joining, records.joining);
  if (records.removal !== undefined) set(RECORDS.removal, records.removal && encodeRemoval(records.removal));
  if (records.directory !== undefined) set(RECORDS.directory, records.directory);
  if (records.change !== undefined) set(RECORDS.change, records.change);
  if (records.approvals !== undefined) set(RECORDS.approvals, records.approvals);
  return { puts, deletes };
}

export function memberStore(store: RecordStore): MemberStore {
  return {
    write: (records) => {
      const { puts, deletes } = membershipRecords(records);
      return store.replace(puts, deletes);
    },
  };
}

export function channelStore(store: RecordStore): ChannelStore {
  return {
    write: (peer, state) => store.putMany({ [`${LINK_PREFIX}${peer}`]: state }),
    remove: (peer) => store.replace({}, [`${LINK_PREFIX}${peer}`]),
  };
}
