/**
 * `tsops decrypt --terraform`: Terraform's `external` data source protocol. The program gets
 * the query (a JSON object of strings) on stdin and must print one JSON object of strings;
 * errors go to stderr with a non-zero exit, and stdout stays empty.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir } = tempWorkspace('tsops-tf-')
let age: { identity: string; recipient: string }
let file: string
const env = () => cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg') })

const PLAIN = `db:
    password: s3cr3t
    port: 5432
    ratio: 0.25
    big: 1000000.5
hosts:
    - a.example
    - name: b
      weight: 2
debug: true
empty_map: {}
empty_list: []
nothing: null
"10": ten
when: 2024-01-02T03:04:05Z
note_unencrypted: clear
`

const EXPECTED =
  '{"db.password":"s3cr3t","db.port":"5432","db.ratio":"0.25","db.big":"1.0000005e+06","hosts.0":"a.example","hosts.1.name":"b",' +
  '"hosts.1.weight":"2","debug":"true","nothing":"null","10":"ten","when":"2024-01-02T03:04:05Z","note_unencrypted":"clear"}\n'

beforeAll(async () => {
  age = await testAgeIdentity()
  file = path.join(dir, 'secrets.enc.yaml')
  fs.writeFileSync(file, PLAIN)
  const r = await runCli(['encrypt', '--age', age.recipient, '-i', file], { env: env() })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
})

describe('decrypt --terraform', () => {
  it('prints a flat JSON object of strings: keys joined with ".", list indices as numbers, document order', async () => {
    const r = await runCli(['decrypt', '--terraform', file], { env: env() })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe(EXPECTED)
    const parsed = JSON.parse(r.stdout.toString()) as Record<string, unknown>
    expect(Object.values(parsed).every((v) => typeof v === 'string')).toBe(true)
  })

  it('reads the query {"file": …} from stdin when no file is given, as Terraform passes it', async () => {
    const absolute = await runCli(['decrypt', '--terraform'], { env: env(), input: JSON.stringify({ file }) })
    expect(absolute.stderr).toBe('')
    expect(absolute.code).toBe(0)
    expect(absolute.stdout.toString()).toBe(EXPECTED)
    // Terraform runs the program in its working directory: relative paths resolve from there.
    const relative = await runCli(['decrypt', '--terraform'], { env: env(), cwd: dir, input: '{"file":"secrets.enc.yaml","input_type":"yaml"}\n' })
    expect(relative.code).toBe(0)
    expect(relative.stdout.toString()).toBe(EXPECTED)
  })

  it('other formats flatten the same way (JSON, dotenv)', async () => {
    const json = path.join(dir, 'c.json')
    fs.writeFileSync(json, '{"api": {"keys": ["k1", "k2"], "retries": 3}, "on": false}')
    expect((await runCli(['encrypt', '--age', age.recipient, '-i', json], { env: env() })).code).toBe(0)
    expect((await runCli(['decrypt', '--terraform', json], { env: env() })).stdout.toString()).toBe(
      '{"api.keys.0":"k1","api.keys.1":"k2","api.retries":"3","on":"false"}\n',
    )
    const dotenv = path.join(dir, 'c.env')
    fs.writeFileSync(dotenv, 'TOKEN=abc\nPORT=80\n')
    expect((await runCli(['encrypt', '--age', age.recipient, '-i', dotenv], { env: env() })).code).toBe(0)
    expect((await runCli(['decrypt', '--terraform'], { env: env(), input: JSON.stringify({ file: dotenv }) })).stdout.toString()).toBe(
      '{"TOKEN":"abc","PORT":"80"}\n',
    )
  })

  it('--extract narrows the result to one map', async () => {
    const r = await runCli(['decrypt', '--terraform', '--extract', '["db"]', file], { env: env() })
    expect(r.stdout.toString()).toBe('{"password":"s3cr3t","port":"5432","ratio":"0.25","big":"1.0000005e+06"}\n')
    const scalar = await runCli(['decrypt', '--terraform', '--extract', '["debug"]', file], { env: env() })
    expect(scalar.code).toBe(1)
    expect(scalar.stdout.length).toBe(0)
  })

  it.each([
    ['empty stdin', '', 'no query on standard input'],
    ['not JSON', 'file=x', 'not valid JSON'],
    ['not an object', '["x"]', 'must be a JSON object'],
    ['no file', '{}', 'the query has no "file"'],
    ['a non-string value', '{"file": 3}', 'must be a string'],
    ['an unknown key', '{"file": "x.yaml", "path": "y"}', 'unknown query key "path"'],
  ])('a bad query (%s) fails on stderr with exit 1 and nothing on stdout', async (_what, input, message) => {
    const r = await runCli(['decrypt', '--terraform'], { env: env(), input })
    expect(r.code).toBe(1)
    expect(r.stdout.length).toBe(0)
    expect(r.stderr).toContain(message)
    expect(r.stderr).toMatch(/^tsops: error: /)
  })

  it('decryption failures keep sops exit codes and never print plaintext', async () => {
    const missing = await runCli(['decrypt', '--terraform'], { env: env(), input: JSON.stringify({ file: path.join(dir, 'missing.yaml') }) })
    expect(missing.code).toBe(100)
    expect(missing.stdout.length).toBe(0)
    const noKey = await runCli(['decrypt', '--terraform', file], { env: cleanEnv({ XDG_CONFIG_HOME: path.join(dir, 'none') }) })
    expect(noKey.code).toBe(128)
    expect(noKey.stdout.length).toBe(0)
    expect(noKey.stderr).toContain(age.recipient)
    expect(noKey.stderr).not.toContain('s3cr3t')
    const conflicting = await runCli(['decrypt', '--terraform', '--output', path.join(dir, 'o.json'), file], { env: env() })
    expect(conflicting.code).toBe(8)
    expect(fs.existsSync(path.join(dir, 'o.json'))).toBe(false)
  })
})
