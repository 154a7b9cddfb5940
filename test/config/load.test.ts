import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig, parseConfig, type KeySpec } from '../../src/config/index.js'
import { ConfigError, TsopsError } from '../../src/core/errors.js'

const AGE1 = 'age1lzd99uklcjnc0e7d860axevet2cz99ce9pq6tzuzd05l5nr28ams36nvun'
const AGE2 = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'
const FP = 'FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4'
const ARN1 = 'arn:aws:kms:us-east-1:656532927350:key/920aff2e-c5f1-4040-943a-047fa387b27e'
const ARN2 = 'arn:aws:kms:ap-southeast-1:656532927350:key/9006a8aa-0fa6-4c14-930e-a2dfb916de1d'
const ROLE = 'arn:aws:iam::927034868273:role/sops-dev'
const GCP = 'projects/p/locations/global/keyRings/r/cryptoKeys/k'

function thrown(fn: () => unknown): TsopsError {
  try {
    fn()
  } catch (err) {
    if (err instanceof TsopsError) return err
    throw err
  }
  throw new Error('expected an error')
}

const ids = (group: KeySpec[] | undefined): string[] => (group ?? []).map((k) => `${k.type}:${k.id}`)

describe('parseConfig: structure', () => {
  it('accepts a config without creation_rules (no rules) and an empty file', () => {
    expect(parseConfig('stores:\n  yaml:\n    indent: 2\n').creationRules).toBeUndefined()
    expect(parseConfig('').creationRules).toBeUndefined()
    expect(parseConfig('creation_rules:\n').creationRules).toBeUndefined()
    expect(parseConfig('creation_rules: []\n').creationRules).toEqual([])
  })

  it('reports malformed YAML with line and column', () => {
    const err = thrown(() => parseConfig('creation_rules:\n  - age: [a, b\n', 'cfg.yaml'))
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.exitCode).toBe(1)
    expect(err.message).toMatch(/^error loading config: Could not unmarshal config file: /)
    expect(err.hint).toMatch(/cfg\.yaml at line \d+, column \d+/)
  })

  it('rejects duplicate keys like yaml.v3', () => {
    expect(() => parseConfig('creation_rules: []\ncreation_rules: []\n')).toThrow(ConfigError)
  })

  it('ignores unknown fields at every level, as sops does, and names each in a warning', () => {
    const cases: [string, string][] = [
      ['creation_rule: []\n', 'unknown field `creation_rule` at the top level'],
      ['creation_rules:\n  - path_regex: x\n    foo: 1\n', 'unknown field `foo` in creation_rules[0]'],
      ['creation_rules:\n  - {}\n  - encrypt_regex: x\n', 'unknown field `encrypt_regex` in creation_rules[1]'],
      ['creation_rules:\n  - key_groups:\n      - agee: [x]\n', 'unknown field `agee` in creation_rules[0].key_groups[0]'],
      ['creation_rules:\n  - key_groups:\n      - kms:\n          - arn: x\n            profile: p\n', 'unknown field `profile` in creation_rules[0].key_groups[0].kms[0]'],
      ['creation_rules:\n  - key_groups:\n      - merge:\n          - gcp_kms: [{resource_id: r, resource: x}]\n', 'unknown field `resource` in creation_rules[0].key_groups[0].merge[0].gcp_kms[0]'],
      ['creation_rules:\n  - key_groups:\n      - azure_keyvault: [{vaultUrl: u, key: k, version: v, vault_url: x}]\n', 'unknown field `vault_url` in creation_rules[0].key_groups[0].azure_keyvault[0]'],
      ['stores:\n  yaml:\n    indentation: 2\n', 'unknown field `indentation` in stores.yaml'],
      ['stores:\n  toml: {}\n', 'unknown field `toml` in stores'],
      ['destination_rules:\n  - s3_bucket: b\n    bucket: x\n', 'unknown field `bucket` in destination_rules[0]'],
      ['destination_rules:\n  - recreation_rule:\n      kms_arn: x\n', 'unknown field `kms_arn` in destination_rules[0].recreation_rule'],
    ]
    for (const [text, message] of cases) {
      const warnings: string[] = []
      expect(() => parseConfig(text, '.sops.yaml', { warn: (w) => warnings.push(w) }), text).not.toThrow()
      expect(warnings.join('\n'), text).toContain(message.replace('unknown field', 'ignoring unknown field'))
    }
  })

  it('accepts a destination rule with sops 3.13\'s reencryption_rule (a field tsops does not know yet)', () => {
    const warnings: string[] = []
    const config = parseConfig('creation_rules:\n  - age: age1x\ndestination_rules:\n  - path_regex: x\n    reencryption_rule: {}\n', '.sops.yaml', { warn: (w) => warnings.push(w) })
    expect(config.creationRules).toHaveLength(1)
    expect(warnings).toEqual([expect.stringContaining('`reencryption_rule` in destination_rules[0]')])
  })

  it('points an unknown field at its line', () => {
    const warnings: string[] = []
    parseConfig('creation_rules:\n  - path_regex: x\n    foo: 1\n', '.sops.yaml', { warn: (w) => warnings.push(w) })
    expect(warnings[0]).toContain('(line 3, column 5)')
    expect(warnings[0]).toContain('path_regex')
  })

  it('accepts every documented field', () => {
    const text = `
keys:
  - &alice ${AGE1}
creation_rules:
  - path_regex: \\.dev\\.yaml$
    kms: ${ARN1}
    aws_profile: dev
    age: *alice
    pgp: ${FP}
    gcp_kms: ${GCP}
    hckms: [ "cn-north-4:0d0466b0-e727-4d9c-b35d-f84bb474a37f" ]
    azure_keyvault: https://v.vault.azure.net/keys/name/version
    hc_vault_transit_uri: https://vault:8200/v1/transit/keys/k
    shamir_threshold: 1
    encrypted_regex: ^(data|stringData)$
    mac_only_encrypted: true
  - key_groups:
      - merge:
          - age: [ *alice ]
        age: [ ${AGE2} ]
        pgp: [ ${FP} ]
        kms: [ { arn: ${ARN1}, role: ${ROLE}, context: { a: b }, aws_profile: p } ]
        gcp_kms: [ { resource_id: ${GCP} } ]
        hckms: [ { key_id: "cn-north-4:0d0466b0" } ]
        azure_keyvault: [ { vaultUrl: "https://v.vault.azure.net", key: name, version: v1 } ]
        hc_vault: [ "https://vault:8200/v1/transit/keys/k" ]
    unencrypted_suffix: _clear
    unencrypted_regex: null
destination_rules:
  - path_regex: ^prod/
    s3_bucket: b
    s3_prefix: p/
    recreation_rule: { age: ${AGE1} }
    omit_extensions: true
  - gcs_bucket: g
    gcs_prefix: x
  - vault_path: kv/x
    vault_address: https://vault:8200
    vault_kv_mount_name: secret/
    vault_kv_version: 2
stores:
  yaml: { indent: 2 }
  json: { indent: 4 }
  json_binary: { indent: -1 }
  dotenv: {}
  ini: {}
`
    const cfg = parseConfig(text)
    const [flat, grouped] = cfg.creationRules!
    expect(flat!.pathRegex).toBe('\\.dev\\.yaml$')
    expect(flat!.shamirThreshold).toBe(1)
    expect(flat!.rules).toEqual({ encryptedRegex: '^(data|stringData)$', macOnlyEncrypted: true })
    expect(flat!.keySource).toBe('flat')
    expect(ids(flat!.keyGroups[0])).toEqual([
      `age:${AGE1}`,
      `pgp:${FP}`,
      `kms:${ARN1}`,
      `gcp_kms:${GCP}`,
      'hckms:cn-north-4:0d0466b0-e727-4d9c-b35d-f84bb474a37f',
      'azure_kv:https://v.vault.azure.net/keys/name/version',
      'hc_vault:https://vault:8200/v1/transit/keys/k',
    ])
    expect(flat!.keyGroups[0]![2]).toEqual({ type: 'kms', id: ARN1, awsProfile: 'dev' })
    expect(grouped!.keySource).toBe('key_groups')
    expect(grouped!.pathRegex).toBeUndefined()
    expect(grouped!.rules).toEqual({ unencryptedSuffix: '_clear' })
    expect(ids(grouped!.keyGroups[0])).toEqual([
      `age:${AGE1}`,
      `age:${AGE2}`,
      `pgp:${FP}`,
      `kms:${ARN1}`,
      `gcp_kms:${GCP}`,
      'hckms:cn-north-4:0d0466b0',
      'azure_kv:https://v.vault.azure.net/keys/name/v1',
      'hc_vault:https://vault:8200/v1/transit/keys/k',
    ])
    expect(grouped!.keyGroups[0]![3]).toEqual({ type: 'kms', id: ARN1, role: ROLE, context: { a: 'b' }, awsProfile: 'p' })
    expect(cfg.destinationRules).toHaveLength(3)
    expect(cfg.destinationRules[0]).toMatchObject({ pathRegex: '^prod/', s3Bucket: 'b', s3Prefix: 'p/', omitExtensions: true })
    expect(ids(cfg.destinationRules[0]!.recreationRule.keyGroups[0])).toEqual([`age:${AGE1}`])
    expect(cfg.destinationRules[2]).toMatchObject({ vaultPath: 'kv/x', vaultKvVersion: 2, vaultKvMountName: 'secret/' })
    expect(cfg.stores).toEqual({ yaml: { indent: 2 }, json: { indent: 4 }, json_binary: { indent: -1 } })
  })

  it('honours YAML merge keys as yaml.v3 does', () => {
    const cfg = parseConfig(`
keys:
  - &common { age: ${AGE2}, encrypted_suffix: _enc }
creation_rules:
  - path_regex: a
    <<: *common
`)
    expect(ids(cfg.creationRules![0]!.keyGroups[0])).toEqual([`age:${AGE2}`])
    expect(cfg.creationRules![0]!.rules).toEqual({ encryptedSuffix: '_enc' })
  })
})

