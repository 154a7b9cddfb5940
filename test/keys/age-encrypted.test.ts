// Passphrase-protected age identity files (an age file, armored or binary, holding identities:
// `age-keygen | age -p`), made here by the real age v1.3.1 with its batchpass plugin (the same
// scrypt stanza `age -p` writes, without a terminal). tsops asks for the passphrase on the
// terminal, without echo, only when a file needs it; with no terminal it fails at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { Decrypter } from 'age-encryption'
import { encryptedIdentity } from '../../src/keys/age-encrypted.js'
import { readArmor } from '../../src/keys/age-format.js'
import { ageBin, pluginPath, runTool } from '../helpers/age-tools.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { CLI, REPO_ROOT } from '../helpers/paths.js'

const PASSPHRASE = 'correct horse battery staple'
const PTY = path.join(REPO_ROOT, 'test/helpers/pty-answer.py')

let dir: string
let keyFile: string
let recipient: string
/** The key file encrypted with PASSPHRASE: armored and binary. */
let armored: Buffer
let binary: Buffer

function encryptWithPassphrase(input: Buffer, armor: boolean): Buffer {
  return runTool(ageBin(), ['-e', ...(armor ? ['-a'] : []), '-j', 'batchpass'], { input, env: { PATH: pluginPath(), AGE_PASSPHRASE: PASSPHRASE, AGE_PASSPHRASE_WORK_FACTOR: '10' } })
}

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-age-enc-')))
  keyFile = path.join(dir, 'key.txt')
  runTool(ageBin('age-keygen'), ['-o', keyFile])
  recipient = runTool(ageBin('age-keygen'), ['-y', keyFile]).toString().trim()
  armored = encryptWithPassphrase(fs.readFileSync(keyFile), true)
  binary = encryptWithPassphrase(fs.readFileSync(keyFile), false)
  fs.writeFileSync(path.join(dir, 'key.age'), armored)
  fs.writeFileSync(path.join(dir, 'key.bin.age'), binary)
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('the encrypted identity', () => {
  /** What the real age encrypted to the key inside, unwrapped through the encrypted identity. */
  async function unwrapWith(answer: () => Promise<string>, warn?: (m: string) => void): Promise<{ dataKey: Buffer; got: () => Promise<Uint8Array> }> {
    const dataKey = randomBytes(32)
    const file = runTool(ageBin(), ['-r', recipient], { input: dataKey })
    const identity = encryptedIdentity(readArmor(armored).data, 'SOPS_AGE_KEY_FILE', { askPassphrase: answer, ...(warn ? { warn } : {}) })
    const d = new Decrypter()
    d.addIdentity(identity)
    return { dataKey, got: () => d.decrypt(file) }
  }

  it('asks once, with sops\'s prompt, and unwraps with the identities inside', async () => {
    const prompts: string[] = []
    const { dataKey, got } = await unwrapWith(async () => {
      prompts.push('asked')
      return PASSPHRASE
    })
    expect(Buffer.from(await got())).toEqual(dataKey)
    expect(Buffer.from(await got())).toEqual(dataKey)
    expect(prompts).toEqual(['asked'])
  })

  it('a wrong passphrase is "incorrect passphrase"; no terminal is age\'s "could not read passphrase"', async () => {
    await expect((await unwrapWith(async () => 'wrong')).got()).rejects.toThrow('incorrect passphrase')
    await expect((await unwrapWith(() => Promise.reject(new Error('no tty')))).got()).rejects.toThrow('failed to decrypt identity file: could not read passphrase: no tty')
  })

  it('a file for another key: the identity warns it did not match, as sops does', async () => {
    const warnings: string[] = []
    const identity = encryptedIdentity(readArmor(armored).data, 'L', { askPassphrase: async () => PASSPHRASE, warn: (m) => warnings.push(m) })
    const other = path.join(dir, 'other.txt')
    runTool(ageBin('age-keygen'), ['-o', other])
    const file = runTool(ageBin(), ['-r', runTool(ageBin('age-keygen'), ['-y', other]).toString().trim()], { input: randomBytes(32) })
    const d = new Decrypter()
    d.addIdentity(identity)
    await expect(d.decrypt(file)).rejects.toThrow(/no identity matched/)
    expect(warnings).toEqual(["encrypted identity 'L' didn't match file's recipients"])
  })
})

