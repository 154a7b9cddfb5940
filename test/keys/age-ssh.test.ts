// SSH keys as age recipients and identities (agessh): tsops against the real age v1.3.1 CLI and
// ssh-keygen's keys — ed25519 and RSA in OpenSSH format, RSA in PKCS#1 PEM — both ways, and the
// places sops finds SSH keys (SOPS_AGE_SSH_PRIVATE_KEY_FILE, _CMD, ~/.ssh).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ageKeySource } from '../../src/keys/age.js'
import { KeyUnwrapError, type KeyContext } from '../../src/keys/types.js'
import { spawnSync } from 'node:child_process'
import { ageBin, armorBody, runTool, sshKeygen } from '../helpers/age-tools.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { CLI, REPO_ROOT } from '../helpers/paths.js'

let dir: string
let home: string
const keys: Record<string, { file: string; publicKey: string }> = {}

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-age-ssh-')))
  home = path.join(dir, 'home')
  fs.mkdirSync(home)
  keys.ed25519 = sshKeygen(dir, 'id_ed25519', ['-t', 'ed25519'])
  keys.rsa = sshKeygen(dir, 'id_rsa', ['-t', 'rsa', '-b', '3072'])
  keys.rsaPem = sshKeygen(dir, 'id_rsa_pem', ['-t', 'rsa', '-b', '2048', '-m', 'PEM'])
  keys.other = sshKeygen(dir, 'id_other', ['-t', 'ed25519'])
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const ctxWith = (env: Record<string, string>): KeyContext => ({ env: { HOME: home, ...env } })

describe.each([
  ['ssh-ed25519', 'ed25519'],
  ['ssh-rsa (OpenSSH format)', 'rsa'],
  ['ssh-rsa (PKCS#1 PEM)', 'rsaPem'],
])('%s', (_label, name) => {
  it('tsops wraps a data key that the real age decrypts with the SSH key', async () => {
    const { file, publicKey } = keys[name]!
    const dataKey = randomBytes(32)
    const entry = await ageKeySource(publicKey).wrap(dataKey, ctxWith({}))
    expect(entry.fields.recipient).toBe(publicKey)
    const header = armorBody(entry.fields.enc as string).toString('latin1')
    expect(header).toContain(`\n-> ${publicKey.split(' ')[0]} `)
    expect(runTool(ageBin(), ['-d', '-i', file], { input: entry.fields.enc as string })).toEqual(dataKey)
  })

  it('tsops unwraps what the real age encrypted to the SSH public key', async () => {
    const { file, publicKey } = keys[name]!
    const dataKey = randomBytes(32)
    const enc = runTool(ageBin(), ['-a', '-r', publicKey], { input: dataKey }).toString()
    const got = await ageKeySource(publicKey).unwrap({ type: 'age', fields: { recipient: publicKey, enc } }, ctxWith({ SOPS_AGE_SSH_PRIVATE_KEY_FILE: file }))
    expect(Buffer.from(got)).toEqual(dataKey)
  })
})

