/**
 * AWS KMS `Encrypt` and `Decrypt` without the AWS SDK: one signed POST each (AWS JSON 1.1,
 * `X-Amz-Target: TrentService.<Op>`), over node:http or node:https.
 *
 * Loading @aws-sdk/client-kms and its @smithy modules costs more start-up time than the rest of
 * an `encrypt --kms` (README, Benchmarks); these two calls are all tsops needs from it when the
 * credentials are known without it (see aws-kms-route.ts for when that is). The behaviour copies
 * the SDK's as tsops configures it (aws-kms.ts, commonConfig), so that the two paths fail alike:
 *   - the regional endpoint `https://kms.<region>.<partition's DNS suffix>`, or the override;
 *   - per attempt a connect timeout and a request timeout, MAX_ATTEMPTS attempts, retrying
 *     throttling, 500/502/503/504, timeouts and network errors with the standard retry mode's
 *     jittered exponential backoff, and once after correcting for a skewed local clock;
 *   - errors as objects of the SDK's shape (name = AWS error code, message, `$metadata` with the
 *     HTTP status, request id and attempts; node's own error for a failed connection), which
 *     aws-kms.ts turns into sops's Go-style text the same way for both;
 *   - keep-alive connections, one agent per endpoint, so parallel wraps share them.
 */
import type http from 'node:http'
import type { LookupFunction } from 'node:net'
import { signRequest, type AwsSigningCredentials } from './aws-sigv4.js'
import { backoff, CONNECT_TIMEOUT_MS, MAX_ATTEMPTS, REQUEST_TIMEOUT_MS } from './timeouts.js'

export interface TransportSettings {
  connectTimeoutMs: number
  requestTimeoutMs: number
  maxAttempts: number
  /** The wait before retry number `retry` (0 for the first). */
  retryDelayMs: (retry: number, throttling: boolean) => number
  /** For tests: name resolution (one that never answers holds the socket in "connecting"). */
  lookup?: LookupFunction
}

/** The SDK's standard retry mode (@smithy/core retry, 2026 defaults): random × min(base × 2^retry, 20 s). */
export function standardRetryDelayMs(retry: number, throttling: boolean): number {
  const base = throttling ? 1_000 : 50
  return Math.floor(Math.random() * Math.min(base * 2 ** retry, 20_000))
}

const DEFAULT_TRANSPORT: TransportSettings = {
  connectTimeoutMs: CONNECT_TIMEOUT_MS,
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  maxAttempts: MAX_ATTEMPTS,
  retryDelayMs: standardRetryDelayMs,
}

export interface DirectKmsCall {
  /** From kmsEndpointUrl. */
  endpoint: URL
  /** The key's region: the signature's scope. */
  region: string
  credentials: AwsSigningCredentials
  /** The whole operation's deadline (and the caller's Ctrl-C). */
  signal: AbortSignal
  transport?: Partial<TransportSettings>
}

export interface EncryptInput {
  KeyId: string
  Plaintext: Uint8Array
  EncryptionContext?: Record<string, string>
}

export interface DecryptInput {
  KeyId: string
  CiphertextBlob: Uint8Array
  EncryptionContext?: Record<string, string>
}

/** KMS Encrypt → the CiphertextBlob (empty when the answer has none). */
export async function directEncrypt(call: DirectKmsCall, input: EncryptInput): Promise<Uint8Array> {
  const out = await callKms(call, 'Encrypt', { ...input, Plaintext: base64(input.Plaintext) })
  return fromBase64(out.CiphertextBlob)
}

/** KMS Decrypt → the Plaintext (empty when the answer has none). */
export async function directDecrypt(call: DirectKmsCall, input: DecryptInput): Promise<Uint8Array> {
  const out = await callKms(call, 'Decrypt', { ...input, CiphertextBlob: base64(input.CiphertextBlob) })
  return fromBase64(out.Plaintext)
}

// ---------------------------------------------------------------------------------------------
// Endpoints

/** A DNS label, as the SDK requires of a region before it builds a host name from it. */
const HOST_LABEL = /^(?!-)[a-zA-Z0-9-]{1,63}(?<!-)$/

