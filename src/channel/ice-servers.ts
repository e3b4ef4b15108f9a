/**
 * ICE servers for the direct path, as the user types them in the popup's Advanced settings and
 * as they travel to the phone inside the encrypted offer: one server per line,
 * `URL [username credential]`, URL one of stun:, turn:, turns: (RFC 7064, RFC 7065). The default
 * is none: host candidates only, which connect two devices on one network and contact no
 * third-party server.
 */
import type { IceServerConfig } from './rtc-session.ts';

export const MAX_ICE_SERVERS = 8;
const MAX_URL_LENGTH = 256;
const MAX_SECRET_LENGTH = 256;
const ICE_URL = /^(stun|turn|turns):[^\s?#]+(\?transport=(udp|tcp))?$/;

export class IceServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IceServerError';
  }
}

function checked(urls: string, username?: string, credential?: string): IceServerConfig {
  if (urls.length > MAX_URL_LENGTH || !ICE_URL.test(urls)) throw new IceServerError(`"${urls.slice(0, 40)}" is not a stun:, turn: or turns: address.`);
  const turn = urls.startsWith('turn');
  if (turn && (username === undefined || credential === undefined)) throw new IceServerError(`${urls} is a TURN server: give its username and credential after the address.`);
  if (!turn && (username !== undefined || credential !== undefined)) throw new IceServerError(`${urls} is a STUN server: it takes no username or credential.`);
  if ((username?.length ?? 0) > MAX_SECRET_LENGTH || (credential?.length ?? 0) > MAX_SECRET_LENGTH) throw new IceServerError('A username or credential is too long.');
  return username === undefined ? { urls } : { urls, username, credential: credential as string };
}

/** The servers in `text` (one per line, blank lines ignored), or IceServerError saying which line is wrong. */
export function parseIceServerLines(text: string): IceServerConfig[] {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (lines.length > MAX_ICE_SERVERS) throw new IceServerError(`At most ${MAX_ICE_SERVERS} ICE servers.`);
  return lines.map((line) => {
    const [urls, username, credential, ...rest] = line.split(/\s+/) as [string, string?, string?, ...string[]];
    if (rest.length > 0 || (username !== undefined && credential === undefined)) throw new IceServerError(`Write "${urls} username credential", or the address alone for a STUN server.`);
    return checked(urls, username, credential);
  });
}

export function formatIceServerLines(servers: readonly IceServerConfig[]): string {
  return servers.map((server) => [server.urls, server.username, server.credential].filter((part) => part !== undefined).join(' ')).join('\n');
}

/** ICE servers from an untrusted value (stored settings, a received offer); null when anything is off. */
export function parseIceServers(value: unknown): IceServerConfig[] | null {
  if (!Array.isArray(value) || value.length > MAX_ICE_SERVERS) return null;
  try {
    return value.map((entry: unknown) => {
      if (typeof entry !== 'object' || entry === null) throw new IceServerError('not an object');
      const { urls, username, credential, ...rest } = entry as Record<string, unknown>;
      if (Object.keys(rest).length > 0 || typeof urls !== 'string') throw new IceServerError('unexpected fields');
      if ((username !== undefined && typeof username !== 'string') || (credential !== undefined && typeof credential !== 'string')) throw new IceServerError('not text');
      return checked(urls, username, credential);
    });
  } catch {
    return null;
  }
}
