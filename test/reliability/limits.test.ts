/**
 * Size and shape limits of the parsers and tree helpers, in-process: each case used to crash
 * (stack overflow on a spread or a recursion), hang (quadratic or exponential work) or lose
 * data, and must now give the right result or a clean TsopsError. No time is asserted here:
 * that 10x the input costs about 10x the time is shown by bench/scaling.mjs (`npm run bench`).
 */
import { describe, expect, it } from 'vitest'
import { FormatError } from '../../src/core/errors.js'
import { Comment, Literal, TreeMap, TreeSeq, cloneValue, stripLiterals, type MapEntry, type Value } from '../../src/core/tree.js'
import { flatten, unflatten } from '../../src/formats/flatten.js'
import { MAX_ALIAS_EXPANSION, parseYamlText } from '../../src/formats/yaml-parse.js'
import { dotenvFormat } from '../../src/formats/dotenv.js'
import { setValue } from '../../src/tree/set.js'
import { unsetValue } from '../../src/tree/unset.js'
import { valueAt } from '../../src/tree/path.js'
import { iniFormat } from '../../src/formats/ini.js'
import { tomlFormat } from '../../src/formats/toml.js'

function nest(depth: number, leaf: Value): TreeMap {
  let v: Value = leaf
  for (let i = 0; i < depth; i++) v = new TreeMap([{ key: 'a', value: i % 3 === 0 ? new TreeSeq([v]) : v }])
  return v as TreeMap
}

describe('YAML', () => {
  it('expands aliases inside sequences (they used to become null)', () => {
    const { branches } = parseYamlText('a: &x [1, 2]\nc: [*x, *x]\nd:\n  - *x\n  - k: *x\n')
    const root = branches[0]!
    const pair = new TreeSeq([1n, 2n])
    expect(root.get('c')).toEqual(new TreeSeq([pair, pair]))
    expect(root.get('d')).toEqual(new TreeSeq([pair, new TreeMap([{ key: 'k', value: pair }])]))
  })

  it('stops alias bombs ("billion laughs") at the expansion budget', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`)
    expect(MAX_ALIAS_EXPANSION).toBe(1_000_000)
    expect(() => parseYamlText(lines.join('\n') + '\n')).toThrow(/document contains excessive aliasing/)
  })

  it('checks 60,000 keys for duplicates in linear time', () => {
    const text = Array.from({ length: 60_000 }, (_, i) => `k${i}: v`).join('\n') + '\n'
    expect(parseYamlText(text).branches[0]!.items.length).toBe(60_000)
  })

  it('reports 20,000 copies of one key without listing 2e8 pairs', () => {
    const text = Array.from({ length: 20_000 }, () => 'same: v').join('\n') + '\n'
    const err = (() => {
      try {
        parseYamlText(text)
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(FormatError)
    const message = (err as FormatError).message
    expect(message).toContain('line 2: mapping key "same" already defined at line 1')
    expect(message).toMatch(/… and \d+ more/)
    expect(message.split('\n').length).toBeLessThan(110)
  })

  it('parses a sequence of 150,000 items (Math.max over a spread used to overflow)', () => {
    const text = 'list:\n' + Array.from({ length: 150_000 }, (_, i) => `  - v${i}`).join('\n') + '\n'
    expect((parseYamlText(text).branches[0]!.get('list') as TreeSeq).items.length).toBe(150_000)
  })

  it('assigns comments of 20,000 documents in one pass', () => {
    const text = Array.from({ length: 20_000 }, (_, i) => `# c${i}\nk: v${i}`).join('\n---\n') + '\n'
    expect(parseYamlText(text).branches.length).toBe(20_000)
  })

  it('places the comments of a map with 50,000 commented keys (a scan per comment was quadratic)', () => {
    const text = Array.from({ length: 50_000 }, (_, i) => `# about k${i}\nk${i}: v${i} # inline ${i}`).join('\n') + '\n'
    const items = parseYamlText(text).branches[0]!.items
    expect(items.length).toBe(150_000)
    expect(items.slice(-3)).toStrictEqual([new Comment(' about k49999'), new Comment(' inline 49999', true), { key: 'k49999', value: 'v49999' }])
  })
})

