import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/setup/peers.ts'],
    // A JSON report for .ci/run's summary line, plus the default console output.
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
  },
});
