/** PeerLink's refusal of a stored link it cannot use: the user is told to pair again. */
import { describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/channel/handshake.ts';
import { LinkResumeError, PeerLink } from '../../src/channel/peer-link.ts';
import type { LinkState } from '../../src/channel/stored-link-state.ts';

const options = { role: 'phone' as const, identity: generateIdentity(), write: async () => undefined };

describe('resuming a stored link', () => {
  it('a link stored by version 1 (relay token, no relay keys) is refused with "pair again"', () => {
    const stored = {
      channel: { role: 'phone', channelId: 'AAAAAAAAAAAAAAAAAAAAAA', phase: 'paired', pinnedPeer: null, session: null },
      relay: { relayUrl: 'ws://127.0.0.1:1', channelId: 'AAAAAAAAAAAAAAAAAAAAAA', role: 'phone', token: 'x'.repeat(43), lastSent: 0, unstored: [], lastReceived: 0 },
    } as unknown as LinkState;
    expect(() => PeerLink.resume(options, stored)).toThrow(LinkResumeError);
    expect(() => PeerLink.resume(options, stored)).toThrow(/older version of Duet/);
  });

  it('a damaged relay credential is refused the same way', () => {
    const stored = {
      channel: { v: 2, role: 'phone', channelId: 'AAAAAAAAAAAAAAAAAAAAAA', phase: 'paired', pinnedPeer: null, session: null, previousReceive: null, responding: [], confirming: null, held: [] },
      relay: { v: 2, relayUrl: 'ws://127.0.0.1:1', credential: { role: 'phone', extension: 'AA', phone: 'AA', secretKey: 'AA' }, lastSent: 0, unstored: [], lastReceived: 0 },
    } as unknown as LinkState;
    expect(() => PeerLink.resume(options, stored)).toThrow(/credential is damaged/);
  });
});
