import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      '{schema,sync-server,web,sw,bench}/**/*.test.ts',
      'integration/**/*.test.ts',
      // Real Chromium against the real server (*.browser.test.ts) and the bundle budgets; see e2e/harness/.
      'e2e/**/*.test.ts',
      'synced-writes.test.ts',
      'dependency-rules.test.ts',
      'open-incident-predicate.test.ts',
      'spec-coverage.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup: ['./sync-server/test/announce-databases.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // PGlite is single-threaded WASM; two cores run two test files at a time without starving each other.
    maxWorkers: 2,
  },
});
