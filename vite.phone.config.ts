import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';
import { resolve } from 'node:path';

/** The phone co-signer (PWA) build: src/phone → dist-phone/, served by the relay. */
export default defineConfig({
  root: resolve('src/phone'),
  base: './',
  publicDir: resolve('public'),
  plugins: [preact()],
  build: {
    outDir: resolve('dist-phone'),
    emptyOutDir: true,
    target: 'es2022',
  },
});
