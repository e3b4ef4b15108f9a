/**
 * What the phone app's server must send with it, and where the app may run (issue 11, point 5).
 * Whoever serves the phone app controls the phone's veto, so the app is served from its own static
 * origin (the relay hosts it only for local development) with:
 * - a strict Content-Security-Policy: only the app's own files run (no inline script, no eval, no
 *   other origin), it connects only to its own origin, the relays and the Duet Guards named at build
 *   time (a phone links to the Guard by HTTPS: docs/guard.md, "In the apps"), and no
 *   page may frame it (`frame-ancestors 'none'`, and X-Frame-Options for older browsers);
 * - https, except on loopback (development): over plain http the network could replace the app.
 */
import { isLoopbackHost } from '../channel/pairing-offer.ts';

/**
 * The CSP; `relayOrigins` are the ws(s):// origins of relays on another origin than the app,
 * `guardOrigins` the http(s):// origins of Duet Guards the phone links to.
 */
export function phoneAppContentSecurityPolicy(relayOrigins: readonly string[] = [], guardOrigins: readonly string[] = []): string {
  for (const origin of relayOrigins) {
    if (!/^wss?:\/\/[a-z0-9.-]+(:\d+)?$/i.test(origin)) throw new RangeError(`a relay origin is ws(s)://host[:port], not ${JSON.stringify(origin)}`);
  }
  for (const origin of guardOrigins) {
    if (!/^https?:\/\/[a-z0-9.-]+(:\d+)?$/i.test(origin)) throw new RangeError(`a Guard origin is http(s)://host[:port], not ${JSON.stringify(origin)}`);
  }
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src ${["'self'", ...relayOrigins, ...guardOrigins].join(' ')}`,
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The response headers for every file of the phone app. */
export function phoneAppHeaders(relayOrigins: readonly string[] = [], guardOrigins: readonly string[] = []): Record<string, string> {
  return {
    'content-security-policy': phoneAppContentSecurityPolicy(relayOrigins, guardOrigins),
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  };
}

/**
 * Whether the CSP lets the app at `appUrl` reach the relay at `relayUrl`: the app's own origin
 * (ws for http, wss for https; CSP Level 3 'self' covers it) or one of `relayOrigins`.
 */
export function relayAllowed(relayUrl: string, appUrl: URL, relayOrigins: readonly string[]): boolean {
  let relay: URL;
  try {
    relay = new URL(relayUrl);
  } catch {
    return false;
  }
  const sameOrigin = relay.host === appUrl.host && relay.protocol === (appUrl.protocol === 'https:' ? 'wss:' : 'ws:');
  return sameOrigin || relayOrigins.includes(relay.origin);
}

/** Why the app refuses to run at `url` (plain http off loopback), or null. */
export function appOriginProblem(url: URL): string | null {
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))) return null;
  return `This phone app was opened over ${url.protocol.replace(':', '')}, which anyone on the network can alter. It runs only over https (plain http only on this machine). Open it from its https address.`;
}
