// Builds the CLI bundle once per test run, so CLI tests exercise exactly what users run.
// A failed build is reported but does not stop the unit tests; CLI tests then fail on their own.
import { spawnSync } from 'node:child_process'
import { REPO_ROOT } from './helpers/paths.js'

export default function setup(): void {
  if (process.env.TSOPS_SKIP_BUILD === '1') return
  const result = spawnSync(process.execPath, ['scripts/bundle.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' })
  if (result.status !== 0) process.stderr.write(`global-setup: CLI bundle failed:\n${result.stderr}\n`)
}
