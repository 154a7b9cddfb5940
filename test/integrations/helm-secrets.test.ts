/**
 * tsops as the `sops` that helm-secrets shells out to: its exact command lines (through the
 * `sops`-named bin/sops entry, stderr merged into stdout as helm-secrets does), on files tsops
 * writes with keys from `.sops.yaml` (helm-secrets passes no key flags). Files written by real
 * sops go through the same lines in test/interop/helm-secrets.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { testAgeIdentity } from '../helpers/age.js'
import { GREP_BINARY, GREP_ENCRYPTED, HELM, envWithSops, makeSopsBin, sh, type SopsBin } from './sops-bin.js'
import { tempWorkspace } from '../helpers/workspace.js'

let bin: SopsBin
const { dir } = tempWorkspace('tsops-helm-')
let project: string
let age: { identity: string; recipient: string }
const env = () => envWithSops(bin, { SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg') })

beforeAll(async () => {
  bin = makeSopsBin()
  age = await testAgeIdentity()
  project = path.join(dir, 'chart')
  fs.mkdirSync(project)
  fs.writeFileSync(path.join(project, '.sops.yaml'), `creation_rules:\n  - age: ${age.recipient}\n`)
})
afterAll(() => {
  bin?.cleanup()
})

/** Plaintexts already in each store's canonical layout, so a round trip is byte-exact. */
const PLAINTEXTS: [type: string, name: string, content: Buffer][] = [
  ['yaml', 'secrets.yaml', Buffer.from('db:\n    password: s3cr3t\n    port: 5432\nhosts:\n    - a.example\n    - b.example\ndebug: true\n')],
  ['json', 'secrets.json', Buffer.from('{\n\t"db": {\n\t\t"password": "s3cr3t",\n\t\t"port": 5432\n\t},\n\t"debug": true\n}\n')],
  ['dotenv', 'secrets.env', Buffer.from('DB_PASSWORD=s3cr3t\nPORT=5432\n')],
  ['ini', 'secrets.ini', Buffer.from('[db]\npassword = s3cr3t\nport     = 5432\n')],
  ['toml', 'secrets.toml', Buffer.from('title = "x"\n\n[db]\npassword = "s3cr3t"\nport = 5432\n')],
  // Trailing newlines and bytes that are not UTF-8 must survive exactly.
  ['binary', 'secret.properties', Buffer.concat([Buffer.from('key=value\n\xff\x00'.split('').map((c) => c.charCodeAt(0))), Buffer.from('\n\n\n\n')])],
]

function write(name: string, content: Buffer | string): string {
  const file = path.join(project, name)
  fs.writeFileSync(file, content)
  return file
}

async function ok(script: string, args: string[]): Promise<Buffer> {
  const r = await sh(script, args, { env: env(), cwd: project })
  expect(r.stderr).toBe('')
  expect(r.stdout.toString('latin1'), 'exit code ' + r.code).not.toMatch(/error|warning/i)
  expect(r.code).toBe(0)
  return r.stdout
}

