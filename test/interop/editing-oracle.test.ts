/**
 * "Real sops reads what the editing commands write": files changed by tsops edit, set, unset
 * and apply (same data key, reused ciphertexts, new MAC) are decrypted by the real sops 3.13.2
 * binary (test/helpers/real-sops.mjs), MAC included, to the values tsops decrypts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseAllDocuments } from 'yaml'
import { FIXTURES, ORACLE } from '../helpers/paths.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { generateAgeIdentity } from '../../src/keys/age.js'

let age: { identity: string; recipient: string }
let work: string
beforeAll(async () => {
  age = await generateAgeIdentity()
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-edit-oracle-'))
})
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

const env = (extra: Record<string, string> = {}) => cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(work, 'xdg'), ...extra })

/** Scalars as comparable text: the oracle re-serialises and may turn numbers into strings. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]))
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v)
  if (typeof v === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v)) return Number(v)
  if (v === '<nil>') return null
  if (v === 'true' || v === 'false') return v === 'true'
  return v
}

function values(text: string): unknown {
  return normalize(parseAllDocuments(text, { intAsBigInt: true })[0]!.toJS({ mapAsMap: false }))
}

async function ok(args: string[], extra: Record<string, string> = {}, input?: string): Promise<Buffer> {
  const r = await runCli(args, { env: env(extra), cwd: work, input })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return r.stdout
}

/** The oracle decrypts `file` (exit 0) to the same values tsops decrypts. */
async function acceptedByRealSops(file: string, format: 'yaml' | 'json'): Promise<unknown> {
  const real = await runCli([file, format], { env: env(), command: [process.execPath, ORACLE] })
  expect(real.stderr).toBe('')
  expect(real.code).toBe(0)
  const ours = await ok(['decrypt', file])
  expect(values(real.stdout.toString())).toEqual(values(ours.toString()))
  return values(ours.toString())
}

function editor(name: string, body: string): string {
  const script = path.join(work, `${name}.mjs`)
  fs.writeFileSync(script, `#!${process.execPath}\nimport fs from 'node:fs'\nconst file = process.argv.at(-1)\nconst text = fs.readFileSync(file, 'utf8')\n${body}\n`, { mode: 0o755 })
  return script
}

const CASES = [
  { format: 'yaml', fixture: 'rich.yaml', key: '["app"]["db"]["password"]', from: 'payments-api', to: 'billing-api' },
  { format: 'json', fixture: 'rules.json', key: '["empty"]', from: '"svc"', to: '"svc2"' },
] as const

describe.each(CASES)('real sops decrypts what the editing commands wrote ($format)', ({ format, fixture, key, from, to }) => {
  let file: string
  beforeAll(async () => {
    file = path.join(work, `edited.${format}`)
    await ok(['encrypt', '--age', age.recipient, '--output', file, path.join(FIXTURES, 'oracle', fixture)])
  })

  it('set: a changed value, a new nested object, a number (float)', async () => {
    await ok(['set', file, key, '"changed by set"'])
    await ok(['set', file, '["added"]', '{"n": 1, "list": [1, "two"], "inner": {"ok": true}}'])
    await ok(['set', file, '["num"]', '5'])
    const v = (await acceptedByRealSops(file, format)) as Record<string, unknown>
    expect(v.added).toEqual({ n: 1, list: [1, 'two'], inner: { ok: true } })
    expect(v.num).toBe(5)
  })

  it('unset: a key and a list element', async () => {
    await ok(['unset', file, '["added"]["list"][0]'])
    await ok(['unset', file, '["num"]'])
    const v = (await acceptedByRealSops(file, format)) as Record<string, unknown>
    expect(v.added).toEqual({ n: 1, list: ['two'], inner: { ok: true } })
    expect('num' in v).toBe(false)
  })

  it('edit with a scripted editor, and -s', async () => {
    await ok(['edit', file], { SOPS_EDITOR: editor(`replace-${format}`, `fs.writeFileSync(file, text.replace(${JSON.stringify(from)}, ${JSON.stringify(to)}))`) })
    const before = await acceptedByRealSops(file, format)
    expect(JSON.stringify(before)).toContain(to.replaceAll('"', ''))
    await ok(['edit', '-s', file], { SOPS_EDITOR: editor(`show-${format}`, `if (!text.includes('lastmodified')) process.exit(9); fs.writeFileSync(file, text.replace(${JSON.stringify(to)}, ${JSON.stringify(from)}))`) })
    await acceptedByRealSops(file, format)
  })

  it('apply: a whole new plaintext', async () => {
    const plain = (await ok(['decrypt', file])).toString()
    const next = format === 'yaml' ? plain + 'applied: yes-it-is\n' : plain.replace(/\n}\n$/, ',\n\t"applied": "yes-it-is"\n}\n')
    await ok(['apply', file, '-'], {}, next)
    const v = (await acceptedByRealSops(file, format)) as Record<string, unknown>
    expect(v.applied).toBe('yes-it-is')
  })

  it('edit of a new file (the example document)', async () => {
    const created = path.join(work, `new-${Math.random().toString(36).slice(2)}.${format}`)
    await ok(['edit', '--age', age.recipient, created], { SOPS_EDITOR: editor(`new-${format}`, `fs.writeFileSync(file, text.replace('example_value', 'made by edit'))`) })
    const v = (await acceptedByRealSops(created, format)) as Record<string, unknown>
    expect(v.example_key).toBe('made by edit')
  })
})
