/**
 * The published package as a user gets it: build a temporary copy of the repo, `npm pack` it,
 * install the tarball into a fresh project outside the repo, and there
 *  - `import { decryptFile } from 'tsops'` decrypts a tsops-encrypted YAML with an explicit age
 *    identity into typed values, and loadSecrets unwraps once per unchanged file;
 *  - importing 'tsops' loads no CLI module and no cloud SDK (a resolve hook records every
 *    module, require.cache every CommonJS one);
 *  - the types resolve through the package's exports (the repo's tsc on a consumer file);
 *  - `sops` and `tsops` are on node_modules/.bin and work;
 *  - examples/ci-verify-secrets.mjs runs against the installed package.
 * Nothing is written into the repo. npm install takes ~15–60 s (the registry must be reachable).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '../helpers/paths.js'
import { cleanEnv } from '../helpers/cli.js'
import { tempWorkspace } from '../helpers/workspace.js'
import { encrypt } from '../../src/index.js'
import { generateAgeIdentity } from '../../src/keys/age.js'

const { dir: tmp } = tempWorkspace('tsops-pack-')
let app: string
let packedFiles: string[]
let age: { identity: string; recipient: string }
let secrets: string

/** The environment for nested npm/node runs: none of the outer npm's or vitest's settings. */
function childEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env = cleanEnv(extra)
  for (const k of Object.keys(env)) if (k.startsWith('npm_') || k.startsWith('TSOPS_')) delete env[k]
  return env
}

function run(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}, input?: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: childEnv(extra), encoding: 'utf8', input, timeout: 240_000 })
}