/** The SDK's partitions (@aws-sdk/core util-endpoints partitions.js) other than `aws` (amazonaws.com), by region. */
const PARTITION_SUFFIXES: [RegExp, string][] = [
  [/^(cn-\w+-\d+|aws-cn-global)$/, 'amazonaws.com.cn'],
  [/^(eusc-de-\w+-\d+)$/, 'amazonaws.eu'],
  [/^(us-iso-\w+-\d+|aws-iso-global)$/, 'c2s.ic.gov'],
  [/^(us-isob-\w+-\d+|aws-iso-b-global)$/, 'sc2s.sgov.gov'],
  [/^(eu-isoe-\w+-\d+|aws-iso-e-global)$/, 'cloud.adc-e.uk'],
  [/^(us-isof-\w+-\d+|aws-iso-f-global)$/, 'csp.hci.ic.gov'],
]

/**
 * Where the SDK would send a KMS request for this region: the override (AWS_ENDPOINT_URL_KMS /
 * AWS_ENDPOINT_URL) or `https://kms.<region>.<DNS suffix>`; undefined when the SDK would refuse
 * or read more into it than this client does (not http(s), credentials or a query in the URL, a
 * region that is no host label): those stay with the SDK and its own messages.
 */
export function kmsEndpointUrl(region: string, override: string | undefined): URL | undefined {
  return endpointUrl('kms', region, override)
}

/** The same for STS; its `*-global` pseudo-regions (a global endpoint, signed for us-east-1) stay with the SDK. */
export function stsEndpointUrl(region: string, override: string | undefined): URL | undefined {
  return override === undefined && region.endsWith('-global') ? undefined : endpointUrl('sts', region, override)
}

function endpointUrl(service: 'kms' | 'sts', region: string, override: string | undefined): URL | undefined {
  if (override !== undefined) {
    let url: URL
    try {
      url = new URL(override)
    } catch {
      return undefined
    }
    const plain = (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.search === '' && url.hash === ''
    return plain ? url : undefined
  }
  if (!HOST_LABEL.test(region)) return undefined
  const suffix = PARTITION_SUFFIXES.find(([re]) => re.test(region))?.[1] ?? 'amazonaws.com'
  return new URL(`https://${service}.${region}.${suffix}`)
}

// ---------------------------------------------------------------------------------------------
// One operation: sign, send, retry

type Json = Record<string, unknown>

/** The fields of an SDK error that aws-kms.ts reads (describeAwsError). */
export interface AwsErrorFields {
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number; clockSkewCorrected?: boolean }
  code?: string
}
export type AwsError = Error & AwsErrorFields

