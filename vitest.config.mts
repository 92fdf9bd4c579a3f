import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/vm/**', 'node_modules/**'],
    testTimeout: 20000,
    hookTimeout: 30000,
    pool: 'forks',
  },
});
