/**
 * PeerLink's refusal of a stored link it cannot use (the user is told to pair again), and its
 * store queue: a burst of calls shares one write, and `storeSoon` waits until the link is quiet.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateIdentity } from '../../src/channel/handshake.ts';
import { createPairingOffer } from '../../src/channel/pairing-offer.ts';
import { LinkResumeError, MAX_QUIET_WAIT_MS, PeerLink, QUIET_STORE_MS } from '../../src/channel/peer-link.ts';
import type { LinkState } from '../../src/channel/stored-link-state.ts';
import { NodeWebSocket } from '../relay/relay-support.ts';

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

describe('storing the link state', () => {
  let link: PeerLink | null = null;
  afterEach(() => {
    link?.close();
    link = null;
    vi.useRealTimers();
  });

  /** A link that is never connected, counting the writes of its state. */
  function countingLink(): { link: PeerLink; writes: () => number } {
    let writes = 0;
    const { offer } = createPairingOffer('ws://127.0.0.1:1', Date.now());
    link = PeerLink.pairing({ ...options, WebSocket: NodeWebSocket, write: async () => void (writes += 1) }, offer, 'ws://127.0.0.1:1');
    return { link, writes: () => writes };
  }

  it('calls in a burst share one write; a call with its own write is never folded into another', async () => {
    const { link, writes } = countingLink();
    await Promise.all([link.store(), link.store(), link.store()]);
    expect(writes()).toBe(1);
    let own = 0;
    // The third call joins the first (queued, its state not taken yet); the second writes its own.
    await Promise.all([link.store(), link.store(async () => void (own += 1)), link.store()]);
    expect([writes(), own]).toEqual([2, 1]);
  });

  it('storeSoon writes once no call came for QUIET_STORE_MS, and no later than MAX_QUIET_WAIT_MS after the first', async () => {
    vi.useFakeTimers();
    const { link, writes } = countingLink();
    link.storeSoon();
    await vi.advanceTimersByTimeAsync(QUIET_STORE_MS - 10);
    link.storeSoon();
    await vi.advanceTimersByTimeAsync(QUIET_STORE_MS - 10);
    expect(writes()).toBe(0);
    await vi.advanceTimersByTimeAsync(20);
    expect(writes()).toBe(1);

    // A steady stream of frames: the write still comes.
    for (let elapsed = 0; elapsed < MAX_QUIET_WAIT_MS + QUIET_STORE_MS; elapsed += QUIET_STORE_MS / 2) {
      link.storeSoon();
      await vi.advanceTimersByTimeAsync(QUIET_STORE_MS / 2);
    }
    expect(writes()).toBeGreaterThanOrEqual(2);
  });
});
