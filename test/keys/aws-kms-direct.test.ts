/**
 * tsops's own KMS client (aws-kms-direct.ts) and the rule that picks it over the AWS SDK
 * (aws-kms-route.ts), against the loopback KMS (which checks every SigV4 signature) and, for
 * error texts, side by side with the SDK path on the same scripted answers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { describeAwsError, fromEntry, fromSpec } from '../../src/keys/aws-kms.js'
import { directEncrypt, kmsEndpointUrl, standardRetryDelayMs, stsEndpointUrl, type DirectKmsCall } from '../../src/keys/aws-kms-direct.js'
import { kmsClientRoute, parseSharedIni, staticProfile } from '../../src/keys/aws-kms-route.js'
import { MAX_ATTEMPTS } from '../../src/keys/timeouts.js'
import type { KeyContext } from '../../src/keys/types.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { REPO_ROOT } from '../helpers/paths.js'
import { closedPortUrl, kmsEnv, startKmsServer, testKeyArn, TEST_CREDENTIALS, type KmsFault, type KmsServer } from '../helpers/servers/aws-kms.js'

/** Counts loads of the SDK by this process's modules (the real module is still returned). */
const sdk = vi.hoisted(() => ({ loads: 0 }))
vi.mock('@aws-sdk/client-kms', async (importOriginal) => {
  sdk.loads++
  return importOriginal()
})

let kms: KmsServer
let dir: string
const ARN = testKeyArn('direct-client', 'eu-central-1')

beforeAll(async () => {
  kms = await startKmsServer()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-kms-direct-'))
})
afterAll(async () => {
  await kms.close()
  fs.rmSync(dir, { recursive: true, force: true })
})
afterEach(() => {
  kms.state.throttle = 0
  kms.state.faults.length = 0
  kms.log.length = 0
})

/** A key context with static keys; no shared files (HOME is the empty temp dir). */
const ctxFor = (extra: Record<string, string | undefined> = {}): KeyContext => ({ env: { HOME: dir, ...kmsEnv(kms), ...extra } })
const SDK_PATH = { TSOPS_AWS_KMS_CLIENT: 'sdk' }
const dataKey = () => new Uint8Array(crypto.randomBytes(32))
/** The direct client called as aws-kms.ts calls it, with test-sized transport settings. */
const directCall = (transport: DirectKmsCall['transport'], signal = AbortSignal.timeout(10_000), endpoint = new URL(kms.url)): DirectKmsCall => ({
  endpoint,
  region: 'eu-central-1',
  credentials: TEST_CREDENTIALS,
  signal,
  transport,
})
const encryptInput = { KeyId: ARN, Plaintext: new Uint8Array([1, 2, 3]) }
const jsonError = (status: number, body: Record<string, string>, requestId = 'fixed-request-id'): KmsFault => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': requestId },
  body: JSON.stringify(body),
})

