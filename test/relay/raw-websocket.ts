/**
 * A WebSocket client written on a bare TCP socket, to misbehave where a library would not let us:
 * stop reading after the handshake (a reader that never reads), connect from any loopback
 * address, send any header, or never upgrade at all.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface RawWebSocket {
  readonly socket: Socket;
  /** Resolves when the TCP connection ends (either side). */
  readonly ended: Promise<void>;
  sendText(text: string): void;
  sendBinary(bytes: Uint8Array): void;
  /** Stops reading: the relay's writes pile up wherever it keeps them. */
  stopReading(): void;
  /** The text frames received while reading (the challenge, the welcome…). */
  readonly texts: string[];
  /** The highest STORED sequence number received while reading (how far the relay took this client's frames). */
  stored(): number;
  /** The close frame's code, if one was read. */
  closeCode(): number | null;
  /** Resolves with the close frame's code as soon as it is read, or null when the connection ends without one. */
  readonly closed: Promise<number | null>;
}

export interface RawOptions {
  readonly port: number;
  readonly host?: string;
  readonly localAddress?: string;
  readonly headers?: Record<string, string>;
}

/** A bare TCP connection that never sends a byte. */
export function rawTcp(options: RawOptions): Promise<{ socket: Socket; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port: options.port, host: options.host ?? '127.0.0.1', ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    const ended = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, ended }));
    socket.once('error', reject);
  });
}

function frameHeader(opcode: number, length: number): Buffer {
  if (length < 126) return Buffer.from([0x80 | opcode, 0x80 | length]);
  if (length < 65536) {
    const header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

function masked(opcode: number, payload: Uint8Array): Buffer {
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (mask[i & 3] as number);
  return Buffer.concat([frameHeader(opcode, body.length), mask, body]);
}

/** Opens a WebSocket by hand; rejects if the server does not answer 101. */
export async function rawWebSocket(options: RawOptions): Promise<RawWebSocket> {
  const { socket, ended } = await rawTcp(options);
  const key = randomBytes(16).toString('base64');
  const extra = Object.entries(options.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
  const texts: string[] = [];
  let code: number | null = null;
  let stored = 0;
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  let onCloseFrame: (code: number) => void = () => undefined;
  const closed = new Promise<number | null>((resolve) => {
    onCloseFrame = resolve;
    void ended.then(() => resolve(code));
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString();
        buffer = buffer.subarray(end + 4);
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`not upgraded: ${head.split('\r\n')[0]}`));
        upgraded = true;
        resolve();
      }
      // Unmasked server frames: FIN/opcode, length, payload.
      while (buffer.length >= 2) {
        const opcode = (buffer[0] as number) & 0x0f;
        let length = (buffer[1] as number) & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffer.length < offset + length) return;
        const payload = buffer.subarray(offset, offset + length);
        if (opcode === 1) texts.push(payload.toString());
        if (opcode === 2 && payload.length === 5 && payload[0] === 2) stored = Math.max(stored, payload.readUInt32BE(1));
        if (opcode === 8 && payload.length >= 2) {
          code = payload.readUInt16BE(0);
          onCloseFrame(code);
        }
        buffer = buffer.subarray(offset + length);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed before the upgrade')));
  });
  return {
    socket,
    ended,
    texts,
    closeCode: () => code,
    stored: () => stored,
    closed,
    sendText: (text) => void socket.write(masked(1, new TextEncoder().encode(text))),
    sendBinary: (bytes) => void socket.write(masked(2, bytes)),
    stopReading: () => socket.pause(),
  };
}
