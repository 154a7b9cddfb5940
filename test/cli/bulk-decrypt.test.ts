import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { CLI } from '../helpers/paths.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir } = tempWorkspace('tsops-bulk-')
let age: { identity: string; recipient: string }
const env = (extra: Record<string, string> = {}) => cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg'), ...extra })

beforeAll(async () => {
  age = await testAgeIdentity()
  fs.mkdirSync(path.join(dir, 'sub'))
  await encrypt('a.yaml', 'a: 1\n')
  await encrypt('sub/b.yaml', 'b: two\nlist:\n    - x\n')
  await encrypt('c.json', '{\n\t"c": 3\n}\n')
  await encrypt('d.json', '{\n\t"d": "four"\n}\n')
  await encrypt('e.env', 'E=5\n')
})

async function encrypt(name: string, content: string): Promise<string> {
  const file = path.join(dir, name)
  fs.writeFileSync(file, content)
  const r = await runCli(['encrypt', '--age', age.recipient, '-i', file], { env: env() })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return file
}

const run = (args: string[], extra: Record<string, string> = {}) => runCli(args, { env: env(extra), cwd: dir })

describe('tsops decrypt with several files', () => {
  it('YAML to stdout: one document stream, each file introduced by a # <file> line', async () => {
    const r = await run(['decrypt', 'a.yaml', 'sub/b.yaml'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe('# a.yaml\na: 1\n---\n# sub/b.yaml\nb: two\nlist:\n    - x\n')
  })

  it('JSON to stdout: one object keyed by file name', async () => {
    const r = await run(['decrypt', 'c.json', 'd.json'])
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe('{\n\t"c.json": {\n\t\t"c": 3\n\t},\n\t"d.json": {\n\t\t"d": "four"\n\t}\n}\n')
  })

  it('--output-dir writes each plaintext under its relative name, 0600; one file works too', async () => {
    const out = path.join(dir, 'plain')
    const r = await run(['decrypt', '--output-dir', 'plain', 'a.yaml', 'sub/b.yaml', 'c.json', 'e.env'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(fs.readFileSync(path.join(out, 'a.yaml'), 'utf8')).toBe('a: 1\n')
    expect(fs.readFileSync(path.join(out, 'sub/b.yaml'), 'utf8')).toBe('b: two\nlist:\n    - x\n')
    expect(fs.readFileSync(path.join(out, 'c.json'), 'utf8')).toBe('{\n\t"c": 3\n}\n')
    expect(fs.readFileSync(path.join(out, 'e.env'), 'utf8')).toBe('E=5\n')
    expect(fs.statSync(path.join(out, 'sub/b.yaml')).mode & 0o777).toBe(0o600)
    const single = await run(['decrypt', '--output-dir', 'one', 'd.json'])
    expect(single.code).toBe(0)
    expect(fs.readFileSync(path.join(dir, 'one', 'd.json'), 'utf8')).toBe('{\n\t"d": "four"\n}\n')
    const over = await run(['decrypt', '--output-dir', '.', 'a.yaml'])
    expect(over.code).toBe(8)
    expect(fs.readFileSync(path.join(dir, 'a.yaml'), 'utf8')).toContain('ENC[AES256_GCM')
  })

  it('keeps going after a failing file, reports each failure, exits with the first failure code', async () => {
    const tampered = path.join(dir, 'tampered.yaml')
    fs.writeFileSync(tampered, fs.readFileSync(path.join(dir, 'a.yaml'), 'utf8').replace(/^ {4}lastmodified: "(\d{4})/m, (_m, y: string) => `    lastmodified: "${Number(y) - 1}`))
    const out = path.join(dir, 'partial')
    const r = await run(['decrypt', '--output-dir', 'partial', 'tampered.yaml', 'a.yaml', 'missing.yaml', 'sub/b.yaml'])
    expect(r.code).toBe(51)
    expect(r.stderr).toMatch(/tsops: error: tampered\.yaml: .*MAC/)
    expect(r.stderr).toContain('tsops: error: missing.yaml: ')
    expect(r.stderr).toContain('2 of 4 files could not be decrypted')
    expect(fs.readFileSync(path.join(out, 'a.yaml'), 'utf8')).toBe('a: 1\n')
    expect(fs.readFileSync(path.join(out, 'sub/b.yaml'), 'utf8')).toBe('b: two\nlist:\n    - x\n')
    expect(fs.existsSync(path.join(out, 'tampered.yaml'))).toBe(false)
    const stdout = await run(['decrypt', 'missing.yaml', 'a.yaml'])
    expect(stdout.code).toBe(100)
    expect(stdout.stdout.toString()).toBe('# a.yaml\na: 1\n')
  })

  it('-i decrypts every file in place', async () => {
    const x = await encrypt('in1.yaml', 'one: 1\n')
    const y = await encrypt('in2.yaml', 'two: 2\n')
    const r = await run(['decrypt', '-i', 'in1.yaml', 'in2.yaml'])
    expect(r.code).toBe(0)
    expect(fs.readFileSync(x, 'utf8')).toBe('one: 1\n')
    expect(fs.readFileSync(y, 'utf8')).toBe('two: 2\n')
  })

  it('refuses what cannot share stdout, --output and --extract with several files (exit 8)', async () => {
    expect((await run(['decrypt', 'a.yaml', 'c.json'])).code).toBe(8)
    expect((await run(['decrypt', '--output', 'x', 'a.yaml', 'sub/b.yaml'])).code).toBe(8)
    expect((await run(['decrypt', '--extract', '["a"]', 'a.yaml', 'sub/b.yaml'])).code).toBe(8)
    const mixed = await run(['decrypt', '--output-type', 'json', 'a.yaml', 'c.json'])
    expect(mixed.code).toBe(0)
    expect(JSON.parse(mixed.stdout.toString())).toEqual({ 'a.yaml': { a: 1 }, 'c.json': { c: 3 } })
  })

  it('loads the identities once for all files (SOPS_AGE_KEY_CMD runs once)', async () => {
    const log = path.join(dir, 'keycmd.log')
    const cmd = path.join(dir, 'keycmd.sh')
    fs.writeFileSync(cmd, `#!/bin/sh\necho run >> '${log}'\nprintf '%s\\n' '${age.identity}'\n`, { mode: 0o755 })
    const r = await runCli(['decrypt', 'a.yaml', 'sub/b.yaml'], {
      env: cleanEnv({ SOPS_AGE_KEY_CMD: cmd, XDG_CONFIG_HOME: path.join(dir, 'none') }),
      cwd: dir,
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(fs.readFileSync(log, 'utf8')).toBe('run\n')
  })

  it('shows progress on a terminal when there are more than 10 files', async () => {
    const names = Array.from({ length: 11 }, (_, i) => `p${i}.yaml`)
    for (const n of names) await encrypt(n, `v: ${n}\n`)
    const command = [process.execPath, CLI, 'decrypt', '--output-dir', 'progress', ...names].map((a) => `'${a}'`).join(' ')
    const r = await runCli(['-qec', command, '/dev/null'], { command: ['script'], env: env(), cwd: dir })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toContain('[11/11] p10.yaml')
    expect(fs.readFileSync(path.join(dir, 'progress', 'p10.yaml'), 'utf8')).toBe('v: p10.yaml\n')
    const quiet = await run(['decrypt', '--output-dir', 'progress2', ...names])
    expect(quiet.stderr).toBe('')
  })
})
