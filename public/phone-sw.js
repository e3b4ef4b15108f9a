// The phone app's offline shell: network first, the last good copy when offline.
// Only same-origin GET requests of the app itself are cached; the relay's WebSocket is not touched.
const CACHE = 'duet-phone-shell-v1';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin || request.url.endsWith('/healthz')) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          void caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() => caches.match(request).then((cached) => cached ?? caches.match('./index.html')).then((cached) => cached ?? Response.error())),
  );
});
