/**
 * Corrupted encrypted files, every format: 320 seeded mutations each (bit flips, truncations,
 * deletions and duplications of byte ranges, single-byte replacements) decrypted by tsops.
 * The first 40 of each format go through the real CLI process; the rest through the same code
 * path in-process (main.ts run + reportError), to keep the suite fast.
 *
 * Every outcome must be one of sops's exit codes for a damaged file (ALLOWED_EXIT_CODES), with
 * `tsops: error:` and no stack trace on stderr, nothing written on failure, and on success the
 * original plaintext or one whose MAC-covered values are identical (see macCoveredValues).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { TsopsError } from '../../src/core/errors.js'
import { Comment, Literal, Timestamp, TreeMap, TreeSeq, type Value } from '../../src/core/tree.js'
import { loadFormat } from '../../src/formats/registry.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { EXTENSION, MUTATION_KINDS, SAMPLES, SECRET, STACK_LINE, mutate, prng, runInProcess, type Mutation, type SampleFormat } from './support.js'
import { tempWorkspace } from '../helpers/workspace.js'

/**
 * 0 harmless (whitespace, a duplicated identical INI key, a version still semver…),
 * 1 metadata invalid or missing, 2 unparsable, 25 a value fails to decrypt,
 * 51 MAC mismatch or undecryptable MAC, 128 the data key cannot be recovered.
 */
export const ALLOWED_EXIT_CODES = new Set([0, 1, 2, 25, 51, 128])

const PER_FORMAT = 320
const VIA_CLI = 40
const CLI_CONCURRENCY = 4
const SEED = Number(process.env.TSOPS_MUTATION_SEED ?? 20240611)
const FORMATS: SampleFormat[] = ['yaml', 'json', 'dotenv', 'ini', 'binary', 'toml']

const { dir } = tempWorkspace('tsops-mut-')
let env: Record<string, string | undefined>
const encrypted = new Map<SampleFormat, Buffer>()
const expected = new Map<SampleFormat, Buffer>()
const histogram = new Map<SampleFormat, Map<number, number>>()

beforeAll(async () => {
  const age = await testAgeIdentity()
  env = cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg') })
  // The in-process runs read keys from this worker's environment (one process per test file).
  process.env.SOPS_AGE_KEY = age.identity
  process.env.XDG_CONFIG_HOME = path.join(dir, 'xdg')
  delete process.env.SOPS_AGE_KEY_FILE
  delete process.env.SOPS_AGE_KEY_CMD
  for (const format of FORMATS) {
    const plain = path.join(dir, `plain.${EXTENSION[format]}`)
    fs.writeFileSync(plain, SAMPLES[format])
    const enc = await runInProcess(['encrypt', '--age', age.recipient, '--output', `${plain}.enc`, '--input-type', format, '--output-type', format, plain])
    expect(enc.stderr).toBe('')
    encrypted.set(format, fs.readFileSync(`${plain}.enc`))
    const out = path.join(dir, `plain.${EXTENSION[format]}.out`)
    const dec = await runInProcess(['decrypt', '--input-type', format, '--output-type', format, '--output', out, `${plain}.enc`])
    expect(dec.code).toBe(0)
    expected.set(format, fs.readFileSync(out))
  }
})

afterAll(() => {
  const lines = [...histogram].map(([f, h]) => `${f}: ${[...h].sort((a, b) => a[0] - b[0]).map(([c, n]) => `exit ${c}×${n}`).join(', ')}`)
  console.info(`mutation outcomes (seed ${SEED}):\n  ${lines.join('\n  ')}`)
})

/** PER_FORMAT mutations, the kinds in rotation, reproducible from SEED. */
function mutations(format: SampleFormat): Mutation[] {
  const rand = prng(SEED + FORMATS.indexOf(format))
  const input = encrypted.get(format)!
  return Array.from({ length: PER_FORMAT }, (_, i) => mutate(input, rand, MUTATION_KINDS[i % MUTATION_KINDS.length]!))
}

/**
 * The leaf values of a tree in document order, as comparable text: what sops's MAC
 * authenticates. Comments, the names of unencrypted keys (encrypted values are bound to their
 * key path by the AAD instead) and empty strings (they hash to no bytes) are outside it, so a
 * damaged `#ENC[…]` comment, a renamed `public_unencrypted` key or an inserted `EMPTY=` line
 * still decrypts — in sops too (docs/reliability.md).
 */
