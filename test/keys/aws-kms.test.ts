/**
 * AWS KMS key source through the real @aws-sdk/client-kms and client-sts, talking HTTP to the
 * loopback KMS in test/helpers/servers (which checks every SigV4 signature).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { describeAwsError, endpointFromEnv, fromEntry, fromSpec, regionOf, stsSessionName } from '../../src/keys/aws-kms.js'
import { wrapDataKey, unwrapDataKey } from '../../src/keys/datakey.js'
import { keySourceFromSpec } from '../../src/keys/registry.js'
import { MAX_ATTEMPTS } from '../../src/keys/timeouts.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry } from '../../src/keys/types.js'
import { encrypt, decrypt } from '../../src/index.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { closedPortUrl, kmsEnv, startKmsServer, testKeyArn, TEST_CREDENTIALS, type KmsServer } from '../helpers/servers/aws-kms.js'
import * as serverImpl from '../helpers/servers/aws-kms-server.mjs'
import { writtenEntry } from '../helpers/written-entry.js'
import { tempWorkspace } from '../helpers/workspace.js'
import { makeSopsBin } from '../integrations/sops-bin.js'

let kms: KmsServer
const { dir } = tempWorkspace('tsops-kms-')
const ARN = testKeyArn('0b8a5f7e-tsops-main', 'eu-central-1')
const OTHER_ARN = testKeyArn('other-key', 'eu-central-1')
const ROLE = 'arn:aws:iam::111122223333:role/sops-decrypter'

beforeAll(async () => {
  kms = await startKmsServer()
})
afterAll(async () => {
  await kms.close()
})
afterEach(() => {
  kms.state.throttle = 0
  kms.state.authorize = () => true
  kms.log.length = 0
})

/** A context like the CLI's: settings only from env (AWS_REGION deliberately differs from the ARN's). */
const ctxFor = (extra: Record<string, string | undefined> = {}): KeyContext => ({ env: kmsEnv(kms, { AWS_REGION: 'us-west-2', ...extra }) })
const dataKey = () => new Uint8Array(crypto.randomBytes(32))
/** The Go SDK's words for an HTTP error answer, up to the error itself (sops prints them). */
const httpError = (operation: string, status: number, attempts = 1) =>
  `operation error KMS: ${operation}, ${attempts > 1 ? `exceeded maximum number of attempts, ${attempts}, ` : ''}https response error StatusCode: ${status}, RequestID: [0-9a-f-]{36}, `
/** The "could not decrypt" report word-wraps reasons behind `  | `; join them back. */
const unwrapped = (text: string) => text.replace(/\n\s*\| ?/g, ' ')

describe('ARNs, roles and settings', () => {
  it('validates ARNs with sops\'s regex and takes the region from them', async () => {
    expect(regionOf('arn:aws:kms:eu-central-1:111122223333:key/abc')).toBe('eu-central-1')
    expect(regionOf('arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/sops')).toBe('us-gov-west-1')
    expect(regionOf('arn:aws:kms:us-east-1:notanumber:key/abc')).toBeUndefined()
    expect(regionOf('arn:aws:s3:::bucket')).toBeUndefined()
    // Like sops, the ARN is checked when the key is first used, in sops's words.
    const bad = fromSpec('arn:aws:kms:x')
    await expect(bad.wrap(dataKey(), ctxFor())).rejects.toThrow("no valid ARN found in 'arn:aws:kms:x'")
    await expect(bad.unwrap({ type: 'kms', fields: { arn: 'arn:aws:kms:x', enc: 'AAAA' } }, ctxFor())).rejects.toThrow("no valid ARN found in 'arn:aws:kms:x'")
  })

  it('splits `arn+role`, strips spaces like sops, and keeps options', () => {
    const k = fromSpec(` ${ARN}+${ROLE}`, { context: { a: 'b' } })
    expect(k.id).toBe(ARN)
    const viaOption = fromSpec(ARN, { role: ROLE, awsProfile: 'dev' })
    expect(viaOption.id).toBe(ARN)
  })

  it('names the STS session sops@<hostname>, keeping only characters STS accepts, at most 64', () => {
    expect(stsSessionName('build-01.example.com')).toBe('sops@build-01.example.com')
    expect(stsSessionName('we!rd host#name')).toBe('sops@werdhostname')
    const long = stsSessionName('h'.repeat(100))
    expect(long).toHaveLength(64)
    expect(long.startsWith('sops@hhh')).toBe(true)
  })

  it('reads endpoint overrides the way the AWS SDKs do', () => {
    expect(endpointFromEnv({ AWS_ENDPOINT_URL_KMS: 'http://a', AWS_ENDPOINT_URL: 'http://b' }, 'KMS')).toBe('http://a')
    expect(endpointFromEnv({ AWS_ENDPOINT_URL: 'http://b' }, 'STS')).toBe('http://b')
    expect(endpointFromEnv({ AWS_ENDPOINT_URL: 'http://b', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }, 'KMS')).toBeUndefined()
    expect(endpointFromEnv({}, 'KMS')).toBeUndefined()
  })
})

