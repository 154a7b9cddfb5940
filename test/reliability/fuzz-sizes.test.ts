/**
 * Every reader on inputs from a few bytes up to 10 MB (fast-check): many runs at small sizes, a
 * few at large ones. Each input is built from random records repeated in the shapes that used
 * to cost superlinear time (one INI section with every key, `[[a]]` headers, dotted keys, long
 * comment runs, long sequences), and the property is correctness, not time: the reader gives
 * the tree the input describes, and the writer's text reads back to the same tree. Timing
 * lives in bench/scaling.mjs (`npm run bench`).
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import { ValueCipher } from '../../src/core/cipher.js'
import { LeafSelector } from '../../src/core/rules.js'
import { Comment, Literal, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { decryptBranches, encryptBranches } from '../../src/core/walk.js'
import { loadFormat } from '../../src/formats/registry.js'
import type { FormatName } from '../../src/formats/format.js'

const MB = 1 << 20

/** Small sizes for most runs, now and then 1 MB; every property also runs once at 10 MB (LARGE). */
const sizeArb = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 64 * 1024 }), weight: 30 }, { arbitrary: fc.constant(MB), weight: 1 })
const LARGE = 10 * MB
const LARGE_RECORDS: Rec[] = [
  { key: 'k', value: 'plain value', comment: false },
  { key: 'q', value: 'it\'s "quoted" # ; = [x] {y} é中\u2028', comment: true },
]

/** A record: a key stem and a value whose characters need quoting or escaping somewhere. */
const recordArb = fc.record({
  key: fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/),
  value: fc.array(fc.constantFrom(...'ab Z09_-.:,"\'\\#;=[]{}/é中\u2028'.split('')), { maxLength: 24 }).map((cs) => cs.join('')),
  comment: fc.boolean(),
})
type Rec = { key: string; value: string; comment: boolean }

/** Records repeated (each key made unique by its index) until the text passes `size` characters. */
function repeatTo(size: number, records: Rec[], line: (r: Rec, i: number) => string): { text: string; count: number } {
  const parts: string[] = []
  let length = 0
  let i = 0
  do {
    const part = line(records[i % records.length]!, i)
    if (part === '') throw new Error('a record must give a non-empty line, or the text never grows')
    parts.push(part)
    length += part.length
    i++
  } while (length < size)
  return { text: parts.join(''), count: i }
}

/** The tree without Literals and comments: what the values are, whatever their spelling. */
function plain(v: Value): unknown {
  if (v instanceof Literal) return plain(v.value)
  if (v instanceof TreeMap) return v.items.filter((i) => !(i instanceof Comment)).map((e) => [(e as { key: string }).key, plain((e as { value: Value }).value)])
  if (v instanceof TreeSeq) return v.values().map(plain)
  return v
}

/** A tree as comparable text (bigints as their digits). */
function asText(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))
}

/** Parse, check the tree, emit, parse again: the same tree. Small inputs also go through an encrypt/decrypt walk. */
async function roundTrip(name: FormatName, text: string, check: (root: TreeMap) => void): Promise<void> {
  const format = await loadFormat(name)
  const doc = format.parse(Buffer.from(text))
  const root = doc.branches[0]!
  check(root)
  const before = asText(plain(root))
  const written = format.emit(doc)
  // TOML splices values into the source: an unchanged tree is written back byte for byte.
  if (name === 'toml') expect(Buffer.from(written).toString('utf8') === text).toBe(true)
  // Read back and compared as text (a deep equality over 300,000 entries costs more than the
  // parse); the 10 MB inputs are checked as read and written, not read a second time.
  if (text.length < 2 * MB) expect(asText(plain(format.parse(written).branches[0]!)) === before).toBe(true)
  if (text.length < 128 * 1024) {
    const cipher = new ValueCipher(randomBytes(32))
    const selector = new LeafSelector({})
    encryptBranches(doc.branches, cipher, selector)
    format.emit(doc)
    decryptBranches(doc.branches, cipher, selector, { decodeLiteral: format.decodeLiteral?.bind(format) })
    expect(asText(plain(doc.branches[0]!)) === before).toBe(true)
  }
}