describe('INI', () => {
  it('reads and writes one section of 150,000 keys (Math.max over a spread overflowed: "nested too deeply")', () => {
    const text = '[big]\n' + Array.from({ length: 150_000 }, (_, i) => `key${i} = value${i}`).join('\n') + '\n'
    const doc = iniFormat.parse(Buffer.from(text))
    const section = doc.branches[0]!.get('big') as TreeMap
    expect(section.items.length).toBe(150_000)
    expect(section.items[149_999]).toStrictEqual({ key: 'key149999', value: 'value149999' })
    const written = Buffer.from(iniFormat.emit(doc)).toString('utf8')
    expect(written.startsWith('[big]\nkey0      = value0\n')).toBe(true)
    expect(written.endsWith('\nkey149999 = value149999\n')).toBe(true)
    expect((iniFormat.parse(Buffer.from(written)).branches[0]!.get('big') as TreeMap).items).toStrictEqual(section.items)
  })

  it('joins 20,000 continuation lines into one value', () => {
    const text = '[s]\nk = ' + Array.from({ length: 20_000 }, (_, i) => `p${i}`).join('\\\n') + '\n'
    const value = (iniFormat.parse(Buffer.from(text)).branches[0]!.get('s') as TreeMap).get('k')
    expect(value).toBe(Array.from({ length: 20_000 }, (_, i) => `p${i}`).join(''))
  })
})

describe('TOML', () => {
  it('reads 40,000 [[a]] headers into 40,000 elements and writes the file back unchanged (each header copied the list)', () => {
    const text = Array.from({ length: 40_000 }, (_, i) => `[[a]]\nx = ${i}`).join('\n') + '\n'
    const doc = tomlFormat.parse(Buffer.from(text))
    const a = doc.branches[0]!.get('a') as TreeSeq
    expect(a.items.length).toBe(40_000)
    const x = (a.items[39_999] as TreeMap).get('x') as Literal
    expect([x.value, x.raw]).toStrictEqual([39_999n, '39999'])
    expect(Buffer.from(tomlFormat.emit(doc)).toString('utf8')).toBe(text)
  })

  it('reads 40,000 [tN] tables and 40,000 dotted keys into one table (each lookup scanned the map)', () => {
    const tables = tomlFormat.parse(Buffer.from(Array.from({ length: 40_000 }, (_, i) => `[t${i}]\nx = 1`).join('\n') + '\n')).branches[0]!
    expect(tables.items.length).toBe(40_000)
    const dotted = tomlFormat.parse(Buffer.from(Array.from({ length: 40_000 }, (_, i) => `t.k${i} = ${i}`).join('\n') + '\n')).branches[0]!
    expect((dotted.get('t') as TreeMap).items.length).toBe(40_000)
  })
})

describe('TOML tokens longer than 120,000 characters (toml-eslint-parser spreads a token into call arguments)', () => {
  const long = 'x'.repeat(150_000)
  const text = [
    `basic = "${long}\\t\\u00e9"`,
    `literal = '${long}'`,
    `multi = """\r\n${long}\r\nend"""`,
    `"${'k'.repeat(30_000)}" = 1`,
    `float = 1.${'5'.repeat(150_000)}`,
    `list = [ "${long}", 2 ] # after`,
    '',
  ].join('\n')

  it('reads them with their values and writes the file back unchanged', () => {
    const doc = tomlFormat.parse(Buffer.from(text))
    const root = doc.branches[0]!
    const value = (k: string) => (root.get(k) as Literal).value
    expect(value('basic')).toBe(long + '\té')
    expect(value('literal')).toBe(long)
    expect(value('multi')).toBe(long + '\nend')
    expect((root.entry('k'.repeat(30_000))!.value as Literal).value).toBe(1n)
    expect(value('float')).toBe(1.5555555555555556)
    expect(((root.get('list') as TreeSeq).items[0] as Literal).value).toBe(long)
    expect(Buffer.from(tomlFormat.emit(doc)).toString('utf8')).toBe(text)
  })

  it('encrypts and decrypts them back to the same spelling', async () => {
    const { ValueCipher } = await import('../../src/core/cipher.js')
    const { LeafSelector } = await import('../../src/core/rules.js')
    const { encryptBranches, decryptBranches } = await import('../../src/core/walk.js')
    const { randomBytes } = await import('node:crypto')
    const doc = tomlFormat.parse(Buffer.from(text))
    const cipher = new ValueCipher(randomBytes(32))
    const selector = new LeafSelector({})
    const mac = encryptBranches(doc.branches, cipher, selector)
    expect(Buffer.from(tomlFormat.emit(doc)).toString('utf8')).toContain('basic = "ENC[AES256_GCM,data:')
    // Decrypting reads each plaintext spelling back with the same parser (decodeLiteral).
    expect(decryptBranches(doc.branches, cipher, selector, { decodeLiteral: tomlFormat.decodeLiteral!.bind(tomlFormat) })).toBe(mac)
    expect(Buffer.from(tomlFormat.emit(doc)).toString('utf8')).toBe(text)
  })
})

