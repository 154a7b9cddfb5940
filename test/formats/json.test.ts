import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { EmitError, FormatError, GenericError } from '../../src/core/errors.js'
import { formatFloatJSON, isInt64 } from '../../src/core/gofmt.js'
import { Comment, Literal, Timestamp, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { decodeUtf8Go, jsonFormat, MAX_DEPTH, parseEncryptedJson, quoteJsonString } from '../../src/formats/json.js'

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8')
const dec = (b: Uint8Array): string => Buffer.from(b).toString('utf8')
const parse = (s: string | Uint8Array): TreeMap => jsonFormat.parse(typeof s === 'string' ? enc(s) : s).branches[0]!
const emit = (root: TreeMap, indent?: number): string => dec(jsonFormat.emit({ branches: [root], metadata: undefined }, { indent }))
const map = (...entries: [string, Value][]): TreeMap => new TreeMap(entries.map(([key, value]) => ({ key, value })))

function parseError(s: string | Uint8Array): FormatError {
  try {
    parse(s)
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError)
    return e as FormatError
  }
  throw new Error('expected a FormatError')
}

describe('JSON numbers (sops UseNumber + normalizeJSONNumber)', () => {
  it('types integer syntax within int64 as bigint and everything else as float64', () => {
    const root = parse(
      '{"a": 1.0, "b": 1e2, "c": -0, "d": 9223372036854775808, "e": 9223372036854775807, "f": 12345678901234567890123,' +
        ' "g": -9223372036854775808, "h": -9223372036854775809, "i": 0.1, "j": 1E+2, "k": 0, "l": -12}',
    )
    expect(root.get('a')).toBe(1)
    expect(root.get('b')).toBe(100)
    expect(root.get('c')).toBe(0n)
    expect(root.get('d')).toBe(9223372036854775808)
    expect(root.get('e')).toBe(9223372036854775807n)
    expect(root.get('f')).toBe(1.2345678901234568e22)
    expect(root.get('g')).toBe(-9223372036854775808n)
    expect(root.get('h')).toBe(-9223372036854775808) // float: out of int64
    expect(root.get('i')).toBe(0.1)
    expect(root.get('j')).toBe(100)
    expect(root.get('k')).toBe(0n)
    expect(root.get('l')).toBe(-12n)
  })

  it('rejects out-of-range floats like strconv.ParseFloat, but underflows to 0', () => {
    expect(parseError('{"a": 1e400}').message).toContain('strconv.ParseFloat: parsing "1e400": value out of range')
    expect(parseError('{"a": [-1e309]}').message).toContain('value out of range')
    expect(parse('{"a": 1e-400}').get('a')).toBe(0)
  })

  it("emits Go's encoding/json number text", () => {
    const root = map(['a', 1e-7], ['b', 1e21], ['c', 25.4], ['d', 100], ['e', -0], ['f', 1.5e300], ['g', 123456789012345680000], ['h', 9223372036854775807n], ['i', -5n], ['j', 0.000001])
    expect(emit(root)).toBe(
      '{\n\t"a": 1e-7,\n\t"b": 1e+21,\n\t"c": 25.4,\n\t"d": 100,\n\t"e": -0,\n\t"f": 1.5e+300,\n\t"g": 123456789012345680000,\n\t"h": 9223372036854775807,\n\t"i": -5,\n\t"j": 0.000001\n}\n',
    )
  })

  it('refuses NaN and infinities with the json.Marshal message', () => {
    expect(() => emit(map(['a', NaN]))).toThrow(EmitError)
    expect(() => emit(map(['a', NaN]))).toThrow('Error marshaling to json: Error encoding value : json: unsupported value: NaN')
    expect(() => emit(map(['a', map(['b', new TreeSeq([Infinity])])]))).toThrow(
      'Error marshaling to json: Error encoding value : Error encoding value : json: unsupported value: +Inf',
    )
  })
})

