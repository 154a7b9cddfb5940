import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { randomBytes, createHash } from 'node:crypto'
import { Comment, Timestamp, TreeMap, TreeSeq, cloneValue, type Value } from '../../src/core/tree.js'
import { ValueCipher } from '../../src/core/cipher.js'
import { LeafSelector, type EncryptionRules } from '../../src/core/rules.js'
import { computeMac, decryptBranches, encryptBranches, verifyMac } from '../../src/core/walk.js'
import { ConflictingParametersError, ConfigError, DecryptValueError, MacMismatchError } from '../../src/core/errors.js'

const m = (...entries: [string, Value | Comment][]) =>
  new TreeMap(entries.map(([k, v]) => (v instanceof Comment ? v : { key: k, value: v as Value })))

function sample(): TreeMap {
  return m(
    ['', new Comment(' top comment')],
    ['name', 'secret'],
    ['port_unencrypted', 8080n],
    ['nested', m(['', new Comment(' inner')], ['password', 'p4ss'], ['ratio', 0.5], ['on', true])],
    ['list', new TreeSeq(['a', new Comment(' in list'), m(['user', 'u'], ['when', new Timestamp('2024-01-01T00:00:00Z')])])],
    ['empty', ''],
    ['nothing', null],
  )
}

function encryptedPaths(tree: TreeMap, rules: EncryptionRules): string[] {
  const out: string[] = []
  const key = randomBytes(32)
  encryptBranches([tree], new ValueCipher(key), new LeafSelector(rules))
  const visit = (v: Value | Comment, path: string[]) => {
    if (v instanceof TreeMap) for (const i of v.items) i instanceof Comment ? visit(i, path) : visit(i.value, [...path, i.key])
    else if (v instanceof TreeSeq) for (const i of v.items) visit(i, path)
    else if (v instanceof Comment) v.text.startsWith('ENC[') && out.push(`#${path.join(':')}:`)
    else if (typeof v === 'string' && v.startsWith('ENC[')) out.push(path.join(':') + ':')
  }
  visit(tree, [])
  return out
}

