import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds without an exports map. Node, and
    // so every dependency vitest leaves external (Pothos, Yoga), loads the CJS one; vite
    // would hand our own files the ESM one, and two graphql realms break instanceof checks.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration suites start real servers; two cores do not gain from more workers.
    maxWorkers: 2,
  },
});
