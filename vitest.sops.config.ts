import { defineConfig } from 'vitest/config'

// The differential tier: the same inputs through the real sops 3.13.2 binary and through tsops
// (scripts/install-test-tools.sh builds sops and age into a cache outside the repo).
export default defineConfig({
  test: {
    include: ['test/sops/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    globalSetup: ['test/sops/global-setup.ts'],
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'dist/test-results/sops.json' }]] : ['default'],
  },
})
