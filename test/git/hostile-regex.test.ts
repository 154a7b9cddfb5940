/**
 * The guard applies the rule regexes a staged file's own metadata carries. A file with many
 * long comments and a costly `unencrypted_comment_regex` must not keep the hook busy: the
 * pattern is RE2 (linear in the text it reads) and each comment is tested once, which is
 * counted here; the time it takes is a bench row (bench/hostile-regex.mjs), never a test's
 * assertion.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { testAgeIdentity } from '../helpers/age.js'
import { loadFormat } from '../../src/formats/registry.js'
import { sealDocument } from '../../src/pipeline/encrypt.js'
import { wrapDataKey } from '../../src/keys/datakey.js'
import { keySourceFromSpec } from '../../src/keys/registry.js'
import { checkBytes } from '../../src/check/checker.js'
import { compileRe2 } from '../../src/core/regex.js'
import { TestRepo, sopsConfig } from './repo.js'

/** Never matches, yet costs a backtracking engine a lot on each long comment. */
const COSTLY = '[a-z]{1000}[0-9]'

let repo: TestRepo
let recipient: string

beforeAll(async () => {
  recipient = (await testAgeIdentity()).recipient
})
afterEach(() => repo?.cleanup())

/** `lines` comment lines of 2,000 characters, encrypted under a rule that never matches them. */
async function hostileFile(lines: number, to: string): Promise<Buffer> {
  const yaml = await loadFormat('yaml')
  const text = Array.from({ length: lines }, (_, i) => `# ${`line ${i} lorem ipsum dolor sit amet `.repeat(60).slice(0, 2000)}`).join('\n') + '\nkey: value\n'
  const doc = yaml.parse(Buffer.from(text))
  const dataKey = randomBytes(32)
  const wrapped = await wrapDataKey(dataKey, [[await keySourceFromSpec('age', to)]], 0, { env: {} })
  sealDocument(yaml, doc, dataKey, { keyGroups: wrapped.groups, shamirThreshold: 0, rules: { unencryptedCommentRegex: COSTLY } })
  return Buffer.from(yaml.emit(doc))
}

describe('hostile rule regexes', () => {
  it('a 200-line file with 2,000-character comments and a costly comment regex passes through the hook', async () => {
    repo = await TestRepo.create()
    repo.write('.sops.yaml', sopsConfig(recipient))
    await repo.install()
    repo.write('secrets/hostile.yaml', await hostileFile(200, recipient))
    await repo.gitOk(['add', '.'])
    const t = performance.now()
    const commit = await repo.git(['commit', '-q', '-m', 'hostile'])
    const ms = performance.now() - t
    expect(commit.stderr).toBe('')
    expect(commit.code).toBe(0)
    console.log(`[hostile regex] hook over 200 lines of 2,000 characters: ${ms.toFixed(0)} ms`)
  })

  it('the check tests each of those comments against the file\'s costly regex exactly once', async () => {
    const bytes = await hostileFile(200, recipient)
    // compileRe2 keeps one compiled pattern per source: the checker gets this same object.
    const test = vi.spyOn(compileRe2(COSTLY, 'unencrypted_comment_regex'), 'test')
    try {
      const report = await checkBytes(bytes, 'secrets/hostile.yaml')
      expect(report.problems).toEqual([])
      expect(test).toHaveBeenCalledTimes(200)
    } finally {
      test.mockRestore()
    }
  })
})
