/**
 * GCP KMS key source (spec §6.4): `enc` is the standard base64 of the ciphertext that Cloud KMS
 * Encrypt returns for the data key (or Shamir share); Decrypt sends it back with the same key.
 * Entry fields, as sops writes them: created_at, enc, resource_id.
 *
 * @google-cloud/kms (google-gax, @grpc/grpc-js underneath) is imported on first use only.
 *
 * Settings come from ctx.env, read the way sops reads them:
 *   - credentials: GOOGLE_CREDENTIALS (a file path if that file exists, else the JSON itself),
 *     then GOOGLE_OAUTH_ACCESS_TOKEN (a static bearer token), else Application Default
 *     Credentials (which google-auth-library looks up in the process environment itself);
 *   - SOPS_GCP_KMS_CLIENT_TYPE=grpc (default) | rest;
 *   - SOPS_GCP_KMS_ENDPOINT=host:port, which wins over SOPS_GCP_KMS_UNIVERSE_DOMAIN
 *     (endpoint cloudkms.<domain>:443).
 *
 * A loopback endpoint (127.0.0.0/8, ::1, localhost) is spoken to in plaintext, as Google's
 * client libraries do for local emulators: there is no certificate to check on a port of this
 * machine. gRPC refuses to attach call credentials to a plaintext channel, so for that case the
 * bearer token of GOOGLE_CREDENTIALS / GOOGLE_OAUTH_ACCESS_TOKEN is sent as request metadata;
 * ADC is not consulted for a loopback endpoint. Anywhere else it is TLS with gax's own auth.
 *
 * Every call is bounded (./timeouts.ts): MAX_ATTEMPTS attempts of at most REQUEST_TIMEOUT_MS,
 * retried on UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED with a short backoff, and
 * NETWORK_TIMEOUT_MS for the whole operation (credential lookup included).
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { KeyManagementServiceClient } from '@google-cloud/kms'
import type { CallOptions } from 'google-gax'
import { GenericError } from '../core/errors.js'
import { boundedCall, type BoundedCall } from './bounded-call.js'
import { MAX_ATTEMPTS, NETWORK_TIMEOUT_MS, NetworkTimeoutError, REQUEST_TIMEOUT_MS } from './timeouts.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeySource } from './types.js'

type Env = KeyContext['env']
type KmsModule = typeof import('@google-cloud/kms')
type GaxModule = typeof import('google-gax')
type AuthModule = typeof import('google-auth-library')
type ClientOptions = NonNullable<ConstructorParameters<KmsModule['KeyManagementServiceClient']>[0]>

export const GOOGLE_CREDENTIALS = 'GOOGLE_CREDENTIALS'
export const GOOGLE_OAUTH_ACCESS_TOKEN = 'GOOGLE_OAUTH_ACCESS_TOKEN'
export const SOPS_GCP_KMS_ENDPOINT = 'SOPS_GCP_KMS_ENDPOINT'
export const SOPS_GCP_KMS_CLIENT_TYPE = 'SOPS_GCP_KMS_CLIENT_TYPE'
export const SOPS_GCP_KMS_UNIVERSE_DOMAIN = 'SOPS_GCP_KMS_UNIVERSE_DOMAIN'

/** sops's gcpkms resource id check (newKMSClient). */
const RESOURCE_ID_RE = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/

/** gRPC status codes (google.rpc.Code) this file reasons about. */
const Code = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const
const CODE_NAMES = new Map<number, string>([
  [1, 'CANCELLED'],
  [2, 'UNKNOWN'],
  ...Object.entries(Code).map(([name, code]): [number, string] => [code, name]),
])

/**
 * Retried codes: gax's defaults for Encrypt/Decrypt (UNAVAILABLE, DEADLINE_EXCEEDED) plus
 * RESOURCE_EXHAUSTED, Cloud KMS's answer when a quota is hit — Google asks clients to back off
 * and retry it. Encrypt is safe to repeat: every answer is a valid ciphertext.
 */
const RETRY_CODES = [Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.RESOURCE_EXHAUSTED]

// ---------------------------------------------------------------------------------------------
// The key source

