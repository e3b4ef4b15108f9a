/**
 * The settings record: what a browser needs to look like the lost one after a recovery — account
 * names, networks (with their RPC URLs) and the active network. The browser signs it with its
 * identity key and sends it to every member whenever it changes; each member keeps the latest in
 * its encrypted vault and hands it to a browser that recovers the wallet, which takes it only if a
 * member of the wallet (old or current) signed it. Small: at most MAX_SETTINGS_CHARS of JSON.
 *
 *   {v:1, author, at, body: {accounts:[{index,name}], networks:[{chainId,name,symbol,rpcUrl,explorerUrl}], activeChainId}, signature}
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { signStatement, verifyStatement, type MemberIdentity } from '../mpc/member-signature.ts';
import { bytesFromHex, hexFromBytes } from '../mpc/wire.ts';
import { SessionError } from './session-error.ts';

export const MAX_SETTINGS_CHARS = 32 * 1024;
const LABEL = 'wallet/settings';

export interface SettingsBody {
  readonly accounts: readonly { readonly index: number; readonly name: string }[];
  readonly networks: readonly { readonly chainId: number; readonly name: string; readonly symbol: string; readonly rpcUrl: string; readonly explorerUrl?: string }[];
  readonly activeChainId: number;
}

export interface SettingsRecord {
  readonly v: 1;
  readonly author: string;
  readonly at: number;
  readonly body: SettingsBody;
  readonly signature: string;
}

function digest(author: string, at: number, body: SettingsBody): Uint8Array {
  return sha256(new TextEncoder().encode(JSON.stringify({ author, at, body })));
}

export function signSettings(identity: MemberIdentity, body: SettingsBody, at: number): SettingsRecord {
  const author = hexFromBytes(identity.publicKey);
  return { v: 1, author, at, body, signature: hexFromBytes(signStatement(identity, LABEL, digest(author, at, body))) };
}

const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length <= max;
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function checkBody(value: unknown): SettingsBody {
  const body = value as SettingsBody;
  if (typeof value !== 'object' || value === null || !Array.isArray(body.accounts) || !Array.isArray(body.networks) || !isCount(body.activeChainId)) throw new SessionError('malformed', 'the settings record is damaged');
  for (const account of body.accounts) if (!isCount(account?.index) || !isText(account.name, 64)) throw new SessionError('malformed', 'an account in the settings record is damaged');
  for (const network of body.networks) {
    if (!isCount(network?.chainId) || !isText(network.name, 64) || !isText(network.symbol, 16) || !isText(network.rpcUrl, 512) || (network.explorerUrl !== undefined && !isText(network.explorerUrl, 512))) throw new SessionError('malformed', 'a network in the settings record is damaged');
  }
  return body;
}

/** The body, if `value` is a record signed by one of `members` (identity keys, hex); else a SessionError. */
export function openSettings(value: unknown, members: readonly string[]): SettingsBody {
  if (JSON.stringify(value ?? null).length > MAX_SETTINGS_CHARS) throw new SessionError('malformed', 'the settings record is too large');
  const record = value as SettingsRecord;
  if (typeof value !== 'object' || value === null || record.v !== 1 || !isText(record.author, 64) || !/^[0-9a-f]{64}$/.test(record.author) || !isCount(record.at) || !isText(record.signature, 128)) throw new SessionError('malformed', 'the settings record is damaged');
  if (!members.includes(record.author)) throw new SessionError('not_member', 'the settings record was not made by a member of this wallet');
  const body = checkBody(record.body);
  try {
    verifyStatement(bytesFromHex(record.author), bytesFromHex(record.signature), LABEL, digest(record.author, record.at, body), 'settings.signature');
  } catch {
    throw new SessionError('bad_signature', 'the settings record is not signed by the member it names');
  }
  return body;
}
