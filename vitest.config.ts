import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Rebuilds dist/ first when it is older than its sources: several suites spawn the built binary.
    // Every project inherits it; after the first, it finds dist/ fresh and does nothing.
    globalSetup: ['test/support/globalSetup.ts'],
    // Two cores here and in CI: keep parallelism modest so timing-sensitive fault tests stay honest.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // The JSON report is what .ci/run reads to print its one-line summary.
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/postgres/**'] },
      },
      {
        // Its own project so that the PostgreSQL server starts only when these tests run.
        extends: true,
        test: { name: 'postgres', include: ['test/postgres/**/*.test.ts'], globalSetup: ['test/postgres/support/globalSetup.ts'] },
      },
    ],
  },
});
