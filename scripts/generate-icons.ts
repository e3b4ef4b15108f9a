/**
 * Renders Duet's icons (two overlapping rings) into public/icons/*.png with no image library:
 * a tiny RGBA rasteriser and a PNG encoder over node:zlib. Run: npx tsx scripts/generate-icons.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZES = [16, 32, 48, 128, 192, 512];
const BACKGROUND = [17, 24, 39];
const LEFT_RING = [96, 165, 250];
const RIGHT_RING = [244, 114, 182];

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), Buffer.from(data)]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function encodePng(size: number, rgba: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8;
  header[9] = 6;
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    rows[y * (size * 4 + 1)] = 0;
    Buffer.from(rgba.subarray(y * size * 4, (y + 1) * size * 4)).copy(rows, y * (size * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', new Uint8Array()),
  ]);
}

function render(size: number): Uint8Array {
  const rgba = new Uint8Array(size * size * 4);
  const ringRadius = 0.21 * size;
  const ringWidth = 0.085 * size;
  const corner = 0.2 * size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      const dx = Math.max(corner - px, px - (size - corner), 0);
      const dy = Math.max(corner - py, py - (size - corner), 0);
      const inside = Math.hypot(dx, dy) <= corner;
      const onRing = (cx: number) => Math.abs(Math.hypot(px - cx, py - size / 2) - ringRadius) <= ringWidth / 2;
      const color = onRing(0.6 * size) ? RIGHT_RING : onRing(0.4 * size) ? LEFT_RING : BACKGROUND;
      const offset = (y * size + x) * 4;
      rgba.set([...color, inside ? 255 : 0], offset);
    }
  }
  return rgba;
}

mkdirSync('public/icons', { recursive: true });
for (const size of SIZES) writeFileSync(`public/icons/icon-${size}.png`, encodePng(size, render(size)));
