import { describe, expect, test } from 'vitest'
import { Comment, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { EmitError, FormatError } from '../../src/core/errors.js'
import { compareGoStrings, flatten, tokenize, unflatten } from '../../src/formats/flatten.js'

/** Build a TreeMap from a plain object (insertion order kept); arrays become TreeSeqs. */
function tree(obj: Record<string, unknown>): TreeMap {
  return new TreeMap(Object.entries(obj).map(([key, value]) => ({ key, value: toValue(value) })))
}
function toValue(v: unknown): Value {
  if (Array.isArray(v)) return new TreeSeq(v.map((x) => (x instanceof Comment ? x : toValue(x))))
  if (v instanceof TreeMap || v instanceof TreeSeq) return v
  if (v !== null && typeof v === 'object') return tree(v as Record<string, unknown>)
  return v as Value
}
const keys = (m: TreeMap): string[] => flatten(m, 'sops_').map((e) => e.key)

describe('flatten', () => {
  test('metadata shapes from spec §5.6', () => {
    expect(keys(tree({ pgp: [{ created_at: 't', enc: 'e', fp: 'F' }] }))).toEqual(['sops_pgp__list_0__map_created_at', 'sops_pgp__list_0__map_enc', 'sops_pgp__list_0__map_fp'])
    const groups = tree({ key_groups: [{ age: [], hc_vault: [], pgp: [{ fp: 'A' }] }, { age: [{ enc: 'x', recipient: 'age1' }], hc_vault: [] }] })
    expect(keys(groups)).toEqual(['sops_key_groups__list_0__map_pgp__list_0__map_fp', 'sops_key_groups__list_1__map_age__list_0__map_enc', 'sops_key_groups__list_1__map_age__list_0__map_recipient'])
    expect(keys(tree({ kms: [{ context: { tenant: 'a' } }] }))).toEqual(['sops_kms__list_0__map_context__map_tenant'])
  })

  test('values are kept typed; the emitters spell them', () => {
    expect(flatten(tree({ shamir_threshold: 2n, mac_only_encrypted: true }))).toEqual([
      { key: 'shamir_threshold', value: 2n },
      { key: 'mac_only_encrypted', value: true },
    ])
  })

  test('comments are skipped and do not count as list indices', () => {
    const m = new TreeMap([new Comment('c'), { key: 'l', value: new TreeSeq([new Comment('x'), 'a', new Comment('y'), 'b']) }])
    expect(flatten(m)).toEqual([
      { key: 'l__list_0', value: 'a' },
      { key: 'l__list_1', value: 'b' },
    ])
  })

  test('empty maps and lists produce no entries', () => {
    expect(flatten(tree({ a: [], b: {}, c: [[], {}] }))).toEqual([])
  })

  test('a key collision is refused', () => {
    expect(() => flatten(tree({ a: { b: '1' }, a__map_b: '2' }))).toThrow(EmitError)
    expect(() => flatten(tree({ a: { b: '1' }, a__map_b: '2' }))).toThrow('Found key collision "a__map_b" while flattening')
  })
})

describe('tokenize', () => {
  test('splits on __map_ and __list_ left to right', () => {
    expect(tokenize('pgp__list_0__map_enc')).toEqual([{ map: 'pgp' }, { index: 0 }, { map: 'enc' }])
    expect(tokenize('key_groups__list_12__map_age')).toEqual([{ map: 'key_groups' }, { index: 12 }, { map: 'age' }])
    expect(tokenize('plain')).toEqual([{ map: 'plain' }])
    expect(tokenize('__list_1')).toEqual([{ map: '' }, { index: 1 }])
  })
  test('an unparsable index is 0, as with the ignored strconv.Atoi error', () => {
    expect(tokenize('a__list_x')).toEqual([{ map: 'a' }, { index: 0 }])
  })
})

describe('unflatten', () => {
  const entries = (obj: Record<string, string>) => Object.entries(obj).map(([key, value]) => ({ key, value }))

  test('round trip of metadata shapes', () => {
    const meta = tree({
      key_groups: [{ pgp: [{ created_at: 't', enc: 'e\nf', fp: 'F' }] }, { age: [{ enc: 'x', recipient: 'age1' }] }],
      kms: [{ arn: 'arn', aws_profile: '', context: { a: '1', tenant: 't' }, created_at: 't', enc: 'e' }],
      lastmodified: '2024-01-01T00:00:00Z',
      pgp: [{ fp: 'A' }, { fp: 'B' }],
      version: '3.13.2',
    })
    expect(unflatten(flatten(meta))).toEqual(meta)
  })

  test('map keys are sorted in byte order whatever the input order', () => {
    const m = unflatten(entries({ version: '1', mac: 'm', lastmodified: 'l', 'é': 'x', Z: 'z' }))
    expect(m.entries().map((e) => e.key)).toEqual(['Z', 'lastmodified', 'mac', 'version', 'é'])
  })

  test('lists are ordered by index, not by line order', () => {
    const m = unflatten(entries({ l__list_1: 'b', l__list_0: 'a' }))
    expect(m.get('l')).toEqual(new TreeSeq(['a', 'b']))
  })

  test('comments are skipped', () => {
    expect(unflatten([new Comment('x'), { key: 'a', value: '1' }])).toEqual(tree({ a: '1' }))
  })

  test('errors: incomplete list, type clash, duplicate', () => {
    expect(() => unflatten(entries({ l__list_1: 'b' }))).toThrow('Incomplete list')
    expect(() => unflatten(entries({ l__list_0: 'a', l__list_2: 'c' }))).toThrow('Incomplete list')
    expect(() => unflatten(entries({ a: '1', a__map_b: '2' }))).toThrow('Type mismatch')
    expect(() => unflatten(entries({ a__list_0: '1', a__map_b: '2' }))).toThrow('Type mismatch')
    expect(() => unflatten([{ key: 'a', value: '1' }, { key: 'a', value: '2' }])).toThrow('Error while unflattening "a": Duplicate value')
    expect(() => unflatten(entries({ l__list_1: 'b' }))).toThrow(FormatError)
  })

  test('no entries gives an empty map', () => {
    expect(unflatten([])).toEqual(new TreeMap())
  })
})

test('compareGoStrings is UTF-8 byte order (astral after BMP private use)', () => {
  expect(['\u{1F600}', '\uFF01', 'a'].sort(compareGoStrings)).toEqual(['a', '\uFF01', '\u{1F600}'])
})