async function callKms(call: DirectKmsCall, operation: 'Encrypt' | 'Decrypt', input: Json): Promise<Json> {
  const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` }
  return sendAws(call, 'kms', headers, JSON.stringify(input), (response, clockSkewCorrected) => {
    if (response.status < 300) return parseJson(response.body)
    throw jsonServiceError(response, clockSkewCorrected)
  })
}

/**
 * One AWS request (POST to the endpoint), signed, sent and retried as the SDK does: → what
 * `read` makes of the answer. `read` throws the service's error for an error answer; anything
 * else it throws is a deserialization error, reported as the SDK reports one.
 */
export async function sendAws<T>(call: DirectKmsCall, service: string, headers: Record<string, string>, body: string, read: (response: RawResponse, clockSkewCorrected: boolean) => T): Promise<T> {
  const settings = { ...DEFAULT_TRANSPORT, ...call.transport }
  // The SDK posts to the endpoint's path with a trailing slash ("/" for a bare host).
  const path = call.endpoint.pathname.endsWith('/') ? call.endpoint.pathname : `${call.endpoint.pathname}/`
  const transport = await transportFor(call.endpoint)
  for (let attempt = 1; ; attempt++) {
    let error: AwsError
    try {
      if (call.signal.aborted) throw abortError()
      const signed = signedHeaders(call, service, path, headers, body)
      const response = await sendOnce(transport, call.endpoint, path, signed, body, settings, call.signal)
      const skewCorrected = noteServerClock(response.headers.date)
      try {
        return read(response, skewCorrected)
      } catch (e) {
        throw asDeserializationError(e, response)
      }
    } catch (e) {
      error = asAwsError(e)
    }
    const kind = error.name === 'AbortError' || call.signal.aborted ? undefined : retryKind(error)
    if (kind === undefined || attempt >= settings.maxAttempts) {
      error.$metadata = { ...error.$metadata, attempts: attempt }
      throw error
    }
    await backoff(settings.retryDelayMs(attempt - 1, kind === 'throttling'), call.signal)
    if (call.signal.aborted) throw Object.assign(abortError(), { $metadata: { attempts: attempt } })
  }
}

function signedHeaders(call: DirectKmsCall, service: string, path: string, headers: Record<string, string>, body: string): Record<string, string> {
  const signed = signRequest(
    // The path as sent (already percent-encoded): AWS services other than S3 encode it once more to sign it.
    { method: 'POST', path, headers: { host: call.endpoint.host, ...headers }, body },
    call.credentials,
    { region: call.region, service },
    new Date(Date.now() + clockOffsetMs),
  )
  return { ...signed.headers, 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'tsops' }
}

/**
 * The SDK's retry classes: throttling (its list of codes, or 429), transient (timeouts, node's
 * connection errors, 500/502/503/504, an expired signature or a corrected clock); others fail at once.
 */
function retryKind(e: AwsError): 'throttling' | 'transient' | undefined {
  const status = e.$metadata?.httpStatusCode
  if (status === 429 || THROTTLING_CODES.has(e.name)) return 'throttling'
  const transient =
    TRANSIENT_NAMES.has(e.name) ||
    (e.code !== undefined && TRANSIENT_NODE_CODES.has(e.code)) ||
    (status !== undefined && TRANSIENT_STATUSES.has(status)) ||
    e.$metadata?.clockSkewCorrected === true ||
    (e.name === 'InvalidSignatureException' && e.message.includes('Signature expired'))
  return transient ? 'transient' : undefined
}

const THROTTLING_CODES = new Set([
  'BandwidthLimitExceeded', 'EC2ThrottledException', 'LimitExceededException', 'PriorRequestNotComplete', 'ProvisionedThroughputExceededException',
  'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException', 'SlowDown', 'ThrottledException', 'Throttling', 'ThrottlingException',
  'TooManyRequestsException', 'TransactionInProgressException',
])
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException'])
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])
const TRANSIENT_STATUSES = new Set([500, 502, 503, 504])

/**
 * Local clock minus AWS's, learnt from the Date of answers when they differ by 5 minutes or more
 * (the SDK's skew correction): requests are then signed with AWS's time, and the error that
 * revealed the skew is retried.
 */
let clockOffsetMs = 0
function noteServerClock(date: string | undefined): boolean {
  const serverTime = date === undefined ? NaN : Date.parse(date)
  if (Number.isNaN(serverTime) || Math.abs(Date.now() + clockOffsetMs - serverTime) < 300_000) return false
  clockOffsetMs = serverTime - Date.now()
  return true
}

// ---------------------------------------------------------------------------------------------
// Answers → results or SDK-shaped errors

function parseJson(body: Buffer): Json {
  if (body.length === 0) return {}
  const value: unknown = JSON.parse(body.toString('utf8')) // a SyntaxError, as from the SDK
  return typeof value === 'object' && value !== null ? (value as Json) : {}
}

/** As the SDK's AWS JSON protocol reads an error: code from __type, code, or x-amzn-ErrorType; message or Message. */
function jsonServiceError(response: RawResponse, clockSkewCorrected: boolean): AwsError {
  const data = parseJson(response.body)
  const header = response.headers['x-amzn-errortype']
  const raw = data.__type ?? Object.entries(data).find(([k]) => k.toLowerCase() === 'code')?.[1] ?? header
  const name = raw === undefined || raw === null ? 'Unknown' : sanitizeErrorCode(String(raw))
  const message = stringOr(data.message) ?? stringOr(data.Message) ?? 'UnknownError'
  return awsServiceError(name, message, response, clockSkewCorrected)
}

/** An error answer as the SDK reports it: the code as the name, the HTTP status and request id in $metadata. */
export function awsServiceError(name: string, message: string, response: RawResponse, clockSkewCorrected: boolean): AwsError {
  const requestId = response.headers['x-amzn-requestid'] ?? response.headers['x-amzn-request-id'] ?? response.headers['x-amz-request-id']
  return Object.assign(new Error(message), {
    name,
    $metadata: { httpStatusCode: response.status, requestId: typeof requestId === 'string' ? requestId : undefined, ...(clockSkewCorrected ? { clockSkewCorrected } : {}) },
  })
}

/**
 * An answer that could not be read (not JSON, not XML), as the SDK's deserializer reports it: a
 * hint appended to the message and $metadata from the answer, so a 5xx is still retried.
 */
function asDeserializationError(e: unknown, response: RawResponse): AwsError {
  const error = asAwsError(e)
  if (error.$metadata !== undefined) return error // the service's own error
  error.message += '\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.'
  const requestId = Object.entries(response.headers).find(([k]) => /^x-[\w-]+-request-?id$/.test(k))?.[1]
  error.$metadata = { httpStatusCode: response.status, requestId: typeof requestId === 'string' ? requestId : undefined }
  return error
}

/** `aws.protocols#Code:http://…` → `Code` (the SDK's sanitizeErrorCode). */
function sanitizeErrorCode(raw: string): string {
  let code = raw.split(',')[0]!.split(':')[0]!
  if (code.includes('#')) code = code.split('#')[1]!
  return code
}

function stringOr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function asAwsError(e: unknown): AwsError {
  return e instanceof Error ? (e as AwsError) : new Error(String(e))
}

function abortError(): AwsError {
  return Object.assign(new Error('Request aborted'), { name: 'AbortError' })
}

function timeoutError(message: string, code?: string): AwsError {
  return Object.assign(new Error(message), { name: 'TimeoutError', ...(code !== undefined ? { code } : {}) })
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

function fromBase64(v: unknown): Uint8Array {
  return typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64')) : new Uint8Array(0)
}

// ---------------------------------------------------------------------------------------------
// HTTP: one attempt

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

interface Transport {
  request: typeof http.request
  agent: http.Agent
}

const RESET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'])

/** KMS answers are a few hundred bytes; anything this large is not KMS. */
const MAX_RESPONSE_BYTES = 1 << 20

/** One keep-alive agent per endpoint, for the process: parallel wraps and later calls reuse connections. */
const transports = new Map<string, Promise<Transport>>()

function transportFor(url: URL): Promise<Transport> {
  let t = transports.get(url.origin)
  if (!t) {
    // node:https (and TLS) is loaded only for an https endpoint.
    t = (url.protocol === 'https:' ? import('node:https') : import('node:http')).then((mod) => ({
      request: mod.request,
      agent: new mod.Agent({ keepAlive: true, maxSockets: 50 }),
    }))
    transports.set(url.origin, t)
  }
  return t
}

/**
 * POST once and read the whole answer. Fails with the SDK's TimeoutErrors when the connection is
 * not made within connectTimeoutMs or the answer is not complete within requestTimeoutMs, with
 * node's error when the connection fails, and with an AbortError when the signal fires.
 */
function sendOnce(transport: Transport, url: URL, path: string, headers: Record<string, string>, body: string, settings: TransportSettings, signal: AbortSignal): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const timers: NodeJS.Timeout[] = []
    let done = false
    const onAbort = () => fail(abortError())
    const settle = () => {
      done = true
      for (const t of timers) clearTimeout(t)
      signal.removeEventListener('abort', onAbort)
    }
    const fail = (e: unknown) => {
      if (done) return
      settle()
      req.destroy()
      reject(e)
    }
    const req = transport.request(
      {
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port || (url.protocol === 'https:' ? 443 : 80),
        method: 'POST',
        path,
        headers,
        agent: transport.agent,
        ...(settings.lookup ? { lookup: settings.lookup } : {}),
      },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > MAX_RESPONSE_BYTES) fail(new Error(`the answer from ${url.origin} is larger than ${MAX_RESPONSE_BYTES} bytes`))
          else chunks.push(c)
        })
        res.on('error', fail)
        res.on('end', () => {
          if (done) return
          settle()
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })
        })
      },
    )
    let connected = false
    // Like the SDK's handler, a reset, broken pipe or OS timeout on a connection that was made
    // becomes a TimeoutError (a refused connection keeps node's error).
    req.on('error', (e: AwsError) => fail(connected && e.code !== undefined && RESET_CODES.has(e.code) ? Object.assign(e, { name: 'TimeoutError' }) : e))
    signal.addEventListener('abort', onAbort, { once: true })
    timers.push(
      setTimeout(() => fail(timeoutError(`@smithy/node-http-handler - [ERROR] a request has exceeded the configured ${settings.requestTimeoutMs} ms requestTimeout.`, 'ETIMEDOUT')), settings.requestTimeoutMs),
    )
    req.on('socket', (socket) => {
      connected = !socket.connecting
      if (connected) return // a kept-alive connection
      const connectTimer = setTimeout(
        () => fail(timeoutError(`@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of ${settings.connectTimeoutMs} ms.`)),
        settings.connectTimeoutMs,
      )
      timers.push(connectTimer)
      socket.once('connect', () => {
        connected = true
        clearTimeout(connectTimer)
      })
    })
    req.end(body)
  })
}