function mustRun(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}): string {
  const r = run(cmd, args, cwd, extra)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}\n${r.stdout}`)
  return r.stdout
}

/** A copy with what the build and `files` need; node_modules linked, never installed. */
function buildCopy(): string {
  const copy = path.join(tmp, 'tsops')
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[] }
  const inputs = new Set(['package.json', 'tsconfig.json', 'tsconfig.lib.json', 'src', 'scripts', ...pkg.files.filter((f) => !f.startsWith('dist'))])
  for (const name of inputs) fs.cpSync(path.join(REPO_ROOT, name), path.join(copy, name), { recursive: true })
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(copy, 'node_modules'))
  // `npm run build` = tsc (the library: tsconfig.lib.json) + bundle. Type errors in files other engineers are still writing must
  // not hide packaging problems, so tsc's emit is what counts here; `tsc --noEmit` gates types.
  const tsc = run(path.join(copy, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.lib.json'], copy)
  if (!fs.existsSync(path.join(copy, 'dist/lib/index.js'))) throw new Error(`tsc produced no dist/lib:\n${tsc.stdout}${tsc.stderr}`)
  mustRun(process.execPath, ['scripts/bundle.mjs'], copy)
  // Like a repo after a test run: a private CLI bundle left in dist/ must not be published.
  fs.mkdirSync(path.join(copy, 'dist/.test-cli-leftover'))
  fs.writeFileSync(path.join(copy, 'dist/.test-cli-leftover/tsops.cjs'), '')
  return copy
}

const PLAIN = 'db:\n    password: s3cr3t\n    port: 5432\n    ratio: 0.5\ndebug: true\nhosts:\n    - a\n    - b\n'

beforeAll(async () => {
  age = await generateAgeIdentity()
  const copy = buildCopy()
  const packed = JSON.parse(mustRun('npm', ['pack', '--json', '--pack-destination', tmp], copy)) as { filename: string; files: { path: string }[] }[]
  packedFiles = packed[0]!.files.map((f) => f.path)
  app = path.join(tmp, 'app')
  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'tsops-consumer', private: true, type: 'module' }))
  mustRun('npm', ['install', path.join(tmp, packed[0]!.filename), '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], app)
  secrets = path.join(app, 'secrets.enc.yaml')
  fs.writeFileSync(secrets, await encrypt(PLAIN, { format: 'yaml', age: [age.recipient], inheritEnv: false }))
}, 300_000)

describe('the npm package', () => {
  it('ships the library with types, the CLI bundle and bin/sops, and no sources or tests', () => {
    for (const f of ['dist/lib/index.js', 'dist/lib/index.cjs', 'dist/lib/index.d.ts', 'dist/cli/tsops.cjs', 'bin/sops', 'bin/package.json', 'package.json', 'README.md']) {
      expect(packedFiles).toContain(f)
    }
    // The leftover test bundle buildCopy() put beside dist/lib and dist/cli stays out.
    expect(packedFiles.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('dist/.'))).toEqual([])
  })

  it("decryptFile from 'tsops' gives typed values with an explicit identity; loadSecrets unwraps once per unchanged file", () => {
    const counter = path.join(tmp, 'unwraps.log')
    const keyCmd = path.join(tmp, 'key-cmd.sh')
    fs.writeFileSync(keyCmd, '#!/bin/sh\necho unwrap >> "$UNWRAP_LOG"\nprintf \'%s\\n\' "$AGE_ID"\n', { mode: 0o755 })
    const rotated = path.join(tmp, 'rotated.enc.yaml')
    // main.mjs replaces its file with a new version: give it its own copy.
    const mine = path.join(app, 'app-secrets.enc.yaml')
    fs.copyFileSync(secrets, mine)
    fs.writeFileSync(path.join(app, 'main.mjs'), APP_SCRIPT)
    const r = run(process.execPath, ['main.mjs', mine, rotated], app, { AGE_ID: age.identity, UNWRAP_LOG: counter, KEY_CMD: keyCmd, XDG_CONFIG_HOME: path.join(tmp, 'xdg') })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const out = JSON.parse(r.stdout) as Record<string, unknown>
    expect(out.values).toEqual({ db: { password: 's3cr3t', port: 5432, ratio: 0.5 }, debug: true, hosts: ['a', 'b'] })
    expect(out.types).toEqual({ port: 'number', ratio: 'number', debug: 'boolean', hosts: 'array' })
    expect(out.unwrapsAfterTwoLoads).toBe(1)
    expect(out.afterChange).toBe('changed')
    expect(out.unwrapsAfterChange).toBe(2)
  })

  it("importing 'tsops' and decrypting with age loads no CLI module and no cloud SDK", () => {
    const record = path.join(tmp, 'resolved.log')
    fs.writeFileSync(path.join(app, 'record-hooks.mjs'), RECORD_HOOKS)
    fs.writeFileSync(path.join(app, 'record.mjs'), "import { register } from 'node:module'\nregister('./record-hooks.mjs', import.meta.url)\n")
    fs.writeFileSync(path.join(app, 'import-only.mjs'), IMPORT_SCRIPT)
    const r = run(process.execPath, ['--import', './record.mjs', 'import-only.mjs', secrets], app, { AGE_ID: age.identity, RECORD_FILE: record })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const { port, cjs } = JSON.parse(r.stdout) as { port: number; cjs: string[] }
    expect(port).toBe(5432)
    const loaded = [...fs.readFileSync(record, 'utf8').split('\n').filter(Boolean), ...cjs]
    // The hook saw the library itself and the lazily loaded age key source: it records what loads.
    expect(loaded.some((u) => u.endsWith('/node_modules/tsops/dist/lib/index.js'))).toBe(true)
    expect(loaded.some((u) => u.endsWith('/node_modules/tsops/dist/lib/keys/age.js'))).toBe(true)
    const forbidden = loaded.filter((u) => /\/tsops\/dist\/(lib\/)?cli\/|\/node_modules\/(@aws-sdk|@smithy|@google-cloud|@grpc|@azure)\//.test(u))
    expect(forbidden).toEqual([])
  })

  it("require('tsops') from a CommonJS script decrypts, with the same typed errors and no CLI or cloud SDK loaded", () => {
    fs.writeFileSync(path.join(app, 'main.cjs'), REQUIRE_SCRIPT)
    const r = run(process.execPath, ['main.cjs', secrets], app, { AGE_ID: age.identity })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const out = JSON.parse(r.stdout) as { values: unknown; error: unknown; loaded: string[] }
    expect(out.values).toEqual({ db: { password: 's3cr3t', port: 5432, ratio: 0.5 }, debug: true, hosts: ['a', 'b'] })
    expect(out.error).toEqual({ name: 'InvalidOptionError', code: 'INVALID_OPTION', tsops: true })
    expect(out.loaded.some((f) => f.endsWith('/node_modules/tsops/dist/lib/index.cjs'))).toBe(true)
    expect(out.loaded.filter((f) => /\/tsops\/dist\/cli\/|\/node_modules\/(@aws-sdk|@smithy|@google-cloud|@grpc|@azure)\//.test(f))).toEqual([])
  })

  it("the types resolve through the package's exports", () => {
    fs.writeFileSync(path.join(app, 'consumer.ts'), CONSUMER_TS)
    const tsc = path.join(REPO_ROOT, 'node_modules/.bin/tsc')
    const typeRoots = path.join(REPO_ROOT, 'node_modules/@types')
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--typeRoots', typeRoots]
    const good = run(tsc, [...args, 'consumer.ts'], app)
    expect(good.stdout + good.stderr).toBe('')
    expect(good.status).toBe(0)
    fs.writeFileSync(path.join(app, 'wrong.ts'), "import { decryptFile } from 'tsops'\nconst n: number = await decryptFile('x.yaml', { output: 'text' })\nvoid n\n")
    const wrong = run(tsc, [...args, 'wrong.ts'], app)
    expect(wrong.status).not.toBe(0)
    expect(wrong.stdout).toContain("Type 'string' is not assignable to type 'number'")
  })

  it('examples/ci-verify-secrets.mjs passes good files and fails plaintext or missing ones, printing no value', () => {
    const script = path.join(app, 'ci-verify-secrets.mjs')
    fs.copyFileSync(path.join(REPO_ROOT, 'examples/ci-verify-secrets.mjs'), script)
    const plain = path.join(app, 'forgot.enc.yaml')
    fs.writeFileSync(plain, PLAIN)
    const env = { SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(tmp, 'xdg') }
    const good = run(process.execPath, [script, secrets], app, env)
    expect(good.status).toBe(0)
    expect(good.stdout).toContain(`ok    ${secrets} (6 values)`)
    const bad = run(process.execPath, [script, secrets, plain, path.join(app, 'missing.enc.yaml')], app, env)
    expect(bad.status).toBe(1)
    expect(bad.stdout).toContain(`FAIL  ${plain}: METADATA_NOT_FOUND`)
    expect(bad.stdout).toContain('NO_FILE')
    expect(bad.stdout).toContain('1 ok, 2 failed')
    expect(bad.stdout + bad.stderr).not.toContain('s3cr3t')
  })

  it('installs `sops` and `tsops` commands that decrypt', () => {
    const binDir = path.join(app, 'node_modules/.bin')
    const env = { PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`, SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(tmp, 'xdg') }
    for (const cmd of ['sops', 'tsops']) {
      const r = run(cmd, ['--decrypt', '--input-type', 'yaml', '--output-type', 'yaml', secrets], app, env)
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
      expect(r.stdout).toBe(PLAIN)
    }
    const version = run('sops', ['--version'], app, env)
    expect(version.status).toBe(0)
    expect(version.stdout).toMatch(/sops 3\.13\.2/)
  })
})