describe('parseConfig: values', () => {
  it('rejects wrong types, naming the field', () => {
    const cases: [string, string][] = [
      ['creation_rules:\n  - shamir_threshold: two\n', 'creation_rules[0].shamir_threshold must be an integer'],
      ['creation_rules:\n  - shamir_threshold: 1.5\n', 'creation_rules[0].shamir_threshold must be an integer'],
      ['creation_rules:\n  - shamir_threshold: -1\n', 'creation_rules[0].shamir_threshold must not be negative'],
      ['creation_rules:\n  - mac_only_encrypted: "yes"\n', 'creation_rules[0].mac_only_encrypted must be true or false'],
      ['creation_rules:\n  - age: { a: b }\n', 'creation_rules[0].age must be a string or a list of strings'],
      ['creation_rules:\n  - age: [ 12 ]\n', 'creation_rules[0].age[0] must be a string'],
      ['creation_rules:\n  - hckms: "region:uuid"\n', 'creation_rules[0].hckms must be a list of strings'],
      ['creation_rules:\n  - key_groups:\n      - age: ' + AGE1 + '\n', 'creation_rules[0].key_groups[0].age must be a list'],
      ['creation_rules:\n  - key_groups:\n      - kms: [ { role: r } ]\n', 'creation_rules[0].key_groups[0].kms[0].arn is required'],
      ['creation_rules:\n  - key_groups:\n      - kms: [ { arn: a, context: [x] } ]\n', 'creation_rules[0].key_groups[0].kms[0].context must be a mapping'],
      ['creation_rules: { a: 1 }\n', 'creation_rules must be a list'],
      ['creation_rules:\n  - key_groups: {}\n', 'creation_rules[0].key_groups must be a list'],
      ['stores:\n  json:\n    indent: tab\n', 'stores.json.indent must be an integer'],
      ['- a\n', 'the top level must be a mapping'],
    ]
    for (const [text, message] of cases) {
      const err = thrown(() => parseConfig(text))
      expect(err, text).toBeInstanceOf(ConfigError)
      expect(err.message, text).toContain(message)
    }
  })

  it('rejects an invalid path_regex, naming it', () => {
    const err = thrown(() => parseConfig('creation_rules:\n  - path_regex: "(?=x)"\n  - path_regex: "["\n'))
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.message).toContain('creation_rules[0].path_regex')
    expect(err.hint).toContain('line 2')
  })

  it('rejects invalid rule regexes, naming them', () => {
    for (const field of ['encrypted_regex', 'unencrypted_regex', 'encrypted_comment_regex', 'unencrypted_comment_regex']) {
      const err = thrown(() => parseConfig(`creation_rules:\n  - path_regex: ok\n  - ${field}: "a(b"\n`))
      expect(err, field).toBeInstanceOf(ConfigError)
      expect(err.message, field).toContain(`creation_rules[1].${field}`)
    }
    expect(thrown(() => parseConfig('destination_rules:\n  - path_regex: "*"\n')).message).toContain('destination_rules[0].path_regex')
  })

  it('refuses two encryption rules in one creation rule (a config error, exit 1, as in sops)', () => {
    const err = thrown(() => parseConfig('creation_rules:\n  - encrypted_regex: ^data$\n    unencrypted_suffix: _u\n'))
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.exitCode).toBe(1)
    expect(err.message).toBe(
      'error loading config: cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex for the same rule',
    )
    // An empty string is unset, as in Go.
    expect(parseConfig('creation_rules:\n  - encrypted_regex: ^data$\n    unencrypted_suffix: ""\n').creationRules![0]!.rules).toEqual({ encryptedRegex: '^data$' })
  })
})

