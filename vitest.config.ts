import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Rebuilds dist/ first when it is older than its sources: several suites spawn the built binary.
    globalSetup: ['test/support/globalSetup.ts'],
    // Two cores here and in CI: keep parallelism modest so timing-sensitive fault tests stay honest.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // The JSON report is what .ci/run reads to print its one-line summary.
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
  },
});
