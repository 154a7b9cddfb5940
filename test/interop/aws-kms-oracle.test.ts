/**
 * Real sops decrypts what tsops encrypted with an AWS KMS key: tsops talks to the loopback KMS
 * (real SDK, SigV4 checked), and the oracle's sops answers its KMS Decrypt requests with the same
 * KMS logic (SOPS_ORACLE_KMS_MODULE → test/helpers/servers/aws-kms-oracle-module.mjs), whose
 * key material is deterministic — so the blob, the key ARN and the encryption context written by
 * tsops must be exactly what sops sends back to KMS.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { FIXTURES, ORACLE, REPO_ROOT } from '../helpers/paths.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { kmsEnv, startKmsServer, testKeyArn, type KmsServer } from '../helpers/servers/aws-kms.js'

const KMS_MODULE = path.join(REPO_ROOT, 'test/helpers/servers/aws-kms-oracle-module.mjs')
const ARN = testKeyArn('oracle-interop', 'eu-west-3')
const SECOND_ARN = testKeyArn('oracle-interop-2', 'us-east-2')

let kms: KmsServer
let work: string
/** A KMS module that answers with KMS_MODULE and records each request real sops made. */
let recordingModule: string
let requestLog: string
beforeAll(async () => {
  kms = await startKmsServer()
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-kms-oracle-'))
  requestLog = path.join(work, 'kms-requests.jsonl')
  recordingModule = path.join(work, 'recording-kms.mjs')
  fs.writeFileSync(
    recordingModule,
    `import fs from 'node:fs'\n` +
      `import { handle as answer } from ${JSON.stringify(pathToFileURL(KMS_MODULE).href)}\n` +
      `export function handle(target, input) {\n` +
      `  const [status, out] = answer(target, input)\n` +
      `  const entry = { target, KeyId: input.KeyId, EncryptionContext: input.EncryptionContext, status, error: out.__type }\n` +
      `  fs.appendFileSync(${JSON.stringify(requestLog)}, JSON.stringify(entry) + '\\n')\n` +
      `  return [status, out]\n` +
      `}\n`,
  )
})
beforeEach(() => fs.rmSync(requestLog, { force: true }))

interface SopsKmsRequest {
  target: string
  KeyId?: string
  EncryptionContext?: Record<string, string>
  status: number
  error?: string
}
const sopsRequests = (): SopsKmsRequest[] =>
  fs.existsSync(requestLog) ? fs.readFileSync(requestLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SopsKmsRequest) : []
afterAll(async () => {
  await kms.close()
  fs.rmSync(work, { recursive: true, force: true })
})

/** tsops's env: loopback KMS, no developer AWS settings. */
function tsopsEnv(): Record<string, string | undefined> {
  const env = cleanEnv({ HOME: work })
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k]
  return { ...env, ...kmsEnv(kms) }
}

/** The oracle's env: no age/PGP key at all, so KMS is the only way in. */
const oracleEnv = () => cleanEnv({ HOME: work, SOPS_ORACLE_KMS_MODULE: recordingModule })

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
    const real = await runCli([file, format], { env: oracleEnv(), command: [process.execPath, ORACLE] })
    expect(real.stderr).toBe('')
    expect(real.code).toBe(0)
    // Real sops asked KMS with the ARN and the context tsops wrote into the metadata.
    expect(sopsRequests()).toEqual([
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
    const real = await runCli([file, 'yaml'], { env: oracleEnv(), command: [process.execPath, ORACLE] })
    expect(real.stderr).toBe('')
    expect(real.code).toBe(0)
    // sops stops at the first key that works; without a context in the metadata it sends an empty one.
    expect(sopsRequests()).toEqual([{ target: 'TrentService.Decrypt', KeyId: ARN, EncryptionContext: {}, status: 200 }])
  })

  it('sops sends the context from the metadata: a changed context is refused by KMS', async () => {
    const file = await encrypt('rich.yaml', ['--kms', ARN, '--encryption-context', 'app:web,team:ops'])
    const text = fs.readFileSync(file, 'utf8')
    expect(text).toContain('team: ops')
    fs.writeFileSync(file, text.replace('team: ops', 'team: dev'))
    const real = await runCli([file, 'yaml'], { env: oracleEnv(), command: [process.execPath, ORACLE] })
    expect(real.code).toBe(1)
    expect(real.stderr).toMatch(/Error getting data key/)
    expect(sopsRequests()).toEqual([
      { target: 'TrentService.Decrypt', KeyId: ARN, EncryptionContext: { app: 'web', team: 'dev' }, status: 400, error: 'InvalidCiphertextException' },
    ])
  })

  it('without the KMS module the oracle cannot decrypt (KMS really is the only key)', async () => {
    const file = await encrypt('rich.json', ['--kms', ARN])
    const env = oracleEnv()
    delete env.SOPS_ORACLE_KMS_MODULE
    const real = await runCli([file, 'json'], { env, command: [process.execPath, ORACLE] })
    expect(real.code).toBe(1)
    expect(real.stderr).toMatch(/Error getting data key/)
    expect(sopsRequests()).toEqual([])
  })
})
