/**
 * What the relay keeps on disk in its state directory (`--state-dir`):
 *
 * - `mailboxes.bin`, written by a graceful stop and read (then deleted) by the next start: every
 *   channel that still holds frames, with its roster, its creator's address and both mailboxes.
 *   Binary, little-endian lengths:
 *     "DUETRLY2" ‖ u32 channel count ‖ per channel: str name ‖ 32 B key_extension ‖ 32 B key_phone ‖
 *     str creator ‖ 2 × mailbox (extension's outbox, then the phone's)
 *     mailbox = u32 lastStored ‖ u32 expiredUpTo ‖ u32 acknowledgedUpTo ‖ u32 count ‖
 *               count × (u32 seq ‖ f64 storedAt ‖ str owner ‖ u32 length ‖ payload)
 *     str = u16 length ‖ UTF-8
 *   Written to a temporary file, fsynced, then renamed over the old one, so a crash mid-write
 *   leaves either the old file or the new one. It is deleted once loaded: a later crash must not
 *   bring back frames that were delivered since.
 * - `retired.log`, appended (and fsynced) at every RETIRE: "<channel name> <expiry ms>" per line, so a
 *   retired channel stays refused even after a crash. Compacted at each start.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RelayRoster } from '../channel/relay-credential.ts';
import type { MailboxSnapshot, StoredFrame } from './mailbox.ts';

const MAGIC = 'DUETRLY2';
const MAILBOXES_FILE = 'mailboxes.bin';
const RETIRED_FILE = 'retired.log';

export interface ChannelSnapshot {
  readonly name: string;
  readonly roster: RelayRoster;
  readonly creator: string;
  readonly outboxes: { readonly extension: MailboxSnapshot; readonly phone: MailboxSnapshot };
}

export class RelayStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayStateError';
  }
}

class Writer {
  readonly chunks: Buffer[] = [];

  u16(value: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(value);
    this.chunks.push(b);
  }

  u32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    this.chunks.push(b);
  }

  f64(value: number): void {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.chunks.push(b);
  }

  bytes(value: Uint8Array): void {
    this.chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }

  str(value: string): void {
    const b = Buffer.from(value, 'utf8');
    this.u16(b.length);
    this.chunks.push(b);
  }
}

class Reader {
  private offset = 0;

  constructor(private readonly buffer: Buffer) {}

  private take(length: number): Buffer {
    if (this.offset + length > this.buffer.length) throw new RelayStateError(`${MAILBOXES_FILE} is truncated`);
    const out = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  u16 = () => this.take(2).readUInt16LE();
  u32 = () => this.take(4).readUInt32LE();
  f64 = () => this.take(8).readDoubleLE();
  bytes = (length: number) => new Uint8Array(this.take(length));
  str = () => this.take(this.u16()).toString('utf8');
  get done(): boolean {
    return this.offset === this.buffer.length;
  }
}

function writeMailbox(out: Writer, mailbox: MailboxSnapshot): void {
  out.u32(mailbox.lastStored);
  out.u32(mailbox.expiredUpTo);
  out.u32(mailbox.acknowledgedUpTo);
  out.u32(mailbox.frames.length);
  for (const frame of mailbox.frames) {
    out.u32(frame.seq);
    out.f64(frame.storedAt);
    out.str(frame.owner);
    out.u32(frame.payload.length);
    out.bytes(frame.payload);
  }
}

function readMailbox(input: Reader): MailboxSnapshot {
  const lastStored = input.u32();
  const expiredUpTo = input.u32();
  const acknowledgedUpTo = input.u32();
  const count = input.u32();
  const frames: StoredFrame[] = [];
  for (let i = 0; i < count; i++) {
    const seq = input.u32();
    const storedAt = input.f64();
    const owner = input.str();
    frames.push({ seq, storedAt, owner, payload: input.bytes(input.u32()) });
  }
  return { lastStored, expiredUpTo, acknowledgedUpTo, frames };
}

/** Writes the snapshot atomically (temporary file, fsync, rename). */
export async function saveMailboxes(dir: string, channels: readonly ChannelSnapshot[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const temporary = join(dir, `${MAILBOXES_FILE}.tmp`);
  const file = await open(temporary, 'w');
  try {
    const header = new Writer();
    header.bytes(Buffer.from(MAGIC));
    header.u32(channels.length);
    await file.writev(header.chunks);
    for (const channel of channels) {
      const out = new Writer();
      out.str(channel.name);
      out.bytes(channel.roster.extension);
      out.bytes(channel.roster.phone);
      out.str(channel.creator);
      writeMailbox(out, channel.outboxes.extension);
      writeMailbox(out, channel.outboxes.phone);
      await file.writev(out.chunks);
    }
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, join(dir, MAILBOXES_FILE));
}

/** The saved snapshot, deleted from disk once read; empty when there is none. */
export async function takeMailboxes(dir: string): Promise<ChannelSnapshot[]> {
  let buffer: Buffer;
  try {
    buffer = await readFile(join(dir, MAILBOXES_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const input = new Reader(buffer);
  if (Buffer.from(input.bytes(MAGIC.length)).toString() !== MAGIC) throw new RelayStateError(`${MAILBOXES_FILE} is not a Duet relay state file`);
  const channels: ChannelSnapshot[] = [];
  for (let count = input.u32(); count > 0; count--) {
    const name = input.str();
    const roster = { extension: input.bytes(32), phone: input.bytes(32) };
    const creator = input.str();
    channels.push({ name, roster, creator, outboxes: { extension: readMailbox(input), phone: readMailbox(input) } });
  }
  if (!input.done) throw new RelayStateError(`${MAILBOXES_FILE} has trailing bytes`);
  await rm(join(dir, MAILBOXES_FILE));
  return channels;
}

/** Retired channel names with their expiry; rewrites the log without the expired ones (and beyond `max`, the oldest). */
export async function loadRetired(dir: string, now: number, max: number): Promise<Map<string, number>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, RETIRED_FILE);
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const retired = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, expiry] = line.split(' ');
    const expiresAt = Number(expiry);
    if (name && Number.isFinite(expiresAt) && expiresAt > now) retired.set(name, expiresAt);
  }
  const kept = new Map([...retired].slice(-max));
  await writeFile(path, [...kept].map(([name, expiresAt]) => `${name} ${expiresAt}\n`).join(''));
  return kept;
}

/** Appends one retired channel, synchronously and fsynced: the refusal survives a crash right after. */
export function appendRetired(dir: string, name: string, expiresAt: number): void {
  const fd = openSync(join(dir, RETIRED_FILE), 'a');
  try {
    writeSync(fd, `${name} ${expiresAt}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