const APP_SCRIPT = `import fs from 'node:fs'
import { decryptFile, encrypt, loadSecrets } from 'tsops'

const [file, rotated] = process.argv.slice(2)
const values = await decryptFile(file, { ageIdentities: [process.env.AGE_ID], inheritEnv: false })
const types = {
  port: typeof values.db.port,
  ratio: typeof values.db.ratio,
  debug: typeof values.debug,
  hosts: Array.isArray(values.hosts) ? 'array' : typeof values.hosts,
}
const options = { env: { SOPS_AGE_KEY_CMD: process.env.KEY_CMD } }
const unwraps = () => fs.readFileSync(process.env.UNWRAP_LOG, 'utf8').split('\\n').filter(Boolean).length
await loadSecrets(file, options)
await loadSecrets(file, options)
const unwrapsAfterTwoLoads = unwraps()
// A new version of the file (new data key): re-read and unwrapped again.
const plain = await decryptFile(file, { ageIdentities: [process.env.AGE_ID], output: 'text' })
const recipient = fs.readFileSync(file, 'utf8').match(/recipient: (age1[0-9a-z]+)/)[1]
fs.writeFileSync(rotated, await encrypt(plain.replace('s3cr3t', 'changed'), { format: 'yaml', age: [recipient] }))
fs.renameSync(rotated, file)
const afterChange = (await loadSecrets(file, options)).db.password
console.log(JSON.stringify({ values, types, unwrapsAfterTwoLoads, afterChange, unwrapsAfterChange: unwraps() }))
`

