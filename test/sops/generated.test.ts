// Generated cases: random documents in every format through both tools. The seed is printed
// (TSOPS_DIFF_SEED=N repeats a run); a mismatch fails with fast-check's shrunk document.
import { afterAll, beforeAll, describe, it } from 'vitest'
import fc from 'fast-check'
import { stringify } from 'yaml'
import { cleanupTwins, crossDecrypt, expectSame, realAgeKey, twin, type AgeKey } from './harness.js'

const SEED = Number(process.env.TSOPS_DIFF_SEED ?? Math.floor(Math.random() * 2 ** 31))
const RUNS = Number(process.env.TSOPS_DIFF_RUNS ?? 50)
process.stdout.write(`generated differential cases: seed ${SEED} (TSOPS_DIFF_SEED=${SEED} repeats it), ${RUNS} runs per format\n`)

let key: AgeKey
beforeAll(async () => {
  key = await realAgeKey()
})
afterAll(cleanupTwins)

const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/)
const text = fc.oneof(
  fc.stringMatching(/^[ -~]{0,30}$/), // printable ASCII: quotes, colons, #, brackets…
  fc.constantFrom('', ' ', 'héllo ☃', '😀', 'a\nb', 'line1\nline2\n', 'tab\there', 'yes', 'no', 'null', '~', '1.0', '007', '0x1F', '- x', ': y', '#z', '"q"', "'s'"),
)
const scalar = fc.oneof(
  text,
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.constantFrom(0, -1, 2 ** 53, -(2 ** 53), 9007199254740993n, -9223372036854775808n, 18446744073709551616n),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }),
  fc.constantFrom(0.1, 1.5, -0.25, 1e-7, 123456.789, 1e21),
  fc.boolean(),
  fc.constant(null),
)

const tree = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('map'), tie('list')),
  map: fc.dictionary(word, tie('value'), { minKeys: 1, maxKeys: 5 }),
  list: fc.array(tie('value'), { minLength: 1, maxLength: 4 }),
})).map as fc.Arbitrary<Record<string, unknown>>

/** JSON with bigints as raw numbers. */
function toJson(v: unknown, indent = ''): string {
  const next = indent + '  '
  if (typeof v === 'bigint') return v.toString()
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[\n${v.map((x) => next + toJson(x, next)).join(',\n')}\n${indent}]`
  if (v && typeof v === 'object') {
    const entries = Object.entries(v)
    return entries.length === 0 ? '{}' : `{\n${entries.map(([k, x]) => `${next}${JSON.stringify(k)}: ${toJson(x, next)}`).join(',\n')}\n${indent}}`
  }
  return JSON.stringify(v)
}

const flatValue = fc.stringMatching(/^[!-~][ -~]{0,30}$/).filter((s) => !s.includes('\\') && !s.endsWith(' '))
const dotenv = fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/), flatValue, { minKeys: 1, maxKeys: 8 }).map((d) =>
  Object.entries(d)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n') + '\n',
)
const ini = fc
  .dictionary(word, fc.dictionary(word, flatValue.filter((s) => !/[;#"'`=]/.test(s)), { minKeys: 1, maxKeys: 4 }), { minKeys: 1, maxKeys: 3 })
  .map((sections) =>
    Object.entries(sections)
      .map(([name, keys]) => `[${name}]\n${Object.entries(keys).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`)
      .join('\n'),
  )

const CASES: [string, string, fc.Arbitrary<string>][] = [
  ['yaml', 'doc.yaml', tree.map((t) => stringify(t))],
  ['json', 'doc.json', tree.map((t) => toJson(t) + '\n')],
  ['dotenv', 'doc.env', dotenv],
  ['ini', 'doc.ini', ini],
]

describe.each(CASES)('random %s documents', (_format, name, documents) => {
  // One retry: the same seed gives the same documents, so a real divergence fails twice; a
  // mismatch that does not repeat is still printed in full (harness.ts) and counted.
  it('encrypt: same layout; each decrypts the other', { retry: 1, timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(documents, async (content) => {
        const t = await twin(['encrypt', '--age', key.recipient, '--output', `enc-${name}`, name], { files: { [name]: content }, env: { SOPS_AGE_KEY_FILE: key.file } })
        expectSame(t, { encryptedFiles: true }, `generated ${name}: ${JSON.stringify(content)}`)
        if (t.real.code === 0) await crossDecrypt(t, `enc-${name}`)
      }),
      // A mismatch is shrunk, within a bound: the shrunk case, or the smallest found by then.
      { numRuns: RUNS, seed: SEED, interruptAfterTimeLimit: 240_000, markInterruptAsFailure: true },
    )
  })
})
