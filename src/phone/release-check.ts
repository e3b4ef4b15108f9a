/**
 * Trust on first use for the phone app's code (issue 11, point 5). The installed app remembers the
 * version and bundle hash (release-manifest.ts) it first ran; at every start it compares that with
 * the release it runs now (what its service worker pinned) and the release the server offers now,
 * and shows any change — with the new version and hash — before the app is used. The user
 * compares the hash with the published one, then accepts (the service worker pins the new
 * release) or keeps the old one.
 *
 * The check runs in the app's own code, so it protects only as long as the code running is the
 * code the user accepted: the service worker serves that, but whoever controls the origin can
 * replace the service worker itself (docs/threat-model.md).
 */
import { RELEASE_FILE, parseRelease } from './release-manifest.ts';

export interface ReleaseId {
  readonly version: string;
  readonly bundleHash: string;
}

export type ReleaseCheck =
  /** No release description (a development server): nothing to compare. */
  | { readonly kind: 'unknown' }
  /** First start: `running` is remembered from now on. */
  | { readonly kind: 'first'; readonly running: ReleaseId }
  | { readonly kind: 'same'; readonly running: ReleaseId }
  /**
   * `changed` differs from the remembered release. If `runningIsRemembered`, the app still runs the
   * remembered code and the server offers `changed`; otherwise the code running now is `changed`.
   */
  | { readonly kind: 'changed'; readonly remembered: ReleaseId; readonly changed: ReleaseId; readonly runningIsRemembered: boolean };

const idOf = (release: ReleaseId): ReleaseId => ({ version: release.version, bundleHash: release.bundleHash });

export function decideRelease(remembered: ReleaseId | null, running: ReleaseId | null, offered: ReleaseId | null): ReleaseCheck {
  const current = running ?? offered;
  if (!current) return { kind: 'unknown' };
  if (!remembered) return { kind: 'first', running: idOf(current) };
  if (current.bundleHash !== remembered.bundleHash) return { kind: 'changed', remembered, changed: idOf(current), runningIsRemembered: false };
  if (offered && offered.bundleHash !== remembered.bundleHash) return { kind: 'changed', remembered, changed: idOf(offered), runningIsRemembered: true };
  return { kind: 'same', running: idOf(current) };
}

/** Where the remembered release is kept (public data: plain storage is fine). */
export interface ReleaseMemory {
  read(): ReleaseId | null;
  write(release: ReleaseId): void;
}

const MEMORY_KEY = 'duet-phone/release';

export const localStorageReleaseMemory: ReleaseMemory = {
  read() {
    try {
      const parsed = JSON.parse(localStorage.getItem(MEMORY_KEY) ?? 'null') as ReleaseId | null;
      return parsed && typeof parsed.version === 'string' && typeof parsed.bundleHash === 'string' ? idOf(parsed) : null;
    } catch {
      return null;
    }
  },
  write(release) {
    localStorage.setItem(MEMORY_KEY, JSON.stringify(idOf(release)));
  },
};

async function fetchRelease(url: string): Promise<ReleaseId | null> {
  try {
    const response = await fetch(url, { cache: 'no-store' });
    return response.ok ? parseRelease(await response.json()) : null;
  } catch {
    return null;
  }
}

/** The check at start; a first release is remembered at once. */
export async function checkRelease(memory: ReleaseMemory): Promise<ReleaseCheck> {
  // "?pinned" is answered by the service worker from the release it serves (public/phone-sw.js).
  const [running, offered] = await Promise.all([navigator.serviceWorker?.controller ? fetchRelease(`./${RELEASE_FILE}?pinned`) : Promise.resolve(null), fetchRelease(`./${RELEASE_FILE}`)]);
  const check = decideRelease(memory.read(), running, offered);
  if (check.kind === 'first') memory.write(check.running);
  return check;
}

/** The user accepted `release`: remember it and have the service worker serve it; then reload. */
export async function acceptRelease(memory: ReleaseMemory, release: ReleaseId, runningIsRemembered: boolean): Promise<void> {
  const worker = navigator.serviceWorker?.controller;
  if (runningIsRemembered && worker) {
    const channel = new MessageChannel();
    const answer = new Promise<{ ok: boolean; error?: string }>((resolve) => (channel.port1.onmessage = (event) => resolve(event.data as { ok: boolean; error?: string })));
    worker.postMessage({ t: 'pin', bundleHash: release.bundleHash }, [channel.port2]);
    const result = await answer;
    if (!result.ok) throw new Error(`The new version could not be installed: ${result.error ?? 'unknown error'}.`);
  }
  memory.write(release);
  location.reload();
}
