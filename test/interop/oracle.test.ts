/**
 * "Real sops reads what we write": files encrypted by tsops are decrypted by the real sops 3.13.2
 * binary (test/helpers/real-sops.mjs), MAC included, and give the values tsops decrypts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FIXTURES, ORACLE } from '../helpers/paths.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { fixtureGpgHome, FIXTURE_KEYS, type GpgHome } from '../helpers/gpg.js'
import { generateAgeIdentity } from '../../src/keys/age.js'

let gpg: GpgHome
let age: { identity: string; recipient: string }
let work: string
beforeAll(async () => {
  gpg = await fixtureGpgHome()
  age = await generateAgeIdentity()
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-oracle-'))
})
afterAll(async () => {
  await gpg?.cleanup()
  fs.rmSync(work, { recursive: true, force: true })
})

const env = () => cleanEnv({ GNUPGHOME: gpg.home, SOPS_AGE_KEY: age.identity })

async function encryptWith(fixture: string, keyArgs: string[], extra: string[] = []): Promise<string> {
  const out = path.join(work, `${Math.random().toString(36).slice(2)}-${path.basename(fixture)}`)
  // The comment-regex flags are sops's legacy-mode flags: like sops, the encrypt subcommand ignores them.
  const mode = extra.some((f) => f.endsWith('-comment-regex')) ? '-e' : 'encrypt'
  const result = await runCli([mode, ...keyArgs, ...extra, '--output', out, path.join(FIXTURES, 'oracle', fixture)], { env: env(), cwd: work })
  expect(result.stderr).toBe('')
  expect(result.code).toBe(0)
  return out
}

async function oracle(file: string, format: string) {
  return runCli([file, format], { env: env(), command: [process.execPath, ORACLE] })
}

const KEYSETS: Record<string, () => string[]> = {
  'age only': () => ['--age', age.recipient],
  'PGP only': () => ['--pgp', FIXTURE_KEYS.key1],
  'age+PGP': () => ['--age', age.recipient, '--pgp', FIXTURE_KEYS.key1],
}

const FILES: [string, string][] = [
  ['rich.yaml', 'yaml'],
  ['multidoc.yaml', 'yaml'],
  ['rich.json', 'json'],
  ['rich.env', 'dotenv'],
  ['blob.bin', 'binary'],
  ['rich.ini', 'ini'],
]

describe.each(Object.keys(KEYSETS))('sops oracle accepts tsops output (%s)', (keyset) => {
  it.each(FILES)('%s', async (fixture, format) => {
    const encrypted = await encryptWith(fixture, KEYSETS[keyset]!())
    const real = await oracle(encrypted, format)
    expect(real.stderr).toBe('')
    expect(real.code).toBe(0)
    const ours = await runCli(['decrypt', encrypted], { env: env() })
    expect(ours.code).toBe(0)
    if (format === 'binary') expect(real.stdout.equals(fs.readFileSync(path.join(FIXTURES, 'oracle', fixture)))).toBe(true)
    // The real binary prints what its own store emits: byte for byte what tsops prints.
    expect(real.stdout.toString('latin1')).toBe(ours.stdout.toString('latin1'))
  })
})

const RULES: [string, string[]][] = [
  ['encrypted_regex', ['--encrypted-regex', '^(password|user|name)$']],
  ['unencrypted_regex', ['--unencrypted-regex', '^(port|enabled)$']],
  ['encrypted_suffix', ['--encrypted-suffix', 'word']],
  ['unencrypted_suffix', ['--unencrypted-suffix', '_clear']],
  ['unencrypted_comment_regex', ['--unencrypted-comment-regex', 'first server']],
  ['encrypted_comment_regex', ['--encrypted-comment-regex', 'database']],
  ['mac_only_encrypted', ['--mac-only-encrypted', '--encrypted-regex', '^password$']],
]

describe('sops oracle accepts every rule option', () => {
  // rules.json is rich.json without a clear int beyond 2^53: sops ≤3.9 (the oracle) hashes JSON
  // numbers as float64, sops ≥3.10 (and tsops, spec §5.2) as int64, so such a clear value has
  // no MAC both can agree on. Encrypted big ints (type:int) are fine in both (see rich.json).
  it.each(RULES)('%s (yaml and json)', async (_name, flags) => {
    for (const [fixture, format] of [['rich.yaml', 'yaml'], ['rules.json', 'json']] as const) {
      // Comment rules exist only as legacy global flags in sops (encryptWith uses -e for them).
      const encrypted = await encryptWith(fixture, KEYSETS['age only']!(), flags)
      const real = await oracle(encrypted, format)
      expect(real.stderr).toBe('')
      expect(real.code).toBe(0)
    }
  })
})

describe('YAML timestamps (sops 3.10+ encrypts them as type:time)', () => {
  // The sops 3.9.2 library oracle had no `time` type and refused every timestamp; real sops
  // 3.13.2 reads tsops's files with clear and encrypted timestamps, MAC included.
  it('real sops decrypts clear and encrypted timestamps tsops wrote, with the values tsops decrypts', async () => {
    const plain = path.join(work, 'when.yaml')
    fs.writeFileSync(plain, 'when: 2024-01-01\nat: 2024-01-02T03:04:05Z\nzoned: 2024-01-02T03:04:05+02:00\nkept_unencrypted: 2024-05-06T07:08:09Z\nname: x\n')
    const out = path.join(work, 'when.enc.yaml')
    const r = await runCli(['encrypt', '--age', age.recipient, '--output', out, plain], { env: env() })
    expect(r.code).toBe(0)
    const text = fs.readFileSync(out, 'utf8')
    expect(text).toMatch(/^when: ENC\[AES256_GCM,data:[^\]]+,type:time\]$/m)
    expect(text).toMatch(/^kept_unencrypted: 2024-05-06T07:08:09Z$/m)
    const real = await oracle(out, 'yaml')
    expect(real.stderr).toBe('')
    expect(real.code).toBe(0)
    const ours = await runCli(['decrypt', out], { env: env() })
    expect(ours.code).toBe(0)
    expect(real.stdout.toString()).toBe(ours.stdout.toString())
    expect(real.stdout.toString()).toContain('when: 2024-01-01T00:00:00Z\nat: 2024-01-02T03:04:05Z\nzoned: 2024-01-02T03:04:05+02:00\nkept_unencrypted: 2024-05-06T07:08:09Z\n')
  })
})
