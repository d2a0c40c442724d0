import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The chat web app (`npm run build` puts it in dist/web; the server serves it at `/`).
 * `switchboard/client` is the repository's own client library, from source: the app is a
 * client like any other and imports no server code.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  resolve: {
    alias: { 'switchboard/client': fileURLToPath(new URL('../src/client/index.ts', import.meta.url)) },
  },
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    // Relative to root (web/); tests pass --outDir to build elsewhere.
    outDir: '../dist/web',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
  },
});
