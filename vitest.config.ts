import { defineConfig } from 'vitest/config'

// Unit and CLI tests; need nothing beyond this repo (interop tests: vitest.interop.config.ts; the
// differential tier against real sops: vitest.sops.config.ts).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/interop/**', 'test/sops/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // In CI a JSON report too, from which .ci/run prints the plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'dist/test-results/unit.json' }]] : ['default'],
  },
})
