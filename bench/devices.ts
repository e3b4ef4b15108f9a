/**
 * `npm run bench:devices [-- --runs 3]` (after `npm run build`)
 *
 * The figures of the devices flows, measured by the end-to-end flows themselves (e2e/devices.spec.ts:
 * real Chromium with the built extension, the phone app pages, the real relay, anvil; Paillier key
 * fixtures, so no key generation is timed): each flow records its membership change as a Playwright
 * annotation, and this script runs flows 1–3 `runs` times and reports the medians.
 *
 *   add-device-ms       flow 1: "Add a device" shown → the new phone scanned, both codes compared →
 *                       the new epoch on the Devices page (both sides' compute and the relay)
 *   remove-device-ms    flow 2: "Remove with …" → the removal complete on every remaining member
 *   recover-browser-ms  flow 3: the recover code opened on the phone → the first signature of the
 *                       new browser sent
 *
 * The clock includes the test's clicks on every screen (one Playwright action each). Last line
 * JSON: runs, and for each figure its median and every run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIGURES = ['add-device-ms', 'remove-device-ms', 'recover-browser-ms'] as const;

interface JsonReport {
  readonly suites: readonly JsonSuite[];
}
interface JsonSuite {
  readonly specs?: readonly { readonly tests: readonly { readonly results: readonly { readonly status: string; readonly annotations?: readonly { type: string; description?: string }[] }[] }[] }[];
  readonly suites?: readonly JsonSuite[];
}

function runsArgument(): number {
  const at = process.argv.indexOf('--runs');
  const runs = at >= 0 ? Number(process.argv[at + 1]) : 3;
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error('--runs takes 1 to 20');
  return runs;
}

function annotations(suite: JsonSuite): { type: string; description?: string; status: string }[] {
  const own = (suite.specs ?? []).flatMap((spec) => spec.tests.flatMap((test) => test.results.flatMap((result) => (result.annotations ?? []).map((annotation) => ({ ...annotation, status: result.status })))));
  return [...own, ...(suite.suites ?? []).flatMap(annotations)];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : Math.round(((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2);
}

const runs = runsArgument();
const measured: Record<string, number[]> = Object.fromEntries(FIGURES.map((name) => [name, []]));
const folder = mkdtempSync(join(tmpdir(), 'duet-bench-devices-'));
try {
  for (let run = 1; run <= runs; run++) {
    const report = join(folder, `run-${run}.json`);
    const result = spawnSync('npx', ['playwright', 'test', 'e2e/devices.spec.ts', '-g', '1\\. add phone B|2\\. phone A lost|3\\. browser lost', '--reporter=json'], {
      env: { ...process.env, PLAYWRIGHT_JSON_OUTPUT_NAME: report },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const found = annotations(JSON.parse(readFileSync(report, 'utf8')) as JsonReport);
    const failed = found.length === 0 || result.status !== 0;
    for (const entry of found) if (entry.status === 'passed' && entry.type in measured) measured[entry.type]?.push(Number(entry.description));
    console.log(`run ${run}: ${found.map((entry) => `${entry.type} ${entry.description}`).join(', ')}${failed ? ' (a flow failed: its figure is left out)' : ''}`);
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}
console.log(JSON.stringify({ runs, ...Object.fromEntries(FIGURES.map((name) => [name.replace(/-ms$/, '_ms_median').replace(/-/g, '_'), measured[name]?.length ? median(measured[name] as number[]) : null])), every_run: measured }));