describe('the direct client against the loopback KMS', () => {
  it('round-trips a data key with an encryption context and never loads the SDK', async () => {
    const key = dataKey()
    const entry = await fromSpec(ARN, { context: { app: 'web', env: 'prod' } }).wrap(key, ctxFor())
    const back = await fromEntry(entry).unwrap(entry, ctxFor())
    expect(Buffer.from(back).equals(Buffer.from(key))).toBe(true)
    expect(kms.log.map((l) => [l.operation, l.status, l.region, l.signingService, l.accessKeyId, JSON.stringify(l.input?.EncryptionContext)])).toEqual([
      ['Encrypt', 200, 'eu-central-1', 'kms', TEST_CREDENTIALS.accessKeyId, '{"app":"web","env":"prod"}'],
      ['Decrypt', 200, 'eu-central-1', 'kms', TEST_CREDENTIALS.accessKeyId, '{"app":"web","env":"prod"}'],
    ])
    expect(sdk.loads).toBe(0)
  })

  it('sends AWS_SESSION_TOKEN, signed (a wrong token is refused)', async () => {
    kms.addIdentity('ASIADIRECT0000000001', 'temporary-secret', 'arn:aws:sts::111122223333:assumed-role/r/s', 'the-session-token')
    const temp = { AWS_ACCESS_KEY_ID: 'ASIADIRECT0000000001', AWS_SECRET_ACCESS_KEY: 'temporary-secret' }
    await expect(fromSpec(ARN).wrap(dataKey(), ctxFor({ ...temp, AWS_SESSION_TOKEN: 'the-session-token' }))).resolves.toBeDefined()
    await expect(fromSpec(ARN).wrap(dataKey(), ctxFor({ ...temp, AWS_SESSION_TOKEN: 'another-token' }))).rejects.toThrow(/api error UnrecognizedClientException: /)
    expect(kms.log.map((l) => l.principal)).toEqual(['arn:aws:sts::111122223333:assumed-role/r/s', undefined])
    expect(sdk.loads).toBe(0)
  })

  it('retries 500s and succeeds', async () => {
    kms.state.faults.push(jsonError(500, { __type: 'KMSInternalException', message: 'internal' }), { status: 503, body: '' })
    const entry = await fromSpec(ARN).wrap(dataKey(), ctxFor())
    expect(entry.fields.enc).not.toBe('')
    expect(kms.log.map((l) => l.status)).toEqual([500, 503, 200])
  })

  it('retries throttling with the throttling backoff, then gives up after MAX_ATTEMPTS', async () => {
    const delays: [number, boolean][] = []
    const retryDelayMs = (retry: number, throttling: boolean) => (delays.push([retry, throttling]), 0)
    kms.state.throttle = 2
    await expect(directEncrypt(directCall({ retryDelayMs }), encryptInput)).resolves.toBeInstanceOf(Uint8Array)
    expect(delays).toEqual([
      [0, true],
      [1, true],
    ])
    kms.state.throttle = 100
    kms.log.length = 0
    const err = (await directEncrypt(directCall({ retryDelayMs }), encryptInput).catch((e: unknown) => e)) as Error & { $metadata: { attempts: number } }
    expect(err.name).toBe('ThrottlingException')
    expect(err.$metadata.attempts).toBe(MAX_ATTEMPTS)
    expect(kms.log).toHaveLength(MAX_ATTEMPTS)
  })

  it('does not retry a client error', async () => {
    kms.state.faults.push(jsonError(400, { __type: 'AccessDeniedException', message: 'no' }))
    await expect(directEncrypt(directCall({ retryDelayMs: () => 0 }), encryptInput)).rejects.toMatchObject({ name: 'AccessDeniedException', $metadata: { attempts: 1 } })
    expect(kms.log).toHaveLength(1)
  })

  it("the standard retry mode's backoff: random × min(base × 2^retry, 20 s), base 50 ms or 1 s when throttled", () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5)
    try {
      expect([0, 1, 2].map((r) => standardRetryDelayMs(r, false))).toEqual([25, 50, 100])
      expect([0, 1, 10].map((r) => standardRetryDelayMs(r, true))).toEqual([500, 1000, 10_000])
    } finally {
      random.mockRestore()
    }
  })

  it('a request that is not answered: the request timeout, per attempt', async () => {
    kms.state.faults.push({ silent: true }, { silent: true })
    const err = (await directEncrypt(directCall({ requestTimeoutMs: 100, maxAttempts: 2, retryDelayMs: () => 0 }), encryptInput).catch((e: unknown) => e)) as Error
    expect(err).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT', $metadata: { attempts: 2 } })
    expect(kms.log).toHaveLength(2)
    expect(describeAwsError(err, { service: 'KMS', operation: 'Encrypt', url: `${kms.url}/`, where: `AWS KMS at ${kms.url}` })).toBe(`AWS KMS at ${kms.url} did not answer within 5s after 2 attempts`)
  })

  it('a connection that is not made: the connect timeout', async () => {
    // A name lookup that never answers holds the socket in "connecting".
    const lookup = () => undefined
    const endpoint = new URL('http://kms.unreachable.test:8080')
    const err = (await directEncrypt(directCall({ connectTimeoutMs: 50, maxAttempts: 1, lookup }, undefined, endpoint), encryptInput).catch((e: unknown) => e)) as Error
    expect(err.name).toBe('TimeoutError')
    expect(describeAwsError(err, { service: 'KMS', operation: 'Encrypt', url: `${endpoint.origin}/`, where: `AWS KMS at ${endpoint.origin}` })).toBe(
      'could not connect to AWS KMS at http://kms.unreachable.test:8080 within 3s',
    )
  })

  it("the operation's deadline (the signal) stops a request in flight and the retries", async () => {
    kms.state.faults.push({ silent: true })
    const err = (await directEncrypt(directCall({ requestTimeoutMs: 60_000 }, AbortSignal.timeout(100)), encryptInput).catch((e: unknown) => e)) as Error
    expect(err.name).toBe('AbortError')
    expect(kms.log).toHaveLength(1)
    // …and a wait between attempts.
    kms.state.throttle = 1
    const waiting = (await directEncrypt(directCall({ retryDelayMs: () => 60_000 }, AbortSignal.timeout(100)), encryptInput).catch((e: unknown) => e)) as Error
    expect(waiting.name).toBe('AbortError')
    expect(kms.log).toHaveLength(2)
  })

  it('reuses kept-alive connections across calls, one pool per endpoint', async () => {
    let connections = 0
    const server = http.createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
        res.end(JSON.stringify({ CiphertextBlob: 'AAEC' }))
      })
    })
    server.on('connection', () => connections++)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const endpoint = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}`)
      const batch = () => Promise.all(Array.from({ length: 5 }, () => directEncrypt(directCall({}, undefined, endpoint), encryptInput)))
      await batch()
      const afterFirst = connections
      expect(afterFirst).toBeLessThanOrEqual(5)
      await batch()
      await batch()
      expect(connections).toBe(afterFirst)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })

  it("resolves the regional endpoint per partition exactly as the SDK's endpoint rules do", async () => {
    const { KMSClient } = await import('@aws-sdk/client-kms')
    const regions = ['eu-central-1', 'us-east-1', 'cn-north-1', 'cn-northwest-1', 'us-gov-west-1', 'us-iso-east-1', 'us-isob-east-1', 'eu-isoe-west-1', 'us-isof-south-1', 'eusc-de-east-1', 'xx-future-7']
    for (const region of regions) {
      const client = new KMSClient({ region, credentials: TEST_CREDENTIALS })
      const resolved = client.config.endpointProvider({ Region: region, UseFIPS: false, UseDualStack: false })
      expect(kmsEndpointUrl(region, undefined)?.href, region).toBe(resolved.url.href)
      client.destroy()
    }
    expect(kmsEndpointUrl('eu-central-1', 'http://127.0.0.1:4566')?.href).toBe('http://127.0.0.1:4566/')
    expect(kmsEndpointUrl('eu-central-1', 'localhost:4566')).toBeUndefined() // no scheme: left to the SDK
    expect(kmsEndpointUrl('eu-central-1', 'http://user:pw@127.0.0.1:4566')).toBeUndefined()
    expect(kmsEndpointUrl('not a region', undefined)).toBeUndefined()
  })
})

describe('error texts: the direct client and the SDK say the same', () => {
  /** The reason a wrap gives after the server answers with `faults`, through the direct path or the SDK's. */
  const wrapFailure = async (faults: KmsFault[], viaSdk: boolean) => {
    kms.state.faults.splice(0, kms.state.faults.length, ...faults)
    const err = await fromSpec(ARN).wrap(dataKey(), ctxFor(viaSdk ? SDK_PATH : {})).then(
      () => undefined,
      (e: Error) => e.message,
    )
    const requests = kms.log.length
    // Really two different clients.
    expect(kms.log.every((l) => (viaSdk ? /^aws-sdk-js\//.test(l.userAgent ?? '') : l.userAgent === 'tsops'))).toBe(true)
    kms.log.length = 0
    return { err, requests }
  }
  const same = async (faults: KmsFault[]) => {
    const direct = await wrapFailure(structuredClone(faults), false)
    const viaSdk = await wrapFailure(structuredClone(faults), true)
    expect(direct).toEqual(viaSdk)
    return direct
  }

  it('modeled and unmodeled KMS errors, with and without a message', async () => {
    const cases: [KmsFault, RegExp][] = [
      [jsonError(400, { __type: 'AccessDeniedException', message: 'User: x is not authorized' }), /StatusCode: 400, RequestID: fixed-request-id, api error AccessDeniedException: User: x is not authorized$/],
      [jsonError(400, { __type: 'NotFoundException', message: "Key 'k' does not exist" }), /, NotFoundException: Key 'k' does not exist$/],
      [jsonError(400, { __type: 'KMSInvalidStateException', message: 'pending deletion' }), /, KMSInvalidStateException: pending deletion$/],
      [jsonError(400, { __type: 'InvalidCiphertextException' }), /, InvalidCiphertextException: $/],
      [jsonError(400, { __type: 'com.amazonaws.kms#DisabledException', Message: 'disabled' }), /, DisabledException: disabled$/],
      [
        { status: 400, headers: { 'x-amzn-RequestId': 'r-1', 'x-amzn-ErrorType': 'UnrecognizedClientException:http://internal.amazon.com/coral/' }, body: '' },
        /RequestID: r-1, api error UnrecognizedClientException: $/,
      ],
      [{ status: 404, body: '' }, /StatusCode: 404, RequestID: , api error Unknown: $/],
      [{ status: 200, body: '{"KeyId": "k"}' }, /KMS returned an empty CiphertextBlob$/],
      [{ status: 200, headers: { 'x-amzn-RequestId': 'r-2' }, body: 'not json' }, /StatusCode: 200, RequestID: r-2, api error SyntaxError: Unexpected token .*\n {2}Deserialization error: /],
      [{ status: 400, headers: { 'content-type': 'text/html' }, body: '<html>proxy error</html>' }, /StatusCode: 400, RequestID: , api error SyntaxError: Unexpected token '<'/],
    ]
    for (const [fault, expected] of cases) {
      const { err, requests } = await same([fault])
      expect(err).toMatch(/^failed to encrypt sops data key with AWS KMS: /)
      expect(err).toMatch(expected)
      expect(requests).toBe(1)
    }
  })

  it('retried failures: 5xx, throttling without a body, dropped connections', async () => {
    const internal = await same([0, 1, 2].map(() => jsonError(500, { __type: 'KMSInternalException', message: 'try again' })))
    expect(internal).toEqual({ err: expect.stringMatching(/exceeded maximum number of attempts, 3, https response error StatusCode: 500, .*KMSInternalException: try again$/), requests: 3 })
    const throttled = await same([0, 1, 2].map(() => ({ status: 429, headers: { 'x-amzn-RequestId': 'r-429' }, body: '{}' })))
    expect(throttled.requests).toBe(3)
    const dropped = await same([{ destroy: true }, { destroy: true }, { destroy: true }])
    expect(dropped.requests).toBe(3)
    const refused = await (async () => {
      const ctx = (extra: Record<string, string>) => ctxFor({ AWS_ENDPOINT_URL_KMS: closed, ...extra })
      const closed = await closedPortUrl()
      const texts = await Promise.all([ctx({}), ctx(SDK_PATH)].map((c) => fromSpec(ARN).wrap(dataKey(), c).catch((e: Error) => e.message)))
      expect(texts[0]).toBe(texts[1])
      return texts[0]
    })()
    expect(refused).toMatch(/exceeded maximum number of attempts, 3, .*request send failed, Post "http:\/\/127\.0\.0\.1:\d+\/": dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/)
    const proxy = await same([0, 1, 2].map(() => ({ status: 502, headers: { 'content-type': 'text/html' }, body: '<html>Bad Gateway</html>' })))
    expect(proxy).toEqual({ err: expect.stringMatching(/exceeded maximum number of attempts, 3, https response error StatusCode: 502, RequestID: , api error SyntaxError: /), requests: 3 })
    const recovered = await same([jsonError(503, { __type: 'ServiceUnavailableException' }), { destroy: true }])
    expect(recovered).toEqual({ err: undefined, requests: 3 })
  }, 30_000)
})

describe('+role: STS AssumeRole without the SDK', () => {
  let n = 0
  /** A role this process has not assumed yet (assumed roles are cached on both paths). */
  const freshRole = (prefix = 'fresh') => `arn:aws:iam::111122223333:role/${prefix}-${++n}`
  const wrapWithRole = (role: string, extra: Record<string, string> = {}) =>
    fromSpec(`${ARN}+${role}`)
      .wrap(dataKey(), ctxFor(extra))
      .then(
        () => undefined,
        (e: Error) => e.message,
      )

  it('assumes the role once for parallel wraps and signs KMS calls with its credentials', async () => {
    const role = freshRole()
    const ctx = ctxFor()
    await Promise.all([0, 1, 2].map(() => fromSpec(`${ARN}+${role}`).wrap(dataKey(), ctx)))
    expect(kms.log.filter((l) => l.service === 'sts').map((l) => [l.operation, l.status, l.region, l.input?.RoleArn])).toEqual([['AssumeRole', 200, 'eu-central-1', role]])
    const kmsCalls = kms.log.filter((l) => l.service === 'kms')
    expect(kmsCalls).toHaveLength(3)
    expect(new Set(kmsCalls.map((l) => l.principal))).toEqual(new Set([expect.stringMatching(new RegExp(`^arn:aws:sts::111122223333:assumed-role/${role.split('/')[1]}/sops@`))]))
  })

  it('the same error texts as the SDK path: a denied role, modeled and retried STS errors', async () => {
    const stsFault = (status: number, code: string, message: string): KmsFault => ({
      status,
      headers: { 'content-type': 'text/xml', 'x-amzn-RequestId': 'sts-request-id' },
      body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>sts-request-id</RequestId></ErrorResponse>`,
    })
    const cases: [KmsFault[], RegExp][] = [
      [[], /^failed to assume role '.*denied-\d+': operation error STS: AssumeRole, https response error StatusCode: 403, RequestID: [0-9a-f-]{36}, api error AccessDenied: User: .* is not authorized/],
      [[stsFault(403, 'RegionDisabledException', 'STS is not activated in this region')], /StatusCode: 403, RequestID: sts-request-id, RegionDisabledException: STS is not activated in this region$/],
      [[0, 1, 2].map(() => stsFault(500, 'InternalFailure', 'oops &amp; more')), /exceeded maximum number of attempts, 3, https response error StatusCode: 500, RequestID: sts-request-id, api error InternalFailure: oops & more$/],
    ]
    for (const [faults, expected] of cases) {
      const texts: (string | undefined)[] = []
      for (const viaSdk of [false, true]) {
        kms.state.faults.splice(0, kms.state.faults.length, ...structuredClone(faults))
        texts.push(await wrapWithRole(freshRole(faults.length === 0 ? 'denied' : 'parity'), viaSdk ? SDK_PATH : {}))
        expect(kms.log.every((l) => (viaSdk ? /^aws-sdk-js\//.test(l.userAgent ?? '') : l.userAgent === 'tsops'))).toBe(true)
        kms.log.length = 0
      }
      expect(texts[0]).toMatch(expected)
      const normal = (text: string | undefined) => text?.replace(/(denied|parity)-\d+/g, 'ROLE').replace(/[0-9a-f-]{36}/g, 'ID')
      expect(normal(texts[0])).toBe(normal(texts[1]))
    }
  }, 30_000)

  it("resolves the regional STS endpoint as the SDK's STS rules do; its global pseudo-regions stay with the SDK", async () => {
    const { STSClient } = await import('@aws-sdk/client-sts')
    for (const region of ['eu-central-1', 'us-east-1', 'cn-north-1', 'us-gov-west-1', 'us-iso-east-1', 'eusc-de-east-1']) {
      const client = new STSClient({ region, credentials: TEST_CREDENTIALS })
      const resolved = client.config.endpointProvider({ Region: region, UseFIPS: false, UseDualStack: false, UseGlobalEndpoint: false })
      expect(stsEndpointUrl(region, undefined)?.href, region).toBe(resolved.url.href)
      client.destroy()
    }
    expect(stsEndpointUrl('aws-global', undefined)).toBeUndefined()
  })
})

