/**
 * HuaweiCloud KMS key source through the real fetch against the loopback KMS in
 * test/helpers/servers/hckms.ts, which checks every request's SDK-HMAC-SHA256 signature.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { endpointOf, fromEntry, fromSpec, parseKeyId } from '../../src/keys/hckms.js'
import { canonicalRequest, signRequest, signedHeaderNames } from '../../src/keys/hckms-sign.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry } from '../../src/keys/types.js'
import { keySourceFromSpec } from '../../src/keys/registry.js'
import { readMetadata } from '../../src/keys/metadata.js'
import { loadEncryptedParser } from '../../src/formats/registry.js'
import { GenericError } from '../../src/core/errors.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { closedPortUrl } from '../helpers/servers/aws-kms.js'
import { HCKMS_AK, HCKMS_PROJECT_ID, HCKMS_SK, regionEnvName, startHckmsServer, type HckmsServer } from '../helpers/servers/hckms.js'
import { writtenEntry } from '../helpers/written-entry.js'

let kms: HckmsServer
let other: HckmsServer
let uuid: string
let dir: string
const ctxFor = (extra: Record<string, string | undefined> = {}): KeyContext => ({ env: { HOME: dir, ...kms.env(), ...extra } })
const dataKey = () => new Uint8Array(crypto.randomBytes(32))

beforeAll(async () => {
  kms = await startHckmsServer()
  other = await startHckmsServer()
  uuid = kms.createKey()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-hckms-'))
})
afterAll(async () => {
  await kms.close()
  await other.close()
  fs.rmSync(dir, { recursive: true, force: true })
})
afterEach(() => {
  kms.log.length = 0
  kms.state.unavailable = 0
})

/** The reason of a rejected unwrap, or the message of a rejected wrap. */
async function failure(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  if (e instanceof KeyUnwrapError) return e.reason
  if (e instanceof Error) return e.message
  throw new Error('expected a failure')
}

describe('signing (SDK-HMAC-SHA256)', () => {
  it('gives the Go SDK\'s own test vector (signer_test.go test1)', () => {
    // GET /path?limit=1 with X-Sdk-Date 20060102T150405Z and a header with `_` (never signed).
    const headers = signRequest({ method: 'GET', path: '/path', query: { limit: '1' }, headers: { TEST_UNDERSCORE: 'TEST_VALUE' }, body: '' }, 'AccessKey', 'SecretKey', new Date('2006-01-02T15:04:05Z'))
    expect(headers).toEqual({
      'X-Sdk-Date': '20060102T150405Z',
      Authorization: 'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624',
    })
  })

  it('escapes the query like the SDK (signer_test.go canonicalQueryString) and never signs Content-Type', () => {
    const canonical = canonicalRequest({ method: 'GET', path: '/a b', query: { test: '一 (&=?!#%.*)', path: '/tmp/123' }, headers: {}, body: '' }, [])
    expect(canonical.split('\n').slice(0, 3)).toEqual(['GET', '/a%20b/', 'path=%2Ftmp%2F123&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29'])
    expect(signedHeaderNames({ 'Content-Type': 'application/json', 'X-Project-Id': 'p', 'User-Agent': 'u', A_B: 'x' })).toEqual(['user-agent', 'x-project-id'])
  })

  it('every request tsops sends carries the test AK, the date and the project id under the signature', async () => {
    await fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor())
    expect(kms.log).toHaveLength(1)
    expect(kms.log[0]).toMatchObject({ status: 200, access: HCKMS_AK, path: `/v1.0/${HCKMS_PROJECT_ID}/kms/encrypt-data` })
    expect(kms.log[0]!.signedHeaders).toEqual(['user-agent', 'x-project-id', 'x-sdk-date'])
  })

  it('the server refuses a tampered signature, a changed body and a wrong secret key (APIGW.0301)', async () => {
    const requestPath = `/v1.0/${HCKMS_PROJECT_ID}/kms/encrypt-data`
    const body = JSON.stringify({ key_id: uuid, plain_text: 'YQ==' })
    const send = async (sk: string, edit: (h: Record<string, string>) => void, sentBody = body) => {
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Project-Id': HCKMS_PROJECT_ID }
      Object.assign(headers, signRequest({ method: 'POST', path: requestPath, headers, body }, HCKMS_AK, sk, new Date()))
      edit(headers)
      const res = await fetch(`${kms.url}${requestPath}`, { method: 'POST', headers, body: sentBody })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    }
    expect((await send(HCKMS_SK, () => undefined)).status).toBe(200)
    const flip = (h: Record<string, string>) => {
      h.Authorization = h.Authorization!.replace(/Signature=(.)/, (_, c: string) => `Signature=${c === '0' ? '1' : '0'}`)
    }
    for (const refused of [await send(HCKMS_SK, flip), await send(HCKMS_SK, () => undefined, body.replace('YQ==', 'Yg==')), await send('not-the-secret', () => undefined)]) {
      expect(refused).toEqual({ status: 401, body: { error_code: 'APIGW.0301', error_msg: 'Incorrect IAM authentication information: verify aksk signature fail', request_id: expect.any(String) } })
    }
  })

  it('a wrong secret key: tsops reports the gateway\'s refusal in the SDK\'s words', async () => {
    const reason = await failure(fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor({ HUAWEICLOUD_SDK_SK: 'wrong' })))
    expect(reason).toMatch(
      /^failed to encrypt sops data key with HuaweiCloud KMS: \{"status_code":401,"request_id":"[0-9a-f]{32}","error_code":"APIGW\.0301","error_message":"Incorrect IAM authentication information: verify aksk signature fail","encoded_authorization_message":"","details":null\}\n$/,
    )
    expect(reason).not.toContain('wrong')
  })
})