describe('where sops finds SSH identities', () => {
  const encryptTo = (publicKey: string, dataKey: Buffer) => runTool(ageBin(), ['-a', '-r', publicKey], { input: dataKey }).toString()

  it('~/.ssh/id_ed25519 and ~/.ssh/id_rsa, when nothing is set', async () => {
    const sshHome = path.join(dir, 'sshhome')
    fs.mkdirSync(path.join(sshHome, '.ssh'), { recursive: true })
    fs.copyFileSync(keys.rsa!.file, path.join(sshHome, '.ssh', 'id_rsa'))
    const dataKey = randomBytes(32)
    const enc = encryptTo(keys.rsa!.publicKey, dataKey)
    const got = await ageKeySource(keys.rsa!.publicKey).unwrap({ type: 'age', fields: { recipient: keys.rsa!.publicKey, enc } }, { env: { HOME: sshHome } })
    expect(Buffer.from(got)).toEqual(dataKey)
  })

  it('SOPS_AGE_SSH_PRIVATE_KEY_CMD, which is told the recipient', async () => {
    const dataKey = randomBytes(32)
    const { publicKey, file } = keys.ed25519!
    const enc = encryptTo(publicKey, dataKey)
    const seen = path.join(dir, 'seen-recipient')
    const cmd = `sh -c 'printf %s "$SOPS_AGE_RECIPIENT" > ${seen}; cat ${file}'`
    const got = await ageKeySource(publicKey).unwrap({ type: 'age', fields: { recipient: publicKey, enc } }, ctxWith({ SOPS_AGE_SSH_PRIVATE_KEY_CMD: cmd }))
    expect(Buffer.from(got)).toEqual(dataKey)
    expect(fs.readFileSync(seen, 'utf8')).toBe(publicKey)
  })

  it('a wrong SSH key: no identity matched, and no key material in the message', async () => {
    const { publicKey } = keys.ed25519!
    const enc = encryptTo(publicKey, randomBytes(32))
    const err = await ageKeySource(publicKey)
      .unwrap({ type: 'age', fields: { recipient: publicKey, enc } }, ctxWith({ SOPS_AGE_SSH_PRIVATE_KEY_FILE: keys.other!.file }))
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KeyUnwrapError)
    expect((err as KeyUnwrapError).reason).toMatch(/^failed to create reader for decrypting sops data key with age: identity did not match any of the recipients: incorrect identity for recipient block\. Did not find keys in locations 'SOPS_AGE_SSH_PRIVATE_KEY_CMD'/)
    expect((err as KeyUnwrapError).reason).not.toContain('PRIVATE KEY')
  })

  it('a malformed key file and a missing one are reported in sops\'s words', async () => {
    const { publicKey } = keys.ed25519!
    const enc = encryptTo(publicKey, randomBytes(32))
    const bad = path.join(dir, 'not-a-key')
    fs.writeFileSync(bad, 'hello\n')
    const reason = async (file: string) =>
      ((await ageKeySource(publicKey).unwrap({ type: 'age', fields: { recipient: publicKey, enc } }, ctxWith({ SOPS_AGE_SSH_PRIVATE_KEY_FILE: file })).catch((e: unknown) => e)) as KeyUnwrapError).reason
    expect(await reason(bad)).toContain(`Errors while loading age identities: malformed SSH identity in "${bad}": ssh: no key found`)
    expect(await reason(path.join(dir, 'nope'))).toContain(`Errors while loading age identities: failed to open file: open ${path.join(dir, 'nope')}: no such file or directory`)
  })

  it('a passphrase-protected SSH key costs nothing while files are for other keys', async () => {
    const locked = sshKeygen(dir, 'id_locked', ['-t', 'ed25519'], 'secret passphrase')
    const sshHome = path.join(dir, 'lockedhome')
    fs.mkdirSync(path.join(sshHome, '.ssh'), { recursive: true })
    fs.copyFileSync(locked.file, path.join(sshHome, '.ssh', 'id_ed25519'))
    // A file for another key decrypts with that key; the locked one is never asked for.
    const dataKey = randomBytes(32)
    const other = encryptTo(keys.rsa!.publicKey, dataKey)
    const env = { HOME: sshHome, SOPS_AGE_SSH_PRIVATE_KEY_FILE: keys.rsa!.file }
    expect(Buffer.from(await ageKeySource(keys.rsa!.publicKey).unwrap({ type: 'age', fields: { recipient: keys.rsa!.publicKey, enc: other } }, { env }))).toEqual(dataKey)
  })
})

describe('passphrase-protected SSH keys, asked on the terminal (the CLI on a pseudo-terminal)', () => {
  const PASSPHRASE = 'ssh key passphrase'
  const PTY = path.join(REPO_ROOT, 'test/helpers/pty-answer.py')

  /** A file encrypted by tsops to `publicKey`, decrypted by the CLI with `file` as the SSH key, `answer` typed at the prompt. */
  async function decryptOnTerminal(publicKey: string, file: string, answer: string): Promise<{ code: number | null; screen: string }> {
    const plain = path.join(dir, 'p.yaml')
    fs.writeFileSync(plain, 'token: s3cr3t\n')
    const r = await runCli(['encrypt', '--age', publicKey, plain], { env: cleanEnv({ HOME: home }) })
    const encrypted = path.join(dir, 'p.enc.yaml')
    fs.writeFileSync(encrypted, r.stdout)
    const run = spawnSync('python3', [PTY, 'Enter passphrase', answer, '--', process.execPath, CLI, 'decrypt', encrypted], {
      env: cleanEnv({ HOME: home, SOPS_AGE_SSH_PRIVATE_KEY_FILE: file }) as NodeJS.ProcessEnv,
      encoding: 'utf8',
      timeout: 60_000,
    })
    return { code: run.status, screen: Buffer.from(run.stdout.trim(), 'base64').toString('utf8') }
  }

  it.each([
    ['ed25519, OpenSSH format (bcrypt KDF, aes256-ctr)', ['-t', 'ed25519']],
    ['RSA, OpenSSH format', ['-t', 'rsa', '-b', '2048']],
    ['RSA, legacy encrypted PEM', ['-t', 'rsa', '-b', '2048', '-m', 'PEM']],
  ])('%s: sops\'s prompt, no echo, then the file decrypts', async (label, args) => {
    const key = sshKeygen(dir, `locked-${label.replace(/\W+/g, '-')}`, args, PASSPHRASE)
    const { code, screen } = await decryptOnTerminal(key.publicKey, key.file, PASSPHRASE)
    expect(code, screen).toBe(0)
    expect(screen).toContain(`Enter passphrase for "${key.file}": `)
    expect(screen).toContain('token: s3cr3t')
    expect(screen).not.toContain(PASSPHRASE)
  })

  it('a wrong passphrase fails as Go words it', async () => {
    const key = sshKeygen(dir, 'locked-wrong', ['-t', 'ed25519'], PASSPHRASE)
    const { code, screen } = await decryptOnTerminal(key.publicKey, key.file, 'not it')
    expect(code).toBe(128)
    expect(screen.replace(/\s*\|\s*/g, ' ')).toContain('failed to decrypt SSH key file: x509: decryption password incorrect')
  })
})
