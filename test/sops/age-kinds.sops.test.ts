// The age key kinds of sops 3.13 through real sops 3.13.2 and tsops-as-sops: SSH recipients and
// identities (ssh-ed25519, ssh-rsa), post-quantum age1pq1 keys, plugins (age1tag1 through
// age-plugin-tag, AGE-PLUGIN-PQ-1 and AGE-PLUGIN-BATCHPASS-1 identities) and passphrase-protected
// identity files (asked on a real pseudo-terminal). Each encrypts the same way on both sides and
// each side decrypts the other's file; the failures (wrong SSH key, no terminal for the
// passphrase, a plugin missing) read the same, byte for byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createECDH } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { baseEnv, cleanupTwins, crossDecrypt, expectSame, maskPaths, realAge, realSops, run, twin, twinRoot, type Side, type Twin } from './harness.js'
import { bech32Encode, pluginPath, runTool, sshKeygen } from '../helpers/age-tools.js'
import { REPO_ROOT } from '../helpers/paths.js'

const PLAIN = 'a: 1\nb:\n    - x\n    - w\nc: secret value\n'
const PASSPHRASE = 'correct horse battery staple'
const PTY = path.join(REPO_ROOT, 'test/helpers/pty-answer.py')

let keys: string
let PATH: string
const ssh: Record<'ed25519' | 'rsa' | 'other', { file: string; publicKey: string }> = {} as never
let pq: { file: string; recipient: string; pluginIdentityFile: string }
let x25519: { file: string; recipient: string }

beforeAll(() => {
  keys = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-diff-age-kinds-')))
  PATH = pluginPath()
  ssh.ed25519 = sshKeygen(keys, 'id_ed25519', ['-t', 'ed25519'])
  ssh.rsa = sshKeygen(keys, 'id_rsa', ['-t', 'rsa', '-b', '3072'])
  ssh.other = sshKeygen(keys, 'id_other', ['-t', 'ed25519'])
  const pqFile = path.join(keys, 'pq.txt')
  runTool(realAge('age-keygen'), ['-pq', '-o', pqFile])
  const pluginIdentityFile = path.join(keys, 'pq-plugin.txt')
  fs.writeFileSync(pluginIdentityFile, runTool('age-plugin-pq', ['-identity', pqFile], { env: { PATH } }))
  pq = { file: pqFile, recipient: runTool(realAge('age-keygen'), ['-y', pqFile]).toString().trim(), pluginIdentityFile }
  const xFile = path.join(keys, 'x.txt')
  runTool(realAge('age-keygen'), ['-o', xFile])
  x25519 = { file: xFile, recipient: runTool(realAge('age-keygen'), ['-y', xFile]).toString().trim() }
  // A passphrase-protected copy of the X25519 key file (the scrypt stanza `age -p` writes).
  const env = { PATH, AGE_PASSPHRASE: PASSPHRASE, AGE_PASSPHRASE_WORK_FACTOR: '10' }
  fs.writeFileSync(path.join(keys, 'x.age'), runTool(realAge(), ['-e', '-a', '-j', 'batchpass'], { input: fs.readFileSync(xFile), env }))
})
afterAll(() => {
  cleanupTwins()
  fs.rmSync(keys, { recursive: true, force: true })
})

/**
 * Each age armor's lines replaced by their lengths: the wrapped key is random, and for some
 * kinds its last line is too short for the harness's base64 mask; its shape must still agree.
 */
function maskAgeArmor(t: Twin): Twin {
  const mask = (b: Buffer) =>
    Buffer.from(
      b.toString('latin1').replace(/(-----BEGIN AGE ENCRYPTED FILE-----\n)([^]*?)(\s*-----END AGE ENCRYPTED FILE-----)/g, (_, begin: string, body: string, end: string) => begin + body.split('\n').map((l) => l.replace(/[A-Za-z0-9+/=]+$/, (m) => `<${m.length}>`)).join('\n') + end),
      'latin1',
    )
  const side = (s: Side): Side => ({ ...s, stdout: mask(s.stdout), files: Object.fromEntries(Object.entries(s.files).map(([k, v]) => [k, mask(v)])) })
  return { ...t, real: side(t.real), ours: side(t.ours) }
}

/** An age1tag1 recipient: a P-256 public key (compressed), as hardware plugins print them. */
function tagRecipient(): string {
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  return bech32Encode('age1tag', ecdh.getPublicKey(null, 'compressed'))
}