describe('JSON strings', () => {
  it('escapes like json.Marshal (HTML-safe, \\b/\\f, lowercase \\u00XX)', () => {
    expect(quoteJsonString('plain text é ✓ 😀')).toBe('"plain text é ✓ 😀"')
    expect(quoteJsonString('a"b\\c\nd\re\tf')).toBe('"a\\"b\\\\c\\nd\\re\\tf"')
    expect(quoteJsonString('\b\f\x00\x1b\x1f\x7f')).toBe('"\\b\\f\\u0000\\u001b\\u001f\x7f"')
    expect(quoteJsonString('<a href="x">&</a>')).toBe('"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"')
    expect(quoteJsonString('\u2028\u2029')).toBe('"\\u2028\\u2029"')
    expect(quoteJsonString('x\ud800y\udc00z')).toBe('"x\\ufffdy\\ufffdz"')
    expect(quoteJsonString('/')).toBe('"/"')
  })

  it('writes byte strings with Go per-byte replacement of invalid UTF-8', () => {
    const bytes = new Uint8Array([0x41, 0xe2, 0x82, 0x41, 0xff, 0xc3, 0xa9])
    expect(emit(map(['b', bytes]))).toBe('{\n\t"b": "A\\ufffd\\ufffdA\\ufffdé"\n}\n')
    expect(decodeUtf8Go(bytes)).toBe('A\ufffd\ufffdA\ufffdé')
    // UTF-8-encoded surrogates and overlongs are invalid too: one replacement per byte
    expect(decodeUtf8Go(new Uint8Array([0xed, 0xa0, 0x80, 0xc0, 0xaf]))).toBe('\ufffd'.repeat(5))
  })

  it('reads every escape, pairs surrogates and replaces lone ones with U+FFFD like Go', () => {
    const root = parse(String.raw`{"s": "\"\\\/\b\f\n\r\t\u00e9\u00E9\ud83d\ude00|\ud800x|\udc00|\ud800\ud800\udc00|\ud83d\u0041"}`)
    expect(root.get('s')).toBe('"\\/\b\f\n\r\téé😀|\ufffdx|\ufffd|\ufffd\u{10000}|\ufffdA')
  })

  it('replaces invalid UTF-8 in the input per byte', () => {
    const bytes = Buffer.concat([enc('{"s": "a'), Buffer.from([0xe2, 0x82, 0x41, 0xff]), enc('", "k\\u00e9": 1}')])
    const root = parse(bytes)
    expect(root.get('s')).toBe('a\ufffd\ufffdA\ufffd')
    expect(root.get('ké')).toBe(1n)
  })

  it('reads long strings with and without escapes', () => {
    const long = 'x'.repeat(100_000)
    expect(parse(`{"a": "${long}", "b": "${long.replaceAll('x', 'x\\n')}"}`).get('b')).toBe(long.replaceAll('x', 'x\n'))
  })
})

describe('JSON structure', () => {
  it('keeps duplicate keys, in order', () => {
    const root = parse('{"a": 1, "b": 2, "a": 3}')
    expect(root.items).toEqual([
      { key: 'a', value: 1n },
      { key: 'b', value: 2n },
      { key: 'a', value: 3n },
    ])
    expect(emit(root)).toBe('{\n\t"a": 1,\n\t"b": 2,\n\t"a": 3\n}\n')
  })

  it('keeps integer-like keys in document order', () => {
    expect(parse('{"10": 1, "2": 2, "1": 3}').entries().map((e) => e.key)).toEqual(['10', '2', '1'])
  })

  it('reads true/false/null, nested maps and lists', () => {
    const root = parse(' \r\n\t{"t": true, "f": false, "n": null, "l": [1, [], {}, "x", [null]], "m": {"x": {"y": []}}}')
    expect(root.get('t')).toBe(true)
    expect(root.get('f')).toBe(false)
    expect(root.get('n')).toBe(null)
    const l = root.get('l') as TreeSeq
    expect(l.items.length).toBe(5)
    expect(emit(root)).toBe(
      '{\n\t"t": true,\n\t"f": false,\n\t"n": null,\n\t"l": [\n\t\t1,\n\t\t[],\n\t\t{},\n\t\t"x",\n\t\t[\n\t\t\tnull\n\t\t]\n\t],\n\t"m": {\n\t\t"x": {\n\t\t\t"y": []\n\t\t}\n\t}\n}\n',
    )
  })

  it('ignores whatever follows the top-level object, as sops does', () => {
    expect(parse('{"a": 1} trailing {').get('a')).toBe(1n)
  })

  it('honours the indent option like json.Indent', () => {
    const root = map(['a', new TreeSeq([1n, map(['b', 'c'])])], ['e', new TreeMap()])
    expect(emit(root, 2)).toBe('{\n  "a": [\n    1,\n    {\n      "b": "c"\n    }\n  ],\n  "e": {}\n}\n')
    expect(emit(root, 0)).toBe('{\n"a": [\n1,\n{\n"b": "c"\n}\n],\n"e": {}\n}\n')
    expect(emit(root, -1)).toBe(emit(root))
    expect(() => emit(root, -2)).toThrow('JSON Indentation parameter smaller than -1 is not accepted')
    expect(emit(new TreeMap())).toBe('{}\n')
  })

  it('drops comments (a YAML file decrypted to JSON) and still writes {} / [] when only comments remain', () => {
    const root = new TreeMap([
      new Comment(' head'),
      { key: 'a', value: new TreeSeq([new Comment(' in list'), 1n, new Comment(' x')]) },
      { key: 'b', value: new TreeMap([new Comment(' only')]) },
      { key: 'c', value: new TreeSeq([new Comment(' only')]) },
      new Comment(' tail', true),
    ])
    expect(emit(root)).toBe('{\n\t"a": [\n\t\t1\n\t],\n\t"b": {},\n\t"c": []\n}\n')
  })

  it('writes timestamps as their text, byte strings as UTF-8 and literals by value', () => {
    const root = map(['t', new Timestamp('2024-01-01T00:00:00Z')], ['b', enc('bytes\n')], ['l', new Literal(3735928559n, '0xDEAD_BEEF')])
    expect(emit(root)).toBe('{\n\t"t": "2024-01-01T00:00:00Z",\n\t"b": "bytes\\n",\n\t"l": 3735928559\n}\n')
  })
})

