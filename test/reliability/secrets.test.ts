/**
 * Secrets never reach stdout on failure, stderr or --verbose output: a wrong key (exit 128), a
 * tampered value (exit 25: the key path is named, no value and no ciphertext), a plaintext that
 * fails to parse on the very line holding the secret, and runtime errors whose messages quote
 * their input (reportError redacts them).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { reportError } from '../../src/cli/main.js'
import { DecryptValueError } from '../../src/core/errors.js'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { EXTENSION, SAMPLES, SECRET, STACK_LINE, type SampleFormat } from './support.js'
import { tempWorkspace } from '../helpers/workspace.js'
import { makeSopsBin } from '../integrations/sops-bin.js'

const FORMATS: SampleFormat[] = ['yaml', 'json', 'dotenv', 'ini', 'binary', 'toml']
/** Where each sample keeps SECRET, as the error names it. */
/** The key holding SECRET, then its ciphertext. */
const SECRET_CIPHER = /((?:password|PASSWORD|"data")["\s]*[:=]\s*"?)(ENC\[AES256_GCM,data:[^\]]+\])/
const SECRET_PATH: Record<SampleFormat, string> = { yaml: 'db.password', json: 'db.password', dotenv: 'PASSWORD', ini: 'db.password', binary: 'data', toml: 'db.password' }

const { dir, write } = tempWorkspace('tsops-secrets-')
let owner: { identity: string; recipient: string }
let stranger: { identity: string; recipient: string }
const env = (identity: string) => cleanEnv({ SOPS_AGE_KEY: identity, XDG_CONFIG_HOME: path.join(dir, 'xdg') })
const encrypted = new Map<SampleFormat, string>()

function expectNoSecret(...texts: (string | Buffer)[]): void {
  for (const t of texts) {
    const s = t.toString()
    expect(s).not.toContain(SECRET)
    expect(s).not.toContain(SECRET.slice(0, 12)) // nor a recognisable part of it
  }
}

beforeAll(async () => {
  owner = await testAgeIdentity()
  stranger = await generateAgeIdentity()
  for (const format of FORMATS) {
    const file = path.join(dir, `sample.${EXTENSION[format]}`)
    fs.writeFileSync(file, SAMPLES[format])
    const r = await runCli(['encrypt', '-i', '--age', owner.recipient, file], { env: env(owner.identity) })
    expect(r.code).toBe(0)
    encrypted.set(format, fs.readFileSync(file, 'utf8'))
  }
})

describe.concurrent.each(FORMATS)('%s', (format) => {
  it('wrong key: exit 128, every key tried is listed, nothing secret anywhere (also --verbose)', async () => {
    const file = write(`wrong-key.${EXTENSION[format]}`, encrypted.get(format)!)
    for (const flags of [[], ['--verbose']]) {
      const r = await runCli(['decrypt', ...flags, file], { env: env(stranger.identity) })
      expect(r.code).toBe(128)
      expect(r.stdout.length).toBe(0)
      expect(r.stderr).toContain('Failed to get the data key required to decrypt the SOPS file.')
      expect(r.stderr).toContain(`${owner.recipient}: FAILED`)
      expect(r.stderr).not.toMatch(STACK_LINE)
      expectNoSecret(r.stdout, r.stderr)
      expect(r.stderr).not.toContain(stranger.identity)
      expect(r.stderr).not.toContain(owner.identity)
    }
  })

  it('tampered value: exit 25, the key path is named, no value and no ciphertext', async () => {
    const text = encrypted.get(format)!
    const secretCipher = SECRET_CIPHER.exec(text)![2]!
    // Another value's ciphertext in the secret's place fails GCM on the AAD (the key path);
    // binary files have one value, so one of its ciphertext characters is changed instead.
    const other = [...text.matchAll(/ENC\[AES256_GCM,data:[^\]]+,type:(str|string)\]/g)].map((m) => m[0]).find((v) => v !== secretCipher)
    const tampered = text.replace(secretCipher, other ?? secretCipher.replace(/data:(.)/, (_m, c) => `data:${c === 'A' ? 'B' : 'A'}`))
    expect(tampered).not.toBe(text)
    const file = write(`tampered.${EXTENSION[format]}`, tampered)
    for (const flags of [[], ['--verbose']]) {
      const r = await runCli(['decrypt', ...flags, file], { env: env(owner.identity) })
      expect(r.code, r.stderr).toBe(25)
      expect(r.stdout.length).toBe(0)
      expect(r.stderr).toContain('Error decrypting tree: Error walking tree: Could not decrypt value: Could not decrypt with AES_GCM: cipher: message authentication failed')
      expect(r.stderr).toContain(`tsops: hint: The value at ${SECRET_PATH[format]} was changed by hand`)
      expect(r.stderr).not.toContain('ENC[')
      expect(r.stderr).not.toMatch(STACK_LINE)
      expectNoSecret(r.stdout, r.stderr)
    }
  })

  it('a successful --verbose decrypt prints the plaintext on stdout only', async () => {
    const file = write(`ok.${EXTENSION[format]}`, encrypted.get(format)!)
    const r = await runCli(['decrypt', '--verbose', file], { env: env(owner.identity) })
    expect(r.code).toBe(0)
    expect(r.stdout.toString('latin1')).toContain(SECRET)
    expectNoSecret(r.stderr)
  })
})