/** `a.yaml` encrypted by the real sops to `recipient`. */
async function sopsEncrypted(recipient: string): Promise<Buffer> {
  const dir = twinRoot()
  fs.writeFileSync(path.join(dir, 'a.yaml'), PLAIN)
  const r = await run(realSops(), ['encrypt', '--age', recipient, 'a.yaml'], { cwd: dir, env: baseEnv(dir, { PATH }) })
  if (r.code !== 0) throw new Error(r.stderr)
  return r.stdout
}

describe('encrypt with each kind: same file layout, and each side decrypts the other\'s file', () => {
  const CASES: [string, () => string, () => Record<string, string>][] = [
    ['ssh-ed25519', () => ssh.ed25519.publicKey, () => ({ SOPS_AGE_SSH_PRIVATE_KEY_FILE: ssh.ed25519.file })],
    ['ssh-rsa', () => ssh.rsa.publicKey, () => ({ SOPS_AGE_SSH_PRIVATE_KEY_FILE: ssh.rsa.file })],
    ['age1pq1 (age-keygen -pq)', () => pq.recipient, () => ({ SOPS_AGE_KEY_FILE: pq.file })],
  ]
  it.each(CASES)('%s', async (label, recipient, decryptEnv) => {
    const t = await twin(['encrypt', '--age', recipient(), '--output', 'e.yaml', 'a.yaml'], { files: { 'a.yaml': PLAIN }, env: decryptEnv() })
    expectSame(maskAgeArmor(t), { encryptedFiles: true }, `age kinds: encrypt to ${label}`)
    await crossDecrypt(t, 'e.yaml', [], Buffer.from(PLAIN))
  })

  it('age1tag1 through age-plugin-tag on PATH (the identity lives in hardware: the layout is compared)', async () => {
    const recipient = tagRecipient()
    const t = await twin(['encrypt', '--age', recipient, 'a.yaml'], { files: { 'a.yaml': PLAIN }, env: { PATH } })
    expect(t.real.code).toBe(0)
    expectSame(maskAgeArmor(t), { encryptedStdout: true }, 'age kinds: encrypt to age1tag1 via age-plugin-tag')
    // The same stanza type, from the same plugin, in both files.
    for (const side of [t.real, t.ours]) {
      const enc = /-----BEGIN AGE ENCRYPTED FILE-----([^-]*)-----END/.exec(side.stdout.toString())![1]!
      expect(Buffer.from(enc.replace(/\s+/g, ''), 'base64').toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> p256tag /)
    }
  })

  it('a plugin recipient whose plugin is not on PATH', async () => {
    const recipient = tagRecipient()
    const t = await twin(['encrypt', '--age', recipient, 'a.yaml'], { files: { 'a.yaml': PLAIN }, env: { PATH: '/usr/bin:/bin' } })
    expect(t.real.code).not.toBe(0)
    expectSame(t, {}, 'age kinds: plugin not found')
  })
})

