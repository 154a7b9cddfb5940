// The differential tier's setup: the CLI bundle (as for every tier), a log that each comparison
// appends a line to, and at the end the tier's count of cases compared and mismatches.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import buildCli from '../global-setup.js'
import { realSops } from './harness.js'

export default function setup(): () => void {
  realSops() // fails at once, naming the install script, when the binary is missing
  const teardownCli = buildCli()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-diff-log-'))
  const log = path.join(dir, 'cases.log')
  fs.writeFileSync(log, '')
  process.env.TSOPS_DIFF_LOG = log
  return () => {
    const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean)
    const mismatches = lines.filter((l) => l.startsWith('mismatch'))
    const documented = lines.filter((l) => l.startsWith('documented')).length
    const identical = lines.length - mismatches.length - documented
    const summary = `differential tier: ${lines.length} cases compared between sops 3.13.2 and tsops: ${identical} identical, ${documented} documented differences (docs/migrating-from-sops.md), ${mismatches.length} mismatches`
    process.stdout.write(`\n${summary}\n${mismatches.map((l) => `  ${l}`).join('\n')}${mismatches.length ? '\n' : ''}`)
    fs.rmSync(dir, { recursive: true, force: true })
    teardownCli()
  }
}
