import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { matchCreationRule, matchDestinationRule, parseConfig, requireCreationRule, ruleMatchPath, storeIndent } from '../../src/config/index.js'
import { ConfigError } from '../../src/core/errors.js'

const AGE1 = 'age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun'
const ARN = 'arn:aws:kms:us-east-1:656532927350:key/920aff2e-c5f1-4040-943a-047fa387b27e'
const ROOT = path.resolve('/repo')
const CONFIG = path.join(ROOT, '.sops.yaml')

const config = parseConfig(`
creation_rules:
  - path_regex: ^secrets/prod/
    encrypted_suffix: _prod
  - path_regex: \\.dev\\.yaml$
    encrypted_suffix: _dev
  - path_regex: ^/outside/
    encrypted_suffix: _abs
`)
const suffix = (file: string, cwd = ROOT): string | undefined =>
  matchCreationRule(config, CONFIG, file, cwd)?.rules.encryptedSuffix

describe('ruleMatchPath', () => {
  it('is relative to the config directory for files inside it, absolute otherwise', () => {
    expect(ruleMatchPath(CONFIG, 'secrets/prod/a.yaml', ROOT)).toBe('secrets/prod/a.yaml')
    expect(ruleMatchPath(CONFIG, path.join(ROOT, 'x', 'b.json'), '/elsewhere')).toBe('x/b.json')
    expect(ruleMatchPath('.sops.yaml', 'sub/c.env', ROOT)).toBe('sub/c.env')
    expect(ruleMatchPath(CONFIG, path.resolve('/outside/d.yaml'), ROOT)).toBe(path.resolve('/outside/d.yaml').split(path.sep).join('/'))
    // A sibling directory sharing the prefix is not "inside".
    expect(ruleMatchPath(CONFIG, path.resolve('/repo2/e.yaml'), ROOT)).toBe(path.resolve('/repo2/e.yaml').split(path.sep).join('/'))
  })
})

describe('matchCreationRule', () => {
  it('takes the first rule whose path_regex matches (unanchored RE2)', () => {
    expect(suffix('secrets/prod/app.dev.yaml')).toBe('_prod')
    expect(suffix('secrets/staging/app.dev.yaml')).toBe('_dev')
    expect(suffix('app.dev.yaml.bak')).toBeUndefined()
  })

  it('resolves relative file paths against cwd', () => {
    expect(suffix('prod/x.yaml', path.join(ROOT, 'secrets'))).toBe('_prod')
    expect(suffix('x.yaml', path.join(ROOT, 'secrets', 'prod'))).toBe('_prod')
  })

  it('matches a file outside the config directory by its absolute path', () => {
    if (path.sep === '/') expect(suffix('/outside/f.yaml')).toBe('_abs')
    // Relative to the config dir, "^secrets/prod/" would match; absolute, it does not.
    expect(matchCreationRule(config, '/other/.sops.yaml', '/repo/secrets/prod/a.yaml', '/')?.rules.encryptedSuffix).toBeUndefined()
  })

  it('a rule without path_regex matches everything and stops the search', () => {
    const cfg = parseConfig(`creation_rules:\n  - path_regex: ^a/\n    encrypted_suffix: _a\n  - age: ${AGE1}\n  - encrypted_suffix: _never\n`)
    expect(matchCreationRule(cfg, CONFIG, 'a/x', ROOT)?.rules).toEqual({ encryptedSuffix: '_a' })
    const rule = matchCreationRule(cfg, CONFIG, 'b/x', ROOT)
    expect(rule?.rules).toEqual({})
    expect(rule?.keyGroups).toEqual([[{ type: 'age', id: AGE1 }]])
    const empty = parseConfig('creation_rules:\n  - path_regex: ""\n    encrypted_suffix: _e\n')
    expect(matchCreationRule(empty, CONFIG, 'anything', ROOT)?.rules.encryptedSuffix).toBe('_e')
  })

  it('applies --encryption-context to the KMS keys of flat rules only', () => {
    const cfg = parseConfig(`
creation_rules:
  - path_regex: flat
    kms: ${ARN}
    age: ${AGE1}
  - key_groups:
      - kms: [ { arn: ${ARN}, context: { own: yes } } ]
`)
    const ctx = { app: 'web' }
    expect(matchCreationRule(cfg, CONFIG, 'flat.yaml', ROOT, { kmsEncryptionContext: ctx })?.keyGroups).toEqual([
      [{ type: 'age', id: AGE1 }, { type: 'kms', id: ARN, context: { app: 'web' } }],
    ])
    expect(cfg.creationRules![0]!.keyGroups[0]![1]).toEqual({ type: 'kms', id: ARN })
    expect(matchCreationRule(cfg, CONFIG, 'grouped.yaml', ROOT, { kmsEncryptionContext: ctx })?.keyGroups).toEqual([
      [{ type: 'kms', id: ARN, context: { own: 'yes' } }],
    ])
  })
})

describe('requireCreationRule', () => {
  it('fails with sops’s message when rules exist but none matches', () => {
    let err: unknown
    try {
      requireCreationRule(config, CONFIG, 'nothing/here.txt', ROOT)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).message).toBe('error loading config: no matching creation rules found')
    expect((err as ConfigError).exitCode).toBe(1)
    expect(() => requireCreationRule(parseConfig('creation_rules: []'), CONFIG, 'x', ROOT)).toThrow('no matching creation rules found')
  })

  it('returns the match, or undefined when the config has no creation_rules', () => {
    expect(requireCreationRule(config, CONFIG, 'secrets/prod/x', ROOT)?.rules.encryptedSuffix).toBe('_prod')
    expect(requireCreationRule(parseConfig('stores: {}'), CONFIG, 'x', ROOT)).toBeUndefined()
  })
})

describe('destination rules', () => {
  const cfg = parseConfig(`
destination_rules:
  - path_regex: ^s3/
    s3_bucket: bucket
  - path_regex: ^both/
    s3_bucket: b
    gcs_bucket: g
  - vault_path: kv/all
`)
  it('takes the first match; an empty path_regex matches everything', () => {
    expect(matchDestinationRule(cfg, 's3/a.yaml').s3Bucket).toBe('bucket')
    expect(matchDestinationRule(cfg, 'other.yaml').vaultPath).toBe('kv/all')
  })
  it('refuses two destinations in one rule and a config without a match', () => {
    expect(() => matchDestinationRule(cfg, 'both/x')).toThrow('more than one destinations')
    expect(() => matchDestinationRule(parseConfig(''), 'x')).toThrow('no matching destination found in config')
  })
})

describe('storeIndent', () => {
  it('returns the configured indent, or undefined for the store default', () => {
    const cfg = parseConfig('stores:\n  yaml: { indent: 2 }\n  json: { indent: 4 }\n  json_binary: {}\n')
    expect(storeIndent(cfg, 'yaml')).toBe(2)
    expect(storeIndent(cfg, 'json')).toBe(4)
    expect(storeIndent(cfg, 'json_binary')).toBeUndefined()
    expect(storeIndent(cfg, 'dotenv')).toBeUndefined()
    expect(storeIndent(parseConfig(''), 'yaml')).toBeUndefined()
    expect(storeIndent(parseConfig('stores:\n  json: { indent: -1 }\n'), 'json')).toBe(-1)
  })
})
