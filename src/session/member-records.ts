/**
 * What a member stores about the wallet besides its channels (each app encrypts it in its vault):
 * its share, the pending share of a reshare it confirmed, the last reshare it committed (with the
 * deletion receipts that came in), the notice that removed it, the newcomer's joining state, and
 * the directory of member names. JSON encodings with strict decoders: a damaged record is an
 * error naming it, never a half-read state.
 */
import type { CommitCertificate, PendingReshare, ReshareProposal } from '../mpc/reshare.ts';
import { decodeCertificate, decodeReshareMessage, encodeCertificate, encodeReshareMessage } from '../mpc/reshare-messages.ts';
import { decodeWalletShare, encodeWalletShare } from '../mpc/wallet-share-codec.ts';
import type { WalletShare } from '../mpc/wallet-share.ts';
import { bytesFromHex, hexFromBytes } from '../mpc/wire.ts';
import { MAX_DEVICE_NAME, type MemberCard } from './member-messages.ts';
import { SessionError } from './session-error.ts';

export interface CommittedReshare {
  readonly proposal: ReshareProposal;
  readonly certificate: CommitCertificate;
  /** Identity keys (hex) of the members whose deletion receipt for the old epoch arrived. */
  readonly receipts: readonly string[];
  /** When this member committed it. */
  readonly at: number;
}

export interface PendingRecord {
  readonly pending: PendingReshare;
  readonly proposal: ReshareProposal;
}

export interface RemovalRecord {
  readonly proposal: ReshareProposal;
  readonly certificate: CommitCertificate;
}

/** A device that joins: who brings it in, the members it links with, the dealers it checked. */
export interface JoiningState {
  readonly coordinator: string;
  readonly members: readonly MemberCard[];
  readonly dealers: readonly string[];
  /** Dealers whose code this device's user confirmed (the coordinator: by the pairing code). */
  readonly pinned: readonly string[];
}

export interface DirectoryEntry extends MemberCard {
  readonly addedAt: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, name: string, keys: readonly string[]): Record<string, unknown> {
  if (!isObject(value) || Object.keys(value).length !== keys.length || !keys.every((key) => Object.hasOwn(value, key))) throw new SessionError('malformed', `the stored ${name} is damaged`);
  return value;
}

function proposalOf(value: unknown, name: string): ReshareProposal {
  const message = decodeReshareMessage(value, name);
  if (message.type !== 'reshare/proposal') throw new SessionError('malformed', `the stored ${name} is not a proposal`);
  return message;
}

const hexList = (value: unknown, name: string): string[] => {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && /^[0-9a-f]{64}$/.test(item))) throw new SessionError('malformed', `the stored ${name} is damaged`);
  return value as string[];
};

export const encodeShare = (share: WalletShare): object => encodeWalletShare(share);
export const decodeShare = (value: unknown): WalletShare => decodeWalletShare(value);

export function encodePending(record: PendingRecord): object {
  return { proposalDigest: hexFromBytes(record.pending.proposalDigest), h2: hexFromBytes(record.pending.h2), next: encodeWalletShare(record.pending.next), proposal: encodeReshareMessage(record.proposal) };
}

export function decodePending(value: unknown): PendingRecord {
  const record = object(value, 'pending reshare', ['proposalDigest', 'h2', 'next', 'proposal']);
  if (typeof record.proposalDigest !== 'string' || typeof record.h2 !== 'string') throw new SessionError('malformed', 'the stored pending reshare is damaged');
  return { pending: { proposalDigest: bytesFromHex(record.proposalDigest), h2: bytesFromHex(record.h2), next: decodeWalletShare(record.next) }, proposal: proposalOf(record.proposal, 'pending.proposal') };
}

export function encodeCommitted(record: CommittedReshare): object {
  return { proposal: encodeReshareMessage(record.proposal), certificate: encodeCertificate(record.certificate), receipts: [...record.receipts], at: record.at };
}

export function decodeCommitted(value: unknown): CommittedReshare {
  const record = object(value, 'last reshare', ['proposal', 'certificate', 'receipts', 'at']);
  if (typeof record.at !== 'number') throw new SessionError('malformed', 'the stored last reshare is damaged');
  return { proposal: proposalOf(record.proposal, 'last.proposal'), certificate: decodeCertificate(record.certificate, 'last.certificate'), receipts: hexList(record.receipts, 'receipts'), at: record.at };
}

export function encodeRemoval(record: RemovalRecord): object {
  return { proposal: encodeReshareMessage(record.proposal), certificate: encodeCertificate(record.certificate) };
}

export function decodeRemoval(value: unknown): RemovalRecord {
  const record = object(value, 'removal notice', ['proposal', 'certificate']);
  return { proposal: proposalOf(record.proposal, 'removal.proposal'), certificate: decodeCertificate(record.certificate, 'removal.certificate') };
}

function card(value: unknown, name: string): MemberCard {
  const record = object(value, name, ['identityKey', 'role', 'name']);
  if (typeof record.identityKey !== 'string' || !/^[0-9a-f]{64}$/.test(record.identityKey) || !['extension', 'phone', 'guard'].includes(record.role as string) || typeof record.name !== 'string' || record.name.length > MAX_DEVICE_NAME) {
    throw new SessionError('malformed', `the stored ${name} is damaged`);
  }
  return record as unknown as MemberCard;
}

export function decodeJoining(value: unknown): JoiningState {
  const record = object(value, 'joining state', ['coordinator', 'members', 'dealers', 'pinned']);
  if (!Array.isArray(record.members)) throw new SessionError('malformed', 'the stored joining state is damaged');
  return { coordinator: hexList([record.coordinator], 'coordinator')[0] as string, members: record.members.map((item) => card(item, 'joining member')), dealers: hexList(record.dealers, 'dealers'), pinned: hexList(record.pinned, 'pinned') };
}

export function decodeDirectory(value: unknown): DirectoryEntry[] {
  if (!Array.isArray(value)) throw new SessionError('malformed', 'the stored member directory is damaged');
  return value.map((item) => {
    const { addedAt, ...rest } = isObject(item) ? item : {};
    if (typeof addedAt !== 'number') throw new SessionError('malformed', 'the stored member directory is damaged');
    return { ...card(rest, 'directory entry'), addedAt };
  });
}
