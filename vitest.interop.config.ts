import { defineConfig } from 'vitest/config'

// Tests against ../shared: files written by real sops, and the real-sops oracle on our output.
export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // In CI a JSON report too, from which .ci/run prints the plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'dist/test-results/interop.json' }]] : ['default'],
  },
})
