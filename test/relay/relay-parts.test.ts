/** The relay's small parts on their own: client addresses, options, the state files. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addressKey, clientAddress } from '../../src/relay/client-address.ts';
import { parseRelayOptions, RelayConfigError } from '../../src/relay/relay-options.ts';
import { appendRetired, loadRetired, RelayStateError, saveMailboxes, takeMailboxes, type ChannelSnapshot } from '../../src/relay/relay-state-file.ts';
import { parseStoreEvent, redactUrl } from '../../src/relay/redis-store.ts';
import { startRelay } from '../../src/relay/relay-server.ts';
import { RelayStoreError } from '../../src/relay/relay-store.ts';
import { freePort } from '../../src/devstack/free-port.ts';

describe('client addresses', () => {
  it('counts IPv4-mapped addresses as IPv4 and IPv6 addresses by their /64', () => {
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
  });

  it('believes X-Forwarded-For only from a trusted proxy, and only its rightmost untrusted entry', () => {
    const proxies = new Set(['10.0.0.1', '10.0.0.2']);
    expect(clientAddress('10.0.0.1', '198.51.100.7', proxies)).toBe('198.51.100.7');
    expect(clientAddress('10.0.0.1', '6.6.6.6, 198.51.100.7, 10.0.0.2', proxies)).toBe('198.51.100.7');
    expect(clientAddress('::ffff:10.0.0.1', '198.51.100.7', proxies)).toBe('198.51.100.7');
    expect(clientAddress('203.0.113.5', '198.51.100.7', proxies)).toBe('203.0.113.5');
    expect(clientAddress('10.0.0.1', undefined, proxies)).toBe('10.0.0.1');
    expect(clientAddress('10.0.0.1', 'not-an-address', proxies)).toBe('10.0.0.1');
  });
});

describe('relay options', () => {
  it('reads the new limits, --trust-proxy as a list and an empty --state-dir as none', () => {
    expect(parseRelayOptions(['--trust-proxy', '10.0.0.1, 10.0.0.2', '--state-dir=', '--max-connections', '500'], {})).toEqual({ trustProxy: ['10.0.0.1', '10.0.0.2'], stateDir: null, maxConnections: 500 });
    expect(parseRelayOptions([], { RELAY_STATE_DIR: '/var/lib/duet-relay', RELAY_UPGRADE_TIMEOUT_MS: '5000' })).toEqual({ stateDir: '/var/lib/duet-relay', upgradeTimeoutMs: 5000 });
    expect(() => parseRelayOptions(['--max-connections', '-1'], {})).toThrow(RelayConfigError);
  });

  it('takes the Redis store from RELAY_REDIS_URL or --redis-url (an empty value keeps the memory store)', () => {
    expect(parseRelayOptions([], { RELAY_REDIS_URL: 'redis://:secret@10.0.0.5:6379/0', RELAY_REDIS_PREFIX: 'duet-eu:' })).toEqual({ redisUrl: 'redis://:secret@10.0.0.5:6379/0', redisPrefix: 'duet-eu:' });
    expect(parseRelayOptions(['--redis-url='], { RELAY_REDIS_URL: 'redis://10.0.0.5' })).toEqual({ redisUrl: null });
    expect(redactUrl('redis://:secret@10.0.0.5:6379/0')).toBe('redis://:***@10.0.0.5:6379/0');
  });

  it('a Redis that cannot be reached at start is a clear error that does not show its password', async () => {
    const url = `redis://:hunter2@127.0.0.1:${await freePort()}`;
    const starting = startRelay({ port: 0, staticDir: null, log: () => undefined, redisUrl: url });
    await expect(starting).rejects.toThrow(RelayStoreError);
    await expect(starting).rejects.toThrow(/cannot use Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/);
    await expect(starting).rejects.not.toThrow(/hunter2/);
  });
});

describe('store events from other instances', () => {
  it('reads a frame, a replacement and a retirement; anything else is ignored', () => {
    const payload = Buffer.from([0x20, 0, 0xff, 0x20]);
    const frame = Buffer.concat([Buffer.from(`f${'n'.repeat(43)} phone 7 `), payload]);
    expect(parseStoreEvent(frame)).toEqual({ kind: 'frame', channel: 'n'.repeat(43), from: 'phone', frame: { seq: 7, payload: new Uint8Array(payload) } });
    expect(parseStoreEvent(Buffer.from('rabc/1'))).toEqual({ kind: 'replaced', connection: 'abc/1' });
    expect(parseStoreEvent(Buffer.from(`x${'n'.repeat(43)}`))).toEqual({ kind: 'retired', channel: 'n'.repeat(43) });
    for (const bad of ['', 'q', `f${'n'.repeat(43)} phone`, `f${'n'.repeat(43)} owner 7 x`]) expect(parseStoreEvent(Buffer.from(bad))).toBeNull();
  });
});

describe('the state files', () => {
  const channel: ChannelSnapshot = {
    name: 'n'.repeat(43),
    roster: { extension: new Uint8Array(32).fill(1), phone: new Uint8Array(32).fill(2) },
    creator: '2001:db8:0:0::/64',
    outboxes: {
      extension: { lastStored: 7, expiredUpTo: 2, acknowledgedUpTo: 4, frames: [{ seq: 5, storedAt: 1_700_000_000_123, owner: '127.0.0.1', payload: new Uint8Array([1, 2, 3]) }] },
      phone: { lastStored: 0, expiredUpTo: 0, acknowledgedUpTo: 0, frames: [] },
    },
  };

  it('mailboxes: written, read back exactly once (the file is gone after reading)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duet-state-'));
    await saveMailboxes(dir, [channel]);
    expect(await takeMailboxes(dir)).toEqual([channel]);
    expect(await takeMailboxes(dir)).toEqual([]);
  });

  it('a damaged or truncated mailboxes file is refused with a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duet-state-'));
    await saveMailboxes(dir, [channel]);
    const bytes = readFileSync(join(dir, 'mailboxes.bin'));
    writeFileSync(join(dir, 'mailboxes.bin'), bytes.subarray(0, bytes.length - 2));
    await expect(takeMailboxes(dir)).rejects.toThrow(RelayStateError);
    writeFileSync(join(dir, 'mailboxes.bin'), Buffer.from('not a state file'));
    await expect(takeMailboxes(dir)).rejects.toThrow(/not a Duet relay state file/);
  });

  it('retired channels: appended, expired ones and the oldest beyond the cap forgotten at load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duet-state-'));
    const now = Date.now();
    await loadRetired(dir, now, 10);
    appendRetired(dir, 'expired', now - 1);
    for (let i = 0; i < 4; i++) appendRetired(dir, `channel-${i}`, now + 1000);
    expect([...(await loadRetired(dir, now, 3)).keys()]).toEqual(['channel-1', 'channel-2', 'channel-3']);
    expect(readFileSync(join(dir, 'retired.log'), 'utf8').trim().split('\n')).toHaveLength(3);
  });
});
