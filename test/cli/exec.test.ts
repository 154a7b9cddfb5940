import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { ramParent } from '../../src/edit/tempdir.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir } = tempWorkspace('tsops-exec-')
let tmp: string
let age: { identity: string; recipient: string }
let file: string
const env = (extra: Record<string, string> = {}) =>
  cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg'), TMPDIR: tmp, ...extra })

const PLAIN = 'STR: hello world\nINT: 42\nFLOAT: 1.5\nBOOL: true\n# a comment\nEMPTY: ""\n'

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(dir, 'tmp-'))
  age = await testAgeIdentity()
  file = await encrypted('env.yaml', PLAIN)
})

async function encrypted(name: string, content: string): Promise<string> {
  const f = path.join(dir, name)
  fs.writeFileSync(f, content)
  const r = await runCli(['encrypt', '--age', age.recipient, '-i', f], { env: env() })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return f
}

describe('tsops exec-env', () => {
  it('puts the top-level values into the environment of the command', async () => {
    const r = await runCli(['exec-env', file, 'printf "%s|%s|%s|%s|%s|%s" "$STR" "$INT" "$FLOAT" "$BOOL" "${EMPTY-unset}" "$INHERITED"'], {
      env: env({ INHERITED: 'from-parent' }),
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe('hello world|42|1.5|true||from-parent')
  })

  it('--pristine starts from an empty environment', async () => {
    const r = await runCli(['exec-env', '--pristine', file, 'printf "%s|%s" "$STR" "${INHERITED-none}"'], { env: env({ INHERITED: 'from-parent' }) })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe('hello world|none')
  })

  it("returns the command's exit status", async () => {
    expect((await runCli(['exec-env', file, 'exit 7'], { env: env() })).code).toBe(7)
    expect((await runCli(['exec-env', file, 'kill -TERM $$'], { env: env() })).code).toBe(128 + 15)
  })

  it('refuses nested values and keys with =, checks the MAC, needs exactly FILE and COMMAND', async () => {
    const nested = await encrypted('nested.yaml', 'A: 1\nB:\n    c: 2\n')
    const r = await runCli(['exec-env', nested, 'true'], { env: env() })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cannot use complex value in environment; offending key B')
    const eq = await encrypted('eq.json', '{"A=B": "x"}\n')
    expect((await runCli(['exec-env', eq, 'true'], { env: env() })).stderr).toContain("cannot use keys with '=' in environment")
    const tampered = path.join(dir, 'tampered.yaml')
    fs.writeFileSync(tampered, fs.readFileSync(file, 'utf8').replace(/^ {4}lastmodified: "(\d{4})/m, (_m, y: string) => `    lastmodified: "${Number(y) - 1}`))
    const mac = await runCli(['exec-env', tampered, 'echo ran'], { env: env() })
    expect(mac.code).toBe(51)
    expect(mac.stdout.toString()).toBe('')
    expect((await runCli(['exec-env', file], { env: env() })).code).toBe(1)
  })
})

describe('tsops exec-file', () => {
  it('passes the plaintext through a FIFO named tmp-file in a private dir, removed afterwards', async () => {
    const r = await runCli(['exec-file', file, 'test -p {} && echo "{}" >&2 && stat -c %a "$(dirname {})" >&2 && cat {}'], { env: env() })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe('STR: hello world\nINT: 42\nFLOAT: 1.5\nBOOL: true\n# a comment\nEMPTY: ""\n')
    const [fifo, mode] = r.stderr.trim().split('\n') as [string, string]
    expect(path.basename(fifo)).toBe('tmp-file')
    expect(fifo.startsWith(ramParent() ?? tmp)).toBe(true) // in RAM when the system has it
    expect(mode).toBe('700')
    expect(fs.existsSync(path.dirname(fifo))).toBe(false)
  })

  it('--no-fifo uses a 0600 regular file; --filename names it; --output-type converts', async () => {
    const r = await runCli(['exec-file', '--no-fifo', '--filename', 'conf.json', '--output-type', 'json', file, 'test -f {} && stat -c %a {} >&2 && echo {} >&2 && cat {}'], { env: env() })
    expect(r.code).toBe(0)
    const [mode, where] = r.stderr.trim().split('\n') as [string, string]
    expect(mode).toBe('600')
    expect(path.basename(where)).toBe('conf.json')
    expect(JSON.parse(r.stdout.toString())).toEqual({ STR: 'hello world', INT: 42, FLOAT: 1.5, BOOL: true, EMPTY: '' })
    expect(fs.existsSync(path.dirname(where))).toBe(false)
    const bad = await runCli(['exec-file', '--filename', '../escape', file, 'true'], { env: env() })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('not a local path')
  })

  it("returns the command's status, and does not hang when the command never opens the FIFO", async () => {
    // A hang fails this test by its timeout; no clock is read here.
    expect((await runCli(['exec-file', file, 'exit 3'], { env: env() })).code).toBe(3)
    expect(fs.readdirSync(tmp)).toEqual([])
  })

  it('streams a large plaintext through the FIFO', async () => {
    const big = 'BLOB: ' + 'x'.repeat(3 * 1024 * 1024) + '\n'
    const blob = await encrypted('big.yaml', big)
    const r = await runCli(['exec-file', blob, 'wc -c < {}'], { env: env() })
    expect(r.code).toBe(0)
    expect(Number(r.stdout.toString().trim())).toBe(Buffer.byteLength(big))
  })
})
