/** Runs a relay in a child process (test/relay/relay-child.ts) and reads its memory from /proc. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RelayProcess {
  readonly port: number;
  readonly wsUrl: string;
  readonly child: ChildProcess;
  /** Resident memory now, in MB. */
  rssMb(): number;
  /** The highest resident memory since the process started (VmHWM), in MB. */
  peakRssMb(): number;
  /** SIGTERM (graceful) or SIGKILL; resolves when the process is gone. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

function statusField(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

export async function startRelayProcess(options: Record<string, unknown>): Promise<RelayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/relay/relay-child.ts'], {
    env: { ...process.env, DUET_RELAY_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /port (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
  });
  const pid = child.pid as number;
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}`,
    child,
    rssMb: () => statusField(pid, 'VmRSS'),
    peakRssMb: () => statusField(pid, 'VmHWM'),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