describe('JSON metadata', () => {
  it('extracts a top-level sops mapping and appends it last on emit', () => {
    const doc = jsonFormat.parse(enc('{"sops": {"version": "3.13.2"}, "a": "x"}'))
    expect(doc.metadata?.get('version')).toBe('3.13.2')
    expect(doc.branches[0]!.entries().map((e) => e.key)).toEqual(['a'])
    expect(jsonFormat.hasMetadataKey(doc)).toBe(true)
    expect(dec(jsonFormat.emit(doc))).toBe('{\n\t"a": "x",\n\t"sops": {\n\t\t"version": "3.13.2"\n\t}\n}\n')
    expect(jsonFormat.hasMetadataKey(jsonFormat.parse(enc('{"a": 1}')))).toBe(false)
  })

  it('leaves a non-mapping or duplicate sops entry in place for plaintext, so encrypt refuses it', () => {
    for (const text of ['{"sops": 1}', '{"sops": {}, "sops": {}}']) {
      const doc = jsonFormat.parse(enc(text))
      expect(doc.metadata).toBeUndefined()
      expect(jsonFormat.hasMetadataKey(doc)).toBe(true)
    }
  })

  it('is strict when reading an encrypted file', () => {
    expect(() => parseEncryptedJson(enc('{"sops": 1}'))).toThrow(new GenericError('Found sops entry that is not a mapping', { code: 'INVALID_METADATA' }))
    expect(() => parseEncryptedJson(enc('{"sops": {}, "sops": {}}'))).toThrow('Found duplicate sops entry')
    expect(() => parseEncryptedJson(enc('nope'))).toThrow(/^Could not unmarshal input data: invalid character 'o' in literal null/)
  })

  it('refuses a data key named sops when writing metadata', () => {
    const doc = { branches: [map(['sops', 'x'])], metadata: map(['version', '3.13.2']) }
    expect(() => jsonFormat.emit(doc)).toThrow(EmitError)
  })
})

describe('emitValue (--extract)', () => {
  it('re-indents lists and scalars without a trailing newline', () => {
    expect(dec(jsonFormat.emitValue!(new TreeSeq([1n, 'a', map(['k', true])])))).toBe('[\n\t1,\n\t"a",\n\t{\n\t\t"k": true\n\t}\n]')
    expect(dec(jsonFormat.emitValue!(2.5))).toBe('2.5')
    expect(dec(jsonFormat.emitValue!('<x>'))).toBe('"\\u003cx\\u003e"')
    expect(dec(jsonFormat.emitValue!(new TreeSeq([]), { indent: 2 }))).toBe('[]')
    expect(() => jsonFormat.emitValue!(NaN)).toThrow('json: unsupported value: NaN')
  })
})