describe('encrypt/decrypt walk', () => {
  it('uses the key path (without list indices) as AAD and decrypts back', () => {
    const key = randomBytes(32)
    const tree = sample()
    const mac = encryptBranches([tree], new ValueCipher(key), new LeafSelector({}))
    const nested = tree.get('nested') as TreeMap
    expect(new ValueCipher(key).decrypt(nested.get('password') as string, 'nested:password:')).toBe('p4ss')
    const list = tree.get('list') as TreeSeq
    expect(new ValueCipher(key).decrypt(list.items[0] as string, 'list:')).toBe('a')
    expect((list.items[1] as Comment).text).toMatch(/^ENC\[.*type:comment\]$/)
    expect(new ValueCipher(key).decrypt((tree.items[0] as Comment).text, ':')).toEqual(new Comment(' top comment'))
    expect(tree.get('port_unencrypted')).toBe(8080n)
    expect(tree.get('empty')).toBe('')
    expect(tree.get('nothing')).toBe(null)
    const computed = decryptBranches([tree], new ValueCipher(key), new LeafSelector({}))
    expect(computed).toBe(mac)
    expect(tree).toEqual(sample())
  })

  it('hashes values only, in order, clear values typed, comments and nulls skipped', () => {
    const h = createHash('sha512')
    for (const s of ['secret', '8080', 'p4ss', '0.5', 'True', 'a', 'u', '2024-01-01T00:00:00Z', '']) h.update(s)
    expect(computeMac([sample()], new LeafSelector({}))).toBe(h.digest('hex').toUpperCase())
  })

  it('mac_only_encrypted prefixes sha256("sops") and skips clear values', () => {
    const h = createHash('sha512')
    h.update(createHash('sha256').update('sops').digest())
    for (const s of ['secret', 'p4ss', '0.5', 'True', 'a', 'u', '2024-01-01T00:00:00Z', '']) h.update(s)
    expect(computeMac([sample()], new LeafSelector({ macOnlyEncrypted: true }))).toBe(h.digest('hex').toUpperCase())
  })

  it('applies each rule like sops', () => {
    expect(encryptedPaths(sample(), {})).toEqual(['#:', 'name:', '#nested:', 'nested:password:', 'nested:ratio:', 'nested:on:', 'list:', '#list:', 'list:user:', 'list:when:'])
    expect(encryptedPaths(sample(), { encryptedSuffix: 'word' })).toEqual(['nested:password:'])
    expect(encryptedPaths(sample(), { unencryptedRegex: '^(name|list)$' })).toEqual(['#:', 'port_unencrypted:', '#nested:', 'nested:password:', 'nested:ratio:', 'nested:on:'])
    expect(encryptedPaths(sample(), { encryptedRegex: '^nes' })).toEqual(['#nested:', 'nested:password:', 'nested:ratio:', 'nested:on:'])
    expect(encryptedPaths(sample(), { unencryptedSuffix: '_unencrypted' })).not.toContain('port_unencrypted:')
  })

  it('comment rules govern the values after a marker comment', () => {
    const tree = () =>
      m(['a', '1'], ['', new Comment(' sops:enc')], ['b', '2'], ['c', '3'], ['', new Comment(' keep')], ['d', m(['e', '4'])])
    expect(encryptedPaths(tree(), { encryptedCommentRegex: 'sops:enc' })).toEqual(['b:'])
    expect(encryptedPaths(tree(), { unencryptedCommentRegex: 'keep' })).toEqual(['a:', '#:', 'b:', 'c:'])
  })

  it('refuses two rules and invalid RE2 patterns', () => {
    expect(() => new LeafSelector({ encryptedRegex: 'a', unencryptedSuffix: 'b' })).toThrow(ConflictingParametersError)
    expect(() => new LeafSelector({ encryptedRegex: '(?=x)' })).toThrow(ConfigError)
  })

  it('fails on tampered values and on non-string encrypted positions', () => {
    const key = randomBytes(32)
    const tree = sample()
    encryptBranches([tree], new ValueCipher(key), new LeafSelector({}))
    const swapped = cloneValue(tree)
    const a = swapped.entry('name')!
    const b = (swapped.get('nested') as TreeMap).entry('password')!
    ;[a.value, b.value] = [b.value, a.value]
    expect(() => decryptBranches([swapped], new ValueCipher(key), new LeafSelector({}))).toThrow(DecryptValueError)
    const typed = cloneValue(tree)
    typed.entry('name')!.value = 5n
    expect(() => decryptBranches([typed], new ValueCipher(key), new LeafSelector({}))).toThrow(/Expected encrypted value as string, but got int/)
  })

  it('treats a list element that decrypts to a comment as a comment (never hashed)', () => {
    const key = randomBytes(32)
    const cipher = new ValueCipher(key)
    const element = cipher.encrypt(new Comment(' c'), 'l:')
    const tree = m(['l', new TreeSeq([element, cipher.encrypt('x', 'l:')])])
    const mac = decryptBranches([tree], new ValueCipher(key), new LeafSelector({}))
    expect((tree.get('l') as TreeSeq).items[0]).toEqual(new Comment(' c'))
    expect(mac).toBe(createHash('sha512').update('x').digest('hex').toUpperCase())
  })

  it('compares MACs in constant time and reports "no MAC"', () => {
    expect(() => verifyMac('', 'ABC')).toThrow(/File has no MAC, computed ABC/)
    expect(() => verifyMac('ABD', 'ABC')).toThrow(MacMismatchError)
    expect(() => verifyMac('ABC', 'ABC')).not.toThrow()
  })

  it('decrypt(encrypt(x)) == x and the MAC matches for random trees (property)', () => {
    const scalar = fc.oneof(
      fc.string(),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(null),
    )
    const key = fc.string({ minLength: 1, maxLength: 8 })
    const { tree } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, scalar, tie('tree'), tie('seq')),
      seq: fc.array(fc.oneof(tie('value'), fc.string().map((s) => new Comment(s))), { maxLength: 4 }).map((items) => new TreeSeq(items as never)),
      tree: fc
        .array(fc.oneof(fc.tuple(key, tie('value')), fc.string().map((s) => new Comment(s))), { maxLength: 5 })
        .map((items) => new TreeMap(items.map((i) => (i instanceof Comment ? i : { key: i[0], value: i[1] as Value })))),
    }))
    fc.assert(
      fc.property(tree as fc.Arbitrary<TreeMap>, (t) => {
        const dataKey = randomBytes(32)
        const original = cloneValue(t)
        const mac = encryptBranches([t], new ValueCipher(dataKey), new LeafSelector({}))
        expect(decryptBranches([t], new ValueCipher(dataKey), new LeafSelector({}))).toBe(mac)
        // Empty comments stay "" and -0 hashes/encrypts like Go; compare structurally.
        expect(t).toEqual(original)
      }),
      { numRuns: 150 },
    )
  })
})
