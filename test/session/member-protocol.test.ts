/**
 * The pieces of the members' protocol, each fed the bad value: envelopes a relaying member tampers
 * with, replays or redirects; the introduction code with a device in the middle; proofs of share
 * health; and the strict message parser (fuzzed: never a throw, only null).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MpcError } from '../../src/mpc/errors.ts';
import { hexFromBytes } from '../../src/mpc/wire.ts';
import { DealerIntroduction, NewcomerIntroduction, type IntroMessage } from '../../src/session/introduction.ts';
import { openMemberEnvelope, parseMemberEnvelope, sealMemberEnvelope, MAX_ENVELOPE_AGE_MS } from '../../src/session/member-envelope.ts';
import { parseMemberMessage } from '../../src/session/member-messages.ts';
import { SessionError } from '../../src/session/session-error.ts';
import { checkShareHealth, proveShareHealth } from '../../src/session/share-health.ts';
import { FixtureKeys, firstPair, newIdentity } from '../mpc/wallet-driver.ts';

const NOW = 1_800_000_000_000;

function sessionError(run: () => unknown): SessionError {
  try {
    run();
  } catch (error) {
    if (error instanceof SessionError) return error;
    throw error;
  }
  throw new Error('expected a SessionError');
}

describe('envelopes between members without a channel', () => {
  const alice = newIdentity();
  const bob = newIdentity();
  const carol = newIdentity();
  const message = { t: 'reshare', body: { type: 'reshare/join', n: 1 } };

  it('open for the recipient, once', () => {
    const envelope = parseMemberEnvelope(JSON.parse(JSON.stringify(sealMemberEnvelope(alice, bob.publicKey, message, NOW))));
    const seen = new Set<string>();
    expect(openMemberEnvelope(bob, alice.publicKey, envelope, NOW + 1000, seen)).toEqual(message);
    expect(sessionError(() => openMemberEnvelope(bob, alice.publicKey, envelope, NOW + 2000, seen)).code).toBe('stale');
  });

  it('a relaying member that changes one byte of the content, or swaps the sender, gets it refused', () => {
    const envelope = sealMemberEnvelope(alice, bob.publicKey, message, NOW);
    const flipped = envelope.box.slice(0, -2) + (envelope.box.endsWith('00') ? '01' : '00');
    expect(sessionError(() => openMemberEnvelope(bob, alice.publicKey, { ...envelope, box: flipped }, NOW, new Set())).code).toBe('bad_signature');
    // Carol re-signs Alice's box as her own: the sealed key is bound to the header, which names Alice.
    const resealed = sealMemberEnvelope(carol, bob.publicKey, message, NOW);
    expect(sessionError(() => openMemberEnvelope(bob, alice.publicKey, { ...resealed, from: envelope.from }, NOW, new Set())).code).toBe('bad_signature');
    expect(sessionError(() => openMemberEnvelope(bob, alice.publicKey, resealed, NOW, new Set())).code).toBe('not_member');
  });

  it('an envelope for another member, or too old, is refused; the relaying member cannot read it', () => {
    const envelope = sealMemberEnvelope(alice, bob.publicKey, message, NOW);
    expect(sessionError(() => openMemberEnvelope(carol, alice.publicKey, envelope, NOW, new Set())).code).toBe('not_member');
    expect(sessionError(() => openMemberEnvelope(carol, alice.publicKey, { ...envelope, to: hexFromBytes(carol.publicKey) }, NOW, new Set())).code).toBe('bad_signature');
    expect(sessionError(() => openMemberEnvelope(bob, alice.publicKey, envelope, NOW + MAX_ENVELOPE_AGE_MS + 1, new Set())).code).toBe('stale');
    expect(JSON.stringify(envelope)).not.toContain('reshare/join');
  });

  it('the shape is checked before anything else', () => {
    const envelope = sealMemberEnvelope(alice, bob.publicKey, message, NOW);
    expect(sessionError(() => parseMemberEnvelope({ ...envelope, extra: 1 })).code).toBe('malformed');
    expect(sessionError(() => parseMemberEnvelope({ ...envelope, from: 'zz' })).code).toBe('malformed');
    expect(sessionError(() => parseMemberEnvelope({ ...envelope, sentAt: -1 })).code).toBe('malformed');
  });
});

describe('the code a dealer and a newcomer compare', () => {
  const dealer = newIdentity();
  const newcomer = newIdentity();

  function run(dealerSide: DealerIntroduction, newcomerSide: NewcomerIntroduction, relay: (message: IntroMessage) => IntroMessage = (m) => m): [string, string] {
    const reply = newcomerSide.receive(relay(dealerSide.start()));
    if (!('reply' in reply)) throw new Error('expected the nonce');
    const opened = dealerSide.receive(relay(reply.reply));
    const done = newcomerSide.receive(relay(opened.reply));
    if (!('sas' in done)) throw new Error('expected the code');
    return [opened.sas, done.sas];
  }

  it('is the same six digits on both screens', () => {
    const [a, b] = run(new DealerIntroduction(dealer.publicKey, newcomer.publicKey), new NewcomerIntroduction(newcomer.publicKey, dealer.publicKey));
    expect(a).toMatch(/^\d{6}$/);
    expect(a).toBe(b);
  });

  it('differs when a device in the middle talks to each side with its own key', () => {
    const middle = newIdentity();
    for (let attempt = 0; attempt < 20; attempt++) {
      // Dealer ↔ middle (posing as the newcomer) and middle (posing as the dealer) ↔ newcomer.
      const [dealerCode] = run(new DealerIntroduction(dealer.publicKey, middle.publicKey), new NewcomerIntroduction(middle.publicKey, dealer.publicKey));
      const [, newcomerCode] = run(new DealerIntroduction(middle.publicKey, newcomer.publicKey), new NewcomerIntroduction(newcomer.publicKey, middle.publicKey));
      expect(dealerCode).not.toBe(newcomerCode);
    }
  });

  it('an opening that does not match the commitment is sas_mismatch; steps out of order are refused', () => {
    const dealerSide = new DealerIntroduction(dealer.publicKey, newcomer.publicKey);
    const newcomerSide = new NewcomerIntroduction(newcomer.publicKey, dealer.publicKey);
    const reply = newcomerSide.receive(dealerSide.start());
    if (!('reply' in reply)) throw new Error('expected the nonce');
    const forged: IntroMessage = { t: 'intro', step: 'open', value: '11'.repeat(32) };
    expect(sessionError(() => newcomerSide.receive(forged)).code).toBe('sas_mismatch');
    expect(sessionError(() => dealerSide.receive(dealerSide.start())).code).toBe('not_ready');
    dealerSide.receive(reply.reply);
    expect(sessionError(() => dealerSide.receive(reply.reply)).code).toBe('not_ready');
  });
});

describe('proofs of share health', () => {
  const { phone, extension } = firstPair(new FixtureKeys());

  it('a member proves its share for the current epoch; another share, epoch or time is refused', () => {
    const proof = proveShareHealth(phone.share!, NOW);
    expect(checkShareHealth(extension.share!.wallet, proof, NOW + 1000)).toBe(NOW);
    // The extension's share claimed as the phone's: the proof does not verify against S_phone.
    const stolen = { ...proveShareHealth({ ...extension.share!, self: phone.share!.self }, NOW) };
    expect(() => checkShareHealth(extension.share!.wallet, stolen, NOW)).toThrow(MpcError);
    expect(sessionError(() => checkShareHealth(extension.share!.wallet, { ...proof, epoch: 3 }, NOW)).code).toBe('stale');
    expect(sessionError(() => checkShareHealth(extension.share!.wallet, proof, NOW + 2 * 24 * 3600_000)).code).toBe('stale');
    // A proof made for another time does not verify for this one.
    expect(() => checkShareHealth(extension.share!.wallet, { ...proof, at: NOW + 5 }, NOW)).toThrow(MpcError);
  });
});

describe('member messages', () => {
  it('only exactly the known shapes pass', () => {
    expect(parseMemberMessage({ t: 'join-ready' })).toEqual({ t: 'join-ready' });
    expect(parseMemberMessage({ t: 'join-ready', extra: 1 })).toBeNull();
    expect(parseMemberMessage({ t: 'hello', role: 'phone', name: 'Phone B' })).not.toBeNull();
    expect(parseMemberMessage({ t: 'hello', role: 'admin', name: 'Phone B' })).toBeNull();
    expect(parseMemberMessage({ t: 'hello', role: 'phone', name: 'x'.repeat(41) })).toBeNull();
    expect(parseMemberMessage({ t: 'intro', step: 'open', value: 'ab' })).toBeNull();
    expect(parseMemberMessage({ t: 'pair-request', epoch: -1, have: null })).toBeNull();
    expect(parseMemberMessage({ t: 'members', members: [], dealers: ['00'.repeat(32), '11'.repeat(32), '22'.repeat(32)], coordinator: '00'.repeat(32) })).toBeNull();
    expect(parseMemberMessage({ t: 'toString' })).toBeNull();
  });

  it('never throws, whatever arrives', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ t: fc.constantFrom('hello', 'members', 'introduce', 'forward', 'health', 'history', 'intro'), role: fc.jsonValue(), name: fc.jsonValue(), envelope: fc.jsonValue() })), (value) => {
        parseMemberMessage(value);
      }),
      { numRuns: 500 },
    );
  });
});