describe('round trip', () => {
  it('wraps and unwraps a data key; the entry is key_id, created_at, enc as sops writes them', async () => {
    const key = dataKey()
    const source = fromSpec(kms.keyId(uuid))
    const entry = await writtenEntry(source, key, ctxFor())
    expect(entry.type).toBe('hckms')
    expect(Object.keys(entry.fields).sort()).toEqual(['created_at', 'enc', 'key_id'])
    expect(entry.fields.key_id).toBe(`tr-west-1:${uuid}`)
    expect(entry.fields.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(entry.fields.enc).toMatch(/^[0-9A-F]+$/)
    expect(await fromEntry(entry).unwrap(entry, ctxFor())).toEqual(key)
  })

  it('a cipher text is only decryptable by the KMS that made it, and a damaged one fails', async () => {
    const entry = await fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor())
    const elsewhere = await failure(fromEntry(entry).unwrap(entry, ctxFor(other.env())))
    expect(elsewhere).toMatch(/^failed to decrypt sops data key with HuaweiCloud KMS: \{"status_code":404,.*"error_code":"KMS\.0207".*\}\n$/)
    const enc = entry.fields.enc as string
    const damaged: KeyEntry = { ...entry, fields: { ...entry.fields, enc: enc.slice(0, -2) + (enc.endsWith('00') ? '11' : '00') } }
    expect(await failure(fromEntry(damaged).unwrap(damaged, ctxFor()))).toContain('"error_code":"KMS.0206","error_message":"Invalid cipher_text: decryption failed."')
  })

  it('retries when the gateway is unavailable', async () => {
    kms.state.unavailable = 2
    const entry = await fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor())
    expect(kms.log.map((l) => l.status)).toEqual([503, 503, 200])
    expect(entry.fields.enc).toMatch(/^[0-9A-F]+$/)
  })

  it('a key the KMS does not have', async () => {
    const reason = await failure(fromSpec(kms.keyId('00000000-0000-0000-0000-000000000000')).wrap(dataKey(), ctxFor()))
    expect(reason).toContain('"status_code":404')
    expect(reason).toContain('"error_message":"The key 00000000-0000-0000-0000-000000000000 does not exist."')
  })

  it('an unreachable endpoint reads like Go\'s url.Error', async () => {
    const closed = await closedPortUrl()
    const reason = await failure(fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor({ [regionEnvName('tr-west-1')]: closed })))
    expect(reason).toBe(`failed to encrypt sops data key with HuaweiCloud KMS: Post "${closed}/v1.0/${HCKMS_PROJECT_ID}/kms/encrypt-data": dial tcp ${closed.slice(7)}: connect: connection refused`)
  })
})

