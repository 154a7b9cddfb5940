// The fast reader for plain block YAML (src/formats/yaml-simple.ts) against the full reader
// (yaml-parse.ts on the `yaml` package): whenever the fast one accepts a text, both must give
// the same tree, and it must accept the files sops and tsops write. Texts come from the
// fixtures, from two YAML writers over random trees, and from random edits of those texts.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import fs from 'node:fs'
import path from 'node:path'
import { stringify } from 'yaml'
import { Timestamp, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { parseSimpleYaml } from '../../src/formats/yaml-simple.js'
import { parseYamlText } from '../../src/formats/yaml-parse.js'
import { yamlFormat } from '../../src/formats/yaml.js'
import { encrypt } from '../../src/index.js'
import { testAgeIdentity } from '../helpers/age.js'
import { REPO_ROOT } from '../helpers/paths.js'

type Outcome = { ok: ReturnType<typeof parseYamlText> } | { error: string }

function outcome(text: string, simple: boolean): Outcome {
  try {
    return { ok: parseYamlText(text, { simple }) }
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) }
  }
}

let accepted = 0
/** Both readers agree on `text` whenever the fast one accepts it; true when it did. */
function agree(text: string): boolean {
  if (parseSimpleYaml(text) === undefined) return false
  accepted++
  expect(outcome(text, false), text).toStrictEqual(outcome(text, true))
  expect('ok' in outcome(text, false), text).toBe(true)
  return true
}

// ---- random trees -----------------------------------------------------------------------------

const TRICKY = [
  '', 'a', 'hello world', 'true', 'True', 'yes', 'no', 'off', 'null', 'Null', '~', '1', '-1', '+1', '0x1F', '017', '0o17', '0b101',
  '1_000', '1e3', '1.0', '-0', '.5', '-.5', '.inf', '-.inf', '.nan', '2024-01-01', '2001-12-14t21:59:43.10-05:00', '2024-01-01 10:00:00',
  '12:30', 'a: b', 'a:b', 'a:', '- x', '-x', '-', '?x', '? x', ':x', 'x #y', "it's", "'quoted'", 'say "hi"', '"', "'", 'back\\slash',
  'multi\nline', 'trailing\n', 'two\n\nbreaks\n\n', ' lead', 'trail ', ' ', 'ENC[AES256_GCM,data:YWJj,iv:eA==,tag:eQ==,type:str]', 'ünïcödé 🔑',
  '@x', '`x', '%x', '[a]', '{a}', '&a', '*a', '!a', '!!str a', '|', '>', '|-', ',x', 'a,b', 'a]', '<<', '9223372036854775807', '9223372036854775808',
  '18446744073709551616', 'tab\there', '---', '...', 'a\u2028b', 'a\u2029', '\u2028', 'x\u0085y', 'a \u2028 b\nc', 'x'.repeat(1100),
]
const KEYS = ['a', 'b', 'key', 'my key', 'sops', 'password_unencrypted', 'snake_case', 'k-1', 'k.1', 'ü', 'CamelCase', '1', 'true', 'null', '<<', 'a:b', '-k', '"q"', ' x', 'k\u2028ey', 'k\u2029', '\u0085k', 'x'.repeat(1050)]

const scalarArb: fc.Arbitrary<Value> = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_./=+-]{0,15}$/), weight: 6 },
  { arbitrary: fc.bigInt({ min: -1000n, max: 100000n }), weight: 2 },
  fc.constantFrom(...TRICKY),
  fc.string({ maxLength: 12 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(new Timestamp('2024-01-01T00:00:00Z'), new Timestamp('2006-01-02T15:04:05+07:06')),
)
const keyArb = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), weight: 6 },
  fc.constantFrom(...KEYS),
  fc.string({ minLength: 1, maxLength: 8 }),
)

const { tree } = fc.letrec<{ tree: TreeMap; value: Value; seq: TreeSeq }>((rec) => ({
  tree: fc
    .uniqueArray(fc.tuple(keyArb, rec('value')), { maxLength: 5, selector: ([k]) => k })
    .map((entries) => new TreeMap(entries.map(([key, value]) => ({ key, value })))),
  seq: fc.array(rec('value'), { maxLength: 4 }).map((items) => new TreeSeq(items)),
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarArb, rec('tree'), rec('seq')),
}))

function toJs(v: Value): unknown {
  if (v instanceof TreeMap) return Object.fromEntries(v.entries().map((e) => [e.key, toJs(e.value)]))
  if (v instanceof TreeSeq) return v.values().map(toJs)
  if (v instanceof Timestamp) return v.text
  return v
}

/** The text of a tree as tsops writes it (indent 2 or 4), or as the `yaml` package does. */
const writtenArb = fc.tuple(tree, fc.constantFrom('tsops-4', 'tsops-2', 'yaml-pkg', 'yaml-pkg-indent-seq')).map(([t, how]) => {
  if (how.startsWith('tsops')) return Buffer.from(yamlFormat.emit({ branches: [t], metadata: undefined }, { indent: how === 'tsops-2' ? 2 : 4 })).toString('utf8')
  try {
    return stringify(toJs(t), { indentSeq: how === 'yaml-pkg-indent-seq', lineWidth: 0 })
  } catch {
    return 'a: 1\n'
  }
})