describe('the CLI asks on the terminal', () => {
  let encrypted: string

  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, 'a.yaml'), 'token: s3cr3t-value\n')
    const r = await runCli(['encrypt', '--age', recipient, path.join(dir, 'a.yaml')], { env: cleanEnv({ HOME: dir }) })
    expect(r.stderr).toBe('')
    encrypted = path.join(dir, 'a.enc.yaml')
    fs.writeFileSync(encrypted, r.stdout)
  })

  it.each([
    ['armored, in SOPS_AGE_KEY_FILE', 'SOPS_AGE_KEY_FILE', () => path.join(dir, 'key.age')],
    ['binary, in SOPS_AGE_KEY_FILE', 'SOPS_AGE_KEY_FILE', () => path.join(dir, 'key.bin.age')],
    ['binary, printed by SOPS_AGE_KEY_CMD', 'SOPS_AGE_KEY_CMD', () => `cat ${path.join(dir, 'key.bin.age')}`],
  ])('%s: prompt on /dev/tty, the passphrase never echoed, then the file decrypts', (_kind, variable, value) => {
    const r = spawnSync('python3', [PTY, 'Enter passphrase', PASSPHRASE, '--', process.execPath, CLI, 'decrypt', encrypted], {
      env: cleanEnv({ HOME: dir, [variable]: value() }) as NodeJS.ProcessEnv,
      encoding: 'utf8',
      timeout: 60_000,
    })
    const screen = Buffer.from(r.stdout.trim(), 'base64').toString('utf8')
    expect(r.status, screen + r.stderr).toBe(0)
    expect(screen).toContain(`Enter passphrase for identity '${variable}': `)
    expect(screen).toContain('token: s3cr3t-value')
    expect(screen).not.toContain(PASSPHRASE)
  })

  it('with no terminal at all it fails at once with age\'s reason, exit 128, and never waits', async () => {
    const r = await runCli(['decrypt', encrypted], { command: ['setsid', '-w', process.execPath, CLI], env: cleanEnv({ HOME: dir, SOPS_AGE_KEY_FILE: path.join(dir, 'key.age') }) })
    expect(r.code).toBe(128)
    expect(r.stderr.replace(/\s*\|\s*/g, ' ')).toContain('failed to decrypt identity file: could not read passphrase: standard input is not a terminal, and /dev/tty is not available: open /dev/tty: no such device or address')
  })
})

describe('two prompts in one run (two key groups unwrapped at once)', () => {
  it('are asked one after the other, each answered, neither echoed', async () => {
    const sshKey = path.join(dir, 'id_locked')
    runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'ssh secret', '-C', 'locked', '-f', sshKey])
    const sshPublic = fs.readFileSync(`${sshKey}.pub`, 'utf8').trim()
    const project = path.join(dir, 'groups')
    fs.mkdirSync(project)
    fs.writeFileSync(
      path.join(project, '.sops.yaml'),
      `creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: ["${recipient}"]\n      - age: ["${sshPublic}"]\n`,
    )
    fs.writeFileSync(path.join(project, 's.yaml'), 'pin: "1234"\n')
    const enc = await runCli(['encrypt', 's.yaml'], { cwd: project, env: cleanEnv({ HOME: dir }) })
    expect(enc.stderr).toBe('')
    fs.writeFileSync(path.join(project, 's.enc.yaml'), enc.stdout)
    const r = spawnSync(
      'python3',
      [PTY, "identity 'SOPS_AGE_KEY_FILE':", PASSPHRASE, `"${sshKey}":`, 'ssh secret', '--', process.execPath, CLI, 'decrypt', 's.enc.yaml'],
      { cwd: project, env: cleanEnv({ HOME: dir, SOPS_AGE_KEY_FILE: path.join(dir, 'key.age'), SOPS_AGE_SSH_PRIVATE_KEY_FILE: sshKey }) as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 60_000 },
    )
    const screen = Buffer.from(r.stdout.trim(), 'base64').toString('utf8')
    expect(r.status, screen).toBe(0)
    expect(screen).toContain('pin: "1234"')
    // Each prompt on its own, the second after the first was answered (the line cleared between).
    expect(screen).toMatch(/Enter passphrase for (identity 'SOPS_AGE_KEY_FILE'|"[^"]+"): \r?\r\n\x1b\[F\x1b\[KEnter passphrase for (identity 'SOPS_AGE_KEY_FILE'|"[^"]+"): \r?\r\n\x1b\[F\x1b\[K/)
    expect(screen).not.toContain(PASSPHRASE)
    expect(screen).not.toContain('ssh secret')
  })
})
