/**
 * `npm run bench:relay -- [--instances N] [--store memory|redis] [--channels N] [--messages M]
 * [--rate R] [--clients K]`: opens N paired channels (default 1,000) through real relay instances,
 * each in its own process on loopback, and sends M messages per channel each way (default 20,
 * 64-byte payloads) at R messages per second in all (default 4,000), measuring one-way delivery
 * latency, loss and duplicates. Every client takes its role with a relay credential (a signed
 * challenge), as the apps do.
 *
 * With Redis, the benchmark starts its own redis-server (test/relay/redis-server.ts: AOF on,
 * fsynced before every reply) and the instances share it; a channel's two ends connect to
 * different instances (ext → instance i mod N, phone → instance i+1 mod N), so with N ≥ 2 every
 * frame crosses instances. The client sockets are spread over K worker processes (default: one
 * per 8,000 sockets, at least 2), both ends of a channel in the same worker, which measures the
 * latency with its own clock. All clients share one address, so the per-address limits are raised
 * for the run. Last line: one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { WebSocket } from 'ws';
import { RelayClient, type WebSocketConstructor } from '../src/channel/relay-client.ts';
import { pairingCredential } from '../src/channel/relay-credential.ts';
import { freePort } from '../src/devstack/free-port.ts';
import { startRedisServer, type RedisServer } from '../test/relay/redis-server.ts';

const PAYLOAD_BYTES = 64;
const CONNECT_BATCH = 100;
const SOCKETS_PER_WORKER = 8_000;
const TICK_MS = 10;
const DRAIN_TIMEOUT_MS = 30_000;

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

function statusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

// ---- a worker process: some of the channels, both ends ------------------------------------------

interface WorkerPlan {
  readonly first: number;
  readonly count: number;
  readonly urls: readonly string[];
  readonly messages: number;
  /** Messages per second this worker sends (both directions together). */
  readonly rate: number;
}

interface WorkerResult {
  readonly received: number;
  readonly duplicated: number;
  readonly latencies: Float64Array;
  /** CPU seconds this worker used from the start of sending to the end of receiving. */
  readonly cpuSeconds: number;
}

