/**
 * Member devices for tests of the session protocol: each runs the real WalletMember over
 * in-memory channels (messages through JSON, delivered asynchronously, dropped for a device that
 * is down), with its records kept as its app would store them. A device can crash (its memory is
 * lost, its stored records stay) and restart from what it stored.
 */
import type { MemberIdentity } from '../../src/mpc/member-signature.ts';
import { memberId, type MemberRole, type WalletShare } from '../../src/mpc/wallet-share.ts';
import type { MemberCard } from '../../src/session/member-messages.ts';
import type { DirectoryEntry } from '../../src/session/member-records.ts';
import { WalletMember, type Decision, type MemberRecords, type MemberState } from '../../src/session/wallet-member.ts';
import { wire } from '../mpc/protocol-driver.ts';
import type { Device, FixtureKeys } from '../mpc/wallet-driver.ts';

export class TestDevice {
  member!: WalletMember;
  up = true;
  stored: MemberState;
  readonly settings: { record: unknown; from: string }[] = [];
  readonly history: unknown[] = [];
  /** Run before each stored write (a test makes it throw to crash the device there). */
  beforeWrite: ((records: MemberRecords) => void) | null = null;

  constructor(
    readonly net: MemoryNetwork,
    readonly identity: MemberIdentity,
    readonly role: MemberRole,
    readonly name: string,
    share: WalletShare | null,
  ) {
    this.stored = { share, pending: null, last: null, joining: null, removal: null, directory: [] };
  }

  get key(): string {
    return memberId({ identityKey: this.identity.publicKey });
  }

  get card(): MemberCard {
    return { identityKey: this.key, role: this.role, name: this.name };
  }

  get share(): WalletShare | null {
    return this.member.view().share;
  }

  /** (Re)starts the device from its stored records. */
  start(): WalletMember {
    this.up = true;
    this.member = new WalletMember({
      identity: this.identity,
      role: this.role,
      name: this.name,
      state: this.stored,
      links: {
        send: (peer, message) => this.net.send(this.key, peer, message),
        offer: async (peer) => `memory:${this.key}:${peer.identityKey}`,
        answer: async (link, expected) => this.net.answer(this, link, expected),
        linked: (peer) => this.net.linked(this.key, peer),
        retire: async (peer) => this.net.unlink(this.key, peer),
      },
      store: {
        write: async (records) => {
          this.beforeWrite?.(records);
          this.stored = { ...this.stored, ...records } as MemberState;
        },
      },
      preparedKey: async () => this.net.keys.take(),
      now: () => Date.now(),
      onChange: () => undefined,
      onSettings: (record, from) => this.settings.push({ record, from }),
      onHistory: (entry) => this.history.push(entry),
    });
    this.member.start();
    return this.member;
  }

  crash(): void {
    this.up = false;
  }

  decisions(kind?: Decision['kind']): Decision[] {
    return this.member.view().decisions.filter((decision) => !kind || decision.kind === kind);
  }

  /** Says yes (or no) to every decision of this kind on screen. */
  decideAll(kind: Decision['kind'], yes = true): void {
    for (const decision of this.decisions(kind)) this.member.decide(decision.id, yes);
  }
}

export class MemoryNetwork {
  readonly devices = new Map<string, TestDevice>();
  private readonly pairs = new Set<string>();
  private inFlight = 0;

  constructor(readonly keys: FixtureKeys) {}

  add(identity: MemberIdentity, role: MemberRole, name: string, share: WalletShare | null, directory: DirectoryEntry[] = []): TestDevice {
    const device = new TestDevice(this, identity, role, name, share);
    device.stored = { ...device.stored, directory };
    this.devices.set(device.key, device);
    return device;
  }

  private pairName(a: string, b: string): string {
    return [a, b].sort().join('|');
  }

  link(a: TestDevice, b: TestDevice): void {
    this.pairs.add(this.pairName(a.key, b.key));
  }

  linked(a: string, b: string): boolean {
    return this.pairs.has(this.pairName(a, b));
  }

  unlink(a: string, b: string): void {
    this.pairs.delete(this.pairName(a, b));
  }

  /** The answering member checks the offerer's identity, as the channel's pinned peer. */
  answer(answering: TestDevice, link: string, expected: MemberCard): void {
    const [, offerer] = link.split(':');
    if (offerer !== expected.identityKey) return;
    this.pairs.add(this.pairName(answering.key, offerer));
    setTimeout(() => {
      if (answering.up) answering.member.candidateLinked(offerer);
    }, 0);
  }

  send(from: string, to: string, message: unknown): boolean {
    if (!this.linked(from, to)) return false;
    const sender = this.devices.get(from);
    const target = this.devices.get(to);
    if (!sender?.up || !target) return true;
    const onWire = wire(message as object);
    this.inFlight++;
    setTimeout(() => {
      this.inFlight--;
      if (target.up) void target.member.receive(from, onWire);
    }, 0);
    return true;
  }

  /** Tells both ends of every channel of `device` that it is online (a new session). */
  online(device: TestDevice): void {
    for (const other of this.devices.values()) {
      if (other === device || !this.linked(device.key, other.key) || !other.up) continue;
      void device.member.peerOnline(other.key);
      void other.member.peerOnline(device.key);
    }
  }

  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 5; ) {
      await new Promise((resolve) => setTimeout(resolve, 15));
      quiet = this.inFlight === 0 ? quiet + 1 : 0;
    }
  }

  /** Waits until `check` holds (messages keep flowing meanwhile). */
  async until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** A wallet's first two members, phone A and the browser, added to `net`, linked and started. */
export function startFirstPair(net: MemoryNetwork, phone: Device, extension: Device): { phoneA: TestDevice; extension: TestDevice } {
  const directory = [
    { identityKey: memberId({ identityKey: phone.identity.publicKey }), role: 'phone' as const, name: 'Phone A', addedAt: 1 },
    { identityKey: memberId({ identityKey: extension.identity.publicKey }), role: 'extension' as const, name: 'Browser', addedAt: 1 },
  ];
  const phoneA = net.add(phone.identity, 'phone', 'Phone A', phone.share, directory);
  const browser = net.add(extension.identity, 'extension', 'Browser', extension.share, directory);
  net.link(phoneA, browser);
  phoneA.start();
  browser.start();
  return { phoneA, extension: browser };
}
