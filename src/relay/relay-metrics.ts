/**
 * `/metrics`: the relay's counters in the Prometheus text format (prom-client), counts only — no
 * channel names, addresses or payloads. Connections and buffered bytes are this instance's;
 * channels and mailbox depth are the store's (all instances, with Redis).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CloseCode } from '../channel/relay-protocol.ts';
import type { StoreHealth, StoreStats } from './relay-store.ts';

export interface MetricSources {
  connections(): number;
  bufferedBytes(): number;
  storeStats(): Promise<StoreStats>;
  storeHealth(): Promise<StoreHealth>;
}

export interface RelayMetrics {
  readonly registry: Registry;
  /** A frame stored from a sender, delivered to a receiver, or resent and dropped as a duplicate. */
  frame(event: 'stored' | 'delivered' | 'duplicate'): void;
  refusal(code: number): void;
}

const REASONS = new Map<number, string>(Object.entries(CloseCode).map(([name, code]) => [code, name]));

export function relayMetrics(sources: MetricSources, labels: { store: string; instance: string }): RelayMetrics {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'duet_relay_' });
  new Gauge({ name: 'duet_relay_connections', help: 'Open WebSocket connections on this instance', registers: [registry], collect() { this.set(sources.connections()); } });
  new Gauge({ name: 'duet_relay_buffered_bytes', help: 'Bytes handed to sockets of this instance that their readers have not taken yet', registers: [registry], collect() { this.set(sources.bufferedBytes()); } });
  const fromStore = (name: string, help: string, pick: (stats: StoreStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(pick(await sources.storeStats()));
      },
    });
  fromStore('duet_relay_channels', 'Channels the store holds (all instances)', (stats) => stats.channels);
  fromStore('duet_relay_mailbox_frames', 'Frames waiting in mailboxes (all instances)', (stats) => stats.framesQueued);
  fromStore('duet_relay_mailbox_bytes', 'Bytes counted against the mailbox caps (all instances)', (stats) => stats.mailboxBytes);
  new Gauge({
    name: 'duet_relay_store_up',
    help: '1 when the store answers',
    registers: [registry],
    async collect() {
      this.set((await sources.storeHealth()).ok ? 1 : 0);
    },
  });
  const frames = new Counter({ name: 'duet_relay_frames_total', help: 'Frames stored, delivered, or dropped as duplicates by this instance', labelNames: ['event'], registers: [registry] });
  const refusals = new Counter({ name: 'duet_relay_refusals_total', help: 'Connections this instance closed, by reason', labelNames: ['reason'], registers: [registry] });
  return {
    registry,
    frame: (event) => frames.inc({ event }),
    refusal: (code) => refusals.inc({ reason: REASONS.get(code) ?? String(code) }),
  };
}
