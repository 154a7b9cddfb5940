import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import { cliWorkspace } from '../helpers/workspace.js'

const { dir, env, encrypted, decrypted } = cliWorkspace('tsops-apply-')

const FIFTY = Array.from({ length: 50 }, (_, i) => `key${i}: value-${i}\n`).join('')
const JSON_DOC = '{\n\t"user": "admin",\n\t"password": "hunter2",\n\t"port": 5432\n}\n'

function plain(name: string, content: string): string {
  const file = path.join(dir, name)
  fs.writeFileSync(file, content)
  return file
}

/** lastmodified has second precision: an apply that must show a new one runs with its clock 2 s ahead. */
const LATER = 2_000

describe('tsops apply', () => {
  it('re-encrypts a full new plaintext; only changed values, lastmodified and mac change (git)', async () => {
    const repo = fs.mkdtempSync(path.join(dir, 'repo-'))
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...a], { cwd: repo, encoding: 'utf8' })
    git('init', '-q')
    const file = await encrypted('secrets.yaml', FIFTY, repo)
    git('add', 'secrets.yaml')
    git('commit', '-q', '-m', 'init')
    const next = FIFTY.replace('key7: value-7', 'key7: rotated')
    const r = await runCli(['apply', file, plain('next.yaml', next)], { env: env(), clockOffsetMs: LATER })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(git('diff', '--numstat').trim()).toBe('3\t3\tsecrets.yaml')
    expect(await decrypted(file)).toBe(next)
  })

  it('reads the new plaintext from stdin, adds and removes keys, keeps the master keys', async () => {
    const file = await encrypted('stdin.json', JSON_DOC)
    const recipientLine = fs.readFileSync(file, 'utf8').match(/"recipient": "[^"]+"/)![0]
    const next = '{\n\t"user": "admin",\n\t"token": "t0k3n",\n\t"port": 5433\n}\n'
    const r = await runCli(['apply', file, '-'], { env: env(), input: next })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const text = fs.readFileSync(file, 'utf8')
    expect(text).toContain(recipientLine)
    expect(text).not.toContain('t0k3n')
    expect(await decrypted(file)).toBe(next)
  })

  it('unchanged values keep their ciphertext; an identical plaintext writes nothing', async () => {
    const file = await encrypted('same.json', JSON_DOC)
    const before = fs.readFileSync(file)
    const same = await runCli(['apply', file, plain('same-plain.json', JSON_DOC)], { env: env(), clockOffsetMs: LATER })
    expect(same.code).toBe(0)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
    const r = await runCli(['apply', file, plain('port.json', JSON_DOC.replace('5432', '5431'))], { env: env(), clockOffsetMs: LATER })
    expect(r.code).toBe(0)
    const old = before.toString().split('\n')
    const changed = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l, i) => l !== old[i])
      .map((l) => l.trim().split('"')[1])
    expect(changed).toEqual(['port', 'lastmodified', 'mac'])
  })

  it('--output writes elsewhere and leaves the encrypted file alone', async () => {
    const file = await encrypted('out.yaml', 'a: 1\n')
    const before = fs.readFileSync(file)
    const out = path.join(dir, 'out.new.yaml')
    const r = await runCli(['apply', '--output', out, file, plain('out-plain.yaml', 'a: 2\n')], { env: env() })
    expect(r.code).toBe(0)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
    expect(await decrypted(out)).toBe('a: 2\n')
  })

  it('refuses bad input without touching the file: syntax (2), sops metadata (203), tampered file (51), arity (100)', async () => {
    const file = await encrypted('bad.yaml', 'a: 1\n')
    const before = fs.readFileSync(file)
    const syntax = await runCli(['apply', file, plain('syntax.yaml', 'a: [1\n')], { env: env() })
    expect(syntax.code).toBe(2)
    const meta = await runCli(['apply', file, file], { env: env() })
    expect(meta.code).toBe(203)
    expect((await runCli(['apply', file], { env: env() })).code).toBe(100)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
    const tampered = await encrypted('tampered.yaml', 'a: 1\nb: 2\n')
    fs.writeFileSync(tampered, fs.readFileSync(tampered, 'utf8').replace(/^ {4}lastmodified: "(\d{4})/m, (_m, y: string) => `    lastmodified: "${Number(y) - 1}`))
    const tamperedBefore = fs.readFileSync(tampered)
    const mac = await runCli(['apply', tampered, plain('t.yaml', 'a: 5\n')], { env: env() })
    expect(mac.code).toBe(51)
    expect(fs.readFileSync(tampered).equals(tamperedBefore)).toBe(true)
  })
})
