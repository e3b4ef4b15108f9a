/**
 * What one relay instance counts per client address (client-address.ts): open TCP and WebSocket
 * connections, and two token buckets (frames, new connections). What is counted across instances
 * (channels opened, mailbox bytes, connections in all) is the store's (relay-store.ts). An entry is
 * forgotten once nothing is counted and both buckets are full again, so the map stays as small as
 * the set of addresses actually connected.
 */
import { TokenBucket } from './token-bucket.ts';

export interface AddressEntry {
  tcp: number;
  sockets: number;
  readonly frames: TokenBucket;
  readonly connects: TokenBucket;
}

export interface AddressRates {
  readonly framesPerSecond: number;
  readonly frameBurst: number;
  readonly connectsPerSecond: number;
  readonly connectBurst: number;
}

export class AddressLedger {
  private readonly entries = new Map<string, AddressEntry>();

  constructor(private readonly rates: AddressRates) {}

  get(address: string, now: number): AddressEntry {
    let entry = this.entries.get(address);
    if (!entry) {
      entry = {
        tcp: 0,
        sockets: 0,
        frames: new TokenBucket(this.rates.framesPerSecond, this.rates.frameBurst, now),
        connects: new TokenBucket(this.rates.connectsPerSecond, this.rates.connectBurst, now),
      };
      this.entries.set(address, entry);
    }
    return entry;
  }

  sweep(now: number): void {
    for (const [address, entry] of this.entries) {
      const idle = entry.tcp === 0 && entry.sockets === 0;
      if (idle && entry.frames.isFull(now) && entry.connects.isFull(now)) this.entries.delete(address);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
