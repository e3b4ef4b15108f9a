/**
 * PathSwitch: whatever happens to the direct carrier (opened, closed with frames in flight, on
 * either side at its own time, stalled) and however the relay and the carrier interleave, each
 * device receives exactly the frames the other sent, once each, in order (property-based, with
 * fast-check). Then the rules one by one: the relay → direct move waits for the relay, a direct
 * frame stays in the outbox until the peer stored it, a restored outbox goes through the relay,
 * a HELLO renumbers a restored sender, and a stalled carrier falls back.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PathStateError, PathSwitch, type DirectCarrier, type PathSwitchState, type RelayCarrier } from '../../src/channel/path-switch.ts';

type Side = 'a' | 'b';
const other = (side: Side): Side => (side === 'a' ? 'b' : 'a');

/** The relay's position for one pair: a reliable FIFO per direction, delivered step by step. */
class MemoryRelay {
  readonly queues: Record<Side, Uint8Array[]> = { a: [], b: [] };
  private readonly handlers: Record<Side, ((frame: Uint8Array) => void)[]> = { a: [], b: [] };
  private readonly sent: Record<Side, number> = { a: 0, b: 0 };
  private readonly received: Record<Side, number> = { a: 0, b: 0 };
  /** Every frame the relay carried, by sender. */
  readonly carried: Record<Side, Uint8Array[]> = { a: [], b: [] };

  carrier(side: Side): RelayCarrier {
    const counts = { sent: this.sent, received: this.received };
    return {
      send: (frame: Uint8Array) => {
        this.sent[side] += 1;
        this.carried[side].push(frame);
        this.queues[other(side)].push(frame);
      },
      onMessage: (handler: (frame: Uint8Array) => void) => {
        this.handlers[side].push(handler);
        return () => (this.handlers[side] = this.handlers[side].filter((h) => h !== handler));
      },
      get sentSeq() {
        return counts.sent[side];
      },
      get receivedSeq() {
        return counts.received[side];
      },
    } as RelayCarrier;
  }

  /** Delivers up to `count` frames to `side`. */
  deliver(side: Side, count: number): void {
    for (let i = 0; i < count && this.queues[side].length > 0; i++) {
      const frame = this.queues[side].shift() as Uint8Array;
      this.received[side] += 1;
      for (const handler of [...this.handlers[side]]) handler(frame);
    }
  }
}

/** A data channel between the two: FIFO per direction; once cut, what is in flight is lost. */
class MemoryCarrier {
  readonly queues: Record<Side, Uint8Array[]> = { a: [], b: [] };
  readonly ends: Record<Side, DirectCarrier>;
  receivers: Partial<Record<Side, (bytes: Uint8Array) => void>> = {};
  cut = false;

  constructor() {
    const end = (side: Side): DirectCarrier => ({
      send: (bytes) => {
        if (!this.cut) this.queues[other(side)].push(bytes);
      },
      close: () => this.close(),
    });
    this.ends = { a: end('a'), b: end('b') };
  }

  close(): void {
    this.cut = true;
    this.queues.a = [];
    this.queues.b = [];
  }

  deliver(side: Side, count: number): void {
    for (let i = 0; i < count && this.queues[side].length > 0 && !this.cut; i++) this.receivers[side]?.(this.queues[side].shift() as Uint8Array);
  }
}

interface Pair {
  readonly relay: MemoryRelay;
  readonly switches: Record<Side, PathSwitch>;
  readonly received: Record<Side, string[]>;
}

function pair(stallMs = 60_000): Pair {
  const relay = new MemoryRelay();
  const received: Record<Side, string[]> = { a: [], b: [] };
  const make = (side: Side) => {
    const paths = new PathSwitch(relay.carrier(side), { stallMs });
    paths.onMessage((frame) => received[side].push(new TextDecoder().decode(frame)));
    return paths;
  };
  return { relay, switches: { a: make('a'), b: make('b') }, received };
}

/** A carrier attached on both sides of `p`, its opening handshake delivered both ways. */
function openCarrier(p: Pair): MemoryCarrier {
  const carrier = new MemoryCarrier();
  carrier.receivers.a = p.switches.a.attach(carrier.ends.a);
  carrier.receivers.b = p.switches.b.attach(carrier.ends.b);
  carrier.deliver('a', 10);
  carrier.deliver('b', 10);
  return carrier;
}

const frameOf = (side: Side, n: number) => new TextEncoder().encode(`${side}${n}`);