async function runWorker(plan: WorkerPlan): Promise<void> {
  const send = (message: unknown) => process.send?.(message);
  const WebSocketImpl = WebSocket as unknown as WebSocketConstructor;
  const seen = new Uint8Array(plan.count * 2 * plan.messages);
  const latencies = new Float64Array(plan.count * 2 * plan.messages);
  let received = 0;
  let duplicated = 0;
  const ends: [RelayClient, RelayClient][] = [];

  function onPayload(payload: Uint8Array): void {
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const index = (view.getUint32(0) - plan.first) * 2 * plan.messages + view.getUint8(4) * plan.messages + view.getUint32(5);
    if (seen[index]) {
      duplicated++;
      return;
    }
    seen[index] = 1;
    latencies[received++] = performance.now() - view.getFloat64(9);
  }

  for (let start = 0; start < plan.count; start += CONNECT_BATCH) {
    const batch = Array.from({ length: Math.min(CONNECT_BATCH, plan.count - start) }, (_, k) => {
      const channel = plan.first + start + k;
      const secret = crypto.getRandomValues(new Uint8Array(16));
      const at = (offset: number) => plan.urls[(channel + offset) % plan.urls.length] as string;
      const pair: [RelayClient, RelayClient] = [
        new RelayClient({ relayUrl: at(0), WebSocket: WebSocketImpl, credential: pairingCredential(secret, 'extension') }),
        new RelayClient({ relayUrl: at(1), WebSocket: WebSocketImpl, credential: pairingCredential(secret, 'phone') }),
      ];
      for (const end of pair) end.onMessage(onPayload);
      return pair;
    });
    await Promise.all(batch.flatMap((pair) => pair.map((end) => end.connect())));
    ends.push(...batch);
  }
  send({ t: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const cpuAtStart = process.cpuUsage();

  const total = plan.count * 2 * plan.messages;
  const perTick = Math.max(1, Math.round((plan.rate * TICK_MS) / 1000));
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      for (let k = 0; k < perTick && sent < total; k++, sent++) {
        // Round robin over channels, then directions, then message numbers.
        const local = sent % plan.count;
        const direction = Math.floor(sent / plan.count) % 2;
        const message = Math.floor(sent / (plan.count * 2));
        const payload = new Uint8Array(PAYLOAD_BYTES);
        const view = new DataView(payload.buffer);
        view.setUint32(0, plan.first + local);
        view.setUint8(4, direction);
        view.setUint32(5, message);
        view.setFloat64(9, performance.now());
        (ends[local] as [RelayClient, RelayClient])[direction]!.send(payload);
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  send({ t: 'sent' });
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (received < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const cpu = process.cpuUsage(cpuAtStart);
  const result: WorkerResult = { received, duplicated, latencies: latencies.slice(0, received), cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  for (const pair of ends) for (const end of pair) end.close();
  // Exits once the result is handed to the coordinator (a large message takes a while).
  process.send?.({ t: 'done', result }, () => process.exit(0));
}

// ---- the coordinator ------------------------------------------------------------------------------

/** Every process the coordinator started: none outlives it, even when it fails. */
const children: ChildProcess[] = [];
process.once('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Instance {
  readonly url: string;
  readonly child: ChildProcess;
}

async function startInstance(extraArgs: readonly string[], channels: number): Promise<Instance> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/relay/main.ts',
      '--port',
      String(port),
      '--state-dir',
      '',
      '--static-dir',
      '',
      '--max-channels-per-ip',
      String(channels * 2),
      '--max-connections-per-address',
      String(channels * 2 + 16),
      '--address-connects-per-second',
      '100000',
      '--address-connect-burst',
      '100000',
      '--address-frames-per-second',
      '1000000',
      '--address-frame-burst',
      '1000000',
      '--frames-per-second',
      '10000',
      '--frame-burst',
      '10000',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`relay exited with ${code}: ${out}`)));
  });
  child.stdout?.resume();
  return { url: `ws://127.0.0.1:${port}`, child };
}

