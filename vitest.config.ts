import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration tests share one PostgreSQL and one Redis; two workers keep the 2-core box responsive.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
