import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { Comment, TreeMap, TreeSeq, type MapItem, type Value } from '../../src/core/tree.js'
import { EmitError, FormatError } from '../../src/core/errors.js'
import { iniFormat } from '../../src/formats/ini.js'
import type { Document } from '../../src/formats/format.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)
const parse = (s: string): Document => iniFormat.parse(enc(s))
/** The items of the section at `index` (0 is the implicit DEFAULT). */
const section = (s: string, index: number): MapItem[] => (parse(s).branches[0]!.entries()[index]!.value as TreeMap).items
const sectionNames = (s: string): string[] => parse(s).branches[0]!.entries().map((e) => e.key)
const map = (...items: MapItem[]): TreeMap => new TreeMap(items)
const kv = (key: string, value: Value): MapItem => ({ key, value })
const emit = (root: TreeMap, metadata?: TreeMap): string => dec(iniFormat.emit({ branches: [root], metadata }))

describe('INI parse: spec §5.5 verified examples', () => {
  const file = ['[sec]', 'a = plain', 'b = has#hash', 'c = has;semi', 'd = "quoted value"', "e = 'single'", 'g = `back#tick`', 'h: colon delim', ''].join('\n')

  test('values', () => {
    expect(section(file, 1)).toEqual([
      kv('a', 'plain'),
      kv('b', 'has'),
      new Comment('hash'),
      kv('c', 'has'),
      new Comment('semi'),
      kv('d', 'quoted value'),
      kv('e', 'single'),
      kv('g', 'back#tick'),
      kv('h', 'colon delim'),
    ])
  })

  test('a key before any header goes to DEFAULT, with its preceding comment after it', () => {
    const doc = parse('; top\nglobal_unencrypted = 1\n[sec]\nk = v\n')
    expect(sectionNames('; top\nglobal_unencrypted = 1\n[sec]\nk = v\n')).toEqual(['DEFAULT', 'sec'])
    expect(doc.branches[0]!.get('DEFAULT')).toEqual(map(kv('global_unencrypted', '1'), new Comment('top')))
  })

  test('the implicit DEFAULT section is always first, even empty', () => {
    expect(parse('[a]\nk=v\n').branches[0]!.items[0]).toEqual(kv('DEFAULT', new TreeMap()))
  })

  test('a repeated section is kept as two items', () => {
    const text = '[sec]\na = 1\n[sec]\nb = 2\n'
    expect(sectionNames(text)).toEqual(['DEFAULT', 'sec', 'sec'])
    expect(section(text, 2)).toEqual([kv('b', '2')])
  })

  test('comment lines before a header become the section comment, first in its map', () => {
    expect(section('; about\n# more\n[s]\nk = v\n', 1)).toEqual([new Comment('about\n# more'), kv('k', 'v')])
  })

  test('comment lines before a key plus its inline comment: one comment after the key', () => {
    expect(section('[s]\n; one\n;two\nk = v ; inline\n', 1)).toEqual([kv('k', 'v'), new Comment('one\n;two\n; inline')])
  })

  test('sops stripCommentChar trims the leading ;/# and spaces of the first line only', () => {
    expect(section('[s]\n#;# x\nk=v\n', 1)).toEqual([kv('k', 'v'), new Comment(';# x')])
  })

  test('a comment on the header line belongs to the section', () => {
    expect(section('[s] ; hi\nk=v\n', 1)).toEqual([new Comment('hi'), kv('k', 'v')])
  })
})

