// bin/tsops-textconv, the Perl client git runs as the diff driver, with the agent it starts
// (src/git/textconv-agent.ts). Every answer must be byte for byte what `tsops git textconv`
// prints; the agent only ever saves the start of node.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { answers } from '../../src/git/textconv-agent.js'
import { encrypt } from '../../src/index.js'
import { testAgeIdentity } from '../helpers/age.js'
import { CLI, REPO_ROOT } from '../helpers/paths.js'
import { tempWorkspace } from '../helpers/workspace.js'
import { TestRepo } from './repo.js'

const ws = tempWorkspace('tsops-textconv-client-')
const plaintext = 'db:\n    password: hunter2\nport: 5432\n'
let identity = ''
let recipient = ''
let client = ''
let launcher = ''

/**
 * The package's layout around the CLI under test: bin/tsops-textconv finds the launcher at
 * ../dist/cli/tsops.cjs. Each bundle file is a symlink, so a test can take the launcher away
 * (then only the agent can answer).
 */
function packageLayout(): void {
  const pkg = path.join(ws.dir, 'pkg')
  fs.mkdirSync(path.join(pkg, 'bin'), { recursive: true })
  fs.mkdirSync(path.join(pkg, 'dist/cli'), { recursive: true })
  client = path.join(pkg, 'bin/tsops-textconv')
  fs.copyFileSync(path.join(REPO_ROOT, 'bin/tsops-textconv'), client)
  fs.chmodSync(client, 0o755)
  const bundle = path.dirname(CLI)
  for (const name of fs.readdirSync(bundle)) fs.symlinkSync(path.join(bundle, name), path.join(pkg, 'dist/cli', name))
  launcher = path.join(pkg, 'dist/cli/tsops.cjs')
}

/** A private runtime dir per test, so each test has its own agent. */
function runtimeDir(): string {
  const dir = ws.subdir('run')
  fs.chmodSync(dir, 0o700)
  return dir
}

interface Run {
  code: number
  stdout: Buffer
  stderr: string
}

function run(command: string, args: string[], env: Record<string, string | undefined>, cwd = ws.dir): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }))
  })
}

const baseEnv = (runtime: string, extra: Record<string, string | undefined> = {}) => ({
  PATH: process.env.PATH,
  HOME: ws.dir,
  XDG_RUNTIME_DIR: runtime,
  SOPS_AGE_KEY: identity,
  ...extra,
})

