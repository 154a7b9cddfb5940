/**
 * Real sops 3.13.2 decrypts what tsops encrypted with an AWS KMS key: both talk to the loopback
 * KMS (real SDKs, SigV4 checked), whose key material is deterministic — so the blob, the key ARN
 * and the encryption context written by tsops must be exactly what sops sends back to KMS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseAllDocuments } from 'yaml'
import { FIXTURES, ORACLE } from '../helpers/paths.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { kmsEnv, startKmsServer, testKeyArn, type KmsServer } from '../helpers/servers/aws-kms.js'

const ARN = testKeyArn('oracle-interop', 'eu-west-3')
const SECOND_ARN = testKeyArn('oracle-interop-2', 'us-east-2')

let kms: KmsServer
let work: string
beforeAll(async () => {
  kms = await startKmsServer()
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-kms-oracle-'))
})
afterAll(async () => {
  await kms.close()
  fs.rmSync(work, { recursive: true, force: true })
})

interface SopsKmsRequest {
  target: string
  KeyId?: string
  EncryptionContext?: Record<string, string>
  status: number
  error?: string
}

/** The KMS requests the loopback server answered since `mark` (an index into its log). */
const requestsSince = (mark: number): SopsKmsRequest[] =>
  kms.log.slice(mark).filter((e) => e.service === 'kms').map((e) => ({
    target: `TrentService.${e.operation}`,
    KeyId: e.input?.KeyId,
    EncryptionContext: e.input?.EncryptionContext ?? {},
    status: e.status,
    ...(e.error === undefined ? {} : { error: e.error }),
  }))

/** No developer AWS settings, and no instance metadata service to fall back to. */
function noAwsEnv(): Record<string, string | undefined> {
  const env = cleanEnv({ HOME: work, AWS_EC2_METADATA_DISABLED: 'true' })
  for (const k of Object.keys(env)) if (k.startsWith('AWS_') && k !== 'AWS_EC2_METADATA_DISABLED') delete env[k]
  return env
}

/** tsops's env: loopback KMS. */
const tsopsEnv = () => ({ ...noAwsEnv(), ...kmsEnv(kms) })

/** Real sops's env: the same loopback KMS and no age/PGP key at all, so KMS is the only way in. */
const oracleEnv = () => ({ ...noAwsEnv(), ...kmsEnv(kms) })

/** Real sops decrypts `file`; the KMS requests it made. */
async function realDecrypt(file: string, format: string, env = oracleEnv()) {
  const mark = kms.log.length
  const result = await runCli([file, format], { env, command: [process.execPath, ORACLE] })
  return { ...result, requests: requestsSince(mark) }
}

function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize)
  if (v instanceof Date) return v.toISOString().replace('.000Z', 'Z')
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]))
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v)
  if (typeof v === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v)) return Number(v)
  if (v === '<nil>') return null
  if (v === 'true' || v === 'false') return v === 'true'
  return v
}
const values = (text: string) => parseAllDocuments(text, { intAsBigInt: true }).map((d) => normalize(d.toJS({ mapAsMap: false })))

async function encrypt(fixture: string, keyArgs: string[]): Promise<string> {
  const out = path.join(work, `${Math.random().toString(36).slice(2)}-${fixture}`)
  const r = await runCli(['encrypt', ...keyArgs, '--output', out, path.join(FIXTURES, 'oracle', fixture)], { env: tsopsEnv(), cwd: work })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return out
}

const FILES: [string, string][] = [
  ['rich.yaml', 'yaml'],
  ['rich.json', 'json'],
  ['rich.env', 'dotenv'],
  ['blob.bin', 'binary'],
]

describe('the sops oracle decrypts tsops files encrypted with AWS KMS', () => {
  it.each(FILES)('%s, with an encryption context', async (fixture, format) => {
    const file = await encrypt(fixture, ['--kms', ARN, '--encryption-context', 'app:web,team:ops'])
    const real = await realDecrypt(file, format)
    expect(real.stderr).toBe('')
    expect(real.code).toBe(0)
    // Real sops asked KMS with the ARN and the context tsops wrote into the metadata.
    expect(real.requests).toEqual([
      { target: 'TrentService.Decrypt', KeyId: ARN, EncryptionContext: { app: 'web', team: 'ops' }, status: 200 },
    ])
    const original = fs.readFileSync(path.join(FIXTURES, 'oracle', fixture))
    if (format === 'binary') expect(real.stdout.equals(original)).toBe(true)
    else {
      const ours = await runCli(['decrypt', file], { env: tsopsEnv() })
      expect(ours.code).toBe(0)
      if (format === 'dotenv') expect(real.stdout.toString()).toBe(ours.stdout.toString())
      else expect(values(real.stdout.toString())[0]).toEqual(values(ours.stdout.toString())[0])
    }
  })

  it('two KMS keys in different regions, no context', async () => {
    const file = await encrypt('rich.yaml', ['--kms', `${ARN},${SECOND_ARN}`])
    const real = await realDecrypt(file, 'yaml')
    expect(real.stderr).toBe('')
    expect(real.code).toBe(0)
    // sops stops at the first key that works; without a context in the metadata it sends an empty one.
    expect(real.requests).toEqual([{ target: 'TrentService.Decrypt', KeyId: ARN, EncryptionContext: {}, status: 200 }])
  })

  it('sops sends the context from the metadata: a changed context is refused by KMS', async () => {
    const file = await encrypt('rich.yaml', ['--kms', ARN, '--encryption-context', 'app:web,team:ops'])
    const text = fs.readFileSync(file, 'utf8')
    expect(text).toContain('team: ops')
    fs.writeFileSync(file, text.replace('team: ops', 'team: dev'))
    const real = await realDecrypt(file, 'yaml')
    expect(real.code).toBe(1)
    expect(real.stderr).toMatch(/Failed to get the data key required to decrypt the SOPS file/)
    expect(real.requests).toEqual([
      { target: 'TrentService.Decrypt', KeyId: ARN, EncryptionContext: { app: 'web', team: 'dev' }, status: 400, error: 'InvalidCiphertextException' },
    ])
  })

  it('without the loopback KMS real sops cannot decrypt (KMS really is the only key)', async () => {
    const file = await encrypt('rich.json', ['--kms', ARN])
    const real = await realDecrypt(file, 'json', { ...noAwsEnv(), AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'x', AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9' })
    expect(real.code).toBe(1)
    expect(real.stderr).toMatch(/Failed to get the data key required to decrypt the SOPS file/)
    expect(real.requests).toEqual([])
  })
})