describe('INI parse: go-ini rules', () => {
  test('keys and values are trimmed; empty values; duplicate keys overwrite in place', () => {
    expect(section('[s]\n  a   =   x y  \nb=\nc =\t\na = z\n', 1)).toEqual([kv('a', 'z'), kv('b', ''), kv('c', '')])
  })

  test('only the first delimiter splits', () => {
    expect(section('[s]\nurl = http://x\nt: a=b\n', 1)).toEqual([kv('url', 'http://x'), kv('t', 'a=b')])
  })

  test('"""…""" spans lines and keeps newlines; text after the closing quotes is dropped', () => {
    expect(section('[s]\nk = """line1\n\n  line2\nend""" trailing\nn = 1\n', 1)).toEqual([kv('k', 'line1\n\n  line2\nend'), kv('n', '1')])
    expect(section('[s]\nk = """one"""\n', 1)).toEqual([kv('k', 'one')])
  })

  test('backticks: literal, also across lines', () => {
    expect(section('[s]\nk = `a;b"c`\nm = `x\ny`\n', 1)).toEqual([kv('k', 'a;b"c'), kv('m', 'x\ny')])
  })

  test('a comment after a multi-line closing quote is kept', () => {
    expect(section('[s]\nk = """a\nb""" ; c\n', 1)).toEqual([kv('k', 'a\nb'), new Comment('c')])
  })

  test('trailing backslash continues the line (trimmed, up to an empty line)', () => {
    expect(section('[s]\nk = one \\\n   two\\\n three\nn = 1\n', 1)).toEqual([kv('k', 'one twothree'), kv('n', '1')])
  })

  test('quotes must surround the whole value, exactly once', () => {
    expect(section(`[s]\na = "x"y"\nb = 'it''s'\nc = "a#b"\nd = ""\n`, 1)).toEqual([kv('a', '"x"y"'), kv('b', "'it''s'"), kv('c', '"a'), new Comment('b"'), kv('d', '')])
  })

  test('quoted keys', () => {
    expect(section('[s]\n"a=b" = 1\n`c:d` : 2\n"""e`f""" = 3\n', 1)).toEqual([kv('a=b', '1'), kv('c:d', '2'), kv('e`f', '3')])
  })

  test('key - auto-increments per section', () => {
    expect(section('[s]\n- = a\n- = b\n[t]\n- = c\n', 1)).toEqual([kv('#1', 'a'), kv('#2', 'b')])
    expect(section('[s]\n- = a\n- = b\n[t]\n- = c\n', 2)).toEqual([kv('#1', 'c')])
  })

  test('section names are taken verbatim up to the last ]', () => {
    expect(sectionNames('[ a b ]\n[x]y]\n')).toEqual(['DEFAULT', ' a b ', 'x]y'])
  })

  test('CRLF line ends are trimmed from keys, values and comments', () => {
    expect(section('; c\r\n[s]\r\nk = v\r\n', 1)).toEqual([new Comment('c'), kv('k', 'v')])
  })

  test('comments at the end of the file are dropped; blank lines ignored', () => {
    expect(section('[s]\n\n\nk = v\n; trailing\n', 1)).toEqual([kv('k', 'v')])
  })

  test('a UTF-8 BOM is dropped', () => {
    expect(iniFormat.parse(new Uint8Array([0xef, 0xbb, 0xbf, ...enc('[s]\nk=v\n')])).branches[0]!.entries()[1]!.key).toBe('s')
  })

  test.each([
    ['[unclosed\nk = v\n', 1, 'unclosed section header'],
    ['[ok]\n[]\n', 2, 'empty section name'],
    ['[s]\nk = v\njustasecretword\n', 3, 'key-value delimiter not found'],
    ['[s]\n= v\n', 2, 'empty key name'],
    ['[s]\n"k = v\n', 2, 'missing closing key quote'],
    ['[s]\nk = """never closed\nmore\n', 2, 'missing closing """'],
    ['[s]\n"" = v\n', 2, 'empty key name'],
  ])('malformed %j -> FormatError at line %i', (text, line, message) => {
    let err: unknown
    try {
      parse(text)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(FormatError)
    expect((err as FormatError).line).toBe(line)
    expect((err as Error).message).toContain(message)
    expect((err as Error).message).not.toContain('secret')
  })
})

describe('INI emit: go-ini pretty format', () => {
  test('keys padded to the longest, blank line between sections, empty DEFAULT omitted', () => {
    const root = map(kv('DEFAULT', new TreeMap()), kv('a', map(kv('k', '1'), kv('longer', '2'))), kv('b', map(kv('x', 'y'))))
    expect(emit(root)).toBe('[a]\nk      = 1\nlonger = 2\n\n[b]\nx = y\n')
  })

  test('a non-empty DEFAULT first is written without a header', () => {
    expect(emit(map(kv('DEFAULT', map(kv('g', '1'))), kv('s', map(kv('k', 'v')))))).toBe('g = 1\n\n[s]\nk = v\n')
  })

  test('DEFAULT not first gets a header; empty sections get a header', () => {
    expect(emit(map(kv('s', new TreeMap()), kv('DEFAULT', map(kv('g', '1')))))).toBe('[s]\n\n[DEFAULT]\ng = 1\n')
  })

  test('value quoting', () => {
    const s = map(kv('n', 'a\nb'), kv('b', 'x`y'), kv('h', 'has#hash'), kv('c', 'a;b'), kv('sp', ' x '), kv('e', ''), kv('q', '"q"'))
    expect(emit(map(kv('s', s)))).toBe('[s]\nn  = """a\nb"""\nb  = """x`y"""\nh  = `has#hash`\nc  = `a;b`\nsp = " x "\ne  = \nq  = "q"\n')
  })

  test('key quoting and byte-length alignment', () => {
    const s = map(kv('a=b', '1'), kv('q"', '2'), kv('t`', '3'), kv('é', '4'))
    expect(emit(map(kv('s', s)))).toBe('[s]\n`a=b`    = 1\n`q"`     = 2\n"""t`""" = 3\né       = 4\n')
  })

  test('comments: section comment first, key comments before their key (last one wins)', () => {
    const s = map(new Comment('section'), kv('a', '1'), new Comment(' about a'), kv('b', '2'), new Comment('x'), new Comment('y'))
    expect(emit(map(kv('s', s)))).toBe('; section\n[s]\n; about a\na = 1\n; y\nb = 2\n')
  })

  test('multi-line comments: each line prefixed; lines starting with ;/# normalised', () => {
    const s = map(new Comment('one\n#two\n  three'), kv('a', '1'), new Comment('x\n;  y'))
    expect(emit(map(kv('s', s)))).toBe('; one\n# two\n;   three\n[s]\n; x\n; y\na = 1\n')
  })

  test('non-string values via ValToString', () => {
    expect(emit(map(kv('s', map(kv('f', 3), kv('i', -7n), kv('b', true), kv('n', null)))))).toBe('[s]\nf = 3.0\ni = -7\nb = true\nn = <nil>\n')
  })

  test('errors: non-map section, complex value, empty names', () => {
    expect(() => emit(map(kv('s', 'v')))).toThrow(EmitError)
    expect(() => emit(map(kv('s', map(kv('k', new TreeSeq(['a']))))))).toThrow('cannot use complex value in INI file')
    expect(() => emit(map(kv('', new TreeMap())))).toThrow(EmitError)
    expect(() => emit(map(kv('s', map(kv('', 'v')))))).toThrow(EmitError)
  })

  test('duplicate keys in the tree collapse like go-ini (value replaced in place)', () => {
    expect(emit(map(kv('s', map(kv('a', '1'), kv('b', '2'), kv('a', '3')))))).toBe('[s]\na = 3\nb = 2\n')
  })

  test('spec verified: comments written as ; lines before their key and read back to the same place', () => {
    const text = '[sec]\na = 1\nb = has#hash\n'
    const out = dec(iniFormat.emit(parse(text)))
    expect(out).toBe('[sec]\na = 1\n; hash\nb = has\n')
    expect(parse(out)).toEqual(parse(text))
  })
})

describe('INI metadata', () => {
  const meta = map(
    kv('lastmodified', '2026-05-22T20:15:58Z'),
    kv('mac_only_encrypted', true),
    kv('pgp', new TreeSeq([map(kv('created_at', '2026-05-22T20:15:53Z'), kv('enc', '-----BEGIN-----\n\nabc\n-----END-----'), kv('fp', 'FBC7'))])),
    kv('shamir_threshold', 2n),
    kv('version', '3.13.2'),
  )

  test('written as a last [sops] section, flattened without prefix, newlines as \\n', () => {
    const out = emit(map(kv('foo', map(kv('bar', 'x')))), meta)
    expect(out).toBe(
      [
        '[foo]',
        'bar = x',
        '',
        '[sops]',
        'lastmodified                = 2026-05-22T20:15:58Z',
        'mac_only_encrypted          = true',
        'pgp__list_0__map_created_at = 2026-05-22T20:15:53Z',
        'pgp__list_0__map_enc        = -----BEGIN-----\\n\\nabc\\n-----END-----',
        'pgp__list_0__map_fp         = FBC7',
        'shamir_threshold            = 2',
        'version                     = 3.13.2',
        '',
      ].join('\n'),
    )
    const doc = parse(out)
    expect(doc.branches[0]!.entries().map((e) => e.key)).toEqual(['DEFAULT', 'foo'])
    // Read back as strings; the metadata reader types them weakly.
    expect(doc.metadata).toEqual(map(kv('lastmodified', '2026-05-22T20:15:58Z'), kv('mac_only_encrypted', 'true'), meta.items[2]!, kv('shamir_threshold', '2'), kv('version', '3.13.2')))
    expect(iniFormat.hasMetadataKey(doc)).toBe(true)
  })

  test('the 3.13.0/3.13.1 form with real newlines inside """ reads the same', () => {
    const escaped = parse('[sops]\nenc = -----BEGIN-----\\n\\nabc\\n-----END-----\nversion = 3.13.1\n')
    const raw = parse('[sops]\nenc = """-----BEGIN-----\n\nabc\n-----END-----"""\nversion = 3.13.1\n')
    expect(raw.metadata).toEqual(escaped.metadata)
    expect(raw.metadata!.get('enc')).toBe('-----BEGIN-----\n\nabc\n-----END-----')
  })

  test('plain files have no metadata; a sops section is reserved', () => {
    const plain = parse('[a]\nk=v\n')
    expect(plain.metadata).toBeUndefined()
    expect(iniFormat.hasMetadataKey(plain)).toBe(false)
    expect(iniFormat.hasMetadataKey({ branches: [map(kv('sops', new TreeMap()))], metadata: undefined })).toBe(true)
    expect(() => emit(map(kv('sops', new TreeMap())), meta)).toThrow(EmitError)
  })

  test('two [sops] sections, or broken flat keys, are FormatErrors', () => {
    expect(() => parse('[sops]\na=1\n[sops]\nb=2\n')).toThrow(FormatError)
    expect(() => parse('[sops]\npgp__list_1__map_fp = x\n')).toThrow('Incomplete list')
  })
})

test('emitValue: strings raw, other scalars as JSON, containers refused', () => {
  expect(dec(iniFormat.emitValue!('a b'))).toBe('a b')
  expect(dec(iniFormat.emitValue!(5n))).toBe('5')
  expect(dec(iniFormat.emitValue!(1e21))).toBe('1e+21')
  expect(() => iniFormat.emitValue!(new TreeSeq())).toThrow(EmitError)
})

describe('INI property: parse(emit(x)) == x for values go-ini can carry', () => {
  // go-ini is lossy for some strings (a bare value ending in `\` continues the line, `"` inside
  // "…" stays quoted, `"""` inside """…""" ends early), as it is in sops; those are left out.
  const text = (chars: string, min: number, max: number) => fc.string({ unit: fc.constantFrom(...chars), minLength: min, maxLength: max })
  const value = text('ab #;`\n\t=:', 0, 12)
  const key = text('abc_=:"', 1, 6).filter((k) => !(k.includes('"') && k.includes('`')) && k !== '-')
  const comment = text('xy ;#', 1, 8)
    .map((c) => c.trim())
    .filter((c) => c !== '' && c[0] !== ';' && c[0] !== '#')
  const sectionMap = fc
    .tuple(fc.option(comment, { nil: undefined }), fc.uniqueArray(fc.tuple(key, value, fc.option(comment, { nil: undefined })), { selector: ([k]) => k, maxLength: 5 }))
    .map(([sc, entries]) => {
      const items: MapItem[] = sc === undefined ? [] : [new Comment(sc)]
      for (const [k, v, c] of entries) {
        items.push(kv(k, v))
        if (c !== undefined) items.push(new Comment(c))
      }
      return new TreeMap(items)
    })
  const name = text('abc .', 1, 6).filter((n) => n.toUpperCase() !== 'DEFAULT' && n !== 'sops')

  test('random sections', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(name, sectionMap), { maxLength: 4 }), (sections) => {
        const root = new TreeMap([kv('DEFAULT', new TreeMap()), ...sections.map(([n, m]) => kv(n, m))])
        const again = parse(emit(root))
        expect(again.branches[0]).toEqual(root)
        expect(again.metadata).toBeUndefined()
      }),
      { numRuns: 300 },
    )
  })
})
