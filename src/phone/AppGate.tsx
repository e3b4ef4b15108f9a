/**
 * What runs before the phone app proper: it refuses plain http off loopback (app-security.ts),
 * shows a change of the app's code before it is used (release-check.ts), and stops the app if its
 * service worker is replaced while it runs.
 */
import { useEffect, useState } from 'preact/hooks';
import { appOriginProblem } from './app-security.ts';
import { PhoneApp } from './PhoneApp.tsx';
import { acceptRelease, checkRelease, localStorageReleaseMemory, type ReleaseCheck, type ReleaseId } from './release-check.ts';

function Frame({ children, testId }: { children: preact.ComponentChildren; testId: string }) {
  return (
    <main data-testid={testId}>
      <header class="brand">
        <span class="logo" aria-hidden="true" />
        <h1>Duet</h1>
      </header>
      <div class="stack danger-screen">{children}</div>
    </main>
  );
}

function ReleaseChanged({ check, onKeep }: { check: Extract<ReleaseCheck, { kind: 'changed' }>; onKeep: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const { remembered, changed, runningIsRemembered } = check;
  const describe = (release: ReleaseId, testId: string) => (
    <p>
      version <strong data-testid={`${testId}-version`}>{release.version}</strong>, bundle hash <span class="address" data-testid={`${testId}-hash`}>{release.bundleHash}</span>
    </p>
  );
  return (
    <Frame testId="release-changed">
      <h2>This phone app has changed</h2>
      <p>You approved:</p>
      {describe(remembered, 'release-old')}
      <p>{runningIsRemembered ? 'Its server now offers:' : 'What runs now is:'}</p>
      {describe(changed, 'release-new')}
      <p>Compare the new bundle hash with the one published for that version before you go on. If it does not match, or you did not expect an update, do not use this app: its server may have been taken over.</p>
      <button data-testid="release-accept" onClick={() => void acceptRelease(localStorageReleaseMemory, changed, runningIsRemembered).catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))}>
        Use version {changed.version}
      </button>
      {runningIsRemembered && (
        <button class="secondary" data-testid="release-keep" onClick={onKeep}>
          Keep version {remembered.version}
        </button>
      )}
      {error && <p class="error">{error}</p>}
    </Frame>
  );
}

export function AppGate() {
  const problem = appOriginProblem(new URL(location.href));
  const [check, setCheck] = useState<ReleaseCheck | null>(null);
  const [replaced, setReplaced] = useState(false);
  /** The user keeps the remembered release, which is the one running: asked again at the next start. */
  const [kept, setKept] = useState(false);
  useEffect(() => {
    if (problem) return;
    void checkRelease(localStorageReleaseMemory).then(setCheck);
    const worker = navigator.serviceWorker;
    if (!worker?.controller) return;
    const onChange = () => setReplaced(true);
    worker.addEventListener('controllerchange', onChange);
    return () => worker.removeEventListener('controllerchange', onChange);
  }, [problem]);
  if (problem)
    return (
      <Frame testId="app-refused">
        <p data-testid="app-refused-reason">{problem}</p>
      </Frame>
    );
  if (replaced)
    return (
      <Frame testId="app-replaced">
        <h2>This app's code was replaced while it ran</h2>
        <p>Its server installed another service worker. The app locked itself. Close it; when you open it again it shows the new version and bundle hash, to compare with the published ones.</p>
      </Frame>
    );
  if (!check) return null;
  if (check.kind === 'changed' && !kept) return <ReleaseChanged check={check} onKeep={() => setKept(true)} />;
  return <PhoneApp release={check.kind === 'first' || check.kind === 'same' ? check.running : check.kind === 'changed' ? check.remembered : null} />;
}