describe('which client serves a key (kmsClientRoute)', () => {
  const region = 'eu-central-1'
  const noKey = { role: '', awsProfile: '' }
  /** A HOME with the given ~/.aws files; the env as both the key context's and the process's. */
  const home = (files: { credentials?: string; config?: string }) => {
    const h = fs.mkdtempSync(path.join(dir, 'home-'))
    fs.mkdirSync(path.join(h, '.aws'))
    if (files.credentials !== undefined) fs.writeFileSync(path.join(h, '.aws', 'credentials'), files.credentials)
    if (files.config !== undefined) fs.writeFileSync(path.join(h, '.aws', 'config'), files.config)
    return { HOME: h }
  }
  const route = (key: { role: string; awsProfile: string }, env: Record<string, string | undefined>, processEnv = env, endpoint?: string) => {
    const r = kmsClientRoute(key, region, { kms: endpoint, sts: undefined }, env, processEnv)
    return r.client === 'direct' ? { client: 'direct', credentials: r.credentials, endpoint: r.endpoint.href, ...(r.assumeRole ? { assumeRole: { role: r.assumeRole.role, endpoint: r.assumeRole.endpoint.href } } : {}) } : r
  }
  const keys = { AWS_ACCESS_KEY_ID: 'AKIAENV', AWS_SECRET_ACCESS_KEY: 'env-secret' }
  const staticCi = '[ci]\naws_access_key_id = AKIAFILE\naws_secret_access_key = file-secret # a comment\n'

  it('static keys in the environment: direct, to the regional endpoint or the override', () => {
    expect(route(noKey, { ...home({}), ...keys })).toEqual({ client: 'direct', credentials: { accessKeyId: 'AKIAENV', secretAccessKey: 'env-secret' }, endpoint: 'https://kms.eu-central-1.amazonaws.com/' })
    expect(route(noKey, { ...home({}), ...keys, AWS_SESSION_TOKEN: 'tok' }, undefined, 'http://127.0.0.1:9/')).toEqual({
      client: 'direct',
      credentials: { accessKeyId: 'AKIAENV', secretAccessKey: 'env-secret', sessionToken: 'tok' },
      endpoint: 'http://127.0.0.1:9/',
    })
  })

  it('a key with a role: STS AssumeRole at the regional STS endpoint with the static credentials, then KMS', () => {
    const role = 'arn:aws:iam::1:role/r'
    expect(route({ role, awsProfile: '' }, { ...home({}), ...keys })).toEqual({
      client: 'direct',
      credentials: { accessKeyId: 'AKIAENV', secretAccessKey: 'env-secret' },
      endpoint: 'https://kms.eu-central-1.amazonaws.com/',
      assumeRole: { role, endpoint: 'https://sts.eu-central-1.amazonaws.com/' },
    })
    expect(route({ role, awsProfile: 'ci' }, home({ credentials: staticCi }))).toMatchObject({ client: 'direct', credentials: { accessKeyId: 'AKIAFILE' }, assumeRole: { role } })
    expect(route({ role, awsProfile: '' }, { ...home({}), ...keys, AWS_STS_REGIONAL_ENDPOINTS: 'legacy' })).toMatchObject({ client: 'sdk' })
    expect(route({ role, awsProfile: '' }, { ...home({ config: '[default]\nsts_regional_endpoints = legacy\n' }), ...keys })).toMatchObject({ client: 'sdk' })
    expect(route({ role, awsProfile: '' }, home({}))).toMatchObject({ client: 'sdk' }) // base credentials from the SDK's chain
  })

  it('the SDK for FIPS or dual-stack endpoints, endpoint settings in the config file, odd endpoints, or when asked', () => {
    const env = { ...home({}), ...keys }
    expect(route(noKey, { ...env, AWS_USE_FIPS_ENDPOINT: 'true' })).toMatchObject({ client: 'sdk' })
    expect(route(noKey, env, { ...env, AWS_USE_DUALSTACK_ENDPOINT: 'true' })).toMatchObject({ client: 'sdk' })
    expect(route(noKey, { ...env, AWS_RETRY_MODE: 'adaptive' })).toMatchObject({ client: 'sdk' })
    expect(route(noKey, { ...home({ config: '[profile x]\nuse_fips_endpoint = true\n' }), ...keys })).toMatchObject({ client: 'sdk' })
    expect(route(noKey, { ...home({ config: '[default]\nregion = eu-west-1\nservices = local\n[services local]\nkms =\n  endpoint_url = http://x\n' }), ...keys })).toMatchObject({ client: 'sdk' })
    expect(route(noKey, env, env, 'localhost:4566')).toMatchObject({ client: 'sdk' })
    expect(route(noKey, { ...env, TSOPS_AWS_KMS_CLIENT: 'sdk' })).toMatchObject({ client: 'sdk', why: 'TSOPS_AWS_KMS_CLIENT=sdk' })
  })

  it('a profile of static keys alone: direct; a profile with anything else, or none: the SDK', () => {
    const ci = { role: '', awsProfile: 'ci' }
    expect(route(ci, home({ credentials: staticCi }))).toMatchObject({ client: 'direct', credentials: { accessKeyId: 'AKIAFILE', secretAccessKey: 'file-secret' } })
    expect(route(noKey, { ...home({ credentials: staticCi }), AWS_PROFILE: 'ci' })).toMatchObject({ client: 'direct' })
    expect(route(noKey, home({ credentials: '[default]\naws_access_key_id = A\naws_secret_access_key = S\naws_session_token = T\n', config: '[default]\nregion = us-east-1\n' }))).toMatchObject({
      client: 'direct',
      credentials: { accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'T' },
    })
    for (const config of ['role_arn = arn:aws:iam::1:role/r\nsource_profile = base', 'sso_session = s', 'credential_process = /bin/creds', 'web_identity_token_file = /t']) {
      expect(route(ci, home({ credentials: staticCi, config: `[profile ci]\n${config}\n` })), config).toMatchObject({ client: 'sdk' })
    }
    expect(route(ci, home({ credentials: staticCi, config: `[profile "ci"]\nrole_arn = arn:aws:iam::1:role/r\n` }))).toMatchObject({ client: 'sdk' })
    expect(route({ role: '', awsProfile: 'other' }, home({ credentials: staticCi }))).toMatchObject({ client: 'sdk' })
    expect(route(noKey, home({}))).toMatchObject({ client: 'sdk' }) // no credentials at all: container/instance credentials, left to the SDK
  })

  it("a profile is read only when the key context's environment and the process's agree (the SDK reads the process's)", () => {
    const env = home({ credentials: staticCi })
    expect(route({ role: '', awsProfile: 'ci' }, env, { ...env, AWS_SHARED_CREDENTIALS_FILE: '/elsewhere' })).toMatchObject({ client: 'sdk' })
    expect(route({ role: '', awsProfile: 'ci' }, env, { ...env, ...keys })).toMatchObject({ client: 'sdk' })
  })

  it("reads the shared files as the SDK's parser does", () => {
    const ini = parseSharedIni('# c\n[default]\nregion = eu ; c\n[profile  "x"]\ns3 =\n  max = 10\nother = 1\n')
    expect(ini).toEqual({ default: { region: 'eu' }, 'profile x': { 's3.max': '10', other: '1' } })
    expect(staticProfile('x', '[x]\naws_access_key_id = A\naws_secret_access_key = S\n', '[profile x]\noutput = json\n')).toEqual({ accessKeyId: 'A', secretAccessKey: 'S' })
    expect(staticProfile('x', '[x]\naws_access_key_id = A\naws_secret_access_key = S\n[x]\nrole_arn = r\n', undefined)).toBeUndefined()
  })
})