function macCoveredValues(root: Value): string[] {
  const out: string[] = []
  const pending: (Value | Comment)[] = [root]
  while (pending.length > 0) {
    const v = pending.pop()!
    if (v instanceof TreeMap) for (let i = v.items.length - 1; i >= 0; i--) {
      const item = v.items[i]!
      pending.push(item instanceof Comment ? item : item.value)
    }
    else if (v instanceof TreeSeq) for (let i = v.items.length - 1; i >= 0; i--) pending.push(v.items[i]!)
    else if (!(v instanceof Comment) && v !== null && v !== '') out.push(scalarText(v))
  }
  return out
}

function scalarText(v: Exclude<Value, TreeMap | TreeSeq | null>): string {
  if (v instanceof Literal) return scalarText(v.value)
  if (v instanceof Timestamp) return `time:${v.text}`
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`
  return `${typeof v}:${String(v)}`
}

async function sameValues(format: SampleFormat, a: Buffer, b: Buffer): Promise<boolean> {
  if (a.equals(b)) return true
  if (format === 'binary') return false
  const f = await loadFormat(format)
  const values = (bytes: Buffer) => JSON.stringify(f.parse(bytes).branches.map((br) => macCoveredValues(br)))
  return values(a) === values(b)
}

interface Outcome {
  code: number
  stdout: Buffer | undefined
  stderr: string
}

function tally(format: SampleFormat, code: number): void {
  const h = histogram.get(format) ?? new Map<number, number>()
  h.set(code, (h.get(code) ?? 0) + 1)
  histogram.set(format, h)
}

async function check(format: SampleFormat, m: Mutation, outcome: Outcome, context: string): Promise<void> {
  const where = `${format} ${m.kind} (${m.what}) via ${context}`
  tally(format, outcome.code)
  expect(ALLOWED_EXIT_CODES.has(outcome.code), `${where}: exit ${outcome.code}\n${outcome.stderr}`).toBe(true)
  expect(outcome.stderr, where).not.toMatch(STACK_LINE)
  expect(outcome.stderr, where).not.toContain('unexpected failure')
  expect(outcome.stderr, where).not.toContain(SECRET)
  if (outcome.code === 0) {
    expect(outcome.stdout, where).toBeDefined()
    expect(await sameValues(format, outcome.stdout!, expected.get(format)!), `${where}: decrypted to something else`).toBe(true)
  } else {
    expect(outcome.stdout === undefined || outcome.stdout.length === 0, `${where}: wrote output on failure`).toBe(true)
    // A damaged comment may first earn sops's "unencrypted comment" warning.
    const afterWarnings = outcome.stderr.replace(/^(tsops: warning: .*\n)+/, '')
    expect(afterWarnings.startsWith('tsops: error: '), `${where}: ${outcome.stderr}`).toBe(true)
  }
}

async function viaCli(format: SampleFormat, m: Mutation, i: number): Promise<Outcome> {
  const file = path.join(dir, `cli-${format}-${i}.${EXTENSION[format]}`)
  fs.writeFileSync(file, m.bytes)
  const r = await runCli(['decrypt', '--input-type', format, '--output-type', format, file], { env })
  fs.rmSync(file)
  return { code: r.code, stdout: r.stdout, stderr: r.stderr }
}

async function viaInProcess(format: SampleFormat, m: Mutation, i: number): Promise<Outcome> {
  const file = path.join(dir, `ip-${format}-${i}.${EXTENSION[format]}`)
  const out = `${file}.out`
  fs.writeFileSync(file, m.bytes)
  const r = await runInProcess(['decrypt', '--input-type', format, '--output-type', format, '--output', out, file])
  if (r.error !== undefined) expect(r.error, `${format} ${m.what}: not a TsopsError`).toBeInstanceOf(TsopsError)
  const stdout = fs.existsSync(out) ? fs.readFileSync(out) : undefined
  fs.rmSync(file)
  fs.rmSync(out, { force: true })
  return { code: r.code, stdout, stderr: r.stderr }
}

/** Run `task` over `items` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++
        await task(items[i]!, i)
      }
    }),
  )
}

describe.each(FORMATS)('%s: mutated encrypted files', (format) => {
  it(`${PER_FORMAT} mutations: no crash, no stack trace, no partial output, sops exit codes`, async () => {
    const all = mutations(format)
    const cliCount = VIA_CLI
    await pool(all.slice(0, cliCount), CLI_CONCURRENCY, async (m, i) => check(format, m, await viaCli(format, m, i), 'CLI'))
    for (const [i, m] of all.slice(cliCount).entries()) await check(format, m, await viaInProcess(format, m, i), 'in-process')
    const codes = histogram.get(format)!
    // The damage is real: most mutations must be detected, not decrypted.
    expect([...codes].filter(([c]) => c !== 0).reduce((n, [, k]) => n + k, 0)).toBeGreaterThan(PER_FORMAT / 2)
  }, 120_000)
})
