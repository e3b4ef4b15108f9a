/**
 * Sign-In with Ethereum (EIP-4361) messages inside personal_sign: parsed for display, and checked
 * against the site that asks, as MetaMask does (its SIWE domain check compares the message's
 * domain with the requesting origin).
 *
 * A message whose first line has the EIP-4361 header ("<domain> wants you to sign in with your
 * Ethereum account:") is treated as a sign-in whatever follows, so a malformed body cannot hide a
 * foreign domain: the header's domain is always compared with the requesting origin. The body is
 * parsed by the EIP-4361 grammar: address line, blank line, optional statement, blank line, then
 * "URI", "Version", "Chain ID", "Nonce", "Issued At" and the optional "Expiration Time", "Not
 * Before", "Request ID" and "Resources" in that order.
 */
const HEADER = /^(?:([a-zA-Z][a-zA-Z0-9+.-]*):\/\/)?(\S+) wants you to sign in with your Ethereum account:$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const REQUIRED_TAGS = ['URI', 'Version', 'Chain ID', 'Nonce', 'Issued At'] as const;
const OPTIONAL_TAGS = ['Expiration Time', 'Not Before', 'Request ID'] as const;

export interface SiweMessage {
  /** The scheme written before the domain, if any. */
  readonly scheme: string | null;
  /** host[:port] the message signs in to. */
  readonly domain: string;
  /** null when the body does not follow EIP-4361. */
  readonly parsed: {
    readonly address: string;
    readonly statement: string | null;
    readonly fields: readonly (readonly [string, string])[];
    readonly resources: readonly string[];
  } | null;
}

/** The message's sign-in fields, or null when the text is not a sign-in. */
export function parseSiwe(text: string): SiweMessage | null {
  const lines = text.split('\n');
  const header = HEADER.exec(lines[0] ?? '');
  if (!header) return null;
  return { scheme: header[1] ?? null, domain: header[2] as string, parsed: parseBody(lines.slice(1)) };
}

function parseBody(lines: readonly string[]): SiweMessage['parsed'] {
  const [address, blank] = lines;
  if (address === undefined || !ADDRESS.test(address) || blank !== '') return null;
  let index = 2;
  let statement: string | null = null;
  if (lines[index] !== '') {
    statement = lines[index] ?? null;
    index++;
  }
  if (lines[index] !== '') return null;
  index++;
  const fields: [string, string][] = [];
  for (const tag of REQUIRED_TAGS) {
    const value = taggedValue(lines[index], tag);
    if (value === null) return null;
    fields.push([tag, value]);
    index++;
  }
  for (const tag of OPTIONAL_TAGS) {
    const value = taggedValue(lines[index], tag);
    if (value === null) continue;
    fields.push([tag, value]);
    index++;
  }
  const resources: string[] = [];
  if (lines[index] === 'Resources:') {
    for (index++; lines[index]?.startsWith('- '); index++) resources.push((lines[index] as string).slice(2));
  }
  if (index !== lines.length) return null;
  return { address, statement, fields, resources };
}

function taggedValue(line: string | undefined, tag: string): string | null {
  const prefix = `${tag}: `;
  return line?.startsWith(prefix) && line.length > prefix.length ? line.slice(prefix.length) : null;
}

/**
 * Whether the sign-in is for the site that asks: the message's domain (host and port) is the
 * origin's, and a scheme, when written, is the origin's scheme.
 */
export function siweMatchesOrigin(message: SiweMessage, origin: string): boolean {
  let requester: URL;
  let signedIn: URL;
  try {
    requester = new URL(origin);
    signedIn = new URL(`${message.scheme ?? requester.protocol.slice(0, -1)}://${message.domain}`);
  } catch {
    return false;
  }
  if (signedIn.username !== '' || signedIn.password !== '' || signedIn.pathname !== '/' || signedIn.search !== '' || signedIn.hash !== '') return false;
  return signedIn.protocol === requester.protocol && signedIn.host === requester.host;
}