describe('the CLI bundle does not load the AWS SDK on the direct path', () => {
  const requireLog = path.join(REPO_ROOT, 'bench', 'require-log.cjs')
  const sdkModulesLoaded = async (extra: Record<string, string>, keySpec = ARN) => {
    const file = path.join(dir, 'cli.yaml')
    fs.writeFileSync(file, 'k: v\n')
    const log = path.join(dir, `require-${crypto.randomUUID()}.log`)
    const env = cleanEnv({ HOME: dir, ...kmsEnv(kms), TSOPS_IMPORT_LOG: log, ...extra })
    for (const k of Object.keys(env)) if (k.startsWith('AWS_') && !(k in kmsEnv(kms))) delete env[k]
    const { CLI } = await import('../helpers/paths.js')
    const r = await runCli(['encrypt', '--kms', keySpec, file], { env, command: [process.execPath, '-r', requireLog, CLI] })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    return fs.readFileSync(log, 'utf8').split('\n').filter((m) => m.startsWith('@aws-sdk/') || m.startsWith('@smithy/'))
  }

  it('encrypt --kms with static keys requires no @aws-sdk or @smithy module; through the SDK it does', async () => {
    expect(await sdkModulesLoaded({})).toEqual([])
    expect(await sdkModulesLoaded(SDK_PATH)).toContain('@aws-sdk/client-kms')
    expect(kms.log.map((l) => [l.operation, l.status])).toEqual([
      ['Encrypt', 200],
      ['Encrypt', 200],
    ])
  })

  it('nor with a role (STS AssumeRole first)', async () => {
    expect(await sdkModulesLoaded({}, `${ARN}+arn:aws:iam::111122223333:role/cli-role`)).toEqual([])
    expect(kms.log.map((l) => [l.operation, l.status])).toEqual([
      ['AssumeRole', 200],
      ['Encrypt', 200],
    ])
  })
})
