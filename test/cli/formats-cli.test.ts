/**
 * The non-YAML/JSON formats through the CLI: INI rules (go-ini's round trip), dotenv, binary
 * (non-UTF-8 bytes, trailing newlines) and format conversion on decrypt.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { FIXTURES } from '../helpers/paths.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir } = tempWorkspace('tsops-formats-')
let age: { identity: string; recipient: string }
const env = () => cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg') })

beforeAll(async () => {
  age = await testAgeIdentity()
})

async function roundTrip(name: string, content: Buffer | string, extra: string[] = []): Promise<{ encrypted: Buffer; decrypted: Buffer }> {
  const file = path.join(dir, name)
  fs.writeFileSync(file, content)
  const enc = await runCli(['encrypt', '--age', age.recipient, ...extra, file], { env: env() })
  expect(enc.stderr).toBe('')
  expect(enc.code).toBe(0)
  const encFile = path.join(dir, `enc-${name}`)
  fs.writeFileSync(encFile, enc.stdout)
  const dec = await runCli(['decrypt', ...extra, encFile], { env: env() })
  expect(dec.stderr).toBe('')
  expect(dec.code).toBe(0)
  return { encrypted: enc.stdout, decrypted: dec.stdout }
}

describe('INI', () => {
  it("decrypts to sops's own INI round trip: inline #/; comments, quotes, backticks, ':' delimiter, DEFAULT, duplicate sections", async () => {
    const { encrypted, decrypted } = await roundTrip('rules.ini', fs.readFileSync(path.join(FIXTURES, 'ini/rules.ini')))
    expect(decrypted.toString()).toBe(fs.readFileSync(path.join(FIXTURES, 'ini/rules.ini.expected'), 'utf8'))
    const text = encrypted.toString()
    expect(text).toContain('global_unencrypted = clear before any section')
    expect(text).toMatch(/^; ENC\[AES256_GCM,.*type:comment\]$/m)
    expect(text).not.toContain('s3cr3t')
    expect(text).toMatch(/^\[sops\]$/m)
    expect(text).toMatch(/^mac\s*=\s*ENC\[AES256_GCM,.*,type:str\]$/m)
  })
})

describe('dotenv', () => {
  it('round-trips without trimming or quote handling, comments encrypted', async () => {
    const plain = '# comment\nKEY=a=b\nSPACED = x \nQ="quoted"\nexport X=1\nEMPTY=\nMULTI=line1\\nline2\n'
    const { encrypted, decrypted } = await roundTrip('app.env', plain)
    expect(decrypted.toString()).toBe(plain)
    expect(encrypted.toString()).toMatch(/^#ENC\[AES256_GCM,/m)
    expect(encrypted.toString()).toMatch(/^sops_mac=ENC\[/m)
    expect(encrypted.toString()).toContain('EMPTY=\n')
  })
})

describe('binary', () => {
  it('keeps every byte: non-UTF-8 data and trailing newlines', async () => {
    const data = Buffer.concat([Buffer.from([0, 0xff, 0xfe, 0x80, 0xc3]), Buffer.from('text\n\n\n')])
    const { encrypted, decrypted } = await roundTrip('blob.bin', data)
    expect(decrypted.equals(data)).toBe(true)
    expect(encrypted.toString()).toMatch(/^\{\n\t"data": "ENC\[AES256_GCM,/)
  })

  it('an empty file stays empty', async () => {
    const { decrypted } = await roundTrip('empty.bin', '')
    expect(decrypted.length).toBe(0)
  })
})

describe('format conversion on decrypt', () => {
  it('YAML to JSON and dotenv, JSON to YAML', async () => {
    const file = path.join(dir, 'conv.yaml')
    fs.writeFileSync(file, 'a: 1\nb: text\nc: 1.5\nd: true\n')
    const enc = await runCli(['encrypt', '--age', age.recipient, '-i', file], { env: env() })
    expect(enc.code).toBe(0)
    const asJson = await runCli(['decrypt', '--output-type', 'json', file], { env: env() })
    expect(asJson.stdout.toString()).toBe('{\n\t"a": 1,\n\t"b": "text",\n\t"c": 1.5,\n\t"d": true\n}\n')
    const asEnv = await runCli(['decrypt', '--output-type', 'dotenv', file], { env: env() })
    expect(asEnv.stdout.toString()).toBe('a=1\nb=text\nc=1.5\nd=true\n')
    const asIni = await runCli(['decrypt', '--output-type', 'ini', file], { env: env() })
    expect(asIni.code).not.toBe(0) // INI needs sections: top-level scalars cannot be written
    expect(asIni.stdout.length).toBe(0)
  })
})

describe('TOML through the CLI', () => {
  it('round-trips byte for byte, converts to JSON and extracts a string raw', async () => {
    const plain = '# app\nname = "svc" # inline\nport = 0x1F90\n[db]\npassword = \'p4ss\'\n'
    const { encrypted, decrypted } = await roundTrip('app.toml', plain)
    expect(decrypted.toString()).toBe(plain)
    expect(encrypted.toString()).not.toContain('p4ss')
    const enc = path.join(dir, 'enc-app.toml')
    const asJson = await runCli(['decrypt', '--output-type', 'json', enc], { env: env() })
    expect(asJson.stdout.toString()).toBe('{\n\t"name": "svc",\n\t"port": 8080,\n\t"db": {\n\t\t"password": "p4ss"\n\t}\n}\n')
    const extracted = await runCli(['decrypt', '--extract', '["db"]["password"]', enc], { env: env() })
    expect(extracted.stdout.toString()).toBe('p4ss')
  })
})
