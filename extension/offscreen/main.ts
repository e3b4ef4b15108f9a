/** Offscreen document entry: the extension's WebRTC peer connections (src/background/offscreen-host.ts). */
import { serveOffscreenRtc } from '../../src/background/offscreen-host.ts';

serveOffscreenRtc((globalThis as unknown as { chrome: { runtime: Parameters<typeof serveOffscreenRtc>[0] } }).chrome.runtime, globalThis);
