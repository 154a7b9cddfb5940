import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { Comment, Timestamp, TreeMap, TreeSeq, type MapItem } from '../../src/core/tree.js'
import { EmitError, FormatError } from '../../src/core/errors.js'
import { dotenvFormat } from '../../src/formats/dotenv.js'
import type { Document } from '../../src/formats/format.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)
const parse = (s: string): Document => dotenvFormat.parse(enc(s))
const items = (s: string): MapItem[] => parse(s).branches[0]!.items
const emit = (doc: Partial<Document> & Pick<Document, 'branches'>): string => dec(dotenvFormat.emit({ metadata: undefined, ...doc }))

describe('dotenv parse (spec §5.4 verified examples)', () => {
  test.each([
    ['KEY=a=b', 'KEY', 'a=b'],
    ['SPACED = x ', 'SPACED ', ' x '],
    ['Q="quoted"', 'Q', '"quoted"'],
    ['export X=1', 'export X', '1'],
    ['EMPTY=', 'EMPTY', ''],
  ])('%s', (line, key, value) => {
    expect(items(line + '\n')).toEqual([{ key, value }])
  })

  test('comments at column 0 keep everything after #; empty lines are skipped', () => {
    expect(items('# one\n\n#two\nA=1\n\n')).toEqual([new Comment(' one'), new Comment('two'), { key: 'A', value: '1' }])
  })

  test('a # after column 0 is part of the key', () => {
    expect(items(' # x=1')).toEqual([{ key: ' # x', value: '1' }])
  })

  test('the two characters \\n become a newline; \\r is kept', () => {
    expect(items('A=l1\\nl2\r\nB=x')).toEqual([
      { key: 'A', value: 'l1\nl2\r' },
      { key: 'B', value: 'x' },
    ])
  })

  test('all values are strings', () => {
    expect(items('N=5\nB=true')).toEqual([
      { key: 'N', value: '5' },
      { key: 'B', value: 'true' },
    ])
  })

  test('a line without = is a FormatError with its line number and without its text', () => {
    let err: unknown
    try {
      parse('A=1\nsupersecretvalue\n')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(FormatError)
    expect((err as FormatError).line).toBe(2)
    expect((err as FormatError).exitCode).toBe(2)
    expect((err as Error).message).toContain('invalid dotenv input line')
    expect((err as Error).message).not.toContain('supersecret')
  })

  test('invalid UTF-8 is a FormatError', () => {
    expect(() => dotenvFormat.parse(new Uint8Array([0x41, 0x3d, 0xff]))).toThrow(FormatError)
  })

  test('a BOM stays part of the first key, as in sops', () => {
    expect(dotenvFormat.parse(new Uint8Array([0xef, 0xbb, 0xbf, 0x41, 0x3d, 0x31])).branches[0]!.items).toEqual([{ key: '\uFEFFA', value: '1' }])
  })
})

describe('dotenv metadata', () => {
  const file = [
    'foo =ENC[x]',
    '#c',
    'sops_lastmodified=2026-05-22T20:15:29Z',
    'sops_pgp__list_0__map_enc=-----BEGIN-----\\n\\nabc\\n-----END-----',
    'sops_pgp__list_0__map_fp=FBC7',
    'sops_shamir_threshold=2',
    'sops_version=3.13.2',
    '',
  ].join('\n')

  test('sops_* keys are extracted, prefix stripped, unflattened; strings kept', () => {
    const doc = parse(file)
    expect(doc.branches[0]!.items).toEqual([{ key: 'foo ', value: 'ENC[x]' }, new Comment('c')])
    const meta = doc.metadata!
    expect(meta.entries().map((e) => e.key)).toEqual(['lastmodified', 'pgp', 'shamir_threshold', 'version'])
    expect(meta.get('shamir_threshold')).toBe('2')
    const pgp = meta.get('pgp') as TreeSeq
    expect((pgp.values()[0] as TreeMap).get('enc')).toBe('-----BEGIN-----\n\nabc\n-----END-----')
    expect(dotenvFormat.hasMetadataKey(doc)).toBe(true)
  })

  test('emit writes the data, then the flattened metadata; round trip is byte-exact', () => {
    expect(emit(parse(file))).toBe(file)
  })

  test('typed metadata values are spelled with ValToString', () => {
    const metadata = new TreeMap([
      { key: 'mac_only_encrypted', value: true },
      { key: 'shamir_threshold', value: 3n },
    ])
    expect(emit({ branches: [new TreeMap([{ key: 'A', value: 'x' }])], metadata })).toBe('A=x\nsops_mac_only_encrypted=true\nsops_shamir_threshold=3\n')
  })

  test('plain files have no metadata; a sops_ key counts as metadata', () => {
    const plain = parse('A=1\n')
    expect(plain.metadata).toBeUndefined()
    expect(dotenvFormat.hasMetadataKey(plain)).toBe(false)
    expect(dotenvFormat.hasMetadataKey(parse('sops_x=1\n'))).toBe(true)
    expect(dotenvFormat.hasMetadataKey({ branches: [new TreeMap([{ key: 'sops_x', value: '1' }])], metadata: undefined })).toBe(true)
  })

  test('a data key with the sops_ prefix is refused when writing metadata', () => {
    const doc = { branches: [new TreeMap([{ key: 'sops_a', value: '1' }])], metadata: new TreeMap([{ key: 'version', value: '3.13.2' }]) }
    expect(() => dotenvFormat.emit(doc)).toThrow(EmitError)
  })

  test('broken flattened metadata is a FormatError', () => {
    expect(() => parse('sops_pgp__list_1__map_fp=x\n')).toThrow('Incomplete list')
  })
})

describe('dotenv emit', () => {
  test('comments, newlines escaped, non-strings via ValToString', () => {
    const branch = new TreeMap([
      new Comment(' hello'),
      { key: 'S', value: 'a\nb' },
      { key: 'I', value: 42n },
      { key: 'F', value: 2 },
      { key: 'G', value: 1e21 },
      { key: 'H', value: 0.5 },
      { key: 'B', value: false },
      { key: 'T', value: new Timestamp('2024-01-01T10:00:00.5+02:00') },
    ])
    expect(emit({ branches: [branch] })).toBe('# hello\nS=a\\nb\nI=42\nF=2.0\nG=1E+21\nH=0.5\nB=false\nT=2024-01-01T10:00:00+02:00\n')
  })

  test('complex values are refused with the key named', () => {
    const branch = new TreeMap([{ key: 'K', value: new TreeMap() }])
    expect(() => emit({ branches: [branch] })).toThrow('cannot use complex value in dotenv file; offending key K')
    expect(() => emit({ branches: [new TreeMap([{ key: 'L', value: new TreeSeq() }])] })).toThrow(EmitError)
  })

  test('emitValue only supports strings', () => {
    expect(dec(dotenvFormat.emitValue!('a\nb'))).toBe('a\nb')
    expect(() => dotenvFormat.emitValue!(5n)).toThrow('the dotenv store only supports emitting strings, got int')
  })

  test('empty document emits nothing', () => {
    expect(emit({ branches: [new TreeMap()] })).toBe('')
    expect(parse('').branches[0]!.items).toEqual([])
  })
})

describe('dotenv property: parse(emit(x)) == x', () => {
  // Keys: no `=`/newline, not a comment, not metadata. Values: anything without the two characters
  // `\n` (that spelling is the escape itself, so sops cannot round-trip it either).
  const key = fc.string({ maxLength: 12, unit: 'binary' }).filter((k) => !k.includes('=') && !k.includes('\n') && !k.startsWith('#') && !k.startsWith('sops_') && !/[\uD800-\uDFFF]/u.test(k))
  const value = fc.string({ maxLength: 20, unit: 'binary' }).filter((v) => !v.includes('\\n') && !/[\uD800-\uDFFF]/u.test(v))
  const comment = fc.string({ maxLength: 20 }).filter((c) => !c.includes('\n')).map((c) => new Comment(c))
  const item: fc.Arbitrary<MapItem> = fc.oneof(fc.record({ key, value }), comment)

  test('random flat string maps with comments', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 12 }), (list) => {
        const doc: Document = { branches: [new TreeMap(list)], metadata: undefined }
        const again = dotenvFormat.parse(dotenvFormat.emit(doc))
        expect(again.branches[0]!.items).toEqual(list)
        expect(again.metadata).toBeUndefined()
      }),
      { numRuns: 300 },
    )
  })
})