describe('decrypt a file real sops wrote, with each kind of identity', () => {
  it('ssh-ed25519 from SOPS_AGE_SSH_PRIVATE_KEY_CMD and from ~/.ssh/id_ed25519', async () => {
    const enc = await sopsEncrypted(ssh.ed25519.publicKey)
    const cmd = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': enc }, env: { SOPS_AGE_SSH_PRIVATE_KEY_CMD: `cat ${ssh.ed25519.file}` } })
    expect(cmd.real.stdout.toString()).toBe(PLAIN)
    expectSame(cmd, {}, 'age kinds: SOPS_AGE_SSH_PRIVATE_KEY_CMD')
    const root = twinRoot()
    fs.mkdirSync(path.join(root, 'home', '.ssh'))
    fs.copyFileSync(ssh.ed25519.file, path.join(root, 'home', '.ssh', 'id_ed25519'))
    const home = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': enc } }, root)
    expect(home.real.stdout.toString()).toBe(PLAIN)
    expectSame(home, {}, 'age kinds: ~/.ssh/id_ed25519')
  })

  it('an AGE-PLUGIN-PQ-1 identity (age-plugin-pq) for an age1pq1 file', async () => {
    const enc = await sopsEncrypted(pq.recipient)
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': enc }, env: { PATH, SOPS_AGE_KEY_FILE: pq.pluginIdentityFile } })
    expect(t.real.stdout.toString()).toBe(PLAIN)
    expectSame(t, {}, 'age kinds: AGE-PLUGIN-PQ-1 identity')
  })

  it('an AGE-PLUGIN-BATCHPASS-1 identity for a data key `age -j batchpass` wrapped; a wrong passphrase', async () => {
    // The file's data key, re-wrapped by the real age through the batchpass plugin.
    const sopsFile = (await sopsEncrypted(x25519.recipient)).toString()
    const m = /enc: \|\n(( +)-----BEGIN AGE ENCRYPTED FILE-----\n[^]*?-----END AGE ENCRYPTED FILE-----\n)/.exec(sopsFile)!
    const enc = m[1]!.split('\n').map((l) => l.slice(m[2]!.length)).join('\n')
    const dataKey = runTool(realAge(), ['-d', '-i', x25519.file], { input: enc })
    const env = { PATH, AGE_PASSPHRASE: PASSPHRASE, AGE_PASSPHRASE_WORK_FACTOR: '10' }
    const batch = runTool(realAge(), ['-e', '-a', '-j', 'batchpass'], { input: dataKey, env }).toString()
    const file = sopsFile.replace(m[1]!, batch.trimEnd().split('\n').map((l) => m[2]! + l + '\n').join(''))
    const identity = bech32Encode('AGE-PLUGIN-BATCHPASS-', new Uint8Array()).toUpperCase()
    const ok = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': file }, env: { ...env, SOPS_AGE_KEY: identity } })
    expect(ok.real.stdout.toString()).toBe(PLAIN)
    expectSame(ok, {}, 'age kinds: AGE-PLUGIN-BATCHPASS-1 identity')
    const wrong = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': file }, env: { PATH, AGE_PASSPHRASE: 'wrong', SOPS_AGE_KEY: identity } })
    expect(wrong.real.code).toBe(128)
    expectSame(wrong, {}, 'age kinds: batchpass plugin, wrong passphrase')
  })

  it('a passphrase-protected identity file, asked on a pseudo-terminal (prompt, no echo, output)', async () => {
    const enc = await sopsEncrypted(x25519.recipient)
    const t = await twin(['decrypt', 'e.yaml'], {
      files: { 'e.yaml': enc },
      env: { SOPS_AGE_KEY_FILE: path.join(keys, 'x.age') },
      wrap: (command) => ['python3', PTY, 'Enter passphrase', PASSPHRASE, '--', ...command],
    })
    const screen = Buffer.from(t.real.stdout.toString().trim(), 'base64').toString()
    expect(screen).toContain("Enter passphrase for identity 'SOPS_AGE_KEY_FILE':")
    expect(screen).toContain('c: secret value')
    expect(screen).not.toContain(PASSPHRASE)
    expectSame(t, {}, 'age kinds: passphrase-protected identity file on a terminal')
  })
})

describe('passphrase-protected SSH keys, asked on a pseudo-terminal', () => {
  const SSH_PASSPHRASE = 'ssh key passphrase'
  const onTerminal = (answer: string) => (command: string[]) => ['python3', PTY, 'Enter passphrase', answer, '--', ...command]

  it.each([
    ['ed25519, OpenSSH format', ['-t', 'ed25519']],
    ['RSA, legacy encrypted PEM', ['-t', 'rsa', '-b', '2048', '-m', 'PEM']],
  ])('%s: the right passphrase, a wrong one, and no terminal', async (label, args) => {
    const key = sshKeygen(keys, `locked-${label.replace(/\W+/g, '-')}`, args, SSH_PASSPHRASE)
    const enc = await sopsEncrypted(key.publicKey)
    const options = { files: { 'e.yaml': enc }, env: { SOPS_AGE_SSH_PRIVATE_KEY_FILE: key.file } }
    const ok = await twin(['decrypt', 'e.yaml'], { ...options, wrap: onTerminal(SSH_PASSPHRASE) })
    const screen = Buffer.from(ok.real.stdout.toString().trim(), 'base64').toString()
    expect(screen).toContain(`Enter passphrase for "${key.file}":`)
    expect(screen).toContain('c: secret value')
    expect(screen).not.toContain(SSH_PASSPHRASE)
    expectSame(ok, {}, `age kinds: passphrase-protected SSH key (${label})`)
    const wrong = await twin(['decrypt', 'e.yaml'], { ...options, wrap: onTerminal('not it') })
    expect(Buffer.from(wrong.real.stdout.toString().trim(), 'base64').toString()).toContain('x509: decryption')
    expectSame(wrong, {}, `age kinds: passphrase-protected SSH key, wrong passphrase (${label})`)
    const none = await twin(['decrypt', 'e.yaml'], { ...options, wrap: (command) => ['setsid', '-w', ...command] })
    expect(none.real.code).toBe(128)
    expectSame(none, {}, `age kinds: passphrase-protected SSH key, no terminal (${label})`)
    // Printed by SOPS_AGE_SSH_PRIVATE_KEY_CMD, an encrypted key is refused outright, as in sops.
    const cmd = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': enc }, env: { SOPS_AGE_SSH_PRIVATE_KEY_CMD: `cat ${key.file}` } })
    expect(cmd.real.stderr.replace(/\s*\|\s*/g, ' ')).toContain('is password protected, which is unsupported')
    expectSame(cmd, {}, `age kinds: passphrase-protected SSH key from SOPS_AGE_SSH_PRIVATE_KEY_CMD (${label})`)
  })
})

