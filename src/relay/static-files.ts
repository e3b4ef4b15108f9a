/**
 * Serves the phone app's built files: GET/HEAD only, paths resolved inside the root (no
 * traversal), index.html for unknown paths without an extension (client-side routes), with the
 * phone app's security headers (strict CSP, no framing: src/phone/app-security.ts). This is for
 * local development; in production the phone app has its own static origin (docs/phone.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { basename, extname, join, normalize, resolve, sep } from 'node:path';
import { phoneAppHeaders } from '../phone/app-security.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Always revalidated: the app's entry page, its service worker and the release description. */
const NO_CACHE = ['index.html', 'phone-sw.js', 'release.json'];

/** `guardOrigins`: Duet Guards the phone app may reach (its CSP, app-security.ts). */
export async function serveStaticFile(rootDir: string | null, request: IncomingMessage, response: ServerResponse, guardOrigins: readonly string[] = []): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (!rootDir) {
    response.writeHead(404).end();
    return;
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://relay').pathname);
  } catch {
    response.writeHead(400).end();
    return;
  }
  if (pathname.includes('\0')) {
    response.writeHead(400).end();
    return;
  }
  const root = resolve(rootDir);
  const filePath = join(root, normalize(pathname === '/' ? '/index.html' : pathname));
  if (filePath !== root && !filePath.startsWith(root + sep)) {
    response.writeHead(400).end();
    return;
  }
  const candidates = extname(filePath) ? [filePath] : [filePath, join(root, 'index.html')];
  for (const candidate of candidates) {
    try {
      const body = await readFile(candidate);
      response.writeHead(200, {
        ...phoneAppHeaders([], guardOrigins),
        'content-type': CONTENT_TYPES[extname(candidate)] ?? 'application/octet-stream',
        'cache-control': NO_CACHE.includes(basename(candidate)) ? 'no-cache' : 'public, max-age=3600',
      });
      response.end(request.method === 'HEAD' ? undefined : body);
      return;
    } catch {
      // try the next candidate
    }
  }
  response.writeHead(404).end();
}