describe('helm-secrets command lines on files tsops encrypts', () => {
  it.each(PLAINTEXTS)('%s: encrypt --in-place, detected as encrypted, decrypts byte-exact to stdout, --output and --in-place', async (type, name, plain) => {
    const file = write(`inplace-${name}`, plain)
    expect((await ok(HELM.encryptInPlace, [type, file])).length).toBe(0)
    const encrypted = fs.readFileSync(file)
    expect(encrypted.includes('s3cr3t')).toBe(false)
    expect(encrypted.includes('key=value')).toBe(false)
    // helm-secrets decides "already encrypted?" with this grep: the MAC must sit on one line.
    expect((await sh(GREP_ENCRYPTED, [file], { env: env() })).code).toBe(0)
    expect((await sh(GREP_BINARY, [file], { env: env() })).code).toBe(type === 'binary' ? 0 : 1)
    expect((await sh(GREP_ENCRYPTED, [write(`plain-${name}`, plain)], { env: env() })).code).toBe(1)

    expect((await ok(HELM.decryptStdout, [type, file])).equals(plain)).toBe(true)
    const out = path.join(project, `out-${name}.dec`)
    expect((await ok(HELM.decryptOutput, [type, file, out])).length).toBe(0)
    expect(fs.readFileSync(out).equals(plain)).toBe(true)
    expect((await ok(HELM.decryptInPlace, [type, file])).length).toBe(0)
    expect(fs.readFileSync(file).equals(plain)).toBe(true)
  })

  it.each(PLAINTEXTS)('%s: encrypt to stdout and with --output', async (type, name, plain) => {
    const file = write(`stdout-${name}`, plain)
    const toStdout = await ok(HELM.encryptStdout, [type, file])
    expect(fs.readFileSync(file).equals(plain)).toBe(true)
    const viaStdout = write(`stdout-${name}.enc`, toStdout)
    const out = path.join(project, `output-${name}.enc`)
    expect((await ok(HELM.encryptOutput, [type, file, out])).length).toBe(0)
    for (const encrypted of [viaStdout, out]) {
      expect((await sh(GREP_ENCRYPTED, [encrypted], { env: env() })).code).toBe(0)
      expect((await ok(HELM.decryptStdout, [type, encrypted])).equals(plain)).toBe(true)
    }
  })

  it('guesses the type of encrypted files the way helm-secrets does', async () => {
    const expected: Record<string, string> = { yaml: 'yaml', json: 'json', binary: 'binary' }
    for (const [type, name, plain] of PLAINTEXTS.filter(([t]) => t in expected)) {
      const file = write(`detect-${name}`, plain)
      await ok(HELM.encryptInPlace, [type, file])
      expect((await ok(HELM.detectType, [file])).toString()).toBe(`${expected[type]}\n`)
    }
  })

  it('decrypts a whole encrypted JSON document piped to /dev/stdin (decrypt_literal)', async () => {
    const [, name, plain] = PLAINTEXTS.find(([t]) => t === 'json')!
    const file = write(`literal-${name}`, plain)
    await ok(HELM.encryptInPlace, ['json', file])
    const text = fs.readFileSync(file, 'utf8')
    expect((await ok(HELM.decryptLiteral, [text])).equals(plain)).toBe(true)
    // $(…) in a shell strips the trailing newline: the document still decrypts to the same bytes.
    expect((await ok(HELM.decryptLiteral, [text.trimEnd()])).equals(plain)).toBe(true)
  })

  it('a failure goes through the merged stream with a non-zero exit and no plaintext', async () => {
    const [, name, plain] = PLAINTEXTS[0]!
    const file = write(`fail-${name}`, plain)
    await ok(HELM.encryptInPlace, ['yaml', file])
    const r = await sh(HELM.decryptStdout, ['yaml', file], { env: envWithSops(bin, { XDG_CONFIG_HOME: path.join(dir, 'nokeys') }), cwd: project })
    expect(r.code).toBe(128)
    expect(r.stdout.toString()).toContain(age.recipient)
    expect(r.stdout.toString()).not.toContain('s3cr3t')
  })

  it('edit of a new file without .sops.yaml or keys fails with sops\'s message (after cd into its directory)', async () => {
    const lonely = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-helm-edit-'))
    try {
      const file = path.join(lonely, 'new-secrets.yaml')
      const r = await sh(HELM.edit, [file], { env: envWithSops(bin, { XDG_CONFIG_HOME: path.join(dir, 'xdg'), EDITOR: 'true', SOPS_EDITOR: 'true' }) })
      expect(r.code).not.toBe(0)
      expect(r.stdout.toString()).toContain('config file not found, or has no creation rules, and no keys provided through command line options')
      expect(fs.existsSync(file)).toBe(false)
    } finally {
      fs.rmSync(lonely, { recursive: true, force: true })
    }
  })
})
