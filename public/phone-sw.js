// The phone app's service worker: it pins one release. On its first install it takes the release
// the server offers (trust on first use): it downloads release.json and every file it lists,
// checks each against its SHA-256 there and the bundle hash against the list, and keeps them in
// a cache named by the bundle hash. From then on it serves the app only from that cache (offline
// too), whatever the server sends, until the page asks it to pin another release, which the page
// does only after showing the user the new version and bundle hash (src/phone/release-check.ts).
// release.json itself always comes from the network, so the page can see a change.
//
// A service worker alone cannot pin: whoever controls the app's origin can replace this script,
// and the browser installs the replacement. The page notices that (its controller changes) and
// locks itself; see docs/threat-model.md.
const PIN_RECORD = 'duet-phone-pin';
const CACHE_PREFIX = 'duet-phone-release-';
const RELEASE = 'release.json';

const scopeUrl = (path) => new URL(path, self.registration.scope).href;

const hex = (buffer) => Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, '0')).join('');

async function sha256(bytes) {
  return hex(await crypto.subtle.digest('SHA-256', bytes));
}

async function pinnedHash() {
  const record = await (await caches.open(PIN_RECORD)).match(scopeUrl('pinned'));
  return record ? record.text() : null;
}

/** Downloads and checks a release; resolves with its bundle hash once it is the one served. */
async function pin(expectedHash) {
  const releaseResponse = await fetch(scopeUrl(RELEASE), { cache: 'no-store' });
  if (!releaseResponse.ok) throw new Error('no release.json');
  const releaseBytes = await releaseResponse.arrayBuffer();
  const release = JSON.parse(new TextDecoder().decode(releaseBytes));
  if (expectedHash && release.bundleHash !== expectedHash) throw new Error('the server offers another release than the one accepted');
  const paths = Object.keys(release.files).sort();
  const sums = paths.map((path) => `${release.files[path]}  ${path}\n`).join('');
  if ((await sha256(new TextEncoder().encode(sums))) !== release.bundleHash) throw new Error('release.json does not match its bundle hash');
  const cache = await caches.open(CACHE_PREFIX + release.bundleHash);
  for (const path of paths) {
    const response = await fetch(scopeUrl(path), { cache: 'no-store' });
    const body = await response.arrayBuffer();
    if (!response.ok || (await sha256(body)) !== release.files[path]) throw new Error(`${path} does not match release.json`);
    await cache.put(scopeUrl(path), new Response(body, { headers: response.headers }));
  }
  await cache.put(scopeUrl(RELEASE), new Response(releaseBytes, { headers: { 'content-type': 'application/json' } }));
  await (await caches.open(PIN_RECORD)).put(scopeUrl('pinned'), new Response(release.bundleHash));
  for (const name of await caches.keys()) if (name.startsWith(CACHE_PREFIX) && name !== CACHE_PREFIX + release.bundleHash) await caches.delete(name);
  return release.bundleHash;
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    pinnedHash()
      .then((hash) => hash ?? pin(null))
      .catch(() => undefined)
      .then(() => self.skipWaiting()),
  );
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.endsWith('/healthz')) return;
  if (url.pathname.endsWith('/' + RELEASE) && !url.searchParams.has('pinned')) return; // the network's, always
  event.respondWith(
    (async () => {
      const hash = await pinnedHash();
      if (hash) {
        const cache = await caches.open(CACHE_PREFIX + hash);
        const key = request.mode === 'navigate' ? scopeUrl('index.html') : url.searchParams.has('pinned') ? scopeUrl(RELEASE) : request.url;
        const cached = await cache.match(key, { ignoreSearch: true });
        if (cached) return cached;
      }
      return fetch(request);
    })(),
  );
});

self.addEventListener('message', (event) => {
  const reply = (message) => event.ports[0]?.postMessage(message);
  if (event.data?.t === 'pin' && typeof event.data.bundleHash === 'string') {
    event.waitUntil(pin(event.data.bundleHash).then((bundleHash) => reply({ ok: true, bundleHash }), (error) => reply({ ok: false, error: String(error?.message ?? error) })));
  }
});