const cases = (records: fc.Arbitrary<Rec[]>) => fc.tuple(sizeArb, records)
const records = fc.array(recordArb, { minLength: 1, maxLength: 8 })
/** Generous: the 10 MB inputs take seconds on a busy CI runner (no time is asserted). */
const TIMEOUT_MS = 120_000
/** Runs per property, the 10 MB example included. */
const RUNS = 25

/** A TOML basic string. */
const tomlString = (s: string) => JSON.stringify(s).replace(/\u2028/g, '\\u2028')

describe('readers on inputs up to 10 MB', () => {
  it('INI: one section holding every key (150,000 keys used to overflow the stack)', async () => {
    await fc.assert(
      fc.asyncProperty(cases(records), async ([size, recs]) => {
        const safe = (v: string) => v.replace(/[#;\\`"'\n\u2028]/g, '').trim()
        const { text, count } = repeatTo(size, recs, (r, i) => `${r.comment ? `; note ${i}\n` : ''}${r.key}_${i} = ${safe(r.value)}\n`)
        await roundTrip('ini', '[section]\n' + text, (root) => {
          const section = root.get('section') as TreeMap
          expect(section.entries().length).toBe(count)
          expect(section.entries()[count - 1]!.value).toBe(safe(recs[(count - 1) % recs.length]!.value))
        })
      }),
      { numRuns: RUNS, examples: [[[LARGE, LARGE_RECORDS]]] },
    )
  }, TIMEOUT_MS)

  it('TOML: [[a]] headers, dotted keys and [tables] (40,000 headers took 49 s)', async () => {
    await fc.assert(
      fc.asyncProperty(cases(records), fc.constantFrom('aot', 'dotted', 'tables'), async ([size, recs], shape) => {
        const line = (r: Rec, i: number): string => {
          const comment = r.comment ? ` # note ${i}` : ''
          if (shape === 'aot') return `[[a]]\n${r.key} = ${tomlString(r.value)}${comment}\n`
          if (shape === 'dotted') return `t.${r.key}_${i} = ${tomlString(r.value)}${comment}\n`
          return `[t${i}]\n${r.key} = ${tomlString(r.value)}${comment}\n`
        }
        const { text, count } = repeatTo(size, recs, line)
        await roundTrip('toml', text, (root) => {
          const last = recs[(count - 1) % recs.length]!
          if (shape === 'aot') {
            const a = root.get('a') as TreeSeq
            expect(a.values().length).toBe(count)
            expect(plain((a.values()[count - 1] as TreeMap).get(last.key)!)).toBe(last.value)
          } else if (shape === 'dotted') {
            const t = root.get('t') as TreeMap
            expect(t.entries().length).toBe(count)
            expect(plain(t.get(`${last.key}_${count - 1}`)!)).toBe(last.value)
          } else {
            expect(root.entries().length).toBe(count)
            expect(plain((root.get(`t${count - 1}`) as TreeMap).get(last.key)!)).toBe(last.value)
          }
        })
      }),
      { numRuns: RUNS, examples: [[[LARGE, LARGE_RECORDS], 'aot']] },
    )
  }, TIMEOUT_MS)

  it('TOML: one string or float as long as the input (toml-eslint-parser overflowed past 120,000 characters)', async () => {
    await fc.assert(
      fc.asyncProperty(cases(records), fc.constantFrom('basic', 'literal', 'multi', 'float'), async ([size, recs], kind) => {
        const { text: body } = repeatTo(size, recs, (r) => 'w' + r.value.replace(/[\\"'\u2028]/g, ''))
        const digits = body.replace(/\D/g, '') + '5'
        const spelled = kind === 'basic' ? `"${body}"` : kind === 'literal' ? `'${body}'` : kind === 'multi' ? `"""\n${body}\n"""` : `0.${digits}`
        await roundTrip('toml', `before = 1\nvalue = ${spelled} # note\nafter = 2\n`, (root) => {
          const expected = kind === 'multi' ? body + '\n' : kind === 'float' ? Number(`0.${digits}`) : body
          expect(plain(root.get('value')!)).toBe(expected)
          expect(plain(root.get('after')!)).toBe(2n)
        })
      }),
      { numRuns: RUNS, examples: [[[LARGE, LARGE_RECORDS], 'basic']] },
    )
  }, TIMEOUT_MS)

  it('YAML: keys with comments, long sequences, values broken by U+2028', async () => {
    await fc.assert(
      fc.asyncProperty(cases(records), fc.constantFrom('keys', 'sequence'), async ([size, recs], shape) => {
        // U+2028 escaped: a raw one is a line break in YAML (yaml.v3 folds it with the spaces
        // after it, see yaml-line-breaks.test.ts); here the value must come back as written.
        const q = (v: string) => JSON.stringify(v).replaceAll('\u2028', '\\u2028')
        const line = (r: Rec, i: number): string => {
          const comment = r.comment ? `# note ${i}\n` : ''
          return shape === 'keys' ? `${comment}${r.key}_${i}: ${q(r.value)}\n` : `${comment.replace('#', '  #')}  - ${q(r.value)}\n`
        }
        const { text, count } = repeatTo(size, recs, line)
        await roundTrip('yaml', shape === 'keys' ? text : 'list:\n' + text, (root) => {
          const last = recs[(count - 1) % recs.length]!
          if (shape === 'keys') {
            expect(root.entries().length).toBe(count)
            expect(root.get(`${last.key}_${count - 1}`)).toBe(last.value)
          } else {
            const list = (root.get('list') as TreeSeq).values()
            expect(list.length).toBe(count)
            expect(list[count - 1]).toBe(last.value)
          }
        })
      }),
      { numRuns: RUNS, examples: [[[LARGE, LARGE_RECORDS], 'keys']] },
    )
  }, TIMEOUT_MS)

  it('JSON: flat keys and one long array', async () => {
    await fc.assert(
      fc.asyncProperty(cases(records), fc.boolean(), async ([size, recs], array) => {
        const { text, count } = repeatTo(size, recs, (r, i) => (i === 0 ? '' : ',\n') + (array ? JSON.stringify(r.value) : `${JSON.stringify(`${r.key}_${i}`)}: ${JSON.stringify(r.value)}`))
        await roundTrip('json', array ? `{"list": [${text}]}` : `{${text}}`, (root) => {
          const last = recs[(count - 1) % recs.length]!
          if (array) expect((root.get('list') as TreeSeq).values()[count - 1]).toBe(last.value)
          else expect(root.get(`${last.key}_${count - 1}`)).toBe(last.value)
        })
      }),
      { numRuns: RUNS, examples: [[[LARGE, LARGE_RECORDS], false]] },
    )
  }, TIMEOUT_MS)

  it('dotenv: flat keys and comments', async () => {
    await fc.assert(
      fc.asyncProperty(cases(records), async ([size, recs]) => {
        const safe = (v: string) => v.replace(/[\n\\]/g, '')
        const { text, count } = repeatTo(size, recs, (r, i) => `${r.comment ? `# note ${i}\n` : ''}${r.key.toUpperCase()}_${i}=${safe(r.value)}\n`)
        await roundTrip('dotenv', text, (root) => {
          const last = recs[(count - 1) % recs.length]!
          expect(root.entries().length).toBe(count)
          expect(root.get(`${last.key.toUpperCase()}_${count - 1}`)).toBe(safe(last.value))
        })
      }),
      { numRuns: RUNS, examples: [[[LARGE, LARGE_RECORDS]]] },
    )
  }, TIMEOUT_MS)
})
