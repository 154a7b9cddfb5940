// The `tsops` launcher (scripts/launcher.cjs): two bundles, a code cache per bundle, and the
// hand-over from the start-up bundle to the complete CLI. Speed is measured in `npm run bench`;
// these tests check that the machinery never changes what a command does.
import { beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { CLI, REPO_ROOT } from '../helpers/paths.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir } = tempWorkspace('tsops-launcher-')
let age: { identity: string; recipient: string }
let encryptedYaml: string
const PLAIN = 'db:\n    user: app\n    password: hunter2\n'

const cacheDir = () => path.join(dir, 'cache', 'tsops')
const env = (extra: Record<string, string> = {}) =>
  cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg'), XDG_CACHE_HOME: path.join(dir, 'cache'), ...extra })
const caches = (bundle: string) => (fs.existsSync(cacheDir()) ? fs.readdirSync(cacheDir()).filter((f) => f.startsWith(`code-${bundle}-`)).sort() : [])

beforeAll(async () => {
  age = await testAgeIdentity()
  const plain = path.join(dir, 'plain.yaml')
  fs.writeFileSync(plain, PLAIN)
  const r = await runCli(['encrypt', '--age', age.recipient, plain], { env: env() })
  expect(r.code).toBe(0)
  encryptedYaml = path.join(dir, 'secrets.yaml')
  fs.writeFileSync(encryptedYaml, r.stdout)
})

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

/**
 * Bytecode that V8 accepts for `bundle` and that, when run, says so and exits: V8 checks only
 * the source's length (and its own flags), so a different source of the same length compiled
 * by the same node gives it. Compiled in a child node, as the CLI is (no test runner flags).
 */
function plantedBytecode(bundle: string): Buffer {
  const length = fs.statSync(bundle).size
  const start = '(function (exports, require, module, __filename, __dirname) {process.stdout.write("PLANTED CODE RAN\\n");process.exit(0)\n'
  const end = '\n})'
  const source = start + '/' + '*'.repeat(length - start.length - end.length - 2) + '/' + end
  expect(source.length).toBe(length)
  const compile = `const vm=require('vm');const fs=require('fs');const s=new vm.Script(fs.readFileSync(0,'latin1'),{filename:process.argv[1]});process.stdout.write(s.createCachedData())`
  const r = spawnSync(process.execPath, ['-e', compile, bundle], { input: source, env: cleanEnv() })
  expect(r.status).toBe(0)
  return r.stdout
}

/** Every code cache of the start-up bundle's decrypt, after a run that wrote them. */
async function freshDecryptCaches(): Promise<string[]> {
  fs.rmSync(path.join(dir, 'cache'), { recursive: true, force: true })
  expect((await runCli(['decrypt', encryptedYaml], { env: env() })).stdout.toString()).toBe(PLAIN)
  const names = caches('main').filter((f) => f.startsWith('code-main-decrypt-yaml-'))
  expect(names).toHaveLength(1)
  return names.map((f) => path.join(cacheDir(), f))
}

const NOBODY = 65534
const isRoot = process.getuid?.() === 0

describe('code cache that someone else could have written', () => {
  let planted: Buffer
  beforeAll(() => {
    planted = plantedBytecode(path.join(path.dirname(CLI), 'main.cjs'))
  })

  /** Replace the cache with the planted bytecode; `setUp` then gives it its owner and modes. */
  async function plant(setUp: (file: string) => void): Promise<{ stdout: string; code: number }> {
    const [file] = await freshDecryptCaches()
    fs.writeFileSync(file!, planted)
    setUp(file!)
    const r = await runCli(['decrypt', encryptedYaml], { env: env() })
    return { stdout: r.stdout.toString(), code: r.code }
  }

  it('the planted bytecode runs from a private cache of our own (so the cases below are real)', async () => {
    const r = await plant((file) => fs.chmodSync(file, 0o600))
    expect(r.stdout).toBe('PLANTED CODE RAN\n')
  })

  const elsewhere = () => path.join(dir, 'planted.bin')
  /** How the planted file got there; each must leave it unused. */
  const refused: [string, (file: string) => void][] = [
    ['a file another user owns', (file) => fs.chownSync(file, NOBODY, NOBODY)],
    ['a directory and file another user owns', (file) => {
      fs.chownSync(file, NOBODY, NOBODY)
      fs.chownSync(path.dirname(file), NOBODY, NOBODY)
    }],
    // They could have renamed a file of ours into place: a file of ours there is no better.
    ['a file of ours in a directory another user owns', (file) => fs.chownSync(path.dirname(file), NOBODY, NOBODY)],
    ['a world-writable directory of ours', (file) => fs.chmodSync(path.dirname(file), 0o777)],
    ['a group-writable directory of ours', (file) => fs.chmodSync(path.dirname(file), 0o770)],
    ['a file of ours others can write', (file) => fs.chmodSync(file, 0o622)],
    ['a symlink to a private file of ours', (file) => {
      fs.rmSync(elsewhere(), { force: true })
      fs.renameSync(file, elsewhere())
      fs.chmodSync(elsewhere(), 0o600)
      fs.symlinkSync(elsewhere(), file)
    }],
  ]
  // Only root can give a file to another user (uid 65534, nobody); the other cases need no root.
  it.each(refused.filter(([name]) => isRoot || !name.includes('another user')))('never runs from %s', async (_name, setUp) => {
    const r = await plant(setUp)
    expect(r.stdout).toBe(PLAIN)
    expect(r.code).toBe(0)
  })

  it('replaces a refused cache file with its own, private one', async () => {
    const dirMode = (f: string) => fs.statSync(path.dirname(f)).mode & 0o777
    let cache = ''
    await plant((file) => {
      cache = file
      fs.chmodSync(file, 0o666)
    })
    expect(dirMode(cache)).toBe(0o700)
    expect(fs.lstatSync(cache).mode & 0o777).toBe(0o600)
    expect(fs.readFileSync(cache).equals(planted)).toBe(false)
    expect((await runCli(['decrypt', encryptedYaml], { env: env() })).stdout.toString()).toBe(PLAIN)
  })
})

describe('code cache across an upgrade', () => {
  /** A second build of the CLI whose only difference is the version string (same length). */
  let upgraded: string
  beforeAll(() => {
    const repo = path.join(dir, 'upgraded-repo')
    fs.mkdirSync(repo)
    fs.cpSync(path.join(REPO_ROOT, 'scripts'), path.join(repo, 'scripts'), { recursive: true })
    for (const name of ['src', 'node_modules', 'tsconfig.json']) fs.symlinkSync(path.join(REPO_ROOT, name), path.join(repo, name))
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
    const version = pkg.version.replace(/\d$/, (d) => String((Number(d) + 1) % 10))
    fs.writeFileSync(path.join(repo, 'package.json'), JSON.stringify({ ...pkg, version }))
    upgraded = path.join(dir, 'upgraded-cli')
    const r = spawnSync(process.execPath, ['scripts/bundle.mjs', upgraded], { cwd: repo, encoding: 'utf8', env: cleanEnv() })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  }, 120_000)

  it('a new bundle of the same size and mtime never runs the old cached code', async () => {
    fs.rmSync(path.join(dir, 'cache'), { recursive: true, force: true })
    const installed = path.join(dir, 'installed-cli')
    fs.rmSync(installed, { recursive: true, force: true })
    fs.cpSync(path.dirname(CLI), installed, { recursive: true })
    const launcher = path.join(installed, 'tsops.cjs')
    // npm gives every installed file the same mtime (whole seconds, so it survives utimes exactly).
    const NPM_MTIME = new Date('1985-10-26T08:15:00Z')
    const files = ['tsops.cjs', 'main.cjs', 'full.cjs']
    for (const f of files) fs.utimesSync(path.join(installed, f), NPM_MTIME, NPM_MTIME)
    const before = await runCli(['--version'], { env: env(), command: [process.execPath, launcher] })
    expect(before.code).toBe(0)
    expect(caches('main').length + caches('full').length).toBeGreaterThan(0)

    // The upgrade, as npm installs it: every file replaced, sizes equal, mtimes normalised.
    for (const f of files) {
      const size = fs.statSync(path.join(installed, f)).size
      if (f !== 'tsops.cjs') expect(fs.statSync(path.join(upgraded, f)).size).toBe(size)
      fs.copyFileSync(path.join(upgraded, f), path.join(installed, f))
      fs.utimesSync(path.join(installed, f), NPM_MTIME, NPM_MTIME)
    }
    const expected = (await runCli(['--version'], { env: env({ TSOPS_NO_CODE_CACHE: '1' }), command: [process.execPath, launcher] })).stdout.toString()
    expect(expected).not.toBe(before.stdout.toString())
    const after = await runCli(['--version'], { env: env(), command: [process.execPath, launcher] })
    expect(after.stdout.toString()).toBe(expected)
  })
})
