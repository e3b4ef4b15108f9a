/**
 * `npm run bench:relay`: opens N paired channels (default 1,000; --channels N) through the real
 * relay running in its own process on loopback, sends messages at a steady rate, and measures
 * one-way delivery latency, loss and duplicates. Every client takes its role with a relay
 * credential (a signed challenge), as the apps do. All clients share one address, so the
 * per-address limits are raised for the run. Last line: one JSON object.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { RelayClient, type WebSocketConstructor } from '../src/channel/relay-client.ts';
import { pairingCredential } from '../src/channel/relay-credential.ts';
import { freePort } from '../src/devstack/free-port.ts';

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const CHANNELS = flag('--channels', 1000);
const MESSAGES_PER_CHANNEL = flag('--messages', 20);
const SEND_RATE_PER_S = flag('--rate', 4000);
const CONNECT_BATCH = 100;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

const port = await freePort();
const relayProcess = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    'src/relay/main.ts',
    '--port',
    String(port),
    '--state-dir',
    '',
    '--max-channels-per-ip',
    String(CHANNELS * 2),
    '--max-connections-per-address',
    String(CHANNELS * 2 + 16),
    '--address-connects-per-second',
    '100000',
    '--address-connect-burst',
    '100000',
    '--address-frames-per-second',
    '100000',
    '--address-frame-burst',
    '100000',
    '--frames-per-second',
    '10000',
    '--frame-burst',
    '10000',
    '--static-dir',
    'dist-phone',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
await new Promise<void>((resolve, reject) => {
  relayProcess.stdout.on('data', (chunk: Buffer) => {
    if (chunk.toString().includes('listening')) resolve();
  });
  relayProcess.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
});

const wsUrl = `ws://127.0.0.1:${port}`;
const received = new Map<string, number>();
const latencies: number[] = [];
let duplicated = 0;

interface Pair {
  readonly sender: RelayClient;
  readonly receiver: RelayClient;
}

const pairs: Pair[] = [];
for (let start = 0; start < CHANNELS; start += CONNECT_BATCH) {
  const batch = Array.from({ length: Math.min(CONNECT_BATCH, CHANNELS - start) }, () => {
    const channelId = crypto.getRandomValues(new Uint8Array(16));
    const options = { relayUrl: wsUrl, WebSocket: WebSocket as unknown as WebSocketConstructor, keepaliveMs: 15_000 };
    const pair = {
      sender: new RelayClient({ ...options, credential: pairingCredential(channelId, 'extension') }),
      receiver: new RelayClient({ ...options, credential: pairingCredential(channelId, 'phone') }),
    };
    pair.receiver.onMessage((payload) => {
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
      const key = `${view.getUint32(0)}:${view.getUint32(4)}`;
      if (received.has(key)) duplicated++;
      received.set(key, 1);
      latencies.push(performance.now() - view.getFloat64(8));
    });
    return pair;
  });
  await Promise.all(batch.flatMap((pair) => [pair.sender.connect(), pair.receiver.connect()]));
  pairs.push(...batch);
}

const total = CHANNELS * MESSAGES_PER_CHANNEL;
const started = performance.now();
let sent = 0;
const intervalMs = 10;
const perTick = Math.max(1, Math.round((SEND_RATE_PER_S * intervalMs) / 1000));
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    for (let k = 0; k < perTick && sent < total; k++, sent++) {
      const channel = sent % CHANNELS;
      const message = Math.floor(sent / CHANNELS);
      const payload = new Uint8Array(64);
      const view = new DataView(payload.buffer);
      view.setUint32(0, channel);
      view.setUint32(4, message);
      view.setFloat64(8, performance.now());
      (pairs[channel] as Pair).sender.send(payload);
    }
    if (sent >= total) {
      clearInterval(timer);
      resolve();
    }
  }, intervalMs);
});
const deadline = Date.now() + 20_000;
while (received.size < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
const elapsedS = (performance.now() - started) / 1000;
const relayRss = rssMb(relayProcess.pid as number);

for (const pair of pairs) {
  pair.sender.close();
  pair.receiver.close();
}
relayProcess.kill('SIGTERM');

const round = (value: number) => Math.round(value * 100) / 100;
console.log(
  JSON.stringify({
    channels: CHANNELS,
    messages: total,
    lost: total - received.size,
    duplicated,
    msgs_per_s: Math.round(received.size / elapsedS),
    p50_ms: round(quantile(latencies, 0.5)),
    p99_ms: round(quantile(latencies, 0.99)),
    relay_rss_mb: relayRss,
    send_rate_per_s: SEND_RATE_PER_S,
  }),
);
process.exit(0);
