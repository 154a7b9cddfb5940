import { describe, expect, it } from 'vitest'
import { dedupeKeyGroup, keySpecsFromString, kmsKeySpec, parseEncryptionContext, splitKeyList, validateRulesRegexes } from '../../src/config/index.js'
import { ConfigError, ConflictingParametersError, EncryptionContextFormatError } from '../../src/core/errors.js'

describe('splitKeyList', () => {
  it('splits on commas, trims, and skips empty entries', () => {
    expect(splitKeyList(' a , b,,c, ')).toEqual(['a', 'b', 'c'])
    expect(splitKeyList('')).toEqual([])
    expect(splitKeyList(' , ')).toEqual([])
  })
})

describe('parseEncryptionContext', () => {
  it('parses k:v pairs without trimming, like sops', () => {
    expect(parseEncryptionContext('k1:v1,k2:v2')).toEqual({ k1: 'v1', k2: 'v2' })
    expect(parseEncryptionContext('k: v')).toEqual({ k: ' v' })
    expect(parseEncryptionContext('k:')).toEqual({ k: '' })
    expect(parseEncryptionContext('')).toBeUndefined()
  })

  it('keeps a __proto__ key as plain data', () => {
    const ctx = parseEncryptionContext('__proto__:x')!
    expect(Object.keys(ctx)).toEqual(['__proto__'])
    expect(Object.getPrototypeOf(ctx)).toBe(Object.prototype)
  })

  it('refuses a bad format with exit 6', () => {
    for (const bad of ['k', 'a:b:c', 'a:b,', 'a:b,,c:d', ',']) {
      let err: unknown
      try {
        parseEncryptionContext(bad)
      } catch (e) {
        err = e
      }
      expect(err, bad).toBeInstanceOf(EncryptionContextFormatError)
      expect((err as EncryptionContextFormatError).exitCode).toBe(6)
      expect((err as EncryptionContextFormatError).message).toBe('Invalid KMS encryption context format')
    }
  })
})

describe('keySpecsFromString / kmsKeySpec', () => {
  const ARN = 'arn:aws:kms:us-east-1:656532927350:key/920aff2e'
  it('splits "+role" off KMS ARNs, in every partition', () => {
    expect(kmsKeySpec(`${ARN}+arn:aws:iam::1:role/r`)).toEqual({ type: 'kms', id: ARN, role: 'arn:aws:iam::1:role/r' })
    expect(kmsKeySpec('arn:aws-cn:kms:cn-north-1:1:key/k+arn:aws-cn:iam::1:role/r')).toEqual({
      type: 'kms',
      id: 'arn:aws-cn:kms:cn-north-1:1:key/k',
      role: 'arn:aws-cn:iam::1:role/r',
    })
    expect(kmsKeySpec(ARN, { awsProfile: 'p', context: { a: 'b' } })).toEqual({ type: 'kms', id: ARN, awsProfile: 'p', context: { a: 'b' } })
  })
  it('normalises ids per type', () => {
    expect(keySpecsFromString('pgp', 'AAAA BBBB, CCCC')).toEqual([{ type: 'pgp', id: 'AAAABBBB' }, { type: 'pgp', id: 'CCCC' }])
    expect(keySpecsFromString('age', ' age1x')).toEqual([{ type: 'age', id: 'age1x' }])
  })
  it("keeps an empty item of a comma list as sops's constructors do, skipping it only where they skip it", () => {
    // MasterKeysFromRecipients / MasterKeysFromFingerprintString / MasterKeysFromArnString: a key
    // with an empty id, refused when its source is made (age) or when it wraps (PGP, KMS).
    expect(keySpecsFromString('age', 'age1x,,age1y')).toEqual([{ type: 'age', id: 'age1x' }, { type: 'age', id: '' }, { type: 'age', id: 'age1y' }])
    expect(keySpecsFromString('age', ' , ')).toEqual([{ type: 'age', id: '' }, { type: 'age', id: '' }])
    expect(keySpecsFromString('pgp', 'AAAA,')).toEqual([{ type: 'pgp', id: 'AAAA' }, { type: 'pgp', id: '' }])
    expect(keySpecsFromString('kms', ',arn:aws:kms:us-east-1:1:key/k')).toEqual([{ type: 'kms', id: '' }, { type: 'kms', id: 'arn:aws:kms:us-east-1:1:key/k' }])
    // NewMasterKeysFromURIs and NewMasterKeyFromKeyIDString skip them; an empty value is no key at all.
    expect(keySpecsFromString('hc_vault', ',https://v:8200/v1/transit/keys/k,')).toEqual([{ type: 'hc_vault', id: 'https://v:8200/v1/transit/keys/k' }])
    expect(keySpecsFromString('hckms', ' ,tr-west-1:k')).toEqual([{ type: 'hckms', id: 'tr-west-1:k' }])
    expect(keySpecsFromString('age', '')).toEqual([])
  })
  it('dedupes on type and id only', () => {
    expect(dedupeKeyGroup([{ type: 'age', id: 'a' }, { type: 'pgp', id: 'a' }, { type: 'age', id: 'a' }])).toEqual([
      { type: 'age', id: 'a' },
      { type: 'pgp', id: 'a' },
    ])
  })
})

describe('validateRulesRegexes', () => {
  it('accepts one valid rule or none', () => {
    expect(() => validateRulesRegexes({})).not.toThrow()
    expect(() => validateRulesRegexes({ encryptedRegex: '^(data|stringData)$', macOnlyEncrypted: true })).not.toThrow()
  })
  it('names an invalid regex', () => {
    expect(() => validateRulesRegexes({ unencryptedCommentRegex: '(?<=x)' })).toThrow(ConfigError)
    expect(() => validateRulesRegexes({ encryptedRegex: 'a(' })).toThrow('encrypted_regex')
  })
  it('refuses two rules with exit 8', () => {
    expect(() => validateRulesRegexes({ encryptedRegex: 'a', encryptedSuffix: '_s' })).toThrow(ConflictingParametersError)
  })
})