describe('flattening (dotenv/INI metadata)', () => {
  it('unflattens a list of 200,000 entries (Math.min over a spread used to overflow)', () => {
    const text = Array.from({ length: 200_000 }, (_, i) => `sops_x__list_${i}=v${i}`).join('\n') + '\n'
    const doc = dotenvFormat.parse(Buffer.from(text))
    expect((doc.metadata!.get('x') as TreeSeq).items.length).toBe(200_000)
  })

  it('unflattens and flattens a key 20,000 levels deep', () => {
    const key = 'a' + '__map_a'.repeat(20_000)
    const tree = unflatten([{ key, value: '1' }])
    const again = flatten(tree)
    expect(again).toEqual([{ key, value: '1' }])
  })

  it('keeps sops’s checks and their order: type mismatch, incomplete list', () => {
    expect(() => unflatten([{ key: 'a', value: '1' }, { key: 'a__map_b', value: '2' }])).toThrow('Type mismatch')
    expect(() => unflatten([{ key: 'a__list_1', value: '1' }])).toThrow('Incomplete list')
    expect(() => unflatten([{ key: 'a__list_0__map_x', value: '1' }, { key: 'a__list_0', value: '2' }])).toThrow('Type mismatch')
  })
})

describe('tree helpers', () => {
  it('set and unset follow a path of 3,000 parts (the rest of the path was copied per level)', () => {
    const path = Array.from({ length: 3_000 }, (_, i) => (i % 2 === 0 ? `k${i}` : 0))
    const root = new TreeMap()
    expect(setValue(root, path, 'deep')).toBe(true)
    expect(valueAt(root, path)).toBe('deep')
    unsetValue(root, path)
    expect(() => valueAt(root, path)).toThrow(/error truncating tree: component \[0\] accesses out of bounds/)
  })

  it('cloneValue and stripLiterals handle 20,000 levels', () => {
    const deep = nest(20_000, new Literal(5n, '0x5'))
    const copy = cloneValue(deep)
    // (toEqual itself recurses; flatten is iterative and spells out every path)
    expect(copy === deep).toBe(false) // (not.toBe would deep-compare for its message)
    expect((copy.items[0] as MapEntry).value === (deep.items[0] as MapEntry).value).toBe(false)
    expect(flatten(copy)).toEqual(flatten(deep))
    stripLiterals(copy)
    let v: Value = copy
    while (v instanceof TreeMap || v instanceof TreeSeq) v = v instanceof TreeMap ? (v.items[0] as MapEntry).value : (v.items[0] as Value)
    expect(v).toBe(5n)
    expect(flatten(deep)[0]!.value).toBeInstanceOf(Literal) // the original is untouched
  })
})

describe('TOML writer', () => {
  it('writes an array of tables followed by 150,000 comments (a push(...comments) overflowed)', () => {
    const items = [new TreeMap([{ key: 'x', value: 1n }]), ...Array.from({ length: 150_000 }, (_, i) => new Comment(` c${i}`))]
    const text = Buffer.from(tomlFormat.emit({ branches: [new TreeMap([{ key: 'a', value: new TreeSeq(items) }])], metadata: undefined })).toString('utf8')
    // Comments after the last element go into its section, before its keys.
    expect(text.startsWith('[[a]]\n# c0\n')).toBe(true)
    expect(text.endsWith('# c149999\nx = 1\n')).toBe(true)
  })
})