/** The socket of the agent a client in `runtime` talks to, once one listens on it. */
async function agentSocket(runtime: string): Promise<string> {
  for (let i = 0; i < 1000; i++) {
    const dir = path.join(runtime, 'tsops')
    const socket = fs.existsSync(dir) ? fs.readdirSync(dir).find((n) => n.endsWith('.sock')) : undefined
    if (socket && (await answers(path.join(dir, socket)))) return path.join(dir, socket)
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error('no agent started')
}

let file = ''
let foreign = ''
beforeAll(async () => {
  ;({ identity, recipient } = await testAgeIdentity())
  packageLayout()
  file = ws.write('app.yaml', await encrypt(plaintext, { format: 'yaml', age: [recipient] }))
  const other = 'age1cy0su9fwf3gf9mw868g5yut09p6nytfmmnktexz2ya5uqg9vl9sss4euqm'
  foreign = ws.write('foreign.yaml', await encrypt(plaintext, { format: 'yaml', age: [other] }))
})

describe('tsops-textconv (the Perl client) and its agent', () => {
  it('prints the plaintext, starts an agent, and the agent answers the next calls', async () => {
    const runtime = runtimeDir()
    const env = baseEnv(runtime)
    const first = await run(client, [file], env)
    expect(first).toEqual({ code: 0, stdout: Buffer.from(plaintext), stderr: '' })
    const socket = await agentSocket(runtime)
    expect(fs.lstatSync(path.dirname(socket)).mode & 0o777).toBe(0o700)

    // Without the launcher only the agent can answer: the answer is still the plaintext.
    fs.renameSync(launcher, `${launcher}.away`)
    try {
      for (const name of [file, 'app.yaml']) expect(await run(client, [name], env)).toEqual({ code: 0, stdout: Buffer.from(plaintext), stderr: '' })
      // What the agent refuses goes to the (now missing) launcher: the client says so, exit 1.
      const refused = await run(client, [foreign], env)
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain('tsops-textconv: cannot run')
    } finally {
      fs.renameSync(`${launcher}.away`, launcher)
    }
  })

  it.each([
    ['a file for another key', () => foreign],
    ['a plaintext file', () => ws.write('plain.yaml', 'a: 1\n')],
    ['a missing file', () => ws.path('missing.yaml')],
  ])('gives exactly the plain driver\'s output, stderr and exit code for %s', async (_what, target) => {
    const runtime = runtimeDir()
    const env = baseEnv(runtime)
    await run(client, [file], env)
    await agentSocket(runtime)
    const viaClient = await run(client, [target()], env)
    const plain = await run(process.execPath, [CLI, 'git', 'textconv', target()], env)
    expect(viaClient).toEqual(plain)
  })

  it('never serves a client whose environment differs from the agent\'s (it may hold other keys)', async () => {
    const runtime = runtimeDir()
    await run(client, [file], baseEnv(runtime))
    await agentSocket(runtime)
    // The agent holds the key in its environment; this client has none: it must not decrypt.
    const keyless = await run(client, [file], baseEnv(runtime, { SOPS_AGE_KEY: undefined }))
    expect(keyless.code).toBe(0)
    expect(keyless.stdout.toString()).toContain('ENC[AES256_GCM,')
    expect(keyless.stderr).toContain('shown encrypted')
  })

  it('stops decrypting the moment the key file is gone, though the agent is still up', async () => {
    const runtime = runtimeDir()
    const keyFile = ws.write(`keys-${path.basename(runtime)}.txt`, `${identity}\n`)
    const env = baseEnv(runtime, { SOPS_AGE_KEY: undefined, SOPS_AGE_KEY_FILE: keyFile })
    expect((await run(client, [file], env)).stdout.toString()).toBe(plaintext)
    const socket = await agentSocket(runtime)
    expect((await run(client, [file], env)).stdout.toString()).toBe(plaintext)
    fs.rmSync(keyFile)
    const after = await run(client, [file], env)
    expect(after.stdout.toString()).toContain('ENC[AES256_GCM,')
    expect(after.stderr).toContain('shown encrypted')
    expect(await answers(socket)).toBe(true) // the same agent, which read the key file again
  })

  it('asks for an agent only in a private directory, and never when turned off', async () => {
    // A stand-in launcher that prints which socket, if any, the client asked it to start an agent on.
    const fake = path.join(ws.subdir('fake'), 'pkg')
    fs.mkdirSync(path.join(fake, 'bin'), { recursive: true })
    fs.mkdirSync(path.join(fake, 'dist/cli'), { recursive: true })
    fs.copyFileSync(client, path.join(fake, 'bin/tsops-textconv'))
    fs.writeFileSync(path.join(fake, 'dist/cli/full.cjs'), '')
    fs.writeFileSync(path.join(fake, 'dist/cli/tsops.cjs'), '#!/bin/sh\nprintf %s "${TSOPS_TEXTCONV_AGENT-none}"\n', { mode: 0o755 })
    const asked = async (env: Record<string, string | undefined>) => (await run(path.join(fake, 'bin/tsops-textconv'), [file], env)).stdout.toString()

    const fine = runtimeDir()
    expect(await asked(baseEnv(fine))).toMatch(new RegExp(`^${fine}/tsops/textconv-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+\\.sock$`))
    expect(fs.statSync(path.join(fine, 'tsops')).mode & 0o777).toBe(0o700)

    const open = runtimeDir()
    fs.mkdirSync(path.join(open, 'tsops'))
    fs.chmodSync(path.join(open, 'tsops'), 0o755)
    expect(await asked(baseEnv(open))).toBe('none')
    const linked = runtimeDir()
    fs.symlinkSync(runtimeDir(), path.join(linked, 'tsops'))
    expect(await asked(baseEnv(linked))).toBe('none')
    expect(await asked(baseEnv(runtimeDir(), { TSOPS_NO_TEXTCONV_AGENT: '1' }))).toBe('none')
  })

  it('with the real launcher and no agent possible, still prints the plaintext', async () => {
    const open = runtimeDir()
    fs.mkdirSync(path.join(open, 'tsops'))
    fs.chmodSync(path.join(open, 'tsops'), 0o755)
    expect(await run(client, [file], baseEnv(open))).toEqual({ code: 0, stdout: Buffer.from(plaintext), stderr: '' })
  })

  it.each([
    ['yaml', 'a.yaml', 'list:\n    - 1\n    - two # comment\nnested:\n    k: v\n'],
    ['json', 'a.json', '{\n\t"a": [1, "two"],\n\t"n": null\n}'],
    ['dotenv', 'a.env', 'A=1\n# comment\nB=two words\n'],
    ['ini', 'a.ini', '[section]\nkey = value\n'],
    ['binary', 'a.bin', 'raw \u0000 bytes\n'],
  ])('answers %s exactly as the plain driver does', async (format, name, content) => {
    const runtime = runtimeDir()
    const env = baseEnv(runtime)
    const target = ws.write(name, await encrypt(content, { format: format as 'yaml', age: [recipient] }))
    await run(client, [target], env)
    await agentSocket(runtime)
    fs.renameSync(launcher, `${launcher}.away`) // only the agent can answer now
    let viaAgent: Run
    try {
      viaAgent = await run(client, [target], env)
    } finally {
      fs.renameSync(`${launcher}.away`, launcher)
    }
    expect(viaAgent.code).toBe(0)
    expect(viaAgent).toEqual(await run(process.execPath, [CLI, 'git', 'textconv', target], env))
  })

  it('finds its package through the relative symlink npm puts on PATH (and a chain of them)', async () => {
    const npmBin = ws.subdir('npm-bin')
    fs.symlinkSync(path.relative(npmBin, client), path.join(npmBin, 'tsops-textconv'))
    fs.symlinkSync('tsops-textconv', path.join(npmBin, 'chained'))
    const env = baseEnv(runtimeDir(), { PATH: `${npmBin}${path.delimiter}${process.env.PATH}`, TSOPS_NO_TEXTCONV_AGENT: '1' })
    for (const name of ['tsops-textconv', 'chained']) expect(await run(name, [file], env)).toEqual({ code: 0, stdout: Buffer.from(plaintext), stderr: '' })
  })

  it('passes unusual arguments to tsops git textconv as they are', async () => {
    const env = baseEnv(runtimeDir())
    const viaClient = await run(client, ['--input-type', 'yaml', file], env)
    expect(viaClient).toEqual(await run(process.execPath, [CLI, 'git', 'textconv', '--input-type', 'yaml', file], env))
    expect(viaClient.stdout.toString()).toBe(plaintext)
  })

  it('is the diff driver of git log -p', async () => {
    const runtime = runtimeDir()
    const repo = await TestRepo.create(baseEnv(runtime))
    repo.write('.gitattributes', '*.yaml diff=tsops\n')
    await repo.gitOk(['config', 'diff.tsops.textconv', client])
    for (const password of ['one', 'two', 'three']) {
      repo.write('app.yaml', await encrypt(`password: ${password}\n`, { format: 'yaml', age: [recipient] }))
      await repo.gitOk(['add', '-A'])
      await repo.gitOk(['commit', '-q', '-m', password])
    }
    const log = await repo.gitOk(['log', '-p'])
    expect(log).toContain('-password: one\n+password: two\n')
    expect(log).toContain('-password: two\n+password: three\n')
    expect(log).not.toContain('ENC[')
  })
})
