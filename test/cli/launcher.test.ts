// The `tsops` launcher (scripts/launcher.cjs): two bundles, a code cache per bundle, and the
// hand-over from the start-up bundle to the complete CLI. Speed is measured in `npm run bench`;
// these tests check that the machinery never changes what a command does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'

let dir: string
let age: { identity: string; recipient: string }
let encryptedYaml: string
const PLAIN = 'db:\n    user: app\n    password: hunter2\n'

const cacheDir = () => path.join(dir, 'cache', 'tsops')
const env = (extra: Record<string, string> = {}) =>
  cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg'), XDG_CACHE_HOME: path.join(dir, 'cache'), ...extra })
const caches = (bundle: string) => (fs.existsSync(cacheDir()) ? fs.readdirSync(cacheDir()).filter((f) => f.startsWith(`code-${bundle}-`)).sort() : [])

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-launcher-'))
  age = await testAgeIdentity()
  const plain = path.join(dir, 'plain.yaml')
  fs.writeFileSync(plain, PLAIN)
  const r = await runCli(['encrypt', '--age', age.recipient, plain], { env: env() })
  expect(r.code).toBe(0)
  encryptedYaml = path.join(dir, 'secrets.yaml')
  fs.writeFileSync(encryptedYaml, r.stdout)
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('code cache', () => {
  it('is written once per bundle into a private directory and then reused', async () => {
    fs.rmSync(path.join(dir, 'cache'), { recursive: true, force: true })
    expect((await runCli(['decrypt', encryptedYaml], { env: env() })).stdout.toString()).toBe(PLAIN)
    const [mainCache] = caches('main')
    expect(mainCache).toBeDefined()
    expect(caches('full')).toEqual([])
    expect(fs.statSync(cacheDir()).mode & 0o777).toBe(0o700)
    const file = path.join(cacheDir(), mainCache!)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    const written = fs.statSync(file).mtimeMs

    expect((await runCli(['decrypt', encryptedYaml], { env: env() })).stdout.toString()).toBe(PLAIN)
    expect(fs.statSync(file).mtimeMs).toBe(written) // accepted, not rewritten

    // A command outside the start-up bundle runs the complete CLI, which gets its own cache.
    const status = await runCli(['filestatus', encryptedYaml], { env: env() })
    expect(status.stdout.toString()).toBe('{"encrypted":true}\n')
    expect(caches('full')).toHaveLength(1)
    expect(caches('main')).toEqual([mainCache])
  })

  it('keeps one cache per command, and drops the caches of other builds and old file names', async () => {
    fs.rmSync(path.join(dir, 'cache'), { recursive: true, force: true })
    fs.mkdirSync(cacheDir(), { recursive: true, mode: 0o700 })
    const stale = ['code-main-decrypt-v0.0.0-x64-1-1.bin', 'code-v20.0.0-x64-1-1.bin']
    for (const f of stale) fs.writeFileSync(path.join(cacheDir(), f), 'old')
    const plain = path.join(dir, 'plain.yaml')
    expect((await runCli(['encrypt', '--age', age.recipient, plain], { env: env() })).code).toBe(0)
    expect((await runCli(['-d', encryptedYaml], { env: env() })).stdout.toString()).toBe(PLAIN)
    const names = caches('main')
    expect(names.map((f) => f.split('-v')[0])).toEqual(['code-main-decrypt-yaml', 'code-main-encrypt-yaml'])
    for (const f of stale) expect(fs.existsSync(path.join(cacheDir(), f))).toBe(false)
  })

  it('compiles vendored packages (the TOML parsers, re2js) through caches of their own', async () => {
    fs.rmSync(path.join(dir, 'cache'), { recursive: true, force: true })
    const toml = path.join(dir, 'app.toml')
    fs.writeFileSync(toml, 'title = "x"\n[db]\npassword = "hunter2"\n')
    const enc = await runCli(['encrypt', '--age', age.recipient, '--encrypted-regex', '^password$', toml], { env: env() })
    expect(enc.stderr).toBe('')
    const encrypted = path.join(dir, 'app.enc.toml')
    fs.writeFileSync(encrypted, enc.stdout)
    expect((await runCli(['decrypt', encrypted], { env: env() })).stdout.toString()).toBe('title = "x"\n[db]\npassword = "hunter2"\n')
    const vendor = fs.readdirSync(cacheDir()).filter((f) => f.startsWith('code-vendor-')).map((f) => f.split('-all-')[0]).sort()
    expect(vendor).toEqual(['code-vendor-re2js', 'code-vendor-smol-toml', 'code-vendor-toml-eslint-parser'])
    // A second run reads them (nothing rewritten).
    const before = fs.readdirSync(cacheDir()).map((f) => fs.statSync(path.join(cacheDir(), f)).mtimeMs)
    await runCli(['decrypt', encrypted], { env: env() })
    expect(fs.readdirSync(cacheDir()).map((f) => fs.statSync(path.join(cacheDir(), f)).mtimeMs)).toEqual(before)
  })

  it('ignores a corrupt cache and replaces it', async () => {
    await runCli(['decrypt', encryptedYaml], { env: env() })
    const file = path.join(cacheDir(), caches('main').find((f) => f.startsWith('code-main-decrypt-yaml-'))!)
    fs.writeFileSync(file, 'not a V8 code cache')
    const r = await runCli(['decrypt', encryptedYaml], { env: env() })
    expect(r.stderr).toBe('')
    expect(r.stdout.toString()).toBe(PLAIN)
    expect(fs.readFileSync(file).length).toBeGreaterThan(1000)
  })

  it('is neither read nor written with TSOPS_NO_CODE_CACHE=1, or when the cache directory cannot be made', async () => {
    fs.rmSync(path.join(dir, 'cache'), { recursive: true, force: true })
    const off = await runCli(['decrypt', encryptedYaml], { env: env({ TSOPS_NO_CODE_CACHE: '1' }) })
    expect(off.stdout.toString()).toBe(PLAIN)
    expect(fs.existsSync(path.join(dir, 'cache'))).toBe(false)

    const blocker = path.join(dir, 'not-a-dir')
    fs.writeFileSync(blocker, '')
    const unwritable = await runCli(['decrypt', encryptedYaml], { env: env({ XDG_CACHE_HOME: blocker }) })
    expect(unwritable.stderr).toBe('')
    expect(unwritable.stdout.toString()).toBe(PLAIN)
  })
})