describe('key ids (sops\'s parseKeyID)', () => {
  it.each([
    ['nocolon', `invalid key ID format: expected 'region:key-uuid', got "nocolon"`],
    [':uuid', 'region cannot be empty in key ID: ":uuid"'],
    ['  : uuid', 'region cannot be empty in key ID: ": uuid"'],
    ['region:', 'key UUID cannot be empty in key ID: "region:"'],
    ['region:  ', 'key UUID cannot be empty in key ID: "region:"'],
  ])('%j is refused: %s', (id, message) => {
    expect(() => parseKeyId(id)).toThrow(message)
    expect(() => fromSpec(id)).toThrow(message)
  })

  it('splits at the first colon and trims each side; the id stays as given', () => {
    expect(parseKeyId('tr-west-1 : a:b')).toEqual({ keyId: 'tr-west-1 : a:b', region: 'tr-west-1', keyUuid: 'a:b' })
  })

  it('an entry with a bad key_id fails to decrypt with the parse message', async () => {
    const entry: KeyEntry = { type: 'hckms', fields: { key_id: 'nocolon', enc: 'AB', created_at: '2026-01-01T00:00:00Z' } }
    expect(await failure(fromEntry(entry).unwrap(entry, ctxFor()))).toBe(`invalid key ID format: expected 'region:key-uuid', got "nocolon"`)
  })

  it('is loaded through the registry', async () => {
    expect((await keySourceFromSpec('hckms', kms.keyId(uuid))).id).toBe(kms.keyId(uuid))
  })

  it.each([
    ['nocolon', `invalid key ID format: expected 'region:key-uuid', got "nocolon"`, 'hckms[1]'],
    [':uuid', 'region cannot be empty in key ID: ":uuid"', 'key_groups[0].hckms[0]'],
    ['"region: "', 'key UUID cannot be empty in key ID: "region:"', 'hckms[0]'],
  ])('a file whose metadata has the key_id %s is refused when its metadata is read (sops\'s loader), exit 1', async (id, message, where) => {
    const entry = (keyId: string) => `      - key_id: ${keyId}\n        created_at: "2026-01-01T00:00:00Z"\n        enc: AB\n`
    const keys = where.startsWith('key_groups')
      ? `  key_groups:\n    - hckms:\n${entry(id).replaceAll(/^ {6}/gm, '        ')}`
      : `  hckms:\n${where === 'hckms[1]' ? entry(kms.keyId(uuid)) : ''}${entry(id)}`.replaceAll(/^ {4}/gm, '  ')
    const text = `a: 1\nsops:\n${keys}  version: 3.13.2\n  lastmodified: "2026-01-01T00:00:00Z"\n`
    const doc = (await loadEncryptedParser('yaml'))(Buffer.from(text))
    let err: unknown
    try {
      readMetadata(doc.metadata)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(GenericError)
    expect((err as GenericError).message).toBe(message)
    expect((err as GenericError).exitCode).toBe(1)
    expect((err as GenericError).hint).toBe(`in the metadata field ${where}.key_id. Use <region>:<key-uuid>, e.g. tr-west-1:0d0466b0-e727-4d9c-b35d-f84bb474a37f.`)
  })
})

describe('credentials and endpoints', () => {
  const noCreds = { HUAWEICLOUD_SDK_AK: undefined, HUAWEICLOUD_SDK_SK: undefined, HUAWEICLOUD_SDK_PROJECT_ID: undefined }

  it('no credentials anywhere: the SDK\'s chain message, provider by provider', async () => {
    const home = fs.mkdtempSync(path.join(dir, 'home-'))
    const reason = await failure(fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor({ ...noCreds, HOME: home })))
    expect(reason).toBe(
      'failed to create HuaweiCloud KMS client: failed to get HuaweiCloud credentials: {"ErrorMessage": "unable to get credential in providers:\n' +
        '{"ErrorMessage": "AK&SK or IdpId&IdTokenFile does not exist"}\n' +
        `open ${home}/.huaweicloud/credentials: no such file or directory\n` +
        '(tsops reads no ECS metadata or pod identity credentials)"}',
    )
    expect(kms.log).toHaveLength(0)
    const error = await fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor({ ...noCreds, HOME: home })).catch((e: unknown) => e)
    expect((error as { hint?: string }).hint).toContain('Set HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK and HUAWEICLOUD_SDK_PROJECT_ID')
  })

  it('only an AK: still missing', async () => {
    const reason = await failure(fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor({ HUAWEICLOUD_SDK_SK: '' })))
    expect(reason).toContain('{"ErrorMessage": "AK&SK or IdpId&IdTokenFile does not exist"}')
  })

  it('the [basic] section of the credentials file (HUAWEICLOUD_SDK_CREDENTIALS_FILE)', async () => {
    const file = path.join(dir, 'hc-credentials')
    fs.writeFileSync(file, `[global]\nak = nope\n\n[basic]\nak = ${HCKMS_AK}\nsk = ${HCKMS_SK}\nproject_id = ${HCKMS_PROJECT_ID}\n`)
    const entry = await fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor({ ...noCreds, HUAWEICLOUD_SDK_CREDENTIALS_FILE: file }))
    expect(entry.fields.enc).toMatch(/^[0-9A-F]+$/)
    expect(kms.log[0]).toMatchObject({ status: 200, access: HCKMS_AK })
  })

  it('a credentials file without a [basic] AK/SK', async () => {
    const file = path.join(dir, 'hc-credentials-empty')
    fs.writeFileSync(file, '[global]\nak = a\nsk = b\n')
    const reason = await failure(fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor({ ...noCreds, HUAWEICLOUD_SDK_CREDENTIALS_FILE: file })))
    expect(reason).toContain('{"ErrorMessage": "AK&SK or IdpId&IdTokenFile does not exist"}\n{"ErrorMessage": "AK&SK or IdpId&IdTokenFile does not exist"}\n')
  })

  it('a credentials file that is not INI: named, its lines never quoted (they may hold the secret key)', async () => {
    const file = path.join(dir, 'hc-credentials-broken')
    fs.writeFileSync(file, '[basic\nsk = very-secret-value\n')
    const reason = await failure(fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor({ ...noCreds, HUAWEICLOUD_SDK_CREDENTIALS_FILE: file })))
    expect(reason).toContain(`\n${file} is not a valid INI file\n`)
    expect(reason).not.toContain('very-secret-value')
  })

  it('no project id: asked from IAM (GET /v3/projects?name=<region>, signed), as the SDK does', async () => {
    const iam = { HUAWEICLOUD_SDK_PROJECT_ID: '', HUAWEICLOUD_SDK_IAM_ENDPOINT: kms.url.replace('http://', 'https://') }
    // The SDK puts https:// before HUAWEICLOUD_SDK_IAM_ENDPOINT unless it has it; this server is http.
    expect(await failure(fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor({ ...iam, HUAWEICLOUD_SDK_IAM_ENDPOINT: kms.url.slice('http://'.length) })))).toMatch(
      /^failed to create HuaweiCloud KMS client: failed to get project id of region 'tr-west-1' automatically, Get "https:\/\/127\.0\.0\.1:\d+\/v3\/projects\?name=tr-west-1": /,
    )
    kms.log.length = 0
    // iam_endpoint in the credentials file is taken as it is.
    const file = path.join(dir, 'hc-credentials-iam')
    fs.writeFileSync(file, `[basic]\nak = ${HCKMS_AK}\nsk = ${HCKMS_SK}\niam_endpoint = ${kms.url}\n`)
    const entry = await fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor({ ...iam, HUAWEICLOUD_SDK_AK: '', HUAWEICLOUD_SDK_CREDENTIALS_FILE: file }))
    expect(kms.log.map((l) => [l.method, l.path, l.status])).toEqual([
      ['GET', '/v3/projects', 200],
      ['POST', `/v1.0/${HCKMS_PROJECT_ID}/kms/encrypt-data`, 200],
    ])
    expect(kms.log[0]!.signedHeaders).toContain('x-sdk-date')
    expect(await fromEntry(entry).unwrap(entry, ctxFor())).toHaveLength(32)
  })

  it('no project id and IAM lists none or several: the SDK\'s reasons, and a hint', async () => {
    const file = path.join(dir, 'hc-credentials-iam2')
    fs.writeFileSync(file, `[basic]\nak = ${HCKMS_AK}\nsk = ${HCKMS_SK}\niam_endpoint = ${kms.url}\n`)
    const ctx = ctxFor({ HUAWEICLOUD_SDK_PROJECT_ID: '', HUAWEICLOUD_SDK_AK: '', HUAWEICLOUD_SDK_CREDENTIALS_FILE: file })
    try {
      kms.state.projects.set('tr-west-1', [])
      expect(await failure(fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctx))).toMatch(
        /^failed to create HuaweiCloud KMS client: failed to get project id of region 'tr-west-1' automatically, X-IAM-Trace-Id=[0-9a-f]{32}, confirm that the project exists in your account, or set project id manually$/,
      )
      kms.state.projects.set('tr-west-1', ['p1', 'p2'])
      const e = (await fromSpec(kms.keyId(uuid))
        .wrap(dataKey(), ctx)
        .then(
          () => undefined,
          (err: unknown) => err,
        )) as Error & { hint?: string }
      expect(e.message).toMatch(/^failed to create HuaweiCloud KMS client: multiple project ids found: \[p1,p2\], X-IAM-Trace-Id=[0-9a-f]{32}, please select one$/)
      expect(e.hint).toContain('HUAWEICLOUD_SDK_PROJECT_ID')
    } finally {
      kms.state.projects.set('tr-west-1', [HCKMS_PROJECT_ID])
    }
  })

  it('a security token is sent and signed', async () => {
    await fromSpec(kms.keyId(uuid)).wrap(dataKey(), ctxFor({ HUAWEICLOUD_SDK_SECURITY_TOKEN: 'sts-token' }))
    expect(kms.log[0]!.signedHeaders).toContain('x-security-token')
    expect(kms.log[0]!.headers['x-security-token']).toBe('sts-token')
  })

  it('endpoints: the env override, the regions file, the SDK table, and an unknown region in the SDK\'s words', () => {
    const ctx = (env: Record<string, string>): KeyContext => ({ env: { HOME: dir, ...env } })
    expect(endpointOf('cn-north-4', ctx({}))).toBe('https://kms.cn-north-4.myhuaweicloud.com')
    expect(endpointOf('eu-west-101', ctx({}))).toBe('https://kms.eu-west-101.myhuaweicloud.eu')
    expect(endpointOf('cn-north-4', ctx({ HUAWEICLOUD_SDK_REGION_KMS_CN_NORTH_4: 'kms.example.test,other' }))).toBe('https://kms.example.test')
    const regions = path.join(dir, 'regions.yaml')
    fs.writeFileSync(regions, 'KMS:\n  - id: my-region-1\n    endpoint: http://127.0.0.1:9\n')
    expect(endpointOf('my-region-1', ctx({ HUAWEICLOUD_SDK_REGIONS_FILE: regions }))).toBe('http://127.0.0.1:9')
    expect(() => endpointOf('xx-nowhere-1', ctx({}))).toThrow(
      `invalid region "xx-nowhere-1": region id 'xx-nowhere-1' is not in the following supported regions of service 'KMS': [ae-ad-1, af-north-1, af-south-1, ap-southeast-1, ap-southeast-2, ap-southeast-3, ap-southeast-4, ap-southeast-5, cn-east-2, cn-east-3, cn-east-4, cn-east-5, cn-north-1, cn-north-11, cn-north-12, cn-north-2, cn-north-4, cn-north-9, cn-south-1, cn-south-2, cn-south-4, cn-southwest-2, cn-southwest-3, eu-west-101, la-north-2, la-south-2, me-east-1, my-kualalumpur-1, na-mexico-1, ru-moscow-1, sa-brazil-1, tr-west-1]`,
    )
  })
})

