import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { parse as smolParse } from 'smol-toml'
import { Comment, Literal, Timestamp, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { ValueCipher, isEncryptedValue } from '../../src/core/cipher.js'
import { DecryptValueError, EmitError, FormatError, TsopsError } from '../../src/core/errors.js'
import { readMetadata } from '../../src/keys/metadata.js'
import { visitLeaves } from '../../src/core/walk.js'
import { tomlFormat } from '../../src/formats/toml.js'
import type { Document } from '../../src/formats/format.js'
import { openDocument, type Decrypted } from '../../src/pipeline/decrypt.js'
import { sealDocument } from '../../src/pipeline/encrypt.js'
import type { KeyEntry } from '../../src/keys/types.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder('utf-8', { ignoreBOM: true }).decode(b)
const parse = (s: string): Document => tomlFormat.parse(enc(s))
const root = (s: string): TreeMap => parse(s).branches[0]!
const emit = (doc: Document): string => dec(tomlFormat.emit(doc))
const decodeLiteral = tomlFormat.decodeLiteral!.bind(tomlFormat)

/** A readable picture of a tree: maps as [key, value] pairs, comments as '#text', leaves by raw. */
function picture(v: Value | Comment): unknown {
  if (v instanceof Comment) return `#${v.text}${v.inline ? ' (inline)' : ''}`
  if (v instanceof TreeMap) return v.items.map((i) => (i instanceof Comment ? picture(i) : [i.key, picture(i.value)]))
  if (v instanceof TreeSeq) return { seq: v.items.map(picture) }
  if (v instanceof Literal) return v.raw
  return v
}

/** Like picture, but leaves by typed value: what the MAC sees. */
function values(v: Value | Comment): unknown {
  if (v instanceof TreeMap) return v.items.map((i) => (i instanceof Comment ? picture(i) : [i.key, values(i.value)]))
  if (v instanceof TreeSeq) return { seq: v.items.map(values) }
  return v instanceof Literal ? v.value : picture(v)
}

const literal = (s: string, key = 'v'): Literal => root(s).get(key) as Literal

const FAKE_AGE: KeyEntry = {
  type: 'age',
  fields: { recipient: 'age1test', enc: '-----BEGIN AGE ENCRYPTED FILE-----\nAAAA\n-----END AGE ENCRYPTED FILE-----\n' },
}

/** Encrypt with a known data key (no key wrapping: metadata carries a placeholder key). */
function seal(text: string, dataKey = randomBytes(32)): { text: string; doc: Document; dataKey: Buffer } {
  const doc = parse(text)
  sealDocument(tomlFormat, doc, dataKey, { keyGroups: [[FAKE_AGE]], shamirThreshold: 0, rules: { unencryptedSuffix: '_unencrypted' } })
  return { text: emit(doc), doc, dataKey }
}

function open(text: string, dataKey: Uint8Array): Decrypted {
  const doc = parse(text)
  return openDocument(doc, readMetadata(doc.metadata), dataKey, { decodeLiteral })
}

describe('parse: the tree', () => {
  test('tables, dotted and quoted keys nest maps in document order', () => {
    const tree = root('a.b = 1\n"x.y" = 2\n[t."q k".u]\nc = 3\n[t]\nd = 4\n')
    expect(picture(tree)).toEqual([
      ['a', [['b', '1']]],
      ['x.y', '2'],
      ['t', [['q k', [['u', [['c', '3']]]]], ['d', '4']]],
    ])
  })

  test('arrays of tables are a list of maps; [items.sub] extends the last element', () => {
    const tree = root('[[items]]\nname = "a"\n[[items]]\nname = "b"\n[items.sub]\nx = 1\n[[items.list]]\ny = 2\n')
    expect(picture(tree)).toEqual([['items', { seq: [[['name', '"a"']], [['name', '"b"'], ['sub', [['x', '1']]], ['list', { seq: [[['y', '2']]] }]]] }]])
  })

  test('inline tables and arrays are maps and lists', () => {
    const tree = root('p = { x = 1, y.z = [2, { w = "3" }] }\ne = {}\nl = []\n')
    expect(picture(tree)).toEqual([
      ['p', [['x', '1'], ['y', [['z', { seq: ['2', [['w', '"3"']]] }]]]]],
      ['e', []],
      ['l', { seq: [] }],
    ])
  })

  test('every leaf is a Literal holding its exact source spelling and type tag', () => {
    const cases: [string, unknown, string][] = [
      ['"a\\tb"', 'a\tb', 'string'],
      ["'C:\\x'", 'C:\\x', 'string'],
      ['"""\nline1\nline2"""', 'line1\nline2', 'string'],
      ["'''\r\nraw\r\n'''", 'raw\n', 'string'],
      ['0xDEAD_BEEF', 3735928559n, 'integer'],
      ['1_000', 1000n, 'integer'],
      ['-9223372036854775808', -(2n ** 63n), 'integer'],
      ['0o755', 493n, 'integer'],
      ['0b1010', 10n, 'integer'],
      ['+1.0', 1, 'float'],
      ['6.626e-34', 6.626e-34, 'float'],
      ['-inf', -Infinity, 'float'],
      ['nan', NaN, 'float'],
      ['true', true, 'bool'],
      ['1979-05-27 07:32:00Z', new Timestamp('1979-05-27T07:32:00Z'), 'datetime'],
      ['1979-05-27T00:32:00.999999-07:00', new Timestamp('1979-05-27T00:32:00.999999-07:00'), 'datetime'],
      ['2000-01-01t00:00:00+00:00', new Timestamp('2000-01-01T00:00:00Z'), 'datetime'],
      ['1979-05-27 07:32:00', '1979-05-27T07:32:00', 'datetime-local'],
      ['1979-05-27', '1979-05-27', 'date-local'],
      ['07:32:00.5', '07:32:00.5', 'time-local'],
      ['07:32', '07:32:00', 'time-local'],
    ]
    for (const [raw, value, tag] of cases) {
      const lit = literal(`v = ${raw}\n`)
      expect(lit, raw).toBeInstanceOf(Literal)
      expect(lit.raw, raw).toBe(raw)
      expect(lit.value, raw).toEqual(value)
      expect(lit.typeTag, raw).toBe(tag)
    }
  })

  test('a lone 0 at the very end of the file keeps its spelling (parser range quirk)', () => {
    expect(literal('v = 0').raw).toBe('0')
  })

  test('integers outside int64 are a FormatError', () => {
    expect(() => parse('v = 9223372036854775808\n')).toThrow(FormatError)
  })
})

describe('parse: comments', () => {
  test('head, inline and end-of-file comments stay in their section, in order', () => {
    const tree = root('# head\na = 1 # inl\n# before header\n[s] # on header\nb = 2\n# eof\n')
    expect(picture(tree)).toEqual([
      '# head',
      ['a', '1'],
      '# inl (inline)',
      '# before header',
      ['s', ['# on header (inline)', ['b', '2'], '# eof']],
    ])
  })

  test('comments inside multi-line arrays and inline tables belong to them', () => {
    const tree = root('l = [\n  1, # one\n  # lone\n  [2, # inner\n  ],\n]\nt = {\n  a = 1, # a\n}\n')
    expect(picture(tree)).toEqual([
      ['l', { seq: ['1', '# one (inline)', '# lone', { seq: ['2', '# inner (inline)'] }] }],
      ['t', [['a', '1'], '# a (inline)']],
    ])
  })

  test('comments in an array-of-tables section go into that element', () => {
    const tree = root('[[items]]\n# first\nname = "a"\n[[items]]\nname = "b" # second\n')
    expect(picture(tree)).toEqual([['items', { seq: [['# first', ['name', '"a"']], [['name', '"b"'], '# second (inline)']] }]])
  })

  test('the comment text is what follows #', () => {
    expect(picture(root('#\n#x\n##  y  \n'))).toEqual(['#', '#x', '##  y  '])
  })
})

describe('AAD: map keys only, list indices left out', () => {
  const text = [
    '# top',
    'top = "t"',
    '[[items]]',
    'name = "first"',
    '[[items]]',
    'name = "second" # c',
    '[cfg]',
    'inline = { key = "k", deep = { x = "y" } }',
    'list = ["a", ["b"], { m = "n" }]',
    '',
  ].join('\n')

  test('paths the core sees', () => {
    const paths: string[] = []
    visitLeaves([root(text)], (leaf, path) => paths.push(`${path.join(':')}:${leaf instanceof Comment ? ' #' : ''}`))
    expect(paths).toEqual([': #', 'top:', 'items:name:', 'items:name:', 'items: #', 'cfg:inline:key:', 'cfg:inline:deep:x:', 'cfg:list:', 'cfg:list:', 'cfg:list:m:'])
  })

  test('each ciphertext opens only with its key path', () => {
    const { doc, dataKey } = seal(text)
    const items = (doc.branches[0]!.get('items') as TreeSeq).values() as TreeMap[]
    const cipher = new ValueCipher(dataKey)
    const second = items[1]!.get('name') as string
    expect(cipher.decrypt(second, 'items:name:', { decodeLiteral })).toEqual(new Literal('second', '"second"', 'string'))
    expect(() => cipher.decrypt(second, 'items:1:name:')).toThrow(DecryptValueError)
    const comment = items[1]!.items[1] as Comment
    expect(cipher.decrypt(comment.text, 'items:')).toEqual(new Comment(' c'))
    const inline = (doc.branches[0]!.get('cfg') as TreeMap).get('inline') as TreeMap
    expect(cipher.decrypt(inline.get('key') as string, 'cfg:inline:key:', { decodeLiteral })).toEqual(new Literal('k', '"k"', 'string'))
  })
})

describe('encrypt/decrypt in place', () => {
  test('ENC values replace the value spelling only; comments become #ENC[…]', () => {
    const { text } = seal('a = 0xFF # hex\nb_unencrypted = 0xFF\n')
    const [first, second] = text.split('\n')
    expect(first).toMatch(/^a = "ENC\[AES256_GCM,data:[^\]]+,type:integer\]" #ENC\[AES256_GCM,[^\]]+,type:comment\]$/)
    expect(second).toBe('b_unencrypted = 0xFF')
  })

  test('an empty comment stays empty', () => {
    expect(seal('#\na = 1\n').text.startsWith('#\na = "ENC[')).toBe(true)
  })

  test('the MAC covers clear values with their TOML typing', () => {
    const { text, dataKey } = seal('n_unencrypted = 0x10\nd_unencrypted = 1979-05-27 07:32:00Z\n')
    expect(() => open(text, dataKey)).not.toThrow()
    // a clear value changed by hand changes the MAC
    expect(() => open(text.replace('0x10', '0x11'), dataKey)).toThrow(TsopsError)
  })

  test('in encrypted files string leaves are plain strings for the core', () => {
    const { text } = seal('s = "x"\nkeep_unencrypted = \'lit\'\nn_unencrypted = 1\n')
    const tree = root(text)
    expect(isEncryptedValue(tree.get('s'))).toBe(true)
    expect(tree.get('keep_unencrypted')).toBe('lit')
    expect(tree.get('n_unencrypted')).toEqual(new Literal(1n, '1', 'integer'))
  })

  test.each([
    ['empty', ''],
    ['no final newline', 'a = "x"'],
    ['final newline', 'a = "x"\n'],
    ['blank lines at the end', 'a = "x"\n\n\n'],
    ['trailing spaces without newline', 'a = "x"\n   '],
    ['CRLF', '# c\r\na = "x"\r\n[t]\r\nb = 1\r\n'],
    ['CRLF without final newline', 'a = "x"\r\nb = 1'],
    ['comment as last line', 'a = 1\n# bye'],
  ])('decrypt gives back the exact bytes: %s', (_, original) => {
    const { text, dataKey } = seal(original)
    expect(() => smolParse(text)).not.toThrow()
    const { doc } = open(text, dataKey)
    expect(emit(doc)).toBe(original)
  })

  test('CRLF files get a CRLF [sops] table', () => {
    const { text } = seal('a = 1\r\n')
    expect(text).toMatch(/\r\n\r\n\[sops\]\r\n/)
    expect(text.replace(/\r\n/g, '')).not.toContain('\n')
  })

  test('property: random documents round-trip byte for byte', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/)
    const scalar = fc.oneof(
      fc.string().map((s) => JSON.stringify(s)),
      fc.stringMatching(/^[^'\n\r\u0000-\u001f\u007f]*$/).map((s) => `'${s}'`),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
      fc.integer({ min: 0, max: 0xffff }).map((n) => '0x' + n.toString(16)),
      fc.double({ noNaN: false }).map((n) => (Number.isFinite(n) ? (Number.isInteger(n) ? n.toFixed(1) : String(n)) : Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf')),
      fc.boolean().map(String),
      fc.constantFrom('1979-05-27T07:32:00Z', '1979-05-27 07:32:00', '1979-05-27', '07:32:00.25'),
    )
    const comment = fc.stringMatching(/^[^\n\r\u0000-\u0008\u000a-\u001f\u007f]*$/).map((s) => `#${s}`)
    const line = fc.oneof(
      fc.tuple(key, scalar, fc.option(comment)).map(([k, v, c]) => `${k} = ${v}${c === null ? '' : ' ' + c}`),
      fc.tuple(key, fc.array(scalar, { maxLength: 3 })).map(([k, vs]) => `${k} = [${vs.join(', ')}]`),
      comment,
      fc.constant(''),
    )
    const docArb = fc.tuple(fc.uniqueArray(line, { maxLength: 8, selector: (l) => l.split(' = ')[0] }), fc.constantFrom('\n', '\r\n'), fc.boolean())
    const dataKey = randomBytes(32)
    fc.assert(
      fc.property(docArb, ([lines, eol, finalEol]) => {
        const original = lines.join(eol) + (finalEol && lines.length > 0 ? eol : '')
        try {
          smolParse(original)
        } catch {
          return // generated text that is not TOML (e.g. a duplicate key) proves nothing
        }
        const { text } = seal(original, dataKey)
        smolParse(text)
        expect(emit(open(text, dataKey).doc)).toBe(original)
      }),
      { numRuns: 150 },
    )
  })
})

describe('decodeLiteral', () => {
  test('gives the Literal parse gave, for every tag', () => {
    for (const raw of ['"s"', "'''\r\nx\r\n'''", '0xDEAD_BEEF', '-0', '+1.0', '-nan', 'true', '1979-05-27 07:32:00Z', '1979-05-27T07:32:00', '1979-05-27', '07:32']) {
      const lit = literal(`v = ${raw}\n`)
      expect(decodeLiteral(lit.typeTag!, raw), raw).toEqual(lit)
    }
  })

  test('leaves sops typings and foreign texts to the core', () => {
    expect(decodeLiteral('comment', '# x')).toBeUndefined()
    expect(decodeLiteral('str', '"quoted"')).toBeUndefined()
    expect(decodeLiteral('int', '42')).toBeUndefined()
    expect(decodeLiteral('time', '1979-05-27T07:32:00Z')).toBeUndefined()
    expect(decodeLiteral('bool', 'True')).toBeUndefined()
    expect(decodeLiteral('float', '+Inf')).toBeUndefined()
    expect(decodeLiteral('float', '2')).toBeUndefined()
    expect(decodeLiteral('float', '1.5')).toEqual(new Literal(1.5, '1.5', 'float'))
  })

  test('rejects text that is not exactly one value of the tagged kind', () => {
    expect(decodeLiteral('integer', '1.5')).toBeUndefined()
    expect(decodeLiteral('integer', '1 # x')).toBeUndefined()
    expect(decodeLiteral('integer', '1\nsops = 2')).toBeUndefined()
    expect(decodeLiteral('string', 'bare')).toBeUndefined()
    expect(decodeLiteral('integer', '9223372036854775808')).toBeUndefined()
    expect(decodeLiteral('string', '[1]')).toBeUndefined()
  })
})

describe('emit', () => {
  test('a changed value is spliced in place, everything else kept', () => {
    const doc = parse("# c\na = 'x' # keep\nb = 0x10\n")
    doc.branches[0]!.set('a', 'new "value"')
    doc.branches[0]!.set('b', 17n)
    expect(emit(doc)).toBe('# c\na = "new \\"value\\"" # keep\nb = 17\n')
  })

  test('an equal plain value keeps the source spelling', () => {
    const doc = parse("a = 'x'\nb = 0x10\n")
    doc.branches[0]!.set('a', 'x')
    doc.branches[0]!.set('b', 16n)
    expect(emit(doc)).toBe("a = 'x'\nb = 0x10\n")
  })

  test('a new key falls back to writing the whole tree, keeping order, literals and comments', () => {
    const doc = parse('# head\nz = 0xFF\n[t]\nk = "v"\n[[arr]]\nn = 1\n')
    doc.branches[0]!.items.splice(2, 0, { key: 'after_z', value: 'x' })
    doc.branches[0]!.set('last', true)
    const out = emit(doc)
    expect(out).toBe('# head\nz = 0xFF\nafter_z = "x"\nt = { k = "v" }\narr = [{ n = 1 }]\nlast = true\n')
    expect(values(root(out))).toEqual(values(doc.branches[0]!))
  })

  test('without a TOML origin (e.g. converted from YAML) the tree is written whole', () => {
    const tree = new TreeMap([
      { key: 'name', value: 'svc' },
      { key: 'port', value: 8080n },
      { key: 'ratio', value: 2 },
      { key: 'when', value: new Timestamp('2024-01-01T00:00:00Z') },
      { key: 'text', value: 'two\nlines "q"' },
      new Comment(' a comment'),
      { key: 'db', value: new TreeMap([{ key: 'user', value: 'u' }, new Comment(' in db'), { key: 'opts', value: new TreeMap([{ key: 'ssl', value: true }]) }]) },
      { key: 'hosts', value: new TreeSeq([new TreeMap([{ key: 'h', value: 'a' }]), new Comment(' between'), new TreeMap([{ key: 'h', value: 'b' }])]) },
    ])
    const out = emit({ branches: [tree], metadata: undefined, origin: { yaml: true } })
    expect(out).toBe(
      [
        'name = "svc"',
        'port = 8080',
        'ratio = 2.0',
        'when = 2024-01-01T00:00:00Z',
        'text = """',
        'two',
        'lines \\"q\\""""',
        '# a comment',
        '',
        '[db]',
        'user = "u"',
        '# in db',
        '',
        '[db.opts]',
        'ssl = true',
        '',
        '[[hosts]]',
        'h = "a"',
        '',
        '[[hosts]]',
        '# between',
        'h = "b"',
        '',
      ].join('\n'),
    )
    const back = smolParse(out) as Record<string, unknown>
    expect(back.text).toBe('two\nlines "q"')
  })

  test('a null (from YAML or JSON) is refused with its path, never dropped: a key would vanish or a list shift', () => {
    const nested = new TreeMap([
      { key: 'b', value: new TreeMap([{ key: 'd', value: 1n }]) },
      { key: 'e', value: new TreeSeq([1n, null, 2n]) },
    ])
    const write = () => emit({ branches: [nested], metadata: undefined, origin: { yaml: true } })
    expect(write).toThrow(EmitError)
    expect(write).toThrow('TOML has no null value: cannot write the null at e[1]')
    const top = new TreeMap([{ key: 'a b', value: new TreeMap([{ key: 'c', value: null }]) }])
    expect(() => emit({ branches: [top], metadata: undefined, origin: { yaml: true } })).toThrow('cannot write the null at "a b".c')
  })

  test('the [sops] table: scalars, then arrays of tables, enc as a multi-line string; reads back equal', () => {
    const { text, doc } = seal('a = 1\n')
    expect(text).toContain('\n\n[sops]\nlastmodified = "')
    expect(text).toContain('\n[[sops.age]]\nenc = """\n-----BEGIN AGE ENCRYPTED FILE-----\nAAAA\n-----END AGE ENCRYPTED FILE-----\n"""\nrecipient = "age1test"\n')
    expect(parse(text).metadata).toEqual(doc.metadata)
  })

  test('key groups and nested maps in the metadata read back as the same tree', () => {
    const doc = parse('a = 1\n')
    const group = (r: string): TreeMap =>
      new TreeMap([
        { key: 'age', value: new TreeSeq([new TreeMap([{ key: 'enc', value: 'E\n' }, { key: 'recipient', value: r }])]) },
        { key: 'hc_vault', value: new TreeSeq() },
        { key: 'kms', value: new TreeSeq([new TreeMap([{ key: 'arn', value: 'arn:x' }, { key: 'context', value: new TreeMap([{ key: 'k', value: 'v' }]) }])]) },
      ])
    doc.metadata = new TreeMap([
      { key: 'key_groups', value: new TreeSeq([group('r1'), group('r2')]) },
      { key: 'lastmodified', value: '2024-01-01T00:00:00Z' },
      { key: 'mac_only_encrypted', value: true },
      { key: 'shamir_threshold', value: 2n },
      { key: 'version', value: '3.13.2' },
    ])
    const text = emit(doc)
    expect(text).toContain('[[sops.key_groups.kms]]\narn = "arn:x"\n\n[sops.key_groups.kms.context]\nk = "v"\n')
    expect(parse(text).metadata).toEqual(doc.metadata)
  })

  test('a [sops] table that does not trail the document is still metadata; emit then rewrites the file', () => {
    const doc = parse('[sops]\nversion = "3.13.2"\n[app]\nk = "v"\n')
    expect(doc.metadata?.get('version')).toBe('3.13.2')
    expect(picture(doc.branches[0]!)).toEqual([['app', [['k', 'v']]]])
    expect(emit(doc)).toBe('[app]\nk = "v"\n\n[sops]\nversion = "3.13.2"\n')
  })

  test('a UTF-8 BOM is kept', () => {
    const { text, dataKey } = seal('\uFEFFa = "x"\n')
    expect(text.startsWith('\uFEFFa = "ENC[')).toBe(true)
    expect(emit(open(text, dataKey).doc)).toBe('\uFEFFa = "x"\n')
  })
})

describe('hasMetadataKey', () => {
  test.each([
    ['[sops]\nversion = "1"\n', true],
    ['sops = 1\n', true],
    ['[tool.sops]\nx = 1\n', false],
    ['[sops_settings]\nx = 1\n', false],
  ])('%j -> %s', (text, expected) => {
    expect(tomlFormat.hasMetadataKey(parse(text))).toBe(expected)
  })
})

describe('errors', () => {
  test.each([
    ['a = 1\nb = \n', 2],
    ['a = 1\na = 2\n', 2],
    ['[t]\nx = "unterminated\n', 2],
    ['x = 1979-02-30\n', 1],
    ['x = 1979-05-27T07:32:60Z\n', 1],
    ['a = 1 b = 2\n', 1],
  ])('%j is a FormatError (exit 2) with a line and column', (text, line) => {
    let err: unknown
    try {
      parse(text)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(FormatError)
    const fe = err as FormatError
    expect(fe.exitCode).toBe(2)
    expect(fe.line).toBe(line)
    expect(fe.column).toBeGreaterThanOrEqual(1)
    expect(fe.message).toMatch(/^Could not parse TOML: .+$/)
    expect(fe.hint).toMatch(/^at line \d+, column \d+$/)
  })

  test('invalid UTF-8', () => {
    expect(() => tomlFormat.parse(new Uint8Array([0x61, 0x20, 0x3d, 0x20, 0x22, 0xff, 0x22]))).toThrow(FormatError)
  })

  test('emit refuses several documents', () => {
    expect(() => tomlFormat.emit({ branches: [new TreeMap(), new TreeMap()], metadata: undefined })).toThrow(TsopsError)
  })
})

describe('emitValue (--extract of one value)', () => {
  test('strings as their text, other values in their TOML spelling', () => {
    const tree = root('s = \'lit\'\nn = 0xFF\nl = [1, "a", { k = 2 }]\nd = 1979-05-27\nt = { x = 1 }\n')
    const out = (key: string): string => dec(tomlFormat.emitValue!(tree.get(key)!))
    expect(out('s')).toBe('lit')
    expect(out('n')).toBe('0xFF')
    expect(out('l')).toBe('[1, "a", { k = 2 }]')
    expect(out('d')).toBe('1979-05-27')
    expect(out('t')).toBe('x = 1\n')
  })
})

describe('edit flow (decrypt, change, re-encrypt with the same key and IVs)', () => {
  test('only the changed value, lastmodified and mac change; comments keep their ciphertext', async () => {
    const { reencrypt } = await import('../../src/pipeline/reencrypt.js')
    const { text, dataKey } = seal('# about\n[db]\nhost = "h" # primary\nport = 0x1F90\nlist = [1, 2]\n')
    const opened = open(text, dataKey)
    const db = opened.doc.branches[0]!.get('db') as TreeMap
    db.set('port', 6543n)
    const again = emit(reencrypt(tomlFormat, opened.doc, opened, { now: new Date('2030-01-01T00:00:00Z') }))
    const changed = again.split('\n').filter((line, i) => line !== text.split('\n')[i])
    expect(changed.map((l) => l.split(' = ')[0])).toEqual(['port', 'lastmodified', 'mac'])
    const { doc } = open(again, dataKey)
    expect(emit(doc)).toBe('# about\n[db]\nhost = "h" # primary\nport = 6543\nlist = [1, 2]\n')
  })
})
