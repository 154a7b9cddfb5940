import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir, write } = tempWorkspace('tsops-cli-')
let age: { identity: string; recipient: string }
const env = (extra: Record<string, string> = {}) => cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg'), ...extra })

const PLAIN_JSON = '{\n\t"user": "admin",\n\t"password": "hunter2",\n\t"port": 5432,\n\t"nested": {\n\t\t"token": "t0k3n",\n\t\t"public_unencrypted": "visible"\n\t}\n}\n'

beforeAll(async () => {
  age = await testAgeIdentity()
})

async function encrypted(name = 'a.json', content = PLAIN_JSON): Promise<string> {
  const file = write(name, content)
  const r = await runCli(['encrypt', '--age', age.recipient, '-i', file], { env: env() })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return file
}

describe('tsops encrypt / decrypt', () => {
  it('round-trips a file in sops layout byte for byte, with values hidden and keys readable', async () => {
    const file = await encrypted()
    const text = fs.readFileSync(file, 'utf8')
    expect(text).not.toContain('hunter2')
    expect(text).toContain('"password": "ENC[AES256_GCM,')
    expect(text).toContain('"public_unencrypted": "visible"')
    expect(text).toMatch(/"lastmodified": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/)
    expect(text).toContain('"version": "3.13.2"')
    const r = await runCli(['decrypt', file], { env: env() })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe(PLAIN_JSON)
  })

  it('supports the legacy flags, --output and stdin with --filename-override', async () => {
    const plain = write('b.json', PLAIN_JSON)
    const out = path.join(dir, 'b.enc.json')
    expect((await runCli(['-e', '--age', age.recipient, '--output', out, plain], { env: env() })).code).toBe(0)
    const viaStdin = await runCli(['encrypt', '--age', age.recipient, '--filename-override', 'x.json'], { env: env(), input: PLAIN_JSON })
    expect(viaStdin.code).toBe(0)
    const d1 = await runCli(['-d', out], { env: env() })
    const d2 = await runCli(['decrypt', '--input-type', 'json', '--output-type', 'json', '-'], { env: env(), input: viaStdin.stdout })
    expect(d1.stdout.toString()).toBe(PLAIN_JSON)
    expect(d2.stdout.toString()).toBe(PLAIN_JSON)
  })

  it('--extract prints a string raw and a subtree in the output format; bad paths exit 91', async () => {
    const file = await encrypted('c.json')
    expect((await runCli(['decrypt', '--extract', '["nested"]["token"]', file], { env: env() })).stdout.toString()).toBe('t0k3n')
    expect((await runCli(['decrypt', '--extract', '["port"]', file], { env: env() })).stdout.toString()).toBe('5432')
    expect((await runCli(['decrypt', '--extract', '["nested"]', file], { env: env() })).stdout.toString()).toBe(
      '{\n\t"token": "t0k3n",\n\t"public_unencrypted": "visible"\n}\n',
    )
    expect((await runCli(['decrypt', '--extract', '["nested"', file], { env: env() })).code).toBe(91)
    const missing = await runCli(['decrypt', '--extract', '["nope"]', file], { env: env() })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("component ['nope'] not found")
  })

  it.each([
    ['a value', 25, (t: string) => t.replace(/("password": "ENC\[AES256_GCM,data:)(.)/, (_m, p, c) => p + (c === 'A' ? 'B' : 'A'))],
    ['the MAC', 51, (t: string) => t.replace(/("mac": "ENC\[AES256_GCM,data:)(.)/, (_m, p, c) => p + (c === 'A' ? 'B' : 'A'))],
    ['lastmodified', 51, (t: string) => t.replace(/("lastmodified": "\d{4})/, (_m, p) => p.slice(0, -1) + (p.endsWith('9') ? '8' : '9'))],
    ['a key name', 25, (t: string) => t.replace('"password"', '"passw0rd"')],
    ['two values swapped', 25, (t: string) => {
      const a = /"user": ("[^"]+")/.exec(t)![1]!
      const b = /"password": ("[^"]+")/.exec(t)![1]!
      return t.replace(a, 'SWAP').replace(b, a).replace('SWAP', b)
    }],
  ] as [string, number, (t: string) => string][])('tampering with %s fails with exit %i, nothing on stdout, nothing written', async (_what, code, tamper) => {
    const file = await encrypted(`t-${code}-${Math.random()}.json`)
    fs.writeFileSync(file, tamper(fs.readFileSync(file, 'utf8')))
    const before = fs.readFileSync(file)
    const out = path.join(dir, `out-${Math.random()}.json`)
    const r = await runCli(['decrypt', '--output', out, file], { env: env() })
    expect(r.code).toBe(code)
    expect(r.stdout.length).toBe(0)
    expect(r.stderr).not.toContain('hunter2')
    expect(fs.existsSync(out)).toBe(false)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
    const inPlace = await runCli(['decrypt', '-i', file], { env: env() })
    expect(inPlace.code).toBe(code)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
  })

  it('keeps the file mode on -i', async () => {
    const file = write('mode.json', PLAIN_JSON)
    fs.chmodSync(file, 0o600)
    expect((await runCli(['encrypt', '--age', age.recipient, '-i', file], { env: env() })).code).toBe(0)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
  })

  it('uses sops exit codes for bad invocations', async () => {
    const file = await encrypted('e.json')
    expect((await runCli(['decrypt', path.join(dir, 'missing.json')], { env: env() })).code).toBe(100)
    const again = await runCli(['encrypt', '--age', age.recipient, file], { env: env() })
    expect(again.code).toBe(203)
    expect((await runCli(['decrypt', '-i', '--output', 'x', file], { env: env() })).code).toBe(8)
    expect((await runCli(['encrypt', '--age', age.recipient], { env: env(), input: PLAIN_JSON })).code).toBe(8)
    const noKeys = await runCli(['encrypt', write('n.json', PLAIN_JSON)], { env: env(), cwd: dir })
    expect(noKeys.code).toBe(1)
    expect(noKeys.stderr).toContain('config file not found, or has no creation rules, and no keys provided through command line options')
    const bad = await runCli(['decrypt', write('bad.json', '{"a": ')], { env: env() })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^tsops: error: /)
    expect(bad.stderr).not.toMatch(/\n\s+at /)
  })

  it('wrong key: exit 128, no secret in the output', async () => {
    const file = await encrypted('w.json')
    const other = await (await import('../../src/keys/age.js')).generateAgeIdentity()
    const r = await runCli(['decrypt', file], { env: cleanEnv({ SOPS_AGE_KEY: other.identity, XDG_CONFIG_HOME: path.join(dir, 'none') }) })
    expect(r.code).toBe(128)
    expect(r.stdout.length).toBe(0)
    expect(r.stderr).toContain(age.recipient)
    expect(r.stderr).not.toContain('hunter2')
    expect(r.stderr).not.toContain(other.identity)
  })

  it('takes keys and rules from .sops.yaml creation rules (first match wins), CLI keys override', async () => {
    const project = fs.mkdtempSync(path.join(dir, 'proj-'))
    fs.mkdirSync(path.join(project, 'sub'))
    fs.writeFileSync(
      path.join(project, '.sops.yaml'),
      `creation_rules:\n  - path_regex: prod/.*\n    age: ${age.recipient}\n    encrypted_regex: ^password$\n  - age: ${age.recipient}\n`,
    )
    fs.mkdirSync(path.join(project, 'prod'))
    fs.writeFileSync(path.join(project, 'prod/p.json'), PLAIN_JSON)
    const r = await runCli(['encrypt', 'prod/p.json'], { env: env(), cwd: project })
    expect(r.code).toBe(0)
    const text = r.stdout.toString()
    expect(text).toContain('"user": "admin"')
    expect(text).toContain('"encrypted_regex": "^password$"')
    // searched upwards from the working directory
    const fromSub = await runCli(['encrypt', '../prod/p.json'], { env: env(), cwd: path.join(project, 'sub') })
    expect(fromSub.code).toBe(0)
    expect(fromSub.stdout.toString()).toContain('"user": "admin"')
  })

  it('keygen creates a 0600 identity once and never overwrites it', async () => {
    const xdg = path.join(dir, 'kg')
    const first = await runCli(['keygen'], { env: cleanEnv({ XDG_CONFIG_HOME: xdg }) })
    expect(first.code).toBe(0)
    const keyFile = path.join(xdg, 'sops/age/keys.txt')
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600)
    const content = fs.readFileSync(keyFile, 'utf8')
    const second = await runCli(['keygen'], { env: cleanEnv({ XDG_CONFIG_HOME: xdg }) })
    expect(second.stdout.toString()).toBe(first.stdout.toString())
    expect(fs.readFileSync(keyFile, 'utf8')).toBe(content)
    expect(first.stdout.toString()).toMatch(/^age1[0-9a-z]+\n$/)
  })

  it('prints version and help', async () => {
    expect((await runCli(['--version'])).stdout.toString()).toMatch(/^tsops \S+ \(sops 3\.13\.2 compatible\)\n$/)
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout.toString()).toMatch(/^ {3}decrypt {2,}decrypt a file/m)
  })
})

describe('age keys other than X25519 (typage, bundled separately from the CLI)', () => {
  it('encrypts to a post-quantum hybrid recipient and decrypts with its identity', async () => {
    const { generateHybridIdentity, identityToRecipient } = await import('age-encryption')
    const identity = await generateHybridIdentity()
    const recipient = await identityToRecipient(identity)
    const file = write('pq.json', PLAIN_JSON)
    const enc = await runCli(['encrypt', '--age', recipient, '-i', file], { env: env({ SOPS_AGE_KEY: identity }) })
    expect(enc.stderr).toBe('')
    expect(enc.code).toBe(0)
    expect(fs.readFileSync(file, 'utf8')).toContain(recipient)
    const dec = await runCli(['decrypt', file], { env: env({ SOPS_AGE_KEY: identity }) })
    expect(dec.stderr).toBe('')
    expect(dec.stdout.toString()).toBe(PLAIN_JSON)
    const wrongKey = await runCli(['decrypt', file], { env: env() })
    expect(wrongKey.code).toBe(128)
  })
})