type Op =
  | { readonly op: 'send'; readonly side: Side }
  | { readonly op: 'relay'; readonly side: Side; readonly count: number }
  | { readonly op: 'carrier'; readonly side: Side; readonly count: number }
  | { readonly op: 'open' }
  | { readonly op: 'cut' }
  | { readonly op: 'detach'; readonly side: Side }
  | { readonly op: 'save'; readonly side: Side };

const side = fc.constantFrom<Side>('a', 'b');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('send' as const), side }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('relay' as const), side, count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('carrier' as const), side, count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('open' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cut' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('detach' as const), side }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('save' as const), side }) },
);

/** Runs `ops`, then lets everything settle (the carrier closed on both sides, the relay drained). */
function run(ops: readonly Op[]): Pair & { sent: Record<Side, string[]> } {
  const p = pair();
  const sent: Record<Side, string[]> = { a: [], b: [] };
  let carrier: MemoryCarrier | null = null;
  const attached: Record<Side, boolean> = { a: false, b: false };
  const detach = (s: Side) => {
    if (carrier && attached[s]) {
      attached[s] = false;
      p.switches[s].detach(carrier.ends[s]);
    }
  };
  for (const op of ops) {
    switch (op.op) {
      case 'send': {
        const n = sent[op.side].length;
        sent[op.side].push(`${op.side}${n}`);
        p.switches[op.side].send(frameOf(op.side, n));
        break;
      }
      case 'relay':
        p.relay.deliver(op.side, op.count);
        break;
      case 'carrier':
        carrier?.deliver(op.side, op.count);
        break;
      case 'open':
        if (carrier && (attached.a || attached.b)) break;
        carrier = new MemoryCarrier();
        for (const s of ['a', 'b'] as const) {
          carrier.receivers[s] = p.switches[s].attach(carrier.ends[s]);
          attached[s] = true;
        }
        break;
      case 'cut':
        // The channel dies; each side learns it later, at its own 'detach'.
        carrier?.close();
        break;
      case 'detach':
        if (carrier?.cut) detach(op.side);
        break;
      case 'save': {
        const state = p.switches[op.side].save();
        p.switches[op.side].confirmSaved(state);
        break;
      }
    }
  }
  // Settle: the carrier goes away on both sides, then the relay delivers everything.
  carrier?.close();
  detach('a');
  detach('b');
  for (let round = 0; round < 4; round++) {
    p.relay.deliver('a', Number.MAX_SAFE_INTEGER);
    p.relay.deliver('b', Number.MAX_SAFE_INTEGER);
  }
  return { ...p, sent };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the transport switch (property)', () => {
  it('never loses, repeats or reorders a frame, whatever the carrier does', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const result = run(ops);
        expect(result.received.b).toEqual(result.sent.a);
        expect(result.received.a).toEqual(result.sent.b);
        result.switches.a.close();
        result.switches.b.close();
      }),
      { numRuns: 2000 },
    );
  });

  it('with the carrier open and caught up, frames take it and the relay carries none', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom<Side>('a', 'b'), { minLength: 1, maxLength: 40 }), (senders) => {
        const p = pair();
        const carrier = openCarrier(p);
        expect([p.switches.a.path, p.switches.b.path]).toEqual(['direct', 'direct']);
        const counts = { a: 0, b: 0 };
        for (const s of senders) {
          p.switches[s].send(frameOf(s, counts[s]++));
          carrier.deliver(other(s), 10);
          carrier.deliver(s, 10);
        }
        expect(p.relay.carried).toEqual({ a: [], b: [] });
        expect(p.received.b).toHaveLength(counts.a);
        expect(p.received.a).toHaveLength(counts.b);
        p.switches.a.close();
        p.switches.b.close();
      }),
      { numRuns: 100 },
    );
  });
});