describe('hand-over from the start-up bundle to the complete CLI', () => {
  it('runs a command that only the complete CLI has when flags come first', async () => {
    const direct = await runCli(['filestatus', encryptedYaml], { env: env() })
    fs.rmSync(path.join(dir, 'cache'), { recursive: true, force: true })
    const afterFlag = await runCli(['--verbose', 'filestatus', encryptedYaml], { env: env() })
    // The start-up bundle parsed the arguments and handed over: only the complete CLI's run is
    // worth a cache (the start-up bundle's is written by a run it serves).
    expect(caches('main')).toEqual([])
    expect(caches('full')).toHaveLength(1)
    expect(afterFlag.code).toBe(0)
    expect(afterFlag.stderr).toBe('')
    expect(afterFlag.stdout.toString()).toBe(direct.stdout.toString())
  })

  it('decrypts a file whose name looks like a command word (sops legacy -d)', async () => {
    const secrets = path.join(dir, 'secrets')
    fs.copyFileSync(encryptedYaml, secrets)
    const r = await runCli(['-d', '--input-type', 'yaml', '--output-type', 'yaml', 'secrets'], { env: env(), cwd: dir })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe(PLAIN)
  })

  it('reports a failure after the hand-over once, with its exit code', async () => {
    const r = await runCli(['--verbose', 'filestatus', path.join(dir, 'missing.yaml')], { env: env() })
    const direct = await runCli(['filestatus', path.join(dir, 'missing.yaml')], { env: env() })
    expect(r.code).toBe(direct.code)
    expect(r.code).not.toBe(0)
    expect(r.stderr.match(/tsops: error:/g)).toHaveLength(1)
  })

  it('runs sops-style rotate (-r), which only the complete CLI has', async () => {
    const file = path.join(dir, 'rotate.yaml')
    fs.copyFileSync(encryptedYaml, file)
    const before = fs.readFileSync(file, 'utf8')
    const r = await runCli(['-r', '-i', file], { env: env() })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(fs.readFileSync(file, 'utf8')).not.toBe(before)
    expect((await runCli(['decrypt', file], { env: env() })).stdout.toString()).toBe(PLAIN)
  })
})
