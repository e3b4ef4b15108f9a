/**
 * `npm start` as Duet's main job (the npm script builds first; `npm test` has built already):
 * without a display it runs the scripted demo and prints one JSON object as its last line, and
 * Ctrl-C (SIGINT) in the middle stops everything it started, leaving no process behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { expect, test } from './fixtures.ts';

function startDuet(): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  // As `npm start` runs it after its build step. (Not under the tsx CLI: on Ctrl-C it SIGKILLs a
  // script that does not answer within 60 ms, which leaves anvil and Chromium behind.)
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--headless'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Every process below `root`, from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // the process ended while we looked
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

/** Still running (a zombie, waiting for its parent to collect it, has ended). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('npm start without a display: the scripted demo mines a co-signed transfer and prints the JSON summary last', async () => {
  test.setTimeout(180_000);
  const duet = startDuet();
  const code = await duet.exited;
  expect(code, `npm start printed:\n${duet.output()}`).toBe(0);
  const lines = duet.output().trim().split('\n');
  const summary = JSON.parse(lines.at(-1) as string) as Record<string, unknown>;
  expect(summary).toMatchObject({ mined: true, address: expect.stringMatching(/^0x[0-9a-fA-F]{40}$/), txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
  expect(summary.pair_ms).toEqual(expect.any(Number));
  expect(summary.sign_ms).toEqual(expect.any(Number));
});

test('Ctrl-C while the stack runs stops anvil, the relay and Chromium, leaving no process behind', async () => {
  test.setTimeout(120_000);
  const duet = startDuet();
  await expect.poll(duet.output, { timeout: 60_000 }).toContain('Chromium: extension');
  const started = descendants(duet.child.pid as number);
  expect(started.length).toBeGreaterThan(2);
  // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
  process.kill(-(duet.child.pid as number), 'SIGINT');
  expect(await duet.exited).toBe(0);
  await expect.poll(() => started.filter(alive), { timeout: 15_000 }).toEqual([]);
});