describe('the transport switch, rule by rule', () => {
  it('moves to the carrier only once the peer received every relay frame', () => {
    const p = pair();
    p.switches.a.send(frameOf('a', 0));
    const carrier = openCarrier(p);
    // b has not received a0 yet: a's next frame still takes the relay, behind it.
    p.switches.a.send(frameOf('a', 1));
    expect(p.switches.a.path).toBe('relay');
    expect(p.relay.queues.b).toHaveLength(2);
    p.relay.deliver('b', 2);
    carrier.deliver('a', 10);
    p.switches.a.send(frameOf('a', 2));
    expect(p.switches.a.path).toBe('direct');
    carrier.deliver('b', 10);
    expect(p.received.b).toEqual(['a0', 'a1', 'a2']);
  });

  it('keeps a direct frame until the peer stored it; a restored outbox goes through the relay, and a HELLO renumbers', () => {
    const p = pair();
    const carrier = openCarrier(p);
    p.switches.a.send(frameOf('a', 0));
    p.switches.a.send(frameOf('a', 1));
    carrier.deliver('b', 10);
    carrier.deliver('a', 10);
    expect(p.received.b).toEqual(['a0', 'a1']);
    // Received, not stored: both stay in a's saved outbox.
    const saved = p.switches.a.save();
    expect(saved.outbox.map((entry) => entry.seq)).toEqual([1, 2]);
    p.switches.b.confirmSaved(p.switches.b.save());
    carrier.deliver('a', 10);
    expect(p.switches.a.save().outbox).toEqual([]);

    // a restarts from `saved`: no carrier survives, so its outbox goes through the relay, where b drops what it has.
    p.switches.a.close();
    const restored = new PathSwitch(p.relay.carrier('a'), { state: saved, stallMs: 60_000 });
    expect(p.relay.queues.b).toHaveLength(2);
    p.relay.deliver('b', 10);
    expect(p.received.b).toEqual(['a0', 'a1']);
    // A new carrier: b's HELLO says it has 2, so a's next direct frame is 3 (never a number b has seen).
    const next = new MemoryCarrier();
    next.receivers.a = restored.attach(next.ends.a);
    next.receivers.b = p.switches.b.attach(next.ends.b);
    next.deliver('a', 10);
    next.deliver('b', 10);
    restored.send(frameOf('a', 2));
    expect(restored.save().outbox.map((entry) => entry.seq)).toEqual([3]);
    next.deliver('b', 10);
    expect(p.received.b).toEqual(['a0', 'a1', 'a2']);
    restored.close();
    p.switches.b.close();
  });

  it('falls back to the relay when the peer does not acknowledge a direct frame in time', () => {
    vi.useFakeTimers();
    const p = pair(3_000);
    const carrier = openCarrier(p);
    p.switches.a.send(frameOf('a', 0));
    expect(p.switches.a.path).toBe('direct');
    // b's end stops reading (its page froze): the frame sits unacknowledged.
    vi.advanceTimersByTime(3_001);
    expect(carrier.cut).toBe(true);
    expect(p.switches.a.path).toBe('relay');
    p.relay.deliver('b', 10);
    expect(p.received.b).toEqual(['a0']);
    p.switches.a.close();
    p.switches.b.close();
  });

  it('a carrier whose peer never says HELLO is given up', () => {
    vi.useFakeTimers();
    const p = pair(3_000);
    const carrier = new MemoryCarrier();
    p.switches.a.attach(carrier.ends.a);
    vi.advanceTimersByTime(3_001);
    expect(carrier.cut).toBe(true);
    expect(p.switches.a.directOpen).toBe(false);
    p.switches.a.close();
    p.switches.b.close();
  });

  it('after the move to another relay channel, a frame still arriving on the first is delivered, in order', () => {
    const pairing = new MemoryRelay();
    const paired = new MemoryRelay();
    const a = new PathSwitch(pairing.carrier('a'));
    const b = new PathSwitch(pairing.carrier('b'));
    const received: string[] = [];
    const bytes = (value: string) => new TextEncoder().encode(value);
    b.onMessage((frame) => received.push(new TextDecoder().decode(frame)));
    // a sends its last pairing-channel frame, then both move; b moves before that frame arrives.
    a.send(bytes('keygen/0'));
    a.useRelay(paired.carrier('a'));
    b.useRelay(paired.carrier('b'));
    a.send(bytes('keygen/1'));
    pairing.deliver('b', 10);
    paired.deliver('b', 10);
    expect(received).toEqual(['keygen/0', 'keygen/1']);
    a.close();
    b.close();
    // Closed: the first channel delivers nothing more.
    pairing.queues.b.push(bytes('late'));
    pairing.deliver('b', 10);
    expect(received).toEqual(['keygen/0', 'keygen/1']);
  });

  it('refuses a damaged saved state with a typed error', () => {
    const relay = new MemoryRelay();
    const damaged: PathSwitchState = { v: 1, lastDirectSent: 1, lastDirectReceived: 0, outbox: [{ seq: 1, frame: '*' }] };
    expect(() => new PathSwitch(relay.carrier('a'), { state: damaged })).toThrow(PathStateError);
    expect(() => new PathSwitch(relay.carrier('a'), { state: { ...damaged, v: 2 } as unknown as PathSwitchState })).toThrow(/another version/);
  });
});
