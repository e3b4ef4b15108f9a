/** Runs a Guard in a child process (guard-child.ts) that tests can kill with SIGKILL and start again. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface GuardProcess {
  readonly url: string;
  /** A code for a new wallet, printed at start. */
  readonly code: string;
  readonly child: ChildProcess;
  /** SIGKILL: no chance to finish anything. */
  kill(): Promise<void>;
}

export async function startGuardProcess(options: Record<string, unknown>): Promise<GuardProcess> {
  const child = spawn(process.execPath, [...(process.env.DUET_GUARD_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.DUET_GUARD_PROFILE] : []), '--import', 'tsx', 'test/guard/support/guard-child.ts'], {
    env: { ...process.env, DUET_GUARD_TEST_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const [url, code] = await new Promise<[string, string]>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /guard (http:\/\/\S+) code (\S+)/.exec(out);
      if (match) resolve([match[1] as string, match[2] as string]);
    });
    child.once('exit', (code) => reject(new Error(`the Guard exited with ${code}`)));
  });
  return {
    url,
    code,
    child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(process.env.DUET_GUARD_PROFILE ? 'SIGINT' : 'SIGKILL');
      await exited;
    },
  };
}