describe('parseConfig: keys', () => {
  it('splits a flat string trimming and skipping empties; a YAML list is joined and split keeping them, as sops does', () => {
    const a = parseConfig(`creation_rules:\n  - age: " ${AGE1} , ,${AGE2},"\n`).creationRules![0]!
    const b = parseConfig(`creation_rules:\n  - age:\n      - ${AGE1}\n      - "${AGE2}"\n`).creationRules![0]!
    expect(ids(a.keyGroups[0])).toEqual([`age:${AGE1}`, `age:${AGE2}`])
    expect(b.keyGroups).toEqual(a.keyGroups)
    // sops's parseKeyField keeps a list's items, joins them with commas and splits again: the
    // empty recipient is kept, and refused when the key is made ("unknown recipient type").
    const c = parseConfig(`creation_rules:\n  - age:\n      - ${AGE1}\n      - "${AGE2}, "\n`).creationRules![0]!
    expect(ids(c.keyGroups[0])).toEqual([`age:${AGE1}`, `age:${AGE2}`, 'age:'])
    // One fingerprint per key_groups pgp item, never split; an empty one is a key that fails to wrap.
    const d = parseConfig(`creation_rules:\n  - key_groups:\n      - pgp: ["${FP}", ""]\n        age: ["", "${AGE1}"]\n`).creationRules![0]!
    expect(ids(d.keyGroups[0])).toEqual([`age:${AGE1}`, `pgp:${FP}`, 'pgp:'])
  })

  it('splits kms "+role", applies aws_profile, and strips spaces like sops', () => {
    const rule = parseConfig(`creation_rules:\n  - kms: "${ARN1}+${ROLE}, ${ARN2}"\n    aws_profile: prod\n    pgp: "FBC7 B9E2 A4F9 289A C0C1  D484 3D16 CEE4 A273 81B4"\n`).creationRules![0]!
    expect(rule.keyGroups[0]).toEqual([
      { type: 'pgp', id: FP },
      { type: 'kms', id: ARN1, role: ROLE, awsProfile: 'prod' },
      { type: 'kms', id: ARN2, awsProfile: 'prod' },
    ])
  })

  it('flattens nested merge groups first, and splits comma entries inside groups', () => {
    const cfg = parseConfig(`
creation_rules:
  - shamir_threshold: 2
    age: ${AGE2}   # ignored: key_groups wins
    key_groups:
      - pgp: [ ${FP} ]
        merge:
          - age: [ "${AGE1}" ]
            merge:
              - hc_vault: [ "https://vault:8200/v1/transit/keys/deep" ]
          - kms: [ { arn: ${ARN2} } ]
      - age: [ "${AGE1},${AGE2}" ]
`)
    const rule = cfg.creationRules![0]!
    expect(rule.shamirThreshold).toBe(2)
    expect(rule.keyGroups.map(ids)).toEqual([
      // merge[0] is itself merge-first: its vault key precedes its age key.
      ['hc_vault:https://vault:8200/v1/transit/keys/deep', `age:${AGE1}`, `kms:${ARN2}`, `pgp:${FP}`],
      [`age:${AGE1}`, `age:${AGE2}`],
    ])
  })

  it('removes duplicates within a group (same type and id), keeping the first', () => {
    const cfg = parseConfig(`
creation_rules:
  - path_regex: flat
    age: "${AGE1},${AGE1}"
    kms: [ "${ARN1}", "${ARN1}+${ROLE}" ]
  - key_groups:
      - merge: [ { age: [ ${AGE1} ] } ]
        age: [ ${AGE1}, ${AGE2} ]
        kms: [ { arn: ${ARN1}, role: ${ROLE} }, { arn: ${ARN1} } ]
      - age: [ ${AGE1} ]
`)
    expect(cfg.creationRules![0]!.keyGroups).toEqual([[{ type: 'age', id: AGE1 }, { type: 'kms', id: ARN1 }]])
    const groups = cfg.creationRules![1]!.keyGroups
    expect(groups.map(ids)).toEqual([[`age:${AGE1}`, `age:${AGE2}`, `kms:${ARN1}`], [`age:${AGE1}`]])
    expect(groups[0]![2]).toEqual({ type: 'kms', id: ARN1, role: ROLE })
  })

  it('keeps empty groups for the caller to report', () => {
    expect(parseConfig('creation_rules:\n  - key_groups:\n      - {}\n').creationRules![0]!.keyGroups).toEqual([[]])
    // key_groups: [] is "no key_groups": the flat fields (here none) form the single group.
    expect(parseConfig('creation_rules:\n  - key_groups: []\n').creationRules![0]!.keyGroups).toEqual([[]])
    expect(parseConfig(`creation_rules:\n  - key_groups: []\n    age: ${AGE1}\n`).creationRules![0]!.keyGroups).toEqual([[{ type: 'age', id: AGE1 }]])
    expect(parseConfig('creation_rules:\n  - path_regex: x\n').creationRules![0]!.keyGroups).toEqual([[]])
  })
})

describe('loadConfig', () => {
  it('reads a file and reports unreadable ones as ConfigError', () => {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'tsops-load-')))
    try {
      const file = path.join(dir, '.sops.yaml')
      writeFileSync(file, `creation_rules:\n  - age: ${AGE1}\n`)
      expect(ids(loadConfig(file).creationRules![0]!.keyGroups[0])).toEqual([`age:${AGE1}`])
      writeFileSync(file, 'creation_rules: 5\n')
      expect(thrown(() => loadConfig(file)).hint).toContain(file)
      const missing = thrown(() => loadConfig(path.join(dir, 'nope.yaml')))
      expect(missing).toBeInstanceOf(ConfigError)
      expect(missing.message).toContain('could not read config file')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