const RECORD_HOOKS = `import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(process.env.RECORD_FILE, result.url + '\\n')
  return result
}
`

const IMPORT_SCRIPT = `import { createRequire } from 'node:module'
const { decryptFile } = await import('tsops')
const values = await decryptFile(process.argv[2], { ageIdentities: [process.env.AGE_ID], inheritEnv: false })
console.log(JSON.stringify({ port: values.db.port, cjs: Object.keys(createRequire(import.meta.url).cache) }))
`

const REQUIRE_SCRIPT = `'use strict'
const { decryptFile, encrypt, TsopsError } = require('tsops')
async function main() {
  const values = await decryptFile(process.argv[2], { ageIdentities: [process.env.AGE_ID], inheritEnv: false })
  const error = await encrypt('a: 1\\n', { format: 'yaml', age: ['age1x'], shamirThreshold: 1.5 }).catch((e) => ({ name: e.name, code: e.code, tsops: e instanceof TsopsError }))
  console.log(JSON.stringify({ values, error, loaded: Object.keys(require.cache) }))
}
main().catch((e) => { console.error(e); process.exit(1) })
`

const CONSUMER_TS = `import { clearSecretsCache, DataKeyError, decrypt, decryptFile, encrypt, loadSecrets, MacMismatchError, TsopsError, type GroupResult, type KeyType, type LoadSecretsOptions, type PlainValue } from 'tsops'

const options: LoadSecretsOptions = { ageIdentities: ['AGE-SECRET-KEY-1…'], env: { SOPS_AGE_KEY_FILE: undefined }, gnupgHome: '/tmp/gnupg', inheritEnv: false }
const values: PlainValue = await decryptFile('secrets.enc.yaml', options)
const text: string = await decryptFile('secrets.enc.yaml', { output: 'text' })
const parsed: PlainValue = await decrypt(text, { format: 'json' })
const config = await loadSecrets<{ db: { port: number } }>('secrets.enc.yaml', options)
const port: number = config.db.port
const encrypted: string = await encrypt({ a: 1 }, { format: 'yaml', age: ['age1…'], encryptedRegex: '^a$' })
try {
  await loadSecrets('x.yaml')
} catch (err) {
  if (err instanceof TsopsError) {
    const code: string = err.code
    const exit: number = err.exitCode
    void [code, exit, err instanceof MacMismatchError]
  }
  if (err instanceof DataKeyError) {
    const groups: readonly GroupResult[] = err.groups
    const required: number = err.required
    void [groups.map((g) => g.attempts.map((a) => [a.type, a.id, a.reason])), required]
  }
}
clearSecretsCache()
// KeyType is every key source's id (each descriptor extends it), not \`never\`: the .d.ts carries them.
const viaKeys: string = await encrypt({ a: 1 }, { format: 'yaml', keys: [{ type: 'hc_vault', id: 'https://v:8200/v1/transit/keys/k' }, { type: 'age', id: 'age1…' }] })
const keyType: KeyType = 'gcp_kms'
// @ts-expect-error not a key type
const notAKeyType: KeyType = 'vault'
void [values, parsed, port, encrypted, viaKeys, keyType, notAKeyType]
`