export function gcpKmsKeySource(resourceId: string): KeySource {
  // sops's NewMasterKeyFromResourceID removes every space.
  const id = resourceId.replace(/ /g, '')
  return {
    type: 'gcp_kms',
    id,
    keyFields: { resource_id: id },
    wrap: (part, ctx) => wrap(id, part, ctx),
    unwrap: (entry, ctx) => unwrap(id, entry, ctx),
  }
}

export function fromEntry(entry: KeyEntry): KeySource {
  const r = entry.fields.resource_id
  return gcpKmsKeySource(typeof r === 'string' ? r : '')
}

export function fromSpec(spec: string): KeySource {
  return gcpKmsKeySource(spec)
}

export function isValidResourceId(id: string): boolean {
  return RESOURCE_ID_RE.test(id)
}

async function wrap(resourceId: string, part: Uint8Array, ctx: KeyContext): Promise<KeyEntry> {
  if (!isValidResourceId(resourceId)) throw new GenericError(invalidIdMessage(resourceId), { code: 'BAD_KEY', hint: RESOURCE_ID_HINT })
  const ciphertext = await boundedCall(
    bounds(resourceId, ctx, 'encrypt'),
    () =>
      call(ctx, async (client, options) => {
        const [res] = await client.encrypt({ name: resourceId, plaintext: part }, options)
        return bytesOf(res.ciphertext)
      }),
    (e) => new GenericError(`failed to encrypt sops data key with GCP KMS key: ${describeGcpError(e, 'encrypt', ctx.env)}`, { code: 'KEY_WRAP_FAILED', hint: hintFor(e) }),
  )
  if (ciphertext.length === 0) throw new GenericError('failed to encrypt sops data key with GCP KMS key: KMS returned an empty ciphertext', { code: 'KEY_WRAP_FAILED' })
  return {
    type: 'gcp_kms',
    // Standard base64 of the raw ciphertext: sops kept the encoding of its old REST-based client.
    fields: { enc: Buffer.from(ciphertext).toString('base64'), resource_id: resourceId },
  }
}

async function unwrap(resourceId: string, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array> {
  const fail = (reason: string, hint?: string) => new KeyUnwrapError('gcp_kms', resourceId, reason, hint)
  if (!isValidResourceId(resourceId)) throw fail(invalidIdMessage(resourceId))
  const enc = entry.fields.enc
  if (typeof enc !== 'string' || enc === '') throw fail('no encrypted data key (enc) in the metadata')
  const compact = enc.replace(/\s/g, '')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) throw fail('the encrypted data key (enc) is not valid base64')
  const plaintext = await boundedCall(
    bounds(resourceId, ctx, 'decrypt'),
    () =>
      call(ctx, async (client, options) => {
        const [res] = await client.decrypt({ name: resourceId, ciphertext: Buffer.from(compact, 'base64') }, options)
        return bytesOf(res.plaintext)
      }),
    (e) => fail(`failed to decrypt sops data key with GCP KMS key: ${describeGcpError(e, 'decrypt', ctx.env)}`, hintFor(e)),
  )
  if (plaintext.length === 0) throw fail('failed to decrypt sops data key with GCP KMS key: KMS returned an empty plaintext')
  return plaintext
}

const RESOURCE_ID_HINT = 'Use projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>.'

function invalidIdMessage(id: string): string {
  return `no valid resource ID found in ${JSON.stringify(id)}`
}

// ---------------------------------------------------------------------------------------------
// One bounded call with a fresh client

type Op = 'encrypt' | 'decrypt'

/** The deadline covers loading the SDK and the credentials too (a refresh token or ADC may go to the network). */
function bounds(resourceId: string, ctx: KeyContext, op: Op): BoundedCall {
  return { ctx, what: `GCP KMS ${op} with ${resourceId}`, deadlineMs: NETWORK_TIMEOUT_MS }
}

/**
 * A client per operation, closed afterwards (as sops does): an open gRPC channel would keep a
 * library caller's process alive, and a file rarely has more than one or two GCP keys. Closing
 * is also how a call is cut short on abort (gax promises cannot be cancelled once the client
 * has wrapped them).
 */
async function call<T>(ctx: KeyContext, run: (client: KeyManagementServiceClient, options: CallOptions) => Promise<T>): Promise<T> {
  ctx.signal?.throwIfAborted()
  const settings = connectionSettings(ctx.env)
  const { KeyManagementServiceClient } = await loadKms()
  const client = new KeyManagementServiceClient(await clientOptions(settings, ctx.env))
  const onAbort = () => void client.close().catch(() => undefined)
  ctx.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await callOptions(settings, client, ctx.env).then((options) => run(client, options))
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort)
    await client.close().catch(() => undefined)
  }
}

