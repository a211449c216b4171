import { configDefaults, defineConfig } from 'vitest/config';

// Test files that need the shared kube-apiserver + etcd (started once per run, only when selected).
const KUBE_TESTS = [
  'test/peers-smoke/kube.test.ts',
  'test/peers-smoke/gitops.test.ts',
  'test/**/*.kube.test.ts',
];

// Kube files mostly wait (on the apiserver, on controllers' pull intervals and backoffs, on
// emulators and msmctl processes) and each isolates itself (unique namespaces, uniquely named
// cluster-scoped RBAC, its own emulators and controller processes), so several run at once on the
// shared apiserver; docs/testing.md has the measurements. SMC_KUBE_WORKERS overrides the number.
const KUBE_WORKERS = Number(process.env.SMC_KUBE_WORKERS) || 4;

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Installs every missing test peer (scripts/peers' default set) before any test starts.
    globalSetup: ['test/setup/peers.ts'],
    // The default console output; a JSON report for .ci/run's summary line (scripts/test-summary.ts);
    // each file's wall time in test-files.json.
    reporters: ['default', ['json', { outputFile: 'test-results.json' }], './test/setup/files-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...KUBE_TESTS],
          // After the kube files (a project with its own maxWorkers runs as a group of its own).
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: {
          name: 'kube',
          include: KUBE_TESTS,
          // Peers first (the project's own list replaces the root's; it runs once per process).
          globalSetup: ['test/setup/peers.ts', 'test/peers/kube/global.ts'],
          maxWorkers: KUBE_WORKERS,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
