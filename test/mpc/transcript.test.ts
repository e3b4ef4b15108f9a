import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Transcript, type TranscriptContext } from '../../src/mpc/transcript.ts';
import { hexFromBytes } from '../../src/mpc/wire.ts';

const base: TranscriptContext = { purpose: 'test', sessionId: new Uint8Array(32), keyId: new Uint8Array(32), role: 'P1' };
const entry = fc.record({ label: fc.string({ maxLength: 8 }), data: fc.uint8Array({ maxLength: 12 }) });

function digestOf(entries: { label: string; data: Uint8Array }[], context = base): string {
  const transcript = Transcript.start(context);
  for (const { label, data } of entries) transcript.appendBytes(label, data);
  return hexFromBytes(transcript.digest());
}

const same = (a: { label: string; data: Uint8Array }[], b: { label: string; data: Uint8Array }[]) =>
  a.length === b.length && a.every((x, i) => x.label === b[i]?.label && hexFromBytes(x.data) === hexFromBytes(b[i]?.data ?? new Uint8Array()));

describe('transcript encoding', () => {
  it('is injective: different entry sequences give different digests', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), fc.array(entry, { maxLength: 5 }), (a, b) => {
        fc.pre(!same(a, b));
        expect(digestOf(a)).not.toBe(digestOf(b));
      }),
      { numRuns: 500 },
    );
  });

  it('separates splits of the same bytes across labels and data', () => {
    expect(digestOf([{ label: 'ab', data: Uint8Array.of(1) }])).not.toBe(digestOf([{ label: 'a', data: Uint8Array.of(0x62, 1) }]));
    expect(digestOf([{ label: 'x', data: Uint8Array.of(1, 2) }])).not.toBe(digestOf([{ label: 'x', data: Uint8Array.of(1) }, { label: '', data: Uint8Array.of(2) }]));
  });

  it('binds session id, key id, role and purpose', () => {
    const entries = [{ label: 'x', data: Uint8Array.of(1) }];
    const reference = digestOf(entries);
    expect(digestOf(entries, { ...base, sessionId: new Uint8Array(32).fill(1) })).not.toBe(reference);
    expect(digestOf(entries, { ...base, keyId: new Uint8Array(32).fill(1) })).not.toBe(reference);
    expect(digestOf(entries, { ...base, role: 'P2' })).not.toBe(reference);
    expect(digestOf(entries, { ...base, purpose: 'other' })).not.toBe(reference);
  });

  it('draws challenges below the bound and absorbs them', () => {
    const transcript = Transcript.start(base);
    const first = transcript.challengeBelow('e', 1000n);
    const second = transcript.challengeBelow('e', 1000n);
    expect(first).toBeLessThan(1000n);
    expect(second).toBeLessThan(1000n);
    expect(hexFromBytes(Transcript.start(base).challengeBytes('e', 100))).toHaveLength(200);
  });
});
