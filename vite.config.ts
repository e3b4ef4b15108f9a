import { defineConfig } from 'vite';
import { crx } from '@crxjs/vite-plugin';
import preact from '@preact/preset-vite';
import manifest from './manifest.json' with { type: 'json' };

/** The extension build: MV3 service worker, content scripts and Preact pages into dist/. */
export default defineConfig({
  plugins: [preact(), crx({ manifest: manifest as never })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'chrome116',
    sourcemap: false,
    rollupOptions: {
      input: {
        approval: 'extension/approval/index.html',
      },
    },
  },
  server: { port: 5173, strictPort: true },
});