describe('CLI end to end', () => {
  it('tsops encrypt --hckms, then decrypt; SOPS_HUAWEICLOUD_KMS_IDS too', async () => {
    const plain = 'db:\n    password: s3cr3t\n'
    const file = path.join(dir, 'h.yaml')
    fs.writeFileSync(file, plain)
    const env = cleanEnv({ HOME: dir, ...kms.env() })
    const enc = await runCli(['encrypt', '--hckms', kms.keyId(uuid), file], { env, cwd: dir })
    expect(enc.stderr).toBe('')
    expect(enc.code).toBe(0)
    const text = enc.stdout.toString()
    const meta = (parseYaml(text) as { sops: { hckms: Record<string, unknown>[] } }).sops
    expect(Object.keys(meta.hckms[0]!)).toEqual(['created_at', 'enc', 'key_id'])
    fs.writeFileSync(file, text)
    const dec = await runCli(['decrypt', file], { env, cwd: dir })
    expect(dec.stderr).toBe('')
    expect(dec.stdout.toString()).toBe(plain)

    fs.writeFileSync(file, plain)
    const viaEnv = await runCli(['encrypt', file], { env: { ...env, SOPS_HUAWEICLOUD_KMS_IDS: kms.keyId(uuid) }, cwd: dir })
    expect(viaEnv.code).toBe(0)
    expect(viaEnv.stdout.toString()).toContain(`key_id: ${kms.keyId(uuid)}`)
  })

  it('a bad key id is exit 1 with sops\'s message and a hint', async () => {
    const file = path.join(dir, 'b.yaml')
    fs.writeFileSync(file, 'a: 1\n')
    const r = await runCli(['encrypt', '--hckms', 'nocolon', file], { env: cleanEnv({ HOME: dir }), cwd: dir })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`invalid key ID format: expected 'region:key-uuid', got "nocolon"`)
    expect(r.stderr).toContain('hint: Use <region>:<key-uuid>')
  })

  it('decrypt a file with a bad hckms key_id beside a key that opens it: refused at load, exit 1, as sops', async () => {
    const age = await generateAgeIdentity()
    const file = path.join(dir, 'mixed.yaml')
    fs.writeFileSync(file, 'a: 1\n')
    const env = cleanEnv({ HOME: dir, SOPS_AGE_KEY: age.identity })
    expect((await runCli(['encrypt', '-i', '--age', age.recipient, file], { env, cwd: dir })).code).toBe(0)
    const text = fs.readFileSync(file, 'utf8').replace('sops:\n', 'sops:\n    hckms:\n        - key_id: nocolon\n          created_at: "2026-01-01T00:00:00Z"\n          enc: AB\n')
    fs.writeFileSync(file, text)
    const r = await runCli(['decrypt', file], { env, cwd: dir })
    expect({ code: r.code, stdout: r.stdout.toString() }).toEqual({ code: 1, stdout: '' })
    expect(r.stderr).toBe(
      `tsops: error: invalid key ID format: expected 'region:key-uuid', got "nocolon"\ntsops: hint: in the metadata field hckms[0].key_id. Use <region>:<key-uuid>, e.g. tr-west-1:0d0466b0-e727-4d9c-b35d-f84bb474a37f.\n`,
    )
  })

  it('missing credentials: exit 1 with the chain message, the file untouched', async () => {
    const file = path.join(dir, 'c.yaml')
    fs.writeFileSync(file, 'a: 1\n')
    const r = await runCli(['encrypt', '--in-place', '--hckms', kms.keyId(uuid), file], { env: cleanEnv({ HOME: dir }), cwd: dir })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('failed to create HuaweiCloud KMS client: failed to get HuaweiCloud credentials: {"ErrorMessage": "unable to get credential in providers:')
    expect(fs.readFileSync(file, 'utf8')).toBe('a: 1\n')
  })
})