/** Random small edits: the fast reader must refuse, or agree with the full reader on, each. */
const editArb = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('delete', 'insert', 'indent', 'dedent', 'duplicate-line', 'swap-lines'),
  ch: fc.constantFrom(' ', '  ', ':', ': ', '-', '- ', '\n', '"', "'", '|', '|-', 'x', '[', ']', '\\', '0', '---\n', '\u2028', '\u2029', '\u0085'),
})

function applyEdit(text: string, e: { at: number; op: string; ch: string }): string {
  const i = text.length === 0 ? 0 : e.at % text.length
  const lines = text.split('\n')
  const l = lines.length === 0 ? 0 : e.at % lines.length
  switch (e.op) {
    case 'delete':
      return text.slice(0, i) + text.slice(i + 1)
    case 'insert':
      return text.slice(0, i) + e.ch + text.slice(i)
    case 'indent':
      lines[l] = ' ' + lines[l]
      return lines.join('\n')
    case 'dedent':
      lines[l] = lines[l]!.replace(/^ /, '')
      return lines.join('\n')
    case 'duplicate-line':
      lines.splice(l, 0, lines[l]!)
      return lines.join('\n')
    default:
      if (l + 1 < lines.length) [lines[l], lines[l + 1]] = [lines[l + 1]!, lines[l]!]
      return lines.join('\n')
  }
}

describe('fast YAML reader', () => {
  it('agrees with the full reader on every tree two writers produce', () => {
    accepted = 0
    fc.assert(fc.property(writtenArb, (text) => void agree(text)), { numRuns: 1500 })
    expect(accepted).toBeGreaterThan(500) // much of what writers produce is plain block YAML
  })

  it('refuses, or agrees with the full reader on, random edits of those texts', () => {
    accepted = 0
    fc.assert(
      fc.property(writtenArb, fc.array(editArb, { minLength: 1, maxLength: 3 }), (text, edits) => void agree(edits.reduce(applyEdit, text))),
      { numRuns: 6000 },
    )
    expect(accepted).toBeGreaterThan(400)
  })

  it('agrees with the full reader on every YAML fixture', () => {
    const files = fs.readdirSync(path.join(REPO_ROOT, 'fixtures'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.ya?ml$/.test(f))
    expect(files.length).toBeGreaterThan(10)
    for (const f of files) agree(fs.readFileSync(path.join(REPO_ROOT, 'fixtures', f), 'utf8'))
  })

  it('reads the files tsops encrypts (metadata with armored age keys, lists of maps, block scalars)', async () => {
    const age = await testAgeIdentity()
    const plain = [
      'db:',
      '    user: app',
      '    password: hunter2',
      '    port: 5432',
      'hosts:',
      '    - name: a',
      '      ip: 10.0.0.1',
      '    - name: b',
      'cert: |',
      '    -----BEGIN CERTIFICATE-----',
      '    MIIB',
      '',
      '    -----END CERTIFICATE-----',
      'flag_unencrypted: true',
      'when_unencrypted: 2024-01-01',
      'empty:',
      "quoted: 'it''s'",
      'list:',
      '- x',
      '- "y"',
      '',
    ].join('\n')
    expect(agree(plain)).toBe(true)
    const encrypted = (await encrypt(plain, { format: 'yaml', age: [age.recipient] })) as string
    expect(agree(encrypted)).toBe(true)
    const parsed = parseYamlText(encrypted)
    expect(parsed.metadata?.get('age')).toBeInstanceOf(TreeSeq)
    expect(parsed.branches[0]!.get('when_unencrypted')).toStrictEqual(new Timestamp('2024-01-01T00:00:00Z'))
  })

  it('leaves comments, flow collections, anchors, tags, escapes and several documents to the full reader', () => {
    for (const text of ['a: 1 # c\n', '# c\na: 1\n', 'a: [1, 2]\n', 'a: {b: 1}\n', 'a: &x 1\nb: *x\n', 'a: !!str 1\n', 'a: "x\\ty"\n', 'a: 1\n---\nb: 2\n', 'a: >\n  folded\n', 'a: |+\n  kept\n\n', 'a:\tb\n', 'a: 1\r\n', 'a: 1']) {
      expect(parseSimpleYaml(text), JSON.stringify(text)).toBeUndefined()
    }
  })
})

describe('fast YAML reader limits', () => {
  it('leaves documents nested deeper than 500 levels to the full reader (whose limit then applies alike)', () => {
    const nested = (levels: number) => Array.from({ length: levels }, (_, i) => ' '.repeat(i) + 'a:').join('\n') + ' 1\n'
    expect(parseSimpleYaml(nested(500))).toBeInstanceOf(TreeMap)
    expect(parseSimpleYaml(nested(501))).toBeUndefined()
  })
})