describe('failures read the same', () => {
  it('a passphrase-protected identity file that does not open the file: sops\'s [AGE] warning, then the failure', async () => {
    const otherKey = path.join(keys, 'other.txt')
    runTool(realAge('age-keygen'), ['-o', otherKey])
    const enc = await sopsEncrypted(runTool(realAge('age-keygen'), ['-y', otherKey]).toString().trim())
    const t = await twin(['decrypt', 'e.yaml'], {
      files: { 'e.yaml': enc },
      env: { SOPS_AGE_KEY_FILE: path.join(keys, 'x.age') },
      // stderr through a pipe (not the terminal), as when it is redirected: logrus's plain format.
      wrap: (command) => ['python3', PTY, 'Enter passphrase', PASSPHRASE, '--', 'sh', '-c', '"$@" 2>&1 | cat; exit 0', 'sh', ...command],
    })
    const screen = (side: Side) => maskPaths(Buffer.from(side.stdout.toString().trim(), 'base64').toString(), side, t.root).replace(/time="[^"]*"/g, 'time="<time>"')
    expect(screen(t.real)).toContain(`[AGE]\t time="<time>" level=warning msg="encrypted identity 'SOPS_AGE_KEY_FILE' didn't match file's recipients"`)
    expect(screen(t.ours)).toBe(screen(t.real))
    expectSame(t, { stdout: false }, 'age kinds: passphrase identity file that does not match')
  })


  it('the wrong SSH key', async () => {
    const enc = await sopsEncrypted(ssh.ed25519.publicKey)
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': enc }, env: { SOPS_AGE_SSH_PRIVATE_KEY_FILE: ssh.other.file } })
    expect(t.real.code).toBe(128)
    expectSame(t, {}, 'age kinds: wrong SSH key')
  })

  it('a malformed SSH key file, and an SSH key command printing no key', async () => {
    const enc = await sopsEncrypted(ssh.rsa.publicKey)
    const bad = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': enc, 'id': 'not a key\n' }, env: { SOPS_AGE_SSH_PRIVATE_KEY_FILE: '$DIR/id' } })
    expectSame(bad, {}, 'age kinds: malformed SSH key file')
    const cmd = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': enc }, env: { SOPS_AGE_SSH_PRIVATE_KEY_CMD: 'echo nope' } })
    expectSame(cmd, {}, 'age kinds: SSH key command prints no key')
  })

  it('a malformed SSH recipient', async () => {
    const t = await twin(['encrypt', '--age', 'ssh-ed25519 AAAAnotakey', 'a.yaml'], { files: { 'a.yaml': PLAIN } })
    expect(t.real.code).not.toBe(0)
    expectSame(t, {}, 'age kinds: malformed SSH recipient')
  })

  it('a passphrase-protected identity file with no terminal: sops\'s error at once, no wait', async () => {
    const enc = await sopsEncrypted(x25519.recipient)
    const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': enc }, env: { SOPS_AGE_KEY_FILE: path.join(keys, 'x.age') }, wrap: (command) => ['setsid', '-w', ...command] })
    expect(t.real.code).toBe(128)
    expect(t.real.stderr.replace(/\s*\|\s*/g, ' ')).toContain('standard input is not a terminal, and /dev/tty is not available')
    expectSame(t, {}, 'age kinds: passphrase identity file, no terminal')
  })
})
