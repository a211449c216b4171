import { configDefaults, defineConfig } from 'vitest/config';

// Test files that need the shared kube-apiserver + etcd (started once per run, only when selected).
const KUBE_TESTS = [
  'test/peers-smoke/kube.test.ts',
  'test/peers-smoke/gitops.test.ts',
  'test/**/*.kube.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/setup/peers.ts'],
    // A JSON report for .ci/run's summary line, plus the default console output.
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...KUBE_TESTS],
        },
      },
      {
        extends: true,
        test: { name: 'kube', include: KUBE_TESTS, globalSetup: ['test/peers/kube/global.ts'] },
      },
    ],
  },
});
