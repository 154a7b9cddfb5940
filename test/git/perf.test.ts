/**
 * The guard over 1,000 staged encrypted files: one git diff and one git cat-file for all of
 * them. The time is reported, not asserted (bench/git-guard.mjs compares it with a baseline).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { testAgeIdentity } from '../helpers/age.js'
import { TestRepo, sopsConfig } from './repo.js'
import { loadFormat } from '../../src/formats/registry.js'
import { sealDocument } from '../../src/pipeline/encrypt.js'
import { wrapDataKey } from '../../src/keys/datakey.js'
import { keySourceFromSpec } from '../../src/keys/registry.js'

const FILES = 1000
let repo: TestRepo

/** FILES small encrypted YAML files sharing one wrapped data key (one age wrap instead of 1,000). */
async function writeEncryptedFiles(recipient: string): Promise<void> {
  const yaml = await loadFormat('yaml')
  const dataKey = randomBytes(32)
  const wrapped = await wrapDataKey(dataKey, [[await keySourceFromSpec('age', recipient)]], 0, { env: {} })
  for (let i = 0; i < FILES; i++) {
    const doc = yaml.parse(Buffer.from(`service_${i}:\n    user: user-${i}\n    password: password-${i}\n    port: ${5000 + i}\n    debug_unencrypted: true\n`))
    sealDocument(yaml, doc, dataKey, { keyGroups: wrapped.groups, shamirThreshold: wrapped.threshold, rules: { unencryptedSuffix: '_unencrypted' } })
    repo.write(`secrets/team-${i % 10}/service-${i}.yaml`, Buffer.from(yaml.emit(doc)))
  }
}

beforeAll(async () => {
  const age = await testAgeIdentity()
  repo = await TestRepo.create()
  repo.write('.sops.yaml', sopsConfig(age.recipient))
  await writeEncryptedFiles(age.recipient)
  await repo.gitOk(['add', '.'])
})
afterAll(() => repo?.cleanup())

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t = performance.now()
  const result = await run()
  return { ms: performance.now() - t, result }
}

describe('pre-commit guard on 1,000 staged files', () => {
  it('checks them all and reports the time', async () => {
    const baseline = await timed(() => repo.gitOk(['diff', '--cached', '--name-only']))
    expect(baseline.result.split('\n').filter(Boolean)).toHaveLength(FILES + 1)
    const guard = await timed(() => repo.tsops(['--verbose', 'git', 'pre-commit']))
    expect(guard.result.stderr).toContain(`${FILES + 1} staged, ${FILES} checked, 0 failed`)
    expect(guard.result.code).toBe(0)
    console.log(`[git guard] ${FILES} staged encrypted files: guard ${guard.ms.toFixed(0)} ms, git diff --cached --name-only ${baseline.ms.toFixed(0)} ms`)
  })

  it('finds the one plaintext file among them', async () => {
    repo.write('secrets/team-3/service-503.yaml', 'service_503:\n    password: plain\n')
    await repo.gitOk(['add', '.'])
    const r = await repo.tsops(['git', 'pre-commit'])
    expect(r.code).toBe(10)
    expect(r.stderr).toContain('secrets/team-3/service-503.yaml is not encrypted')
    expect(r.stderr.match(/is not encrypted/g)).toHaveLength(1)
  })
})
