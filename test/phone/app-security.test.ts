/**
 * The phone app's own defences (issue 11, point 5): the headers it is served with (here by the
 * relay, as in development), https outside loopback, the published release hashes, and the
 * trust-on-first-use decision about a changed bundle.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appOriginProblem, phoneAppContentSecurityPolicy, relayAllowed } from '../../src/phone/app-security.ts';
import { decideRelease } from '../../src/phone/release-check.ts';
import { parseRelease, releaseManifest, sha256Sums } from '../../src/phone/release-manifest.ts';
import { startRelay } from '../../src/relay/relay-server.ts';

const STRICT = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

describe('the headers the phone app is served with', () => {
  it('the relay (development host) sends a strict CSP, no framing, no sniffing, on every file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duet-phone-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>phone</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    const relay = await startRelay({ port: 0, staticDir: dir, log: () => undefined });
    try {
      for (const path of ['/', '/app.js', '/some/route']) {
        const { headers } = await fetch(`${relay.url}${path}`);
        expect(headers.get('content-security-policy'), path).toBe(STRICT);
        expect(headers.get('x-frame-options'), path).toBe('DENY');
        expect(headers.get('x-content-type-options'), path).toBe('nosniff');
        expect(headers.get('referrer-policy'), path).toBe('no-referrer');
      }
    } finally {
      await relay.close();
    }
  });

  it('names relays on another origin in connect-src, and refuses anything that is not a ws(s) origin', () => {
    expect(phoneAppContentSecurityPolicy(['wss://relay.duet.example'])).toContain("connect-src 'self' wss://relay.duet.example;");
    for (const bad of ['https://relay.example', "wss://relay.example; script-src 'unsafe-inline'", 'wss://relay.example/path', '*']) expect(() => phoneAppContentSecurityPolicy([bad])).toThrow(RangeError);
  });
});

describe('the Duet Guards the app may reach', () => {
  it('names them in connect-src, and refuses anything that is not an http(s) origin', () => {
    expect(phoneAppContentSecurityPolicy([], ['https://guard.duet.example'])).toContain("connect-src 'self' https://guard.duet.example;");
    for (const bad of ['wss://guard.example', "https://guard.example; script-src 'unsafe-inline'", 'https://guard.example/path', '*']) expect(() => phoneAppContentSecurityPolicy([], [bad])).toThrow(new RangeError(`a Guard origin is http(s)://host[:port], not ${JSON.stringify(bad)}`));
  });

  it('the relay serves the app with the Guards it is told at each request (a Guard may start after the relay)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duet-phone-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>phone</title>');
    const origins: string[] = [];
    const relay = await startRelay({ port: 0, staticDir: dir, log: () => undefined, phoneGuardOrigins: () => origins });
    try {
      const csp = async () => (await fetch(`http://127.0.0.1:${relay.port}/`)).headers.get('content-security-policy') ?? '';
      expect(await csp()).toContain("connect-src 'self';");
      origins.push('http://127.0.0.1:8790');
      expect(await csp()).toContain("connect-src 'self' http://127.0.0.1:8790;");
    } finally {
      await relay.close();
    }
  });
});

describe('where the app runs', () => {
  it('https anywhere, plain http only on loopback', () => {
    for (const ok of ['https://phone.duet.example/', 'http://localhost:8787/', 'http://127.0.0.1:8787/', 'http://127.3.4.5/', 'http://[::1]:8787/']) expect(appOriginProblem(new URL(ok)), ok).toBeNull();
    for (const bad of ['http://phone.duet.example/', 'http://192.168.1.20:8787/', 'http://localhost.evil.example/', 'http://127.0.0.1.evil.example/']) expect(appOriginProblem(new URL(bad)), bad).toMatch(/only over https/);
  });
});

describe('the relays the app may reach (its connect-src)', () => {
  it('its own origin as ws/wss, and the relay origins it was built with; nothing else', () => {
    const local = new URL('http://localhost:8787/');
    const hosted = new URL('https://phone.duet.example/');
    expect(relayAllowed('ws://localhost:8787', local, [])).toBe(true);
    expect(relayAllowed('ws://localhost:8787/path', local, [])).toBe(true);
    expect(relayAllowed('wss://phone.duet.example', hosted, [])).toBe(true);
    expect(relayAllowed('wss://relay.duet.example', hosted, ['wss://relay.duet.example'])).toBe(true);
    for (const [relay, app] of [
      ['ws://127.0.0.1:8787', local],
      ['ws://localhost:9999', local],
      ['wss://localhost:8787', local],
      ['ws://phone.duet.example', hosted],
      ['wss://relay.evil.example', hosted],
      ['not a url', hosted],
    ] as const) expect(relayAllowed(relay, app, ['wss://relay.duet.example']), relay).toBe(false);
  });
});

describe('the published release hashes', () => {
  const files = new Map([
    ['index.html', new TextEncoder().encode('<!doctype html>')],
    ['assets/app.js', new TextEncoder().encode('console.log(1)')],
    ['release.json', new TextEncoder().encode('{}')],
  ]);

  it('SHA256SUMS checks with sha256sum -c, and the bundle hash is the SHA-256 of it', () => {
    const release = releaseManifest('1.2.3', files);
    expect(Object.keys(release.files)).toEqual(['assets/app.js', 'index.html']);
    const dir = mkdtempSync(join(tmpdir(), 'duet-release-'));
    for (const [path, bytes] of files) {
      execFileSync('mkdir', ['-p', join(dir, path, '..')]);
      writeFileSync(join(dir, path), bytes);
    }
    writeFileSync(join(dir, 'SHA256SUMS'), sha256Sums(release.files));
    expect(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' })).toBe('assets/app.js: OK\nindex.html: OK\n');
    expect(execFileSync('sha256sum', ['SHA256SUMS'], { cwd: dir, encoding: 'utf8' }).split(' ')[0]).toBe(release.bundleHash);
    expect(parseRelease(JSON.parse(JSON.stringify(release)))).toEqual(release);
  });

  it('any changed byte changes the bundle hash; damaged descriptions are refused', () => {
    const release = releaseManifest('1.2.3', files);
    const changed = releaseManifest('1.2.3', new Map([...files, ['assets/app.js', new TextEncoder().encode('console.log(2)')]]));
    expect(changed.bundleHash).not.toBe(release.bundleHash);
    expect(parseRelease({ ...release, bundleHash: 'abc' })).toBeNull();
    expect(parseRelease({ ...release, app: 'other' })).toBeNull();
    expect(parseRelease({ ...release, files: { 'a.js': 'xyz' } })).toBeNull();
  });
});

describe('trust on first use of the app bundle', () => {
  const v1 = { version: '0.1.0', bundleHash: '1'.repeat(64) };
  const v2 = { version: '0.2.0', bundleHash: '2'.repeat(64) };
  const evil = { version: '0.1.0', bundleHash: 'e'.repeat(64) };

  it('remembers the first release; the same one passes', () => {
    expect(decideRelease(null, v1, v1)).toEqual({ kind: 'first', running: v1 });
    expect(decideRelease(null, null, v1)).toEqual({ kind: 'first', running: v1 });
    expect(decideRelease(v1, v1, v1)).toEqual({ kind: 'same', running: v1 });
    expect(decideRelease(v1, v1, null)).toEqual({ kind: 'same', running: v1 });
    expect(decideRelease(v1, null, null)).toEqual({ kind: 'unknown' });
  });

  it('shows a new release offered by the server, and a changed bundle under the same version', () => {
    expect(decideRelease(v1, v1, v2)).toEqual({ kind: 'changed', remembered: v1, changed: v2, runningIsRemembered: true });
    expect(decideRelease(v1, v1, evil)).toEqual({ kind: 'changed', remembered: v1, changed: evil, runningIsRemembered: true });
  });

  it('shows it when the code running now is not the remembered one (no pinning service worker)', () => {
    expect(decideRelease(v1, null, v2)).toEqual({ kind: 'changed', remembered: v1, changed: v2, runningIsRemembered: false });
    expect(decideRelease(v1, evil, evil)).toEqual({ kind: 'changed', remembered: v1, changed: evil, runningIsRemembered: false });
  });
});
