/**
 * `tsops check` and `tsops filestatus`: keyless checks. Every command here runs with no key in
 * the environment (empty HOME, no SOPS_* variables) unless a test adds one on purpose.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli, type CliResult } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir, write } = tempWorkspace('tsops-check-')
let age: { identity: string; recipient: string }
const noKeys = () => cleanEnv({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'xdg') })

beforeAll(async () => {
  age = await testAgeIdentity()
})

const read = (p: string) => fs.readFileSync(p, 'utf8')

/** Encrypt with the recipient only: encrypting needs no private key. */
async function encrypted(rel: string, content: string | Buffer): Promise<string> {
  const file = write(rel, content)
  const r = await runCli(['encrypt', '--age', age.recipient, '-i', file], { env: noKeys(), cwd: dir })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return file
}

const check = (args: string[], cwd = dir, env = noKeys()): Promise<CliResult> => runCli(['check', ...args], { env, cwd })

const YAML = '# settings\ndatabase:\n    # the main database\n    user: app\n    password: s3cr3t-password\n    port: 5432\npublic_unencrypted: hello\n'

describe('tsops check', () => {
  it('passes a well-encrypted file in every format without any key', async () => {
    const files = [
      await encrypted('good/a.yaml', YAML),
      await encrypted('good/a.json', '{"user": "app", "password": "pw", "n": 1.5, "list": [1, true, null]}\n'),
      await encrypted('good/a.env', 'USER=app\nPASSWORD=pw\nEMPTY=\n'),
      await encrypted('good/a.ini', '[db]\nuser = app\npassword = pw\n'),
      await encrypted('good/a.bin', Buffer.from([0, 1, 2, 3, 255])),
    ]
    const r = await check(files)
    expect(r.stderr).toBe('tsops: 5 files checked, all pass\n')
    expect(r.code).toBe(0)
    for (const f of files) expect(r.stdout.toString()).toContain(`ok    ${path.relative(dir, f)}`)
  })

  it('fails a plaintext file (exit 10), naming it and the fix', async () => {
    const file = write('plain/secrets.yaml', YAML)
    const r = await check([file])
    expect(r.code).toBe(10)
    expect(r.stdout.toString()).toContain('plain/secrets.yaml is not encrypted (no sops metadata)')
    expect(r.stdout.toString()).toContain('fix: tsops encrypt -i plain/secrets.yaml')
    expect(r.stderr).toContain('1 of 1 checked file failed')
    expect(r.stdout.toString() + r.stderr).not.toContain('s3cr3t')
  })

  it('reports a plaintext file that does not parse as an encrypted one (a PEM key, broken YAML) as not encrypted', async () => {
    const pem = write('plain/key.pem', '-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n')
    const yaml = write('plain/broken.yaml', 'a: [unclosed\n')
    const r = await check([pem, yaml])
    expect(r.code).toBe(10)
    expect(r.stdout.toString()).toContain('plain/key.pem is not encrypted (no sops metadata)')
    expect(r.stdout.toString()).toContain('plain/broken.yaml is not encrypted (no sops metadata)')
  })

  it('fails one plaintext value among encrypted ones, naming the key path and never the value', async () => {
    const file = await encrypted('partial/app.yaml', YAML)
    write('partial/app.yaml', read(file).replace(/password: ENC\[[^\]]*\]/, 'password: typed-in-clear'))
    const json = await encrypted('partial/app.json', '{"db": {"user": "u", "port": 5432}}\n')
    write('partial/app.json', read(json).replace(/"port": "ENC\[[^"]*"/, '"port": 5432'))
    const env = await encrypted('partial/app.env', 'A=1\nB=2\n')
    write('partial/app.env', read(env).replace(/^B=ENC\[.*$/m, 'B=two'))
    const r = await check([file, json, env])
    expect(r.code).toBe(10)
    const out = r.stdout.toString()
    expect(out).toContain('partial/app.yaml: database.password is not encrypted')
    expect(out).toContain('partial/app.json: db.port is not encrypted')
    expect(out).toContain('partial/app.env: B is not encrypted')
    for (const v of ['typed-in-clear', 'two']) expect(out + r.stderr).not.toContain(v)
    expect(out).not.toContain('database.user')
  })

  it('fails a comment that should be encrypted but is not', async () => {
    const file = await encrypted('comments/a.yaml', YAML)
    write('comments/a.yaml', read(file).replace(/^( *)#ENC\[[^\]]*\]$/m, '$1# written by hand'))
    const r = await check([file])
    expect(r.code).toBe(10)
    expect(r.stdout.toString()).toMatch(/comments\/a\.yaml: (a comment in database|a top-level comment) is not encrypted/)
  })

  it.each([
    ['a missing MAC', (t: string) => t.replace(/^ {4}mac: .*$/m, '    mac: ""'), 'has invalid sops metadata: no MAC'],
    ['an invalid version', (t: string) => t.replace(/version: .*/, 'version: tsops-1'), 'has invalid sops metadata: invalid metadata: version'],
    ['a bad lastmodified', (t: string) => t.replace(/lastmodified: .*/, 'lastmodified: "soon"'), 'lastmodified'],
    ['no master key', (t: string) => t.replace(/ {4}age:\n(?: {8}.*\n| {12}.*\n)+/, ''), 'No keys found in file'],
    ['two rules', (t: string) => t.replace(/unencrypted_suffix: _unencrypted/, 'unencrypted_suffix: _unencrypted\n    encrypted_regex: x'), 'cannot use more than one'],
    ['a truncated iv', (t: string) => t.replace(/(user: ENC\[AES256_GCM,data:[^,]*,iv:)[^,]*/, '$1AAAA'), 'database.user is not a valid ENC[…] value (iv is 3 bytes, expected 32)'],
    ['a long tag', (t: string) => t.replace(/(user: ENC\[AES256_GCM,data:[^,]*,iv:[^,]*,tag:)[^,]*/, '$1AAAAAAAAAAAAAAAAAAAAAAAA'), 'database.user is not a valid ENC[…] value (tag is 18 bytes, expected 16)'],
    ['bad base64', (t: string) => t.replace(/(user: ENC\[AES256_GCM,data:)[^,]*/, '$1***'), 'database.user is not a valid ENC[…] value (Error base64-decoding data'],
    ['an unknown type', (t: string) => t.replace(/(user: ENC\[AES256_GCM,[^\]]*type:)str\]/, '$1Str!]'), 'database.user is not a valid ENC[…] value (unknown type)'],
    ['unparseable YAML', (t: string) => t + '  : : [\n', 'cannot be read as an encrypted yaml file'],
  ] as [string, (t: string) => string, string][])('fails a file with %s', async (what, tamper, message) => {
    const file = await encrypted(`broken/${what.replaceAll(' ', '-')}.yaml`, YAML)
    write(path.relative(dir, file), tamper(read(file)))
    const r = await check([file])
    expect(r.stdout.toString()).toContain(message)
    expect(r.code).toBe(10)
    expect(r.stdout.toString()).not.toContain('s3cr3t')
  })

  it('--json describes every file for machines', async () => {
    const good = await encrypted('json/good.yaml', YAML)
    const bad = await encrypted('json/bad.yaml', YAML)
    write('json/bad.yaml', read(bad).replace(/port: ENC\[[^\]]*\]/, 'port: 5432'))
    const r = await check(['--json', good, bad])
    expect(r.code).toBe(10)
    expect(JSON.parse(r.stdout.toString())).toEqual({
      ok: false,
      checked: 2,
      failed: 1,
      files: [
        { file: 'json/good.yaml', format: 'yaml', ok: true, problems: [] },
        { file: 'json/bad.yaml', format: 'yaml', ok: false, problems: [{ kind: 'plaintext-value', path: 'database.port', message: 'database.port is not encrypted' }] },
      ],
    })
    const ok = await check(['--json', good])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout.toString())).toMatchObject({ ok: true, checked: 1, failed: 0 })
  })

  it('walks directories: files the creation rules select must be encrypted, other sops files are checked, the rest skipped', async () => {
    const root = path.join(dir, 'walk')
    write('walk/.sops.yaml', `creation_rules:\n  - path_regex: ^secrets/.*\\.yaml$\n    age: ${age.recipient}\n  - age: ${age.recipient}\n`)
    await encrypted('walk/secrets/good.yaml', YAML)
    write('walk/secrets/plain.yaml', YAML)
    write('walk/config/app.yaml', 'name: not a secret\n')
    await encrypted('walk/config/extra.json', '{"token": "t"}\n')
    write('walk/config/partial.env', 'A=1\n')
    await encrypted('walk/config/partial.env', 'A=1\n')
    write('walk/config/partial.env', read(path.join(root, 'config/partial.env')).replace(/^A=ENC.*$/m, 'A=1'))
    write('walk/node_modules/pkg/secrets/x.yaml', YAML)
    write('walk/.git/secrets/y.yaml', YAML)
    write('walk/docs/sops.md', 'sops files have `sops:` metadata with lastmodified and ENC[AES256_GCM,...] values\n')
    const r = await check(['.'], root)
    expect(r.code).toBe(10)
    expect(r.stdout.toString()).toBe(
      [
        'ok    config/extra.json',
        'FAIL  config/partial.env',
        '      config/partial.env: A is not encrypted',
        '      fix: a value was written into config/partial.env by hand: take it out, add it back with tsops edit config/partial.env',
        'ok    secrets/good.yaml',
        'FAIL  secrets/plain.yaml',
        '      secrets/plain.yaml is not encrypted (no sops metadata)',
        '      fix: tsops encrypt -i secrets/plain.yaml',
        '',
      ].join('\n'),
    )
  })

  it('--verify-mac decrypts with the available keys and checks the MAC', async () => {
    const file = await encrypted('mac/a.yaml', YAML)
    // A MAC that is well-formed but wrong: passes the keyless check, fails verification.
    const other = await encrypted('mac/b.yaml', YAML)
    const otherMac = /^ {4}mac: (.*)$/m.exec(read(other))![1]!
    write('mac/a.yaml', read(file).replace(/^ {4}mac: .*$/m, `    mac: ${otherMac}`))
    expect((await check([file])).code).toBe(0)
    const withKey = cleanEnv({ HOME: dir, SOPS_AGE_KEY: age.identity })
    const good = await check(['--verify-mac', other], dir, withKey)
    expect(good.code).toBe(0)
    const bad = await check(['--verify-mac', file], dir, withKey)
    expect(bad.code).toBe(10)
    expect(bad.stdout.toString()).toContain('mac/a.yaml does not decrypt and verify: Cannot decrypt MAC')
    const noKey = await check(['--verify-mac', other])
    expect(noKey.code).toBe(10)
    expect(noKey.stdout.toString()).toContain('does not decrypt and verify: Failed to get the data key')
  })

  it('a missing path is exit 100', async () => {
    expect((await check([path.join(dir, 'nope.yaml')])).code).toBe(100)
  })
})

describe('tsops filestatus', () => {
  const status = (file: string) => runCli(['filestatus', file], { env: noKeys(), cwd: dir })

  it('prints {"encrypted":true} for a sops file and {"encrypted":false} for a plain one', async () => {
    const enc = await encrypted('status/a.yaml', YAML)
    const r = await status(enc)
    expect(r.stdout.toString()).toBe('{"encrypted":true}\n')
    expect(r.code).toBe(0)
    const plain = await status(write('status/plain.json', '{"a": 1}\n'))
    expect(plain.stdout.toString()).toBe('{"encrypted":false}\n')
    expect(plain.code).toBe(0)
  })

  it('is false when version or mac is empty, like sops', async () => {
    const enc = await encrypted('status/b.yaml', YAML)
    write('status/b.yaml', read(enc).replace(/version: .*/, 'version: ""'))
    expect((await status(enc)).stdout.toString()).toBe('{"encrypted":false}\n')
    const enc2 = await encrypted('status/c.yaml', YAML)
    write('status/c.yaml', read(enc2).replace(/^ {4}mac: .*$/m, '    mac: ""'))
    expect((await status(enc2)).stdout.toString()).toBe('{"encrypted":false}\n')
  })

  it('fails on metadata that does not load, and on a missing file', async () => {
    const enc = await encrypted('status/d.yaml', YAML)
    write('status/d.yaml', read(enc).replace(/lastmodified: .*/, 'lastmodified: "x"'))
    const r = await status(enc)
    expect(r.code).not.toBe(0)
    expect(r.stdout.toString()).toBe('')
    expect(r.stderr).toContain('lastmodified')
    // sops hands filestatus's errors to log.Fatal: exit 1.
    const missing = await status(path.join(dir, 'missing.yaml'))
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(`cannot check file status: cannot load encrypted file: Error reading file: open ${path.join(dir, 'missing.yaml')}: no such file or directory`)
  })
})
