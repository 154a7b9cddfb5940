// The caret excerpt of a parse error (src/formats/excerpt.ts): the failing line, masked so no
// value is ever shown, a caret under the column, long lines cut to a window around it.
import { describe, expect, it } from 'vitest'
import { FormatError } from '../../src/core/errors.js'
import { caretExcerpt, parseShowingWhere } from '../../src/formats/excerpt.js'
import { loadFormat } from '../../src/formats/registry.js'
import { open, parseSealed } from '../../src/pipeline/open.js'
import { decrypt } from '../../src/index.js'

const bytes = (s: string) => Buffer.from(s, 'utf8')
const SECRET = 'hunter2-Sup3r+s3cret'

/** The FormatError a format's parser throws for `text`, with its excerpt. */
async function failure(format: 'yaml' | 'json' | 'toml' | 'ini' | 'dotenv', text: string): Promise<FormatError> {
  const fmt = await loadFormat(format)
  try {
    parseShowingWhere(bytes(text), () => fmt.parse(bytes(text)))
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError)
    return err as FormatError
  }
  throw new Error(`${format} parsed ${JSON.stringify(text)}`)
}

describe('caretExcerpt', () => {
  it('masks everything but whitespace and structure, and puts the caret under the column', () => {
    expect(caretExcerpt(bytes(`a: 1\npassword: "${SECRET}\n`), 2, 11)).toBe('********: "********************\n          ^')
    expect(caretExcerpt(bytes(`{"password": ${SECRET}}`), 1, 14)).toBe('{"********": ********************}\n             ^')
  })

  it('lines up under tabs, ignores a CR, and shows the line alone without a column', () => {
    expect(caretExcerpt(bytes('[s]\n\t\tkey = [1,\r\n'), 2, 9)).toBe('\t\t*** = [*,\n\t\t      ^')
    expect(caretExcerpt(bytes(`USER=admin\n${SECRET}\n`), 2)).toBe('********************')
  })

  it('cuts a long line to a window around the column', () => {
    const line = `{"k": "${'x'.repeat(200)}", "bad": ]}`
    const excerpt = caretExcerpt(bytes(line), 1, line.indexOf(']') + 1)!
    const [shown, caret] = excerpt.split('\n')
    expect(shown!.startsWith('…')).toBe(true)
    expect([...shown!].length).toBeLessThanOrEqual(82)
    expect(shown![caret!.indexOf('^')]).toBe(']')
  })

  it('clamps a column past the end of the line, and gives up on a line that does not exist', () => {
    expect(caretExcerpt(bytes('a: "x\n'), 1, 99)).toBe('*: "*\n     ^')
    expect(caretExcerpt(bytes('list:\n  - a-b\n  -\n'), 2, 3)).toBe('  - ***\n  ^')
    expect(caretExcerpt(bytes('a: 1\n'), 5, 1)).toBeUndefined()
    expect(caretExcerpt(bytes('a: "x\n'), 2, 1)).toBeUndefined()
  })
})

describe('parse errors of every text format carry an excerpt without the secret', () => {
  it.each([
    ['yaml', `password: "${SECRET}`],
    ['yaml', `a:\n  - x\n  password: ${SECRET}\n`],
    ['json', `{"password": ${SECRET}}`],
    ['json', `{\n  "password": "${SECRET}",\n}`],
    ['toml', `password = ${SECRET}\n`],
    ['ini', `[db]\n${SECRET}\n`],
    ['dotenv', `USER=admin\n${SECRET}\n`],
  ] as const)('%s: %j', async (format, text) => {
    const err = await failure(format, text)
    expect(err.line).toBeGreaterThan(0)
    expect(err.excerpt).toBeDefined()
    expect(err.excerpt).not.toContain(SECRET.slice(0, 4))
    expect(err.excerpt).not.toMatch(/[A-Za-z0-9]/)
    if (err.column !== undefined) expect(err.excerpt!.split('\n')[1]).toMatch(/^[ \t…]*\^$/)
  })

  it('keeps an excerpt from an inner call, and leaves other errors alone', () => {
    const inner = new FormatError('x', 1, 1)
    inner.excerpt = 'kept'
    expect(() => parseShowingWhere(bytes('a'), () => { throw inner })).toThrow(inner)
    expect(inner.excerpt).toBe('kept')
    const other = new Error('boom')
    expect(() => parseShowingWhere(bytes('a'), () => { throw other })).toThrow(other)
    expect(Object.keys(other)).toEqual([])
  })
})

describe('readers of encrypted files parse through one place that adds the excerpt', () => {
  // An unclosed flow sequence on line 2, met at line 3 before any metadata is read: no key needed.
  const broken = bytes(`a: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nb: [${SECRET}\nsops:\n    version: 3.13.2\n`)

  async function rejection(promise: Promise<unknown>): Promise<FormatError> {
    const err = await promise.then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(FormatError)
    return err as FormatError
  }

  it('pipeline open (decrypt, exec-env, set/unset, edit) and parseSealed', async () => {
    for (const err of [await rejection(open(broken, 'yaml', { dataKey: new Uint8Array(32) })), await rejection(parseSealed(broken, 'yaml'))]) {
      expect(err.excerpt).toBe('****:\n^')
    }
  })

  it("the library's decrypt", async () => {
    const err = await rejection(decrypt(broken, { format: 'yaml', ageIdentities: [] }))
    expect(err.excerpt).toBe('****:\n^')
  })
})
