/**
 * The network address a connection is counted under for per-address limits.
 *
 * Behind a reverse proxy every connection comes from the proxy. With `--trust-proxy` listing the
 * proxies' addresses, a connection from one of them is counted under the address its
 * X-Forwarded-For header names: the rightmost entry that is not itself a trusted proxy (entries
 * further left were written by the client and prove nothing). A connection from anywhere else
 * is counted under its own address, whatever headers it sends.
 *
 * IPv4-mapped IPv6 addresses count as their IPv4 address; other IPv6 addresses count by their /64
 * prefix, the block one subscriber gets (RFC 6177), so one host cannot multiply its allowance by
 * using more of its own addresses.
 */
import { isIP } from 'node:net';

function expandIpv6(address: string): string[] | null {
  const [head, tail, extra] = address.split('::');
  if (extra !== undefined) return null;
  const left = head ? head.split(':') : [];
  const right = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  return [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
}

/** The key per-address limits use for `address` (see the header). */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address.split('%')[0] as string);
  if (!groups) return address;
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

/** The client's address for a connection from `peer` that carried `forwardedFor`. */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trustedProxies: ReadonlySet<string>): string {
  const direct = addressKey(peer ?? 'unknown');
  if (!trustedProxies.has(direct) || forwardedFor === undefined) return direct;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop.length > 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (isIP(hop) === 0) return direct;
    const key = addressKey(hop);
    if (!trustedProxies.has(key)) return key;
  }
  return direct;
}