describe.concurrent('a parse error on the line holding the secret does not echo it', () => {
  it.each([
    ['yaml explicit tag', 'bad.yaml', `password: !!int ${SECRET}\n`, /cannot decode !!str value as a !!int\ntsops: hint: at line 1, column 17/],
    ['yaml syntax', 'bad2.yaml', `password: "${SECRET}`, /Error unmarshaling input YAML: .*\ntsops: hint: at line \d+, column \d+/],
    ['json', 'bad.json', `{"password": ${SECRET}}`, /invalid character 'h' looking for beginning of value\ntsops: hint: at line 1, column 14/],
    ['dotenv', 'bad.env', `USER=admin\n${SECRET}\n`, /invalid dotenv input line: missing '='\ntsops: hint: at line 2/],
    ['ini', 'bad.ini', `[db]\n${SECRET}\n`, /key-value delimiter not found\ntsops: hint: at line 2/],
    ['toml', 'bad.toml', `password = ${SECRET}\n`, /Could not parse TOML: .*\ntsops: hint: at line 1, column \d+/],
  ])('%s', async (_what, name, content, message) => {
    const r = await runCli(['encrypt', '--age', owner.recipient, write(name, content)], { env: env(owner.identity) })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    // The line, masked (no letter or digit survives), and a caret under the column when there is one.
    const excerpt = /\ntsops: hint: at line [^\n]*\n {4}([^A-Za-z0-9\n]+)\n(?: {4}([ \t]*)\^\n)?$/.exec(r.stderr)
    expect(excerpt, r.stderr).not.toBeNull()
    if (message.source.includes('column')) expect(excerpt![2]).toBeDefined()
    expectNoSecret(r.stdout, r.stderr)
  })

  it('run as sops, stderr is sops\'s message alone: no hint, no excerpt', async () => {
    const file = write('bad-sops.json', `{"password": ${SECRET}}`)
    const bin = makeSopsBin()
    try {
      const r = await runCli(['encrypt', '--age', owner.recipient, file], { env: env(owner.identity), command: [path.join(bin.binDir, 'sops')] })
      expect(r.code).toBe(2)
      expect(r.stderr).toBe("Error unmarshalling file: Could not unmarshal input data: invalid character 'h' looking for beginning of value\n")
    } finally {
      bin.cleanup()
    }
  })
})

describe('reportError', () => {
  function report(err: unknown, verbose = false): { code: number; stderr: string } {
    const chunks: string[] = []
    const real = fs.writeSync
    fs.writeSync = ((fd: number, data: string | Uint8Array, offset?: number | null, length?: number | null) => {
      const from = offset ?? 0
      const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data).subarray(from, from + (length ?? data.length - from))
      if (fd === 2) chunks.push(bytes.toString('utf8'))
      return bytes.length
    }) as typeof fs.writeSync
    try {
      return { code: reportError(err, verbose), stderr: chunks.join('') }
    } finally {
      fs.writeSync = real
    }
  }

  it('redacts what runtime errors quote from their input, also in --verbose (frames only)', () => {
    let parseError: unknown
    try {
      JSON.parse(`"${SECRET}`)
    } catch (e) {
      parseError = e
    }
    const typeError = new TypeError(`Cannot read properties of undefined (reading '${SECRET}')`)
    for (const err of [parseError, typeError, new RangeError(`bad "${SECRET}"`), `${SECRET}`]) {
      for (const verbose of [false, true]) {
        const r = report(err, verbose)
        expect(r.code).toBe(1)
        expect(r.stderr.startsWith('tsops: error: unexpected failure: ')).toBe(true)
        expectNoSecret(r.stderr)
        if (!verbose) expect(r.stderr).not.toMatch(STACK_LINE)
      }
    }
    expect(report(typeError, true).stderr).toMatch(STACK_LINE)
  })

  it('keeps TsopsError messages and exit codes, escapes control characters, survives broken errors', () => {
    const r = report(new DecryptValueError('bad key \x1b[31mred\x1b[0m\u009b', { hint: 'a hint' }))
    expect(r.code).toBe(25)
    expect(r.stderr).toBe('tsops: error: bad key \\x1b[31mred\\x1b[0m\\x9b\ntsops: hint: a hint\n')
    const hostile = new Error('x')
    Object.defineProperty(hostile, 'message', { get: () => { throw new Error('getter') } })
    expect(report(hostile).code).toBe(1)
    expect(report(Object.create(null)).code).toBe(1)
    expect(report(new RangeError('Maximum call stack size exceeded')).stderr).toBe('tsops: error: unexpected failure: the input is nested too deeply to process\n')
  })
})
