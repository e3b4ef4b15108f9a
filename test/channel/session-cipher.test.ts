import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChannelError } from '../../src/channel/channel-error.ts';
import { createSession, open, restoreSession, saveSession, seal } from '../../src/channel/session-cipher.ts';

const keys = { toPhone: crypto.getRandomValues(new Uint8Array(32)), toExtension: crypto.getRandomValues(new Uint8Array(32)) };
const text = (s: string) => new TextEncoder().encode(s);

describe('session cipher', () => {
  it('round-trips in both directions', () => {
    let extension = createSession('extension', keys);
    let phone = createSession('phone', keys);
    const a = seal(extension, text('hello phone'));
    extension = a.state;
    const opened = open(phone, a.frame);
    phone = opened.state;
    expect(opened.outcome).toEqual({ kind: 'message', plaintext: text('hello phone'), missed: 0 });
    const b = seal(phone, text('hello extension'));
    expect(open(extension, b.frame).outcome).toMatchObject({ kind: 'message', plaintext: text('hello extension') });
  });

  it('drops replays as duplicates and reports gaps', () => {
    let sender = createSession('extension', keys);
    const frames = [];
    for (let i = 0; i < 3; i++) {
      const sealed = seal(sender, text(`m${i}`));
      sender = sealed.state;
      frames.push(sealed.frame);
    }
    let receiver = createSession('phone', keys);
    const third = open(receiver, frames[2] as Uint8Array);
    expect(third.outcome).toMatchObject({ kind: 'message', missed: 2 });
    receiver = third.state;
    expect(open(receiver, frames[0] as Uint8Array).outcome).toEqual({ kind: 'duplicate', seq: 1 });
    expect(open(receiver, frames[2] as Uint8Array).outcome).toEqual({ kind: 'duplicate', seq: 3 });
  });

  it('detects tampering, truncation and a frame sent the other way', () => {
    const sender = createSession('extension', keys);
    const { frame } = seal(sender, text('secret'));
    const receiver = createSession('phone', keys);
    const flipped = frame.slice();
    flipped[12] = (flipped[12] as number) ^ 1;
    expect(() => open(receiver, flipped)).toThrowError(ChannelError);
    expect(() => open(receiver, frame.subarray(0, frame.length - 1))).toThrowError(/authentication/);
    expect(() => open(receiver, frame.subarray(0, 10))).toThrowError(/too short/);
    const reflected = seal(createSession('phone', keys), text('x')).frame;
    expect(() => open(createSession('phone', keys), reflected)).toThrowError(ChannelError);
  });

  it('detects any single bit flip (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), (payload, position) => {
        const { frame } = seal(createSession('extension', keys), payload);
        const bit = position % (frame.length * 8);
        const mutated = frame.slice();
        mutated[bit >> 3] = (mutated[bit >> 3] as number) ^ (1 << (bit & 7));
        const receiver = createSession('phone', keys);
        try {
          const result = open(receiver, mutated);
          // Flipping the sequence number to an earlier one reads as a replay: dropped, never delivered.
          expect(result.outcome.kind).not.toBe('message');
        } catch (error) {
          expect(error).toBeInstanceOf(ChannelError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('saves and restores its state', () => {
    const sealed = seal(createSession('extension', keys), text('a'));
    const restored = restoreSession(JSON.parse(JSON.stringify(saveSession(sealed.state))));
    expect(restored.sent).toBe(1);
    const next = seal(restored, text('b'));
    let receiver = open(createSession('phone', keys), sealed.frame).state;
    expect(open(receiver, next.frame).outcome).toMatchObject({ kind: 'message', missed: 0 });
    receiver = createSession('phone', keys);
    expect(() => restoreSession({ ...saveSession(sealed.state), sendKey: 'short' })).toThrowError(ChannelError);
  });
});
