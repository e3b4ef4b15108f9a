import { defineConfig } from 'vite';
import { crx } from '@crxjs/vite-plugin';
import preact from '@preact/preset-vite';
import manifest from './manifest.json' with { type: 'json' };

/**
 * The extension build: MV3 service worker, content scripts and Preact pages.
 *
 * - `vite build` is the development build (dist/), the one the tests and `npm start` load: it may
 *   reach this computer's chain and relay (loopback host permissions).
 * - `vite build --mode release` is the release build (dist-release/): manifest.json as it is, with
 *   no host permission at all.
 *
 * Neither copies public/ (the phone app's files live there): the manifest names its icons, which
 * the plugin emits itself.
 */
const DEVELOPMENT_HOST_PERMISSIONS = ['http://127.0.0.1/*', 'http://localhost/*'];

export default defineConfig(({ mode }) => {
  const release = mode === 'release';
  const buildManifest = release ? manifest : { ...manifest, host_permissions: [...manifest.host_permissions, ...DEVELOPMENT_HOST_PERMISSIONS] };
  return {
    publicDir: false,
    plugins: [preact(), crx({ manifest: buildManifest as never })],
    build: {
      outDir: release ? 'dist-release' : 'dist',
      emptyOutDir: true,
      target: 'chrome116',
      sourcemap: false,
      rollupOptions: {
        input: {
          approval: 'extension/approval/index.html',
          offscreen: 'extension/offscreen/index.html',
        },
      },
    },
    server: { port: 5173, strictPort: true },
  };
});
