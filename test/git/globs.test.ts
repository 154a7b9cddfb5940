/**
 * path_regex -> .gitattributes patterns: the translation must be exact. Checked against RE2 with
 * git's own matcher (`git check-attr`) on many paths, in a real repository.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { regexToGlobs } from '../../src/git/globs.js'
import { compileRe2 } from '../../src/core/regex.js'
import { blockText } from '../../src/git/attributes.js'
import { TestRepo } from './repo.js'

const TRANSLATABLE = [
  '\\.enc\\.yaml$',
  '.*\\.enc\\.ya?ml$',
  'secrets/.*\\.yaml$',
  '^secrets/.*\\.yaml$',
  '^deploy/prod/.*\\.ya?ml$',
  '\\.(yaml|json|env)$',
  '(dev|prod)/secrets\\.yaml$',
  '^secrets/',
  'secrets',
  '^foo\\.yaml$',
  '^secrets/.+\\.yaml$',
  '^a/[^/]*\\.env$',
  '^(?:dev|prod)/.*$',
  'secret.*\\.json',
  '^conf/[a-z]?x$',
  'a.b$',
  '^env/[^/]+/secrets?\\.ya?ml$',
  '(^|/)\\.env$',
]

const UNTRANSLATABLE = ['.*', '', 'x\\d', '^[0-9]+\\.yaml$', 'a{2}', '(?i)secret', '[^a]x', 'a*b']

const SAMPLE_PATHS = [
  'foo.yaml', 'foo.yml', 'x.enc.yaml', 'x.enc.yml', 'a/x.enc.yaml', 'a/b/c/x.enc.yaml', 'x.enc.yaml.bak', 'x.enc.yaml/inner',
  'secrets/a.yaml', 'secrets/a/b.yaml', 'secrets/.yaml', 'secrets/a.json', 'mysecrets/a.yaml', 'top/secrets/a.yaml', 'secrets.yaml',
  'secretsx/a.yaml', 'a/secrets', 'secrets', 'secrets/x', 'deploy/prod/a.yaml', 'deploy/prod/x/y.yml', 'deploy/prod.yaml',
  'deploy/staging/a.yaml', 'dev/secrets.yaml', 'prod/secrets.yaml', 'x/dev/secrets.yaml', 'devx/secrets.yaml', 'mydev/secrets.yaml',
  'a.json', 'b/c.env', '.env', 'x/.env', 'x.env', 'a/one.env', 'a/b/one.env', 'dev/anything/here', 'prod', 'secret.json',
  'xsecretyjson', 'secret/x.json', 'secret/x.json/y', 'a/secret-b/c.jsonx', 'conf/x', 'conf/ax', 'conf/abx', 'conf/a/x',
  'a.b', 'a/b', 'axb', 'a.bc', 'env/prod/secrets.yaml', 'env/prod/secret.yml', 'env/secrets.yaml', 'env/a/b/secret.yaml',
  'dir with space/secrets/a.yaml',
]

let repo: TestRepo
beforeAll(async () => {
  repo = await TestRepo.create()
})
afterAll(() => repo.cleanup())

async function attributeMatches(patterns: string[], paths: string[]): Promise<Set<string>> {
  repo.write('.gitattributes', blockText(patterns))
  const out = await repo.gitOk(['check-attr', '-z', 'diff', '--stdin'], { input: paths.join('\0') + '\0' })
  const fields = out.split('\0')
  const matched = new Set<string>()
  for (let i = 0; i + 2 < fields.length; i += 3) if (fields[i + 2] === 'tsops') matched.add(fields[i]!)
  return matched
}

describe('regexToGlobs', () => {
  it.each(TRANSLATABLE)('%s: the patterns match exactly the paths RE2 matches', async (regex) => {
    const globs = regexToGlobs(regex)
    expect(globs, regex).toBeDefined()
    const re = compileRe2(regex, 'test')
    const expected = SAMPLE_PATHS.filter((p) => re.test(p))
    const actual = await attributeMatches(globs!, SAMPLE_PATHS)
    expect([...actual].sort()).toEqual([...expected].sort())
  })

  it.each(UNTRANSLATABLE)('%s: refused (the caller falls back)', (regex) => {
    expect(regexToGlobs(regex)).toBeUndefined()
  })

  it('writes short patterns for the common shapes', () => {
    expect(regexToGlobs('\\.enc\\.yaml$')).toEqual(['*.enc.yaml'])
    expect(regexToGlobs('^secrets/.*\\.yaml$')).toEqual(['secrets/**/*.yaml'])
    expect(regexToGlobs('^foo\\.yaml$')).toEqual(['/foo.yaml'])
    expect(regexToGlobs('\\.(yaml|json)$')).toEqual(['*.yaml', '*.json'])
  })
})
