// Builds the CLI bundle once per test run into a private directory, so CLI tests exercise exactly
// what users run and parallel runs never see each other's half-built output. Workers find it
// through TSOPS_CLI (set here, inherited by the forked workers).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from './helpers/paths.js'

export default function setup(): () => void {
  if (process.env.TSOPS_SKIP_BUILD === '1' || process.env.TSOPS_CLI) return () => undefined
  // Inside the repo so the bundle's external imports (cloud SDKs) resolve from node_modules.
  fs.mkdirSync(path.join(REPO_ROOT, 'dist'), { recursive: true })
  const outdir = fs.mkdtempSync(path.join(REPO_ROOT, 'dist', '.test-cli-'))
  const result = spawnSync(process.execPath, ['scripts/bundle.mjs', outdir], { cwd: REPO_ROOT, encoding: 'utf8' })
  if (result.status !== 0) {
    // Not fatal: unit tests still run, CLI tests then use dist/cli from `npm run build` (CI builds
    // before testing, and a failing build fails CI there).
    process.stderr.write(`global-setup: CLI bundle failed, CLI tests use dist/cli:\n${result.stderr}\n`)
    fs.rmSync(outdir, { recursive: true, force: true })
    return () => undefined
  }
  process.env.TSOPS_CLI = path.join(outdir, 'tsops.cjs')
  return () => fs.rmSync(outdir, { recursive: true, force: true })
}
