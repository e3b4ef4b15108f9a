/**
 * What members of a wallet say to each other besides signing (messages.ts), inside the encrypted
 * channel of each pair of members (or in an envelope passed on by a member linked to both,
 * member-envelope.ts). Each message is checked for exactly its shape before anything looks at it;
 * anything else is dropped.
 *
 *   reshare            reshare-participant.ts: {t:"reshare"|"pair-setup"|"reshare-certificate"|"reshare-status", …}
 *   pair keys          P1 → P2 {t:"pair-renew", body: pair/setup}   a fresh pair key outside a reshare
 *                      P2 → P1 {t:"pair-request", epoch, have}      P2 has no pair key with P1 (or another one)
 *   taint              P1 → all {t:"taint", notice}                 taint-notice.ts
 *   health             any → all {t:"health", …}                    share-health.ts
 *   history            any → all {t:"history", entry}               a signature or membership change
 *   settings           any → any {t:"settings", record}             settings-record.ts
 *   joining            newcomer → coordinator {t:"hello", role, name}
 *                      coordinator → newcomer {t:"members", members, dealers, coordinator}
 *                      newcomer → coordinator {t:"link-offer", to, link}   an offer for its channel with `to`
 *                      coordinator → member   {t:"introduce", candidate, link, dealer, members}
 *                      dealer ↔ newcomer      {t:"intro", …}       introduction.ts (the code on both screens)
 *                      dealer → coordinator   {t:"candidate-verified", identityKey, approved}
 *                      newcomer → coordinator {t:"join-ready"}     it authenticated every dealer
 *   relaying           any → hub {t:"forward", envelope};  hub → recipient {t:"forwarded", envelope}
 */
import { MEMBER_ROLES, type MemberRole } from '../mpc/wallet-share.ts';
import type { IntroMessage } from './introduction.ts';
import { parseMemberEnvelope, type MemberEnvelope } from './member-envelope.ts';
import type { HealthMessage } from './share-health.ts';
import type { ReshareWire } from './reshare-participant.ts';

export const MAX_DEVICE_NAME = 40;
const MAX_LINK_CHARS = 400;
const MAX_TEXT = 200;
const HEX32 = /^[0-9a-f]{64}$/;

/** A member as the other devices name and show it (identity key hex, role, the user's name for it). */
export interface MemberCard {
  readonly identityKey: string;
  readonly role: MemberRole;
  readonly name: string;
}

export interface HistoryEntryWire {
  readonly id: string;
  readonly kind: 'signature' | 'membership';
  readonly at: number;
  /** Identity keys (hex) of the members that made it: the signing pair, or the dealers. */
  readonly by: readonly string[];
  readonly title: string;
  readonly detail: string;
}

export type MemberMessage =
  | ReshareWire
  | { readonly t: 'pair-renew'; readonly body: unknown }
  | { readonly t: 'pair-request'; readonly epoch: number; readonly have: string | null }
  | { readonly t: 'taint'; readonly notice: unknown }
  | HealthMessage
  | { readonly t: 'history'; readonly entry: HistoryEntryWire }
  | { readonly t: 'settings'; readonly record: unknown }
  | { readonly t: 'hello'; readonly role: MemberRole; readonly name: string }
  | { readonly t: 'members'; readonly members: readonly MemberCard[]; readonly dealers: readonly string[]; readonly coordinator: string }
  | { readonly t: 'link-offer'; readonly to: string; readonly link: string }
  | { readonly t: 'introduce'; readonly candidate: MemberCard; readonly link: string; readonly dealer: boolean; readonly members: readonly MemberCard[] }
  | IntroMessage
  | { readonly t: 'candidate-verified'; readonly identityKey: string; readonly approved: boolean }
  | { readonly t: 'join-ready' }
  | { readonly t: 'forward'; readonly envelope: MemberEnvelope }
  | { readonly t: 'forwarded'; readonly envelope: MemberEnvelope };

type Check = (value: unknown) => boolean;
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (max: number): Check => (value) => typeof value === 'string' && value.length <= max;
const isHex32: Check = (value) => typeof value === 'string' && HEX32.test(value);
const isCount: Check = (value) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isPresent: Check = (value) => value !== undefined;
const isRole: Check = (value) => (MEMBER_ROLES as readonly unknown[]).includes(value);
const isName: Check = (value) => typeof value === 'string' && value.trim().length > 0 && value.length <= MAX_DEVICE_NAME;
const listOf = (item: Check, max: number): Check => (value) => Array.isArray(value) && value.length <= max && value.every(item);
const isEnvelope: Check = (value) => {
  try {
    parseMemberEnvelope(value);
    return true;
  } catch {
    return false;
  }
};

function exactly(value: unknown, shape: Record<string, Check>): boolean {
  if (!isObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === Object.keys(shape).length && keys.every((key) => Object.hasOwn(shape, key) && (shape[key] as Check)(value[key]));
}

const CARD: Record<string, Check> = { identityKey: isHex32, role: isRole, name: isName };
const isCard: Check = (value) => exactly(value, CARD);
const isHistoryEntry: Check = (value) =>
  exactly(value, {
    id: text(64),
    kind: (v) => v === 'signature' || v === 'membership',
    at: isCount,
    by: listOf(isHex32, 16),
    title: text(MAX_TEXT),
    detail: text(MAX_TEXT),
  });

/** The fields of each message type (besides t) and their checks. */
const SHAPES: Record<MemberMessage['t'], Record<string, Check>> = {
  reshare: { body: isPresent },
  'pair-setup': { body: isPresent },
  'reshare-certificate': { proposal: isPresent, certificate: isPresent },
  'reshare-status': { reshareId: isHex32 },
  'pair-renew': { body: isPresent },
  'pair-request': { epoch: isCount, have: (v) => v === null || isHex32(v) },
  taint: { notice: isPresent },
  health: { epoch: isCount, member: isCount, at: isCount, proof: (v) => exactly(v, { commitment: text(200), response: text(200) }) },
  history: { entry: isHistoryEntry },
  settings: { record: isPresent },
  hello: { role: isRole, name: isName },
  members: { members: listOf(isCard, 64), dealers: listOf(isHex32, 2), coordinator: isHex32 },
  'link-offer': { to: isHex32, link: text(MAX_LINK_CHARS) },
  introduce: { candidate: isCard, link: text(MAX_LINK_CHARS), dealer: (v) => typeof v === 'boolean', members: listOf(isCard, 64) },
  intro: { step: (v) => v === 'commit' || v === 'nonce' || v === 'open', value: isHex32 },
  'candidate-verified': { identityKey: isHex32, approved: (v) => typeof v === 'boolean' },
  'join-ready': {},
  forward: { envelope: isEnvelope },
  forwarded: { envelope: isEnvelope },
};

export const RESHARE_MESSAGE_TYPES: readonly MemberMessage['t'][] = ['reshare', 'pair-setup', 'reshare-certificate', 'reshare-status'];

/** The message if it has exactly the shape of its type, else null. */
export function parseMemberMessage(value: unknown): MemberMessage | null {
  if (!isObject(value) || typeof value.t !== 'string' || !Object.hasOwn(SHAPES, value.t)) return null;
  const { t, ...fields } = value;
  return exactly(fields, SHAPES[t as MemberMessage['t']]) ? (value as unknown as MemberMessage) : null;
}