function startWorker(plan: WorkerPlan): { child: ChildProcess; next: (type: string) => Promise<{ t: string; result?: WorkerResult }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/relay.ts'], {
    env: { ...process.env, DUET_BENCH_WORKER: JSON.stringify(plan) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  children.push(child);
  const inbox: { t: string; result?: WorkerResult }[] = [];
  const waiters: (() => void)[] = [];
  let closed = false;
  child.on('message', (message: { t: string; result?: WorkerResult }) => {
    inbox.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async (type: string) => {
    for (;;) {
      const index = inbox.findIndex((message) => message.t === type);
      if (index >= 0) return inbox.splice(index, 1)[0] as { t: string; result?: WorkerResult };
      if (closed) throw new Error(`bench worker exited with ${child.exitCode} before sending ${type}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  // 'close' comes after every message the worker sent was received ('exit' may come before).
  child.once('close', () => {
    closed = true;
    for (const wake of waiters.splice(0)) wake();
  });
  return { child, next };
}

async function runCoordinator(): Promise<void> {
  const instances = Number(flag('--instances', '1'));
  const store = flag('--store', 'memory');
  const channels = Number(flag('--channels', '1000'));
  const messages = Number(flag('--messages', '20'));
  const rate = Number(flag('--rate', '4000'));
  const workers = Number(flag('--clients', String(Math.max(2, Math.ceil((channels * 2) / SOCKETS_PER_WORKER)))));
  if (store !== 'memory' && store !== 'redis') throw new Error('--store is memory or redis');
  if (store === 'memory' && instances !== 1) throw new Error('in memory, instances share nothing: use --store redis for more than one instance');
  const loadBefore = loadavg()[0] as number;

  let redis: RedisServer | null = null;
  const extra: string[] = [];
  if (store === 'redis') {
    redis = await startRedisServer({ appendfsync: flag('--fsync', 'always') as 'always' | 'everysec' });
    extra.push('--redis-url', redis.url, '--redis-prefix', `bench-${Date.now()}:`);
  }
  const relays = await Promise.all(Array.from({ length: instances }, () => startInstance(extra, channels)));
  const urls = relays.map((relay) => relay.url);

  const share = Math.ceil(channels / workers);
  const plans: WorkerPlan[] = [];
  for (let first = 0; first < channels; first += share) {
    const count = Math.min(share, channels - first);
    plans.push({ first, count, urls, messages, rate: (rate * count) / channels });
  }
  const started = plans.map(startWorker);
  for (const worker of started) await worker.next('ready');

  const processes = { relays: relays.map((relay) => relay.child.pid as number), redis: redis ? [redis.pid()] : [] };
  const cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, pids]) => [name, pids.map(cpuSeconds)]));
  const peak = relays.map(() => 0);
  const sampler = setInterval(() => relays.forEach((relay, i) => (peak[i] = Math.max(peak[i] as number, statusMb(relay.child.pid as number, 'VmRSS')))), 500);
  const sendStarted = performance.now();
  for (const worker of started) worker.child.send({ t: 'go' });
  for (const worker of started) await worker.next('sent');
  const results = await Promise.all(started.map(async (worker) => (await worker.next('done')).result as WorkerResult));
  const elapsedS = (performance.now() - sendStarted) / 1000;
  clearInterval(sampler);
  const tenths = (value: number) => Math.round(value * 10) / 10;
  const cpu = {
    ...Object.fromEntries(Object.entries(processes).map(([name, pids]) => [name, pids.map((pid, i) => tenths(cpuSeconds(pid) - (cpuBefore[name]?.[i] ?? 0)))])),
    clients: results.map((result) => tenths(result.cpuSeconds)),
  };
  const relayRss = relays.map((relay) => statusMb(relay.child.pid as number, 'VmRSS'));
  const relayPeak = relays.map((relay, i) => Math.max(peak[i] as number, relayRss[i] as number));
  const redisRss = redis ? statusMb(redis.pid(), 'VmRSS') : null;

  await Promise.all(relays.map((relay) => new Promise((resolve) => (relay.child.once('exit', resolve), relay.child.kill('SIGTERM')))));
  await redis?.dispose();

  const total = channels * 2 * messages;
  const received = results.reduce((sum, result) => sum + result.received, 0);
  const latencies = new Float64Array(received);
  let offset = 0;
  for (const result of results) {
    latencies.set(result.latencies, offset);
    offset += result.latencies.length;
  }
  latencies.sort();
  const round = (value: number) => Math.round(value * 100) / 100;
  console.log(
    JSON.stringify({
      instances,
      store,
      channels,
      messages: total,
      lost: total - received,
      duplicated: results.reduce((sum, result) => sum + result.duplicated, 0),
      msgs_per_s: Math.round(received / elapsedS),
      p50_ms: round(quantile(latencies, 0.5)),
      p99_ms: round(quantile(latencies, 0.99)),
      relay_rss_mb: relayRss,
      relay_peak_rss_mb: relayPeak,
      ...(redisRss !== null ? { redis_rss_mb: redisRss } : {}),
      elapsed_s: round(elapsedS),
      cpu_s: cpu,
      send_rate_per_s: rate,
      client_processes: plans.length,
      load_average_1m: [round(loadBefore), round(loadavg()[0] as number)],
    }),
  );
  process.exit(0);
}

const workerPlan = process.env.DUET_BENCH_WORKER;
if (workerPlan) await runWorker(JSON.parse(workerPlan) as WorkerPlan);
else
  await runCoordinator().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