describe('JSON parse errors', () => {
  const cases: [string, string, number, number][] = [
    ['{"a" 1}', "invalid character '1' after object key", 1, 6],
    ['{"a": 1 "b": 2}', `invalid character '"' after object key:value pair`, 1, 9],
    ['{"a": 1,}', "invalid character '}' looking for beginning of object key string", 1, 9],
    ['{"a": [1,]}', "invalid character ']' looking for beginning of value", 1, 10],
    ['{"a": [1 2]}', "invalid character '2' after array element", 1, 10],
    ['{\n  "a": tru}', "invalid character '}' in literal true (expecting 'e')", 2, 11],
    ['{\n\n  "é": x}', "invalid character 'x' looking for beginning of value", 3, 8],
    ['{"a": -x}', "invalid character 'x' in numeric literal", 1, 8],
    ['{"a": 1.}', "invalid character '}' after decimal point in numeric literal", 1, 9],
    ['{"a": 1e}', "invalid character '}' in exponent of numeric literal", 1, 9],
    ['{"a": 01}', "invalid character '1' after object key:value pair", 1, 8],
    ['{"a": "x\ny"}', "invalid character '\\n' in string literal", 1, 9],
    ['{"a": "\\q"}', "invalid character 'q' in string escape code", 1, 9],
    ['{"a": "\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape", 1, 12],
    ["{'a': 1}", "invalid character '\\''", 1, 2], // Go's tokenError has no context for a fresh object
    ['{"a": 1, 2}', "invalid character '2' looking for beginning of object key string", 1, 10],
    ['{"a": 1', 'unexpected EOF', 1, 8],
    ['{"a": "xyz', 'unexpected EOF', 1, 11],
    ['\ufeff{}', "invalid character 'ï' looking for beginning of value", 1, 1],
  ]
  it.each(cases)('%j -> %s', (input, message, line, column) => {
    const e = parseError(input)
    expect(e.message).toBe(`Error unmarshalling file: Could not unmarshal input data: ${message}`)
    expect(e.hint).toBe(`at line ${line}, column ${column}`)
    expect(e.line).toBe(line)
    expect(e.column).toBe(column)
    expect(e.exitCode).toBe(2)
  })

  it('reports empty input as EOF', () => {
    for (const input of ['', '  \n\t']) expect(parseError(input).message).toBe('Error unmarshalling file: Could not unmarshal input data: EOF')
  })

  it('refuses a top-level array or scalar with the sops message', () => {
    expect(parseError('[1]').message).toContain("not arrays or other types. Got delimiter [ instead. To encrypt this file, wrap it in an object")
    const got = (s: string): string => /Got (.*) instead/.exec(parseError(s).message)![1]!
    expect(got('"abc"')).toBe('"abc" of type string')
    expect(got('42')).toBe('42 of type int')
    expect(got('1.5')).toBe('1.5 of type float64')
    expect(got('1e21')).toBe('1e+21 of type float64')
    expect(got('true')).toBe('true of type bool')
    expect(got('null')).toBe('<nil> of type <nil>')
    expect(got('1e400')).toBe('"1e400" of type json.Number')
  })

  it('never throws anything but FormatError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          jsonFormat.parse(bytes)
        } catch (e) {
          if (!(e instanceof FormatError)) throw e
        }
      }),
      { numRuns: 2000 },
    )
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'{}[],:"\\ tfnrue0123456789.-eE'.split('')), maxLength: 40 }), (s) => {
        try {
          jsonFormat.parse(enc(s))
        } catch (e) {
          if (!(e instanceof FormatError)) throw e
        }
      }),
      { numRuns: 3000 },
    )
  })
})

describe('deep nesting', () => {
  it('gives a FormatError at 20,000 levels instead of overflowing the stack', () => {
    const n = 20_000
    const e = parseError('{"a":' + '['.repeat(n) + ']'.repeat(n) + '}')
    expect(e.message).toContain(`exceeded max nesting depth of ${MAX_DEPTH}`)
  })

  it(`round-trips ${MAX_DEPTH} levels, Go's limit`, () => {
    const n = MAX_DEPTH - 1
    const text = '{"a":' + '['.repeat(n) + ']'.repeat(n) + '}'
    const out = emit(parse(text), 0)
    expect(out.replace(/\s/g, '')).toBe(text)
    expect(emit(parse(out), 0)).toBe(out)
  })
})

// ---- properties ------------------------------------------------------------------------------

const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n }
const text = fc.string({ unit: 'binary', maxLength: 12 })
const scalar = fc.oneof(
  text,
  fc.bigInt(INT64),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('<&>', '\u2028', '\x00\x1f\b\f', 'ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]'),
)
const { tree } = fc.letrec<{ tree: TreeMap; value: Value; list: TreeSeq }>((tie) => ({
  tree: fc.array(fc.tuple(text, tie('value')), { maxLength: 5 }).map((es) => map(...es)),
  list: fc.array(tie('value'), { maxLength: 5 }).map((vs) => new TreeSeq(vs)),
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('tree'), tie('list')),
}))

/**
 * What sops's own round trip does to a float: one whose JSON text has integer syntax within
 * int64 (`2`, `-0`, `-55119072713755850`) comes back as that int.
 */
function normalize(v: Value): Value {
  if (v instanceof TreeMap) return new TreeMap(v.entries().map((e) => ({ key: e.key, value: normalize(e.value) })))
  if (v instanceof TreeSeq) return new TreeSeq(v.values().map(normalize))
  if (typeof v === 'number') {
    const text = formatFloatJSON(v)
    if (/^-?\d+$/.test(text) && isInt64(BigInt(text))) return BigInt(text)
  }
  return v
}

describe('JSON round-trip properties', () => {
  it('parse(emit(tree)) == tree (floats as sops normalizes them)', () => {
    fc.assert(
      fc.property(tree, fc.constantFrom(undefined, 0, 2, 4), (t, indent) => {
        expect(parse(emit(t, indent))).toStrictEqual(normalize(t))
      }),
      { numRuns: 500 },
    )
  })

  it('emit(parse(x)) == x for text already in sops layout', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const x = emit(normalize(t) as TreeMap)
        expect(emit(parse(x))).toBe(x)
      }),
      { numRuns: 500 },
    )
  })
})