describe('wrap and unwrap against the loopback KMS', () => {
  it('round-trips with an encryption context; the entry has exactly sops\'s fields', async () => {
    const key = dataKey()
    const entry = await writtenEntry(fromSpec(ARN, { context: { app: 'web', env: 'prod' } }), key, ctxFor())
    expect(entry.type).toBe('kms')
    expect(Object.keys(entry.fields).sort()).toEqual(['arn', 'aws_profile', 'context', 'created_at', 'enc'])
    expect(entry.fields.arn).toBe(ARN)
    expect(entry.fields.aws_profile).toBe('')
    expect(entry.fields.context).toEqual({ app: 'web', env: 'prod' })
    expect(entry.fields.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    const enc = entry.fields.enc as string
    expect(enc).toMatch(/^[A-Za-z0-9+/]+={0,2}$/)
    expect(Buffer.from(enc, 'base64').toString('base64')).toBe(enc) // standard, padded

    // As on decrypt: a source rebuilt from the metadata entry alone.
    const back = await fromEntry(entry).unwrap(entry, ctxFor())
    expect(Buffer.from(back).equals(Buffer.from(key))).toBe(true)

    const calls = kms.log.filter((l) => l.service === 'kms')
    expect(calls.map((l) => [l.operation, l.status, l.region, l.signingService])).toEqual([
      ['Encrypt', 200, 'eu-central-1', 'kms'],
      ['Decrypt', 200, 'eu-central-1', 'kms'],
    ])
    expect(calls.every((l) => l.input?.KeyId === ARN)).toBe(true)
    expect(calls.every((l) => JSON.stringify(l.input?.EncryptionContext) === JSON.stringify({ app: 'web', env: 'prod' }))).toBe(true)
    expect(calls.every((l) => l.accessKeyId === TEST_CREDENTIALS.accessKeyId)).toBe(true)
  })

  it('without a context: no `context` field and none sent', async () => {
    const entry = await writtenEntry(fromSpec(ARN), dataKey(), ctxFor())
    expect(Object.keys(entry.fields).sort()).toEqual(['arn', 'aws_profile', 'created_at', 'enc'])
    await fromEntry(entry).unwrap(entry, ctxFor())
    expect(kms.log.every((l) => l.input?.EncryptionContext === undefined)).toBe(true)
  })

  it('a different encryption context is refused by KMS (InvalidCiphertextException)', async () => {
    const entry = await fromSpec(ARN, { context: { app: 'web' } }).wrap(dataKey(), ctxFor())
    const tampered: KeyEntry = { type: 'kms', fields: { ...entry.fields, context: { app: 'db' } } }
    const err = await fromEntry(tampered).unwrap(tampered, ctxFor()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KeyUnwrapError)
    expect((err as KeyUnwrapError).keyId).toBe(ARN)
    // The Go SDK models this exception: `Code: message` (no message from KMS), no "api error".
    expect((err as KeyUnwrapError).reason).toMatch(new RegExp(`^failed to decrypt sops data key with AWS KMS: ${httpError('Decrypt', 400)}InvalidCiphertextException: $`))
  })

  it('the wrong key is refused (IncorrectKeyException), naming the key', async () => {
    const entry = await fromSpec(ARN).wrap(dataKey(), ctxFor())
    const moved: KeyEntry = { type: 'kms', fields: { ...entry.fields, arn: OTHER_ARN } }
    const err = (await fromEntry(moved).unwrap(moved, ctxFor()).catch((e: unknown) => e)) as KeyUnwrapError
    expect(err).toBeInstanceOf(KeyUnwrapError)
    expect(err.message).toContain(OTHER_ARN)
    expect(err.reason).toMatch(new RegExp(`^failed to decrypt sops data key with AWS KMS: ${httpError('Decrypt', 400)}IncorrectKeyException: The key ID`))
  })

  it('access denied, on decrypt and on encrypt', async () => {
    const entry = await fromSpec(ARN).wrap(dataKey(), ctxFor())
    kms.state.authorize = (_principal, action) => action !== 'Decrypt'
    const err = (await fromEntry(entry).unwrap(entry, ctxFor()).catch((e: unknown) => e)) as KeyUnwrapError
    expect(err.reason).toMatch(new RegExp(`${httpError('Decrypt', 400)}api error AccessDeniedException: User: arn:aws:iam::111122223333:user/tsops-test is not authorized to perform: kms:Decrypt`))
    kms.state.authorize = () => false
    await expect(fromSpec(ARN).wrap(dataKey(), ctxFor())).rejects.toThrow(
      new RegExp(`^failed to encrypt sops data key with AWS KMS: ${httpError('Encrypt', 400)}api error AccessDeniedException: .*kms:Encrypt`),
    )
  })

  it('a missing key is reported as such', async () => {
    await expect(fromSpec(testKeyArn('missing-key')).wrap(dataKey(), ctxFor())).rejects.toThrow(new RegExp(`${httpError('Encrypt', 400)}NotFoundException: Key '.*missing-key' does not exist`))
  })

  it('throttling: the SDK retries and succeeds', async () => {
    kms.state.throttle = 2
    const entry = await fromSpec(ARN).wrap(dataKey(), ctxFor())
    expect(entry.fields.enc).not.toBe('')
    expect(kms.log.map((l) => l.error ?? l.status)).toEqual(['ThrottlingException', 'ThrottlingException', 200])
  })

  it('throttling: it gives up after the bounded attempts with the final message', async () => {
    const entry = await fromSpec(ARN).wrap(dataKey(), ctxFor())
    kms.log.length = 0
    kms.state.throttle = 100
    const err = (await fromEntry(entry).unwrap(entry, ctxFor()).catch((e: unknown) => e)) as KeyUnwrapError
    expect(err.reason).toMatch(new RegExp(`^failed to decrypt sops data key with AWS KMS: ${httpError('Decrypt', 400, 3)}api error ThrottlingException: Rate exceeded$`))
    expect(kms.log).toHaveLength(3)
  })

  it('an unreachable endpoint fails after its attempts, naming the key', async () => {
    const ctx = ctxFor({ AWS_ENDPOINT_URL_KMS: await closedPortUrl() })
    const wrapErr = (await wrapDataKey(dataKey(), [[fromSpec(ARN)]], 0, ctx).catch((e: unknown) => e)) as Error
    expect(wrapErr.message).toContain(`master key ${JSON.stringify(ARN)}`)
    const refused = /operation error KMS: (En|De)crypt, exceeded maximum number of attempts, 3, https response error StatusCode: 0, RequestID: , request send failed, Post "http:\/\/127\.0\.0\.1:(\d+)\/": dial tcp 127\.0\.0\.1:\2: connect: connection refused/
    expect(wrapErr.message).toMatch(refused)

    const entry: KeyEntry = { type: 'kms', fields: { arn: ARN, aws_profile: '', created_at: '2024-01-01T00:00:00Z', enc: 'AAAA' } }
    const unwrapErr = (await unwrapDataKey([[entry]], 0, ctx).catch((e: unknown) => e)) as Error
    expect(unwrapErr.message).toContain(`${ARN}: FAILED`)
    expect(unwrapped(unwrapErr.message)).toMatch(refused)
  })

  // The bounds are injected (KeyContext.timeouts), so the server's silence costs a second, not 15 s;
  // what is shown is the mechanism: each attempt cut at its bound and retried, the whole cut at its own.
  it('a server that accepts connections but never answers: each attempt is cut short and retried', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const ctx: KeyContext = { ...ctxFor({ AWS_ENDPOINT_URL_KMS: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}` }), timeouts: { requestMs: 200 } }
      await expect(fromSpec(ARN).wrap(dataKey(), ctx)).rejects.toThrow(
        new RegExp(`AWS KMS at http://127\\.0\\.0\\.1:\\d+ did not answer within 0\\.2s after ${MAX_ATTEMPTS} attempts`),
      )
      expect(sockets.size).toBe(MAX_ATTEMPTS)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })

  it('a server that never answers: the overall deadline ends the operation, retries included', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const ctx: KeyContext = { ...ctxFor({ AWS_ENDPOINT_URL_KMS: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}` }), timeouts: { requestMs: 60_000, overallMs: 300 } }
      await expect(fromSpec(ARN).wrap(dataKey(), ctx)).rejects.toThrow(/AWS KMS at http:\/\/127\.0\.0\.1:\d+ did not answer within 0\.3s$/)
      expect(sockets.size).toBe(1)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })

  it('the server really checks signatures: a wrong secret key is rejected', async () => {
    const ctx = ctxFor({ AWS_SECRET_ACCESS_KEY: `${TEST_CREDENTIALS.secretAccessKey}x` })
    await expect(fromSpec(ARN).wrap(dataKey(), ctx)).rejects.toThrow(
      /api error InvalidSignatureException: The request signature we calculated does not match/,
    )
    const unknown = ctxFor({ AWS_ACCESS_KEY_ID: 'AKIAUNKNOWN000000000' })
    await expect(fromSpec(ARN).wrap(dataKey(), unknown)).rejects.toThrow(/api error UnrecognizedClientException: /)
    expect(kms.log.map((l) => l.error)).toEqual(['InvalidSignatureException', 'UnrecognizedClientException'])
  })

  it('AWS_SESSION_TOKEN is sent and checked', async () => {
    kms.addIdentity('ASIATEMPORARY0000001', 'temporary-secret', 'arn:aws:sts::111122223333:assumed-role/r/s', 'the-session-token')
    const temp = { AWS_ACCESS_KEY_ID: 'ASIATEMPORARY0000001', AWS_SECRET_ACCESS_KEY: 'temporary-secret' }
    await expect(fromSpec(ARN).wrap(dataKey(), ctxFor({ ...temp, AWS_SESSION_TOKEN: 'the-session-token' }))).resolves.toBeDefined()
    await expect(fromSpec(ARN).wrap(dataKey(), ctxFor({ ...temp, AWS_SESSION_TOKEN: 'another-token' }))).rejects.toThrow(/UnrecognizedClientException/)
  })
})

describe('+role: STS AssumeRole first', () => {
  it('assumes the role once per context and uses its credentials for KMS', async () => {
    const ctx = ctxFor()
    const a = fromSpec(`${ARN}+${ROLE}`, { context: { a: 'b' } })
    const b = fromSpec(`${OTHER_ARN}+${ROLE}`)
    const [ea, eb] = await Promise.all([writtenEntry(a, dataKey(), ctx), writtenEntry(b, dataKey(), ctx)])
    expect(Object.keys(ea.fields).sort()).toEqual(['arn', 'aws_profile', 'context', 'created_at', 'enc', 'role'])
    expect(ea.fields.role).toBe(ROLE)
    expect(eb.fields.role).toBe(ROLE)
    const sts = kms.log.filter((l) => l.service === 'sts')
    expect(sts).toHaveLength(1)
    expect(sts[0]).toMatchObject({ operation: 'AssumeRole', status: 200, region: 'eu-central-1', signingService: 'sts', accessKeyId: TEST_CREDENTIALS.accessKeyId })
    expect(sts[0]!.input).toEqual({ RoleArn: ROLE, RoleSessionName: stsSessionName() })
    const kmsCalls = kms.log.filter((l) => l.service === 'kms')
    expect(kmsCalls.map((l) => l.principal)).toEqual([
      `arn:aws:sts::111122223333:assumed-role/sops-decrypter/${stsSessionName()}`,
      `arn:aws:sts::111122223333:assumed-role/sops-decrypter/${stsSessionName()}`,
    ])
    // Decrypt from the metadata entry assumes the role too.
    kms.state.authorize = (principal) => principal.includes(':assumed-role/sops-decrypter/')
    await fromEntry(ea).unwrap(ea, ctxFor())
  })

  it('a role that cannot be assumed is a clear error', async () => {
    const denied = 'arn:aws:iam::111122223333:role/denied-role'
    await expect(fromSpec(`${ARN}+${denied}`).wrap(dataKey(), ctxFor())).rejects.toThrow(
      // sops returns this one without the "failed to encrypt" prefix.
      new RegExp(
        `^failed to assume role '${denied}': operation error STS: AssumeRole, https response error StatusCode: 403, RequestID: [0-9a-f-]{36}, api error AccessDenied: User: arn:aws:iam::111122223333:user/tsops-test is not authorized to perform: sts:AssumeRole`,
      ),
    )
  })
})

describe('errors never carry secrets', () => {
  it('describeAwsError keeps to names and AWS messages', () => {
    const call = { service: 'KMS' as const, operation: 'Decrypt', url: 'https://kms.x.amazonaws.com/', where: 'AWS KMS in x' }
    const text = describeAwsError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', $metadata: { attempts: 3 } }), call)
    expect(text).toBe(
      'operation error KMS: Decrypt, exceeded maximum number of attempts, 3, https response error StatusCode: 0, RequestID: , request send failed, Post "https://kms.x.amazonaws.com/": dial tcp kms.x.amazonaws.com:443: connect: connection refused',
    )
    const ctx = ctxFor({ AWS_SECRET_ACCESS_KEY: 'wrong-secret-value' })
    return fromSpec(ARN)
      .wrap(dataKey(), ctx)
      .catch((e: Error) => {
        expect(e.message).not.toContain('wrong-secret-value')
        expect(e.message).not.toContain(TEST_CREDENTIALS.secretAccessKey)
      })
  })
})

describe('the loopback KMS itself', () => {
  it('computes the SigV4 signature of AWS\'s published "get-vanilla" test vector', () => {
    const signature = serverImpl.computeSignature({
      method: 'GET',
      path: '/',
      query: '',
      headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' },
      signedHeaders: ['host', 'x-amz-date'],
      body: '',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      amzDate: '20150830T123600Z',
      scope: ['20150830', 'us-east-1', 'service', 'aws4_request'],
    })
    expect(signature).toBe('5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31')
  })

  it('rejects a correctly signed request whose body was changed afterwards', async () => {
    const send = (body: string, signedBody: string) => {
      const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
      const host = `127.0.0.1:${kms.port}`
      const headers = { host, 'x-amz-date': amzDate, 'x-amz-target': 'TrentService.Encrypt', 'content-type': 'application/x-amz-json-1.1' }
      const signedHeaders = Object.keys(headers).sort()
      const scope = [amzDate.slice(0, 8), 'eu-central-1', 'kms', 'aws4_request']
      const signature = serverImpl.computeSignature({ method: 'POST', path: '/', query: '', headers, signedHeaders, body: signedBody, secretAccessKey: TEST_CREDENTIALS.secretAccessKey, amzDate, scope })
      const authorization = `AWS4-HMAC-SHA256 Credential=${TEST_CREDENTIALS.accessKeyId}/${scope.join('/')}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`
      return new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: kms.port, method: 'POST', path: '/', headers: { ...headers, authorization } }, (res) => {
          let text = ''
          res.on('data', (c: Buffer) => (text += c.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
        })
        req.on('error', reject)
        req.end(body)
      })
    }
    const body = JSON.stringify({ KeyId: ARN, Plaintext: Buffer.from('x').toString('base64') })
    expect((await send(body, body)).status).toBe(200)
    const tampered = await send(body.replace('eA==', 'eQ=='), body)
    expect(tampered.status).toBe(400)
    expect(JSON.parse(tampered.body).__type).toBe('InvalidSignatureException')
  })

  it('handle() (the oracle module contract) decrypts what the HTTP server encrypted', async () => {
    const key = dataKey()
    const entry = await fromSpec(ARN, { context: { a: 'b' } }).wrap(key, ctxFor())
    const [status, out] = serverImpl.handle('TrentService.Decrypt', { CiphertextBlob: entry.fields.enc, KeyId: ARN, EncryptionContext: { a: 'b' } })
    expect(status).toBe(200)
    expect(Buffer.from(out.Plaintext as string, 'base64').equals(Buffer.from(key))).toBe(true)
    expect(serverImpl.handle('TrentService.Decrypt', { CiphertextBlob: entry.fields.enc, EncryptionContext: { a: 'c' } })).toEqual([400, { __type: 'InvalidCiphertextException' }])
  })
})

describe('registry and library', () => {
  it('keySourceFromSpec passes role/context/profile to the KMS source', async () => {
    const src = await keySourceFromSpec('kms', ARN, { role: ROLE, context: { k: 'v' }, awsProfile: '' })
    const entry = await src.wrap(dataKey(), ctxFor())
    expect(entry.fields).toMatchObject({ arn: ARN, role: ROLE, context: { k: 'v' }, aws_profile: '' })
  })

  it('the library encrypts and decrypts with KMS keys using only the env it is given', async () => {
    const env = kmsEnv(kms)
    const text = await encrypt('db:\n    password: hunter2\n', { format: 'yaml', keys: [{ type: 'kms', id: ARN }], env })
    expect(text).not.toContain('hunter2')
    const meta = (parseYaml(text) as { sops: { kms: Record<string, unknown>[] } }).sops
    expect(Object.keys(meta.kms[0]!)).toEqual(['arn', 'aws_profile', 'created_at', 'enc'])
    expect(await decrypt(text, { format: 'yaml', output: 'text', env })).toBe('db:\n    password: hunter2\n')
  })
})

describe('CLI end to end (the server runs in this process, tsops in a child)', () => {
  /** What a user's shell would hold: no developer AWS settings, HOME without ~/.aws. */
  const userEnv = (extra: Record<string, string | undefined> = {}) => {
    const env = cleanEnv({ HOME: dir })
    for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k]
    return { ...env, ...kmsEnv(kms), ...extra }
  }

  it('tsops encrypt --kms <arn> --encryption-context a:b, then decrypt', async () => {
    const plain = 'db:\n    user: app\n    password: hunter2\nport: 5432\n'
    const file = path.join(dir, 'f.yaml')
    fs.writeFileSync(file, plain)
    const enc = await runCli(['encrypt', '--kms', ARN, '--encryption-context', 'a:b,team:ops', file], { env: userEnv(), cwd: dir })
    expect(enc.stderr).toBe('')
    expect(enc.code).toBe(0)
    const text = enc.stdout.toString()
    expect(text).not.toContain('hunter2')
    const meta = (parseYaml(text) as { sops: { kms: Record<string, unknown>[] } }).sops
    expect(meta.kms).toHaveLength(1)
    // sops's layout: sorted keys, aws_profile always, context as a sorted map.
    expect(Object.keys(meta.kms[0]!)).toEqual(['arn', 'aws_profile', 'context', 'created_at', 'enc'])
    expect(meta.kms[0]).toMatchObject({ arn: ARN, aws_profile: '', context: { a: 'b', team: 'ops' } })
    expect(text).toContain('aws_profile: ""')
    expect(text).toMatch(/created_at: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/)

    const encrypted = path.join(dir, 'f.enc.yaml')
    fs.writeFileSync(encrypted, text)
    const dec = await runCli(['decrypt', encrypted], { env: userEnv(), cwd: dir })
    expect(dec.stderr).toBe('')
    expect(dec.code).toBe(0)
    expect(dec.stdout.toString()).toBe(plain)
    expect(kms.log.filter((l) => l.service === 'kms').map((l) => [l.operation, JSON.stringify(l.input?.EncryptionContext)])).toEqual([
      ['Encrypt', '{"a":"b","team":"ops"}'],
      ['Decrypt', '{"a":"b","team":"ops"}'],
    ])
  })

  it('--aws-profile: credentials from the shared credentials file, profile written to the metadata', async () => {
    kms.addIdentity('AKIAPROFILE000000001', 'profile-secret-key', 'arn:aws:iam::111122223333:user/profile-user')
    const credentials = path.join(dir, 'aws-credentials')
    fs.writeFileSync(credentials, '[ci]\naws_access_key_id = AKIAPROFILE000000001\naws_secret_access_key = profile-secret-key\n')
    const file = path.join(dir, 'p.json')
    fs.writeFileSync(file, '{"token": "s3cr3t"}\n')
    // A profile user has no static keys in the environment (with both, the SDK warns that the profile wins).
    const env = userEnv({
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_CONFIG_FILE: path.join(dir, 'no-config'),
    })
    const enc = await runCli(['encrypt', '--kms', ARN, '--aws-profile', 'ci', file], { env, cwd: dir })
    expect(enc.stderr).toBe('')
    expect(enc.code).toBe(0)
    const meta = (JSON.parse(enc.stdout.toString()) as { sops: { kms: Record<string, unknown>[] } }).sops
    expect(meta.kms[0]).toMatchObject({ arn: ARN, aws_profile: 'ci' })
    expect(kms.log.map((l) => l.accessKeyId)).toEqual(['AKIAPROFILE000000001'])
  })

  it('.sops.yaml key_groups: role and context per KMS key reach AWS and the metadata', async () => {
    const project = fs.mkdtempSync(path.join(dir, 'project-'))
    fs.writeFileSync(
      path.join(project, '.sops.yaml'),
      `creation_rules:\n  - key_groups:\n      - kms:\n          - arn: ${ARN}\n            role: ${ROLE}\n            context:\n              app: billing\n`,
    )
    fs.writeFileSync(path.join(project, 's.yaml'), 'k: v\n')
    const enc = await runCli(['encrypt', 's.yaml'], { env: userEnv(), cwd: project })
    expect(enc.stderr).toBe('')
    expect(enc.code).toBe(0)
    const meta = (parseYaml(enc.stdout.toString()) as { sops: { kms: Record<string, unknown>[] } }).sops
    expect(meta.kms[0]).toEqual({ arn: ARN, aws_profile: '', context: { app: 'billing' }, created_at: expect.any(String), enc: expect.any(String), role: ROLE })
    const kmsCall = kms.log.find((l) => l.service === 'kms')
    expect(kmsCall?.principal).toBe(`arn:aws:sts::111122223333:assumed-role/sops-decrypter/${stsSessionName()}`)
    expect(kmsCall?.input?.EncryptionContext).toEqual({ app: 'billing' })
  })

  it('encrypt without AWS credentials: the credentials hint as tsops, sops\'s message alone as sops', async () => {
    const file = path.join(dir, 'nocreds.yaml')
    fs.writeFileSync(file, 'x: 1\n')
    const env = userEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_EC2_METADATA_DISABLED: 'true' })
    const message = `Could not generate data key: [failed to encrypt new data key with master key "${ARN}": failed to encrypt sops data key with AWS KMS: no AWS credentials found`
    const hint = 'tsops: hint: Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --aws-profile, or log in with `aws sso login`.\n'
    const ours = await runCli(['encrypt', '--kms', ARN, file], { env, cwd: dir })
    expect(ours.code).toBe(1)
    expect(ours.stderr.startsWith(`tsops: error: ${message}`)).toBe(true)
    expect(ours.stderr.endsWith(`]\n${hint}`)).toBe(true)
    const bin = makeSopsBin()
    try {
      const asSops = await runCli(['encrypt', '--kms', ARN, file], { env, cwd: dir, command: [path.join(bin.binDir, 'sops')] })
      expect(asSops.code).toBe(1)
      expect(asSops.stderr.startsWith(message)).toBe(true)
      expect(asSops.stderr).not.toContain('hint')
      expect(asSops.stderr.split('\n')).toHaveLength(2)
    } finally {
      bin.cleanup()
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('x: 1\n')
  })

  it('decrypt without AWS credentials: the same hint after the group report, as tsops only', async () => {
    const file = path.join(dir, 'nocreds-dec.yaml')
    fs.writeFileSync(file, 'x: 1\n')
    const enc = await runCli(['encrypt', '-i', '--kms', ARN, file], { env: userEnv(), cwd: dir })
    expect(enc.code).toBe(0)
    const env = userEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_EC2_METADATA_DISABLED: 'true' })
    const ours = await runCli(['decrypt', file], { env, cwd: dir })
    expect(ours.code).toBe(128)
    expect(ours.stderr).toContain(`${ARN}: FAILED`)
    expect(ours.stderr.endsWith('but none were.\ntsops: hint: Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --aws-profile, or log in with `aws sso login`.\n')).toBe(true)
    const bin = makeSopsBin()
    try {
      const asSops = await runCli(['decrypt', file], { env, cwd: dir, command: [path.join(bin.binDir, 'sops')] })
      expect(asSops.code).toBe(128)
      expect(asSops.stderr).not.toContain('hint')
      expect(asSops.stderr.endsWith('but none were.\n')).toBe(true)
    } finally {
      bin.cleanup()
    }
  })

  it('decrypt with KMS unreachable: exit 128, the key listed with the reason', async () => {
    const file = path.join(dir, 'u.yaml')
    fs.writeFileSync(file, 'x: 1\n')
    const enc = await runCli(['encrypt', '--kms', ARN, file], { env: userEnv(), cwd: dir })
    expect(enc.code).toBe(0)
    fs.writeFileSync(file, enc.stdout)
    const dec = await runCli(['decrypt', file], { env: userEnv({ AWS_ENDPOINT_URL_KMS: await closedPortUrl() }), cwd: dir })
    expect(dec.code).toBe(128)
    expect(dec.stderr).toContain(`${ARN}: FAILED`)
    expect(unwrapped(dec.stderr)).toMatch(
      /failed to decrypt sops data key with AWS KMS: operation error KMS: Decrypt, exceeded maximum number of attempts, 3, https response error StatusCode: 0, RequestID: , request send failed, Post "http:\/\/127\.0\.0\.1:\d+\/": dial tcp 127\.0\.0\.1:\d+: connect: connection refused/,
    )
  })
})