/** Backoff settings: MAX_ATTEMPTS attempts, each bounded by REQUEST_TIMEOUT_MS. */
function retryOptions(): NonNullable<CallOptions['retry']> {
  return {
    retryCodes: RETRY_CODES,
    backoffSettings: {
      initialRetryDelayMillis: 250,
      retryDelayMultiplier: 2,
      maxRetryDelayMillis: 2_000,
      initialRpcTimeoutMillis: REQUEST_TIMEOUT_MS,
      rpcTimeoutMultiplier: 1,
      maxRpcTimeoutMillis: REQUEST_TIMEOUT_MS,
      // gax counts attempts here (the first one included); it refuses a total timeout alongside.
      maxRetries: MAX_ATTEMPTS,
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Connection settings and credentials

interface ConnectionSettings {
  rest: boolean
  /** Undefined: the library default (cloudkms.googleapis.com:443). */
  host?: string
  port?: number
  universeDomain?: string
  /** Plaintext to a loopback endpoint (see the header comment). */
  plaintext: boolean
}

export function connectionSettings(env: Env): ConnectionSettings {
  const type = (env[SOPS_GCP_KMS_CLIENT_TYPE] ?? '').trim().toLowerCase()
  if (type !== '' && type !== 'grpc' && type !== 'rest') {
    throw new GenericError(`invalid ${SOPS_GCP_KMS_CLIENT_TYPE} ${JSON.stringify(type)}: use grpc or rest`, { code: 'BAD_ENVIRONMENT' })
  }
  const universeDomain = env[SOPS_GCP_KMS_UNIVERSE_DOMAIN]?.trim() || undefined
  const endpoint = env[SOPS_GCP_KMS_ENDPOINT]?.trim()
  const settings: ConnectionSettings = { rest: type === 'rest', plaintext: false, ...(universeDomain ? { universeDomain } : {}) }
  if (endpoint) {
    const { host, port } = parseHostPort(endpoint)
    settings.host = host
    settings.port = port
    settings.plaintext = isLoopbackHost(host)
  }
  return settings
}

/** `host:port`, `[v6]:port` or a bare host (port 443); a scheme prefix is tolerated. */
function parseHostPort(endpoint: string): { host: string; port: number } {
  const bare = endpoint.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '')
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(bare)
  if (!m) throw new GenericError(`invalid ${SOPS_GCP_KMS_ENDPOINT} ${JSON.stringify(endpoint)}: use host:port`, { code: 'BAD_ENVIRONMENT' })
  const port = m[2] === undefined ? 443 : Number(m[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new GenericError(`invalid port in ${SOPS_GCP_KMS_ENDPOINT} ${JSON.stringify(endpoint)}`, { code: 'BAD_ENVIRONMENT' })
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port }
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase()
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

type Credentials = { kind: 'json'; json: Record<string, unknown> } | { kind: 'token'; token: string } | { kind: 'adc' }

/** sops's order: GOOGLE_CREDENTIALS (file, else JSON), then GOOGLE_OAUTH_ACCESS_TOKEN, else ADC. */
function credentialsFrom(env: Env): Credentials {
  const value = env[GOOGLE_CREDENTIALS]
  if (value) {
    const text = existsSync(value) ? readCredentialsFile(value) : value
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      // Never echo the value: it may be a private key with one character missing.
      throw new GenericError(`${GOOGLE_CREDENTIALS} is neither an existing file nor JSON credentials`, { code: 'BAD_CREDENTIALS' })
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new GenericError(`${GOOGLE_CREDENTIALS} does not hold a JSON credentials object`, { code: 'BAD_CREDENTIALS' })
    return { kind: 'json', json: json as Record<string, unknown> }
  }
  const token = env[GOOGLE_OAUTH_ACCESS_TOKEN]?.trim()
  if (token) return { kind: 'token', token }
  return { kind: 'adc' }
}

function readCredentialsFile(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    throw new GenericError(`cannot read ${GOOGLE_CREDENTIALS} file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { code: 'BAD_CREDENTIALS' })
  }
}

async function clientOptions(settings: ConnectionSettings, env: Env): Promise<ClientOptions> {
  const options: ClientOptions = { fallback: settings.rest }
  if (settings.universeDomain) options.universeDomain = settings.universeDomain
  if (settings.host !== undefined) {
    options.apiEndpoint = settings.host
    options.port = settings.port
  }
  if (settings.plaintext) {
    if (settings.rest) options.protocol = 'http'
    else options.sslCreds = (await loadGax()).grpc.credentials.createInsecure()
  }
  const creds = credentialsFrom(env)
  if (creds.kind === 'json') {
    options.credentials = creds.json
  } else if (creds.kind === 'token') {
    const { OAuth2Client } = await loadAuth()
    const client = new OAuth2Client(settings.universeDomain ? { universeDomain: settings.universeDomain } : {})
    client.setCredentials({ access_token: creds.token })
    options.authClient = client
  }
  return options
}

/**
 * Per-call options: the bounded retries, plus, on a plaintext gRPC channel, the authorization
 * metadata gax would otherwise add through TLS channel credentials.
 */
async function callOptions(settings: ConnectionSettings, client: KeyManagementServiceClient, env: Env): Promise<CallOptions> {
  const options: CallOptions = { retry: retryOptions() }
  if (settings.plaintext && !settings.rest && credentialsFrom(env).kind !== 'adc') {
    const headers = await client.auth.getRequestHeaders()
    const authorization = headers.get('authorization')
    if (authorization) options.otherArgs = { headers: { authorization } }
  }
  return options
}

// ---------------------------------------------------------------------------------------------
// Lazy modules. google-gax and google-auth-library are resolved from @google-cloud/kms's own
// location: that is the copy the client uses (grpc-js checks credentials with instanceof), and
// they stay outside the CLI bundle like the SDK itself.

let kmsModule: Promise<KmsModule> | undefined
const loadKms = () => (kmsModule ??= import('@google-cloud/kms'))

let sdkRequire: NodeJS.Require | undefined
function requireNearKms(): NodeJS.Require {
  sdkRequire ??= createRequire(createRequire(import.meta.url).resolve('@google-cloud/kms'))
  return sdkRequire
}

async function loadGax(): Promise<GaxModule> {
  await loadKms()
  return requireNearKms()('google-gax') as GaxModule
}

export async function loadAuth(): Promise<AuthModule> {
  await loadKms()
  const gaxRequire = createRequire(requireNearKms().resolve('google-gax'))
  return gaxRequire('google-auth-library') as AuthModule
}

// ---------------------------------------------------------------------------------------------
// Errors: one short reason per failure kind (gax's messages embed every retried error)

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED'])

interface GaxErrorLike {
  code?: number | string
  message?: string
  details?: string
}

export function describeGcpError(e: unknown, op: Op, env: Env): string {
  const where = endpointLabel(env)
  if (e instanceof NetworkTimeoutError) return `${where} did not answer within ${e.ms / 1000}s`
  if (e instanceof GenericError) return e.message
  const err = (typeof e === 'object' && e !== null ? e : { message: String(e) }) as GaxErrorLike
  const message = oneLine(err.message ?? '')
  // gax gives up with DEADLINE_EXCEEDED and the last retried error inside its message.
  const retried = /retrying error (?:Error: )?(\d+) ([A-Z_]+): (.*?)\s*before any response was received/.exec(message)
  if (retried) {
    const code = Number(retried[1])
    const detail = `${retried[2]}: ${retried[3]!.replace(/\s*Resolution note:\s*$/, '')}`
    const attempts = `after ${MAX_ATTEMPTS} attempts`
    if (code === Code.RESOURCE_EXHAUSTED) return `GCP KMS throttled the request (quota exceeded) and still did ${attempts} (${detail})`
    if (code === Code.UNAVAILABLE) return `could not reach ${where} ${attempts} (${detail})`
    return `${where} did not answer ${attempts} (${detail})`
  }
  // The REST transport reports a failed connection as a fetch error with a system error code
  // (gax retries only gRPC status codes, so that is after one attempt).
  if (typeof err.code === 'string' && NETWORK_CODES.has(err.code)) return `could not reach ${where} (${err.code})`
  const goText = (env[SOPS_GCP_KMS_CLIENT_TYPE] ?? '').trim().toLowerCase() === 'rest' ? googleApiError(message) : grpcStatusError(err)
  if (goText !== undefined) return goText
  const code = typeof err.code === 'number' ? err.code : undefined
  const name = code === undefined ? undefined : CODE_NAMES.get(code)
  const detail = name ? `${name}: ${stripCodePrefix(message)}` : message
  switch (code) {
    case Code.PERMISSION_DENIED:
      return `permission denied (${detail})`
    case Code.UNAUTHENTICATED:
      return `GCP KMS rejected the credentials (${detail})`
    case Code.NOT_FOUND:
      return `key not found (${detail})`
    case Code.INVALID_ARGUMENT:
      return op === 'decrypt'
        ? `GCP KMS could not decrypt the data key with this key: it was encrypted with another key, or enc is damaged (${detail})`
        : `GCP KMS refused the request (${detail})`
    case Code.FAILED_PRECONDITION:
      return `the key cannot be used (disabled or destroyed version?) (${detail})`
    case Code.RESOURCE_EXHAUSTED:
      return `GCP KMS throttled the request (quota exceeded) (${detail})`
    case Code.UNAVAILABLE:
      return `could not reach ${where} (${detail})`
    case Code.DEADLINE_EXCEEDED:
      return `${where} did not answer in time (${detail})`
  }
  if (/Could not load the default credentials/i.test(message)) return `no Google credentials found (${message})`
  return detail || 'unknown error'
}

/** Go's gRPC status names (codes.Code.String()). */
const GO_CODE_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
]

/** A status the service answered over gRPC, as grpc-go prints it (sops's words): `rpc error: code = NotFound desc = …`. */
function grpcStatusError(err: GaxErrorLike): string | undefined {
  const name = typeof err.code === 'number' ? GO_CODE_NAMES[err.code] : undefined
  if (name === undefined || typeof err.details !== 'string') return undefined
  return `rpc error: code = ${name} desc = ${err.details}`
}

/**
 * An error answer over REST, as google-api-go's googleapi.Error prints it (sops's words):
 * `googleapi: Error 403: …` — gax hands tsops the answer's JSON body as the message.
 */
function googleApiError(message: string): string | undefined {
  let body: { error?: { code?: unknown; message?: unknown; errors?: { reason?: unknown; message?: unknown }[] } }
  try {
    body = JSON.parse(message) as typeof body
  } catch {
    return undefined
  }
  const e = body.error
  if (typeof e?.code !== 'number') return undefined
  const text = typeof e.message === 'string' ? e.message : ''
  const errors = Array.isArray(e.errors) ? e.errors : []
  if (errors.length === 1 && errors[0]?.message === text) return `googleapi: Error ${e.code}: ${text}, ${String(errors[0]?.reason ?? '')}`
  return `googleapi: Error ${e.code}: ${text}`.trim()
}

function hintFor(e: unknown): string | undefined {
  const err = e as GaxErrorLike | undefined
  if (err?.code === Code.UNAUTHENTICATED || /Could not load the default credentials/i.test(err?.message ?? '')) {
    return `Set ${GOOGLE_CREDENTIALS} or ${GOOGLE_OAUTH_ACCESS_TOKEN}, or run \`gcloud auth application-default login\`.`
  }
  return undefined
}

function endpointLabel(env: Env): string {
  const endpoint = env[SOPS_GCP_KMS_ENDPOINT]?.trim()
  if (endpoint) return `GCP KMS at ${endpoint}`
  const universe = env[SOPS_GCP_KMS_UNIVERSE_DOMAIN]?.trim()
  return `GCP KMS at cloudkms.${universe || 'googleapis.com'}:443`
}

/** "7 PERMISSION_DENIED: text" -> "text". */
function stripCodePrefix(message: string): string {
  return message.replace(/^\d+ [A-Z_]+: /, '')
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 400 ? `${line.slice(0, 400)}…` : line
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function bytesOf(v: Uint8Array | string | null | undefined): Uint8Array {
  if (v === null || v === undefined) return new Uint8Array()
  // protobuf `bytes` arrive as a Buffer over gRPC; REST (JSON) gives base64 text.
  return typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64')) : new Uint8Array(v)
}
