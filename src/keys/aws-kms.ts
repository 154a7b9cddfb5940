/**
 * AWS KMS key source (spec §6.3): `enc` is the standard base64 of the CiphertextBlob that KMS
 * Encrypt returns for the data key (or Shamir share), with the entry's encryption context.
 *
 * Entry fields, as sops writes them: arn, aws_profile (always, "" when unset), context (only
 * when non-empty), created_at, enc, role (only when non-empty).
 *
 * @aws-sdk/client-kms (and client-sts for `+role`) are imported on first use: loading this
 * file costs nothing, and files without KMS keys never load the SDK.
 *
 * Settings come from ctx.env, not process.env: static keys (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), AWS_PROFILE and the endpoint overrides
 * (AWS_ENDPOINT_URL_KMS / _STS, AWS_ENDPOINT_URL) are handed to the client explicitly. Without
 * static keys the SDK's own provider chain runs (shared files, SSO, web identity, IMDS…), which
 * reads the process environment — for the CLI that is the same thing.
 */
import { createHash } from 'node:crypto'
import os from 'node:os'
import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms'
import { GenericError } from '../core/errors.js'
import { goBase64Decode, goQuote } from './go-text.js'
import { kmsLabel, splitRole } from './sources/kms.js'
import { CONNECT_TIMEOUT_MS, MAX_ATTEMPTS, NETWORK_TIMEOUT_MS, NetworkTimeoutError, REQUEST_TIMEOUT_MS, timeoutSignal, withTimeout } from './timeouts.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeyFields, type KeySource, type KeySpecOptions } from './types.js'

type KmsModule = typeof import('@aws-sdk/client-kms')
type StsModule = typeof import('@aws-sdk/client-sts')
type Env = KeyContext['env']

interface AwsCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  expiration?: Date
}

/** What one KMS master key is made of (besides its `enc`). */
export interface KmsKeyConfig {
  arn: string
  /** IAM role to assume first ('' for none). */
  role: string
  /** Encryption context (empty for none). */
  context: Record<string, string>
  /** Shared-config profile ('' for the default chain). */
  awsProfile: string
}

/** sops's kms.arnRegex: the region is the first group. */
const ARN_RE = /^arn:aws[\w-]*:kms:(.+):[0-9]+:(key|alias)\/.+$/

// ---------------------------------------------------------------------------------------------
// The key source

export function awsKmsKeySource(config: KmsKeyConfig): KeySource {
  const key: KmsKeyConfig = { ...config, context: { ...config.context } }
  return {
    type: 'kms',
    id: key.arn,
    label: kmsLabel(key.arn, key.role, key.context, key.awsProfile),
    wrap: (part, ctx) => wrap(key, part, ctx),
    unwrap: (entry, ctx) => unwrap(key, entry, ctx),
  }
}

export function fromEntry(entry: KeyEntry): KeySource {
  const f = entry.fields
  return awsKmsKeySource({ arn: str(f.arn), role: str(f.role), context: map(f.context), awsProfile: str(f.aws_profile) })
}

/** `arn[+role_arn]` from a flag, env var, config file or library call; role/context/profile as options. */
export function fromSpec(spec: string, options: KeySpecOptions = {}): KeySource {
  // sops strips every space from KMS ARNs (NewMasterKeyFromArn); a `+role` suffix is the role unless one is given.
  const { arn, role: suffixRole } = splitRole(spec)
  const role = options.role || suffixRole
  // (sops checks the ARN when it first uses the key: see invalidArn)
  return awsKmsKeySource({ arn, role, context: options.context ?? {}, awsProfile: options.awsProfile ?? '' })
}

/** The region of a KMS key ARN, or undefined when it is not one (sops's regex). */
export function regionOf(arn: string): string | undefined {
  return ARN_RE.exec(arn)?.[1]
}

async function wrap(key: KmsKeyConfig, part: Uint8Array, ctx: KeyContext): Promise<KeyEntry> {
  const region = regionOf(key.arn)
  if (region === undefined) throw new GenericError(invalidArn(key.arn), { hint: ARN_HINT })
  let blob: Uint8Array
  try {
    blob = await bounded(key, ctx, 'encrypt', async (signal) => {
      const kms = await loadKms()
      const client = await clientFor(key, region, ctx.env)
      const out = await client.send(new kms.EncryptCommand({ KeyId: key.arn, Plaintext: part, EncryptionContext: contextOrUndefined(key.context) }), {
        abortSignal: signal,
      })
      if (!out.CiphertextBlob || out.CiphertextBlob.length === 0) throw new Error('KMS returned an empty CiphertextBlob')
      return out.CiphertextBlob
    })
  } catch (e) {
    if (ctx.signal?.aborted) throw e
    throw new GenericError(failureText('encrypt', e, key, region, ctx.env), { hint: hintFor(e) })
  }
  const fields: KeyFields = { arn: key.arn, aws_profile: key.awsProfile, enc: Buffer.from(blob).toString('base64') }
  if (Object.keys(key.context).length > 0) fields.context = { ...key.context }
  if (key.role !== '') fields.role = key.role
  return { type: 'kms', fields }
}

async function unwrap(key: KmsKeyConfig, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array> {
  const fail = (reason: string) => new KeyUnwrapError('kms', key.arn, reason)
  const enc = entry.fields.enc
  if (typeof enc !== 'string' || enc === '') throw fail('no encrypted data key (enc) in the metadata')
  const blob = goBase64Decode(enc, true, false)
  if (!blob.ok) throw fail(`error base64-decoding encrypted data key: ${blob.error}`)
  const region = regionOf(key.arn)
  if (region === undefined) throw fail(invalidArn(key.arn))
  try {
    return await bounded(key, ctx, 'decrypt', async (signal) => {
      const kms = await loadKms()
      const client = await clientFor(key, region, ctx.env)
      const out = await client.send(
        new kms.DecryptCommand({
          KeyId: key.arn,
          CiphertextBlob: blob.bytes,
          EncryptionContext: contextOrUndefined(key.context),
        }),
        { abortSignal: signal },
      )
      if (!out.Plaintext || out.Plaintext.length === 0) throw new Error('KMS returned an empty plaintext')
      return out.Plaintext
    })
  } catch (e) {
    if (ctx.signal?.aborted) throw e
    throw fail(failureText('decrypt', e, key, region, ctx.env))
  }
}

/**
 * One deadline for the whole operation (credentials, AssumeRole, retries): the signal stops
 * the SDK's requests, withTimeout guards the parts that take no signal (credential providers).
 */
function bounded<T>(key: KmsKeyConfig, ctx: KeyContext, op: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = timeoutSignal(NETWORK_TIMEOUT_MS, ctx.signal)
  return withTimeout(run(signal), NETWORK_TIMEOUT_MS + 1_000, `AWS KMS ${op} with ${key.arn}`)
}

// ---------------------------------------------------------------------------------------------
// SDK clients, loaded lazily and shared process-wide: one per (region, endpoint, profile, role,
// base credentials). Ten keys in a region share one connection pool, a role is assumed once (the
// SDK refreshes it before it expires), and a library caller decrypting many files reuses warm
// connections. Bounded: past MAX_CLIENTS the oldest is closed.

let kmsModule: Promise<KmsModule> | undefined
let stsModule: Promise<StsModule> | undefined
const loadKms = () => (kmsModule ??= import('@aws-sdk/client-kms'))
const loadSts = () => (stsModule ??= import('@aws-sdk/client-sts'))

const MAX_CLIENTS = 16
const clients = new Map<string, KMSClient>() // insertion order = age

async function clientFor(key: KmsKeyConfig, region: string, env: Env): Promise<KMSClient> {
  const kms = await loadKms()
  const base = baseCredentials(env, key.awsProfile)
  const endpoint = endpointFromEnv(env, 'KMS')
  const stsEndpoint = endpointFromEnv(env, 'STS')
  // The credentials enter the key only as a digest.
  const secret = base.credentials ? createHash('sha256').update(JSON.stringify(base.credentials)).digest('hex') : ''
  const cacheKey = JSON.stringify([region, endpoint ?? '', stsEndpoint ?? '', base.profile ?? '', key.role, secret])
  const cached = clients.get(cacheKey)
  if (cached) return cached

  const config: KMSClientConfig = { region, ...commonConfig() }
  if (key.role !== '') {
    // A provider, not a value: the SDK memoizes it, shares one call between parallel requests,
    // calls it again near `expiration`, and does not keep a failure.
    config.credentials = () => assumeRole(key.role, region, base, env)
  } else if (base.credentials) config.credentials = base.credentials
  else if (base.profile) config.profile = base.profile
  if (endpoint !== undefined) config.endpoint = endpoint
  const client = quietly(() => new kms.KMSClient(config))
  clients.set(cacheKey, client)
  if (clients.size > MAX_CLIENTS) {
    const [oldestKey, oldest] = clients.entries().next().value as [string, KMSClient]
    clients.delete(oldestKey)
    oldest.destroy()
  }
  return client
}

/** Bounded connect/request timeouts and attempts for every AWS client tsops makes. */
function commonConfig() {
  return {
    maxAttempts: MAX_ATTEMPTS,
    // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes and keeps waiting.
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  }
}

interface BaseCredentials {
  credentials?: AwsCredentials
  profile?: string
}

/**
 * Like the AWS SDKs' default chain: an explicit profile wins over environment keys; then
 * static keys from the environment; then AWS_PROFILE; else the SDK's own chain.
 */
function baseCredentials(env: Env, awsProfile: string): BaseCredentials {
  if (awsProfile !== '') return { profile: awsProfile }
  const accessKeyId = env.AWS_ACCESS_KEY_ID
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY
  if (accessKeyId && secretAccessKey) {
    // A fresh object each time: the SDK annotates the credentials it is given.
    const sessionToken = env.AWS_SESSION_TOKEN
    return { credentials: sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey } }
  }
  if (env.AWS_PROFILE) return { profile: env.AWS_PROFILE }
  return {}
}

/** sops's behaviour for `+role`: STS AssumeRole in the key's region with the base credentials. */
async function assumeRole(role: string, region: string, base: BaseCredentials, env: Env): Promise<AwsCredentials> {
  const sts = await loadSts()
  const endpoint = endpointFromEnv(env, 'STS')
  const client = quietly(
    () =>
      new sts.STSClient({
        region,
        ...commonConfig(),
        ...(base.credentials ? { credentials: { ...base.credentials } } : base.profile ? { profile: base.profile } : {}),
        ...(endpoint !== undefined ? { endpoint } : {}),
      }),
  )
  try {
    const out = await client.send(new sts.AssumeRoleCommand({ RoleArn: role, RoleSessionName: stsSessionName() }), {
      abortSignal: timeoutSignal(NETWORK_TIMEOUT_MS),
    })
    const c = out.Credentials
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS AssumeRole returned no credentials')
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    }
  } catch (e) {
    throw new AssumeRoleError(role, e)
  } finally {
    client.destroy()
  }
}

class AssumeRoleError extends Error {
  constructor(
    readonly role: string,
    override readonly cause: unknown,
  ) {
    super(`failed to assume role '${role}'`)
    this.name = 'AssumeRoleError'
  }
}

/** `sops@<hostname>`, keeping the characters STS accepts, at most 64 characters (sops's rule). */
export function stsSessionName(hostname: string = os.hostname()): string {
  return `sops@${hostname.replace(/[^a-zA-Z0-9=,.@_-]+/g, '')}`.slice(0, 64)
}

/**
 * The endpoint override for a service from the env, as the AWS SDKs read it:
 * AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
 * (Recent SDK v3 releases read these from process.env on their own; passing them explicitly makes
 * ctx.env authoritative.)
 */
export function endpointFromEnv(env: Env, service: 'KMS' | 'STS'): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true') return undefined
  return env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined
}

function endpointLabel(env: Env, region: string, service: 'KMS' | 'STS' = 'KMS'): string {
  const endpoint = endpointFromEnv(env, service)
  return endpoint !== undefined ? `AWS ${service} at ${endpoint}` : `AWS ${service} in ${region}`
}

/** The URL the Go SDK posts to (sops's messages show it): the override, or the regional endpoint, path "/". */
function postUrl(env: Env, region: string, service: 'KMS' | 'STS'): string {
  const base = endpointFromEnv(env, service) ?? `https://${service.toLowerCase()}.${region}.amazonaws.com`
  try {
    const u = new URL(base)
    return `${u.origin}${u.pathname}`
  } catch {
    return base
  }
}

/**
 * The SDK prints a NodeVersionSupportWarning on node 20 when the first client is built, about
 * SDK releases from 2027 on. tsops pins its SDK and supports node 20, so that notice would only
 * add noise to every command's stderr. The SDK reads its opt-out from process.env; it is set for
 * the synchronous constructor call only.
 */
function quietly<T>(make: () => T): T {
  const name = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'
  if (process.env[name] !== undefined) return make()
  process.env[name] = 'true'
  try {
    return make()
  } finally {
    delete process.env[name]
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: one short, clear reason per failure kind (never a secret: AWS messages name keys and
// principals, not credentials)

interface AwsErrorLike {
  name?: string
  message?: string
  code?: string
  $metadata?: { attempts?: number; httpStatusCode?: number; requestId?: string }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED'])
const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
])

/** sops's createKMSConfig refuses an ARN its regex does not match. */
function invalidArn(arn: string): string {
  return `no valid ARN found in '${arn}'`
}
const ARN_HINT = 'Use a key or alias ARN like arn:aws:kms:us-east-1:111122223333:key/<id>, optionally followed by +<role ARN>.'

/**
 * sops's reason for a failed KMS call: `failed to <op> sops data key with AWS KMS: <SDK error>`,
 * or, when the role could not be assumed, `failed to assume role '<role>': <SDK error>` alone
 * (sops returns that one unwrapped).
 */
function failureText(op: 'encrypt' | 'decrypt', e: unknown, key: KmsKeyConfig, region: string, env: Env): string {
  if (e instanceof AssumeRoleError) {
    return `${e.message}: ${describeAwsError(e.cause, { service: 'STS', operation: 'AssumeRole', url: postUrl(env, region, 'STS'), where: endpointLabel(env, region, 'STS') })}`
  }
  const call = { service: 'KMS' as const, operation: op === 'encrypt' ? 'Encrypt' : 'Decrypt', url: postUrl(env, region, 'KMS'), where: endpointLabel(env, region) }
  return `failed to ${op} sops data key with AWS KMS: ${describeAwsError(e, call)}`
}

export interface AwsCall {
  service: 'KMS' | 'STS'
  operation: string
  /** The URL the request went to. */
  url: string
  /** For tsops's own texts: "AWS KMS at <endpoint>". */
  where: string
}

/**
 * An SDK failure in the Go SDK's words, as sops prints it (`operation error KMS: Decrypt, https
 * response error StatusCode: 400, RequestID: …, api error AccessDeniedException: …`). Failures
 * the Go SDK cannot have — tsops's own time limits, a missing credential chain — keep tsops's
 * texts.
 */
export function describeAwsError(e: unknown, call: AwsCall): string {
  if (e instanceof NetworkTimeoutError) return `${call.where} did not answer within ${NETWORK_TIMEOUT_MS / 1000}s`
  const err = (typeof e === 'object' && e !== null ? e : { message: String(e) }) as AwsErrorLike
  const name = err.name ?? 'Error'
  const attempts = err.$metadata?.attempts ?? 1
  const tries = attempts > 1 ? ` after ${attempts} attempts` : ''
  const operation = `operation error ${call.service}: ${call.operation}, ${attempts >= MAX_ATTEMPTS ? `exceeded maximum number of attempts, ${attempts}, ` : ''}`
  switch (name) {
    case 'CredentialsProviderError':
      return `no AWS credentials found (${name}: ${err.message ?? ''})`
    case 'TimeoutError':
      return (err.message ?? '').startsWith('Socket timed out without establishing a connection')
        ? `could not connect to ${call.where} within ${CONNECT_TIMEOUT_MS / 1000}s${tries}`
        : `${call.where} did not answer within ${REQUEST_TIMEOUT_MS / 1000}s${tries}`
    case 'AbortError':
      return `${call.where} did not answer within ${NETWORK_TIMEOUT_MS / 1000}s`
  }
  if (err.code !== undefined && NETWORK_CODES.has(err.code)) {
    return `${operation}https response error StatusCode: 0, RequestID: , request send failed, Post ${goQuote(call.url)}: ${goDialError(err.code, call.url)}`
  }
  const status = err.$metadata?.httpStatusCode
  if (status === undefined) return err.message ?? name
  // The SDK reports an error without a message (AWS sends none for InvalidCiphertextException) as "UnknownError".
  const message = err.message && err.message !== 'UnknownError' ? err.message : ''
  // Errors the service models print as `Code: message`; the others as smithy's `api error Code: message`.
  const modeled = call.service === 'KMS' ? KMS_MODELED_ERRORS : STS_MODELED_ERRORS
  const api = modeled.has(name) ? `${name}: ${message}` : `api error ${name}: ${message}`
  return `${operation}https response error StatusCode: ${status}, RequestID: ${err.$metadata?.requestId ?? ''}, ${api}`
}

/** Go's net error for a failed connection to the URL's host (`dial tcp 127.0.0.1:1: connect: connection refused`). */
function goDialError(code: string, url: string): string {
  let hostPort = url
  try {
    const u = new URL(url)
    hostPort = `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`
  } catch {
    // keep the text as given
  }
  const why: Record<string, string> = { ECONNREFUSED: 'connect: connection refused', EHOSTUNREACH: 'connect: no route to host', ENETUNREACH: 'connect: network is unreachable', ETIMEDOUT: 'i/o timeout' }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `dial tcp: lookup ${hostPort.replace(/:\d+$/, '')}: no such host`
  return `dial tcp ${hostPort}: ${why[code] ?? code}`
}

/** Exceptions the Go SDK's KMS and STS clients model (types.XxxException): no "api error" prefix. */
const KMS_MODELED_ERRORS = new Set([
  'AlreadyExistsException', 'CloudHsmClusterInUseException', 'CloudHsmClusterInvalidConfigurationException', 'CloudHsmClusterNotActiveException',
  'CloudHsmClusterNotFoundException', 'CloudHsmClusterNotRelatedException', 'ConflictException', 'CustomKeyStoreHasCMKsException',
  'CustomKeyStoreInvalidStateException', 'CustomKeyStoreNameInUseException', 'CustomKeyStoreNotFoundException', 'DependencyTimeoutException',
  'DisabledException', 'DryRunOperationException', 'ExpiredImportTokenException', 'IncorrectKeyException', 'IncorrectKeyMaterialException',
  'IncorrectTrustAnchorException', 'InvalidAliasNameException', 'InvalidArnException', 'InvalidCiphertextException', 'InvalidGrantIdException',
  'InvalidGrantTokenException', 'InvalidImportTokenException', 'InvalidKeyUsageException', 'InvalidMarkerException', 'KeyUnavailableException',
  'KMSInternalException', 'KMSInvalidMacException', 'KMSInvalidSignatureException', 'KMSInvalidStateException', 'LimitExceededException',
  'MalformedPolicyDocumentException', 'NotFoundException', 'TagException', 'UnsupportedOperationException', 'XksKeyAlreadyInUseException',
  'XksKeyInvalidConfigurationException', 'XksKeyNotFoundException', 'XksProxyIncorrectAuthenticationCredentialException',
  'XksProxyInvalidConfigurationException', 'XksProxyInvalidResponseException', 'XksProxyUriEndpointInUseException', 'XksProxyUriInUseException',
  'XksProxyUriUnreachableException', 'XksProxyVpcEndpointServiceInUseException', 'XksProxyVpcEndpointServiceInvalidConfigurationException',
  'XksProxyVpcEndpointServiceNotFoundException',
])
const STS_MODELED_ERRORS = new Set([
  'ExpiredTokenException', 'ExpiredTradeInTokenException', 'IDPCommunicationErrorException', 'IDPRejectedClaimException',
  'InvalidAuthorizationMessageException', 'InvalidIdentityTokenException', 'JWTPayloadSizeExceededException', 'MalformedPolicyDocumentException',
  'OutboundWebIdentityFederationDisabledException', 'PackedPolicyTooLargeException', 'RegionDisabledException', 'SessionDurationEscalationException',
])

function hintFor(e: unknown): string | undefined {
  const name = (e as AwsErrorLike | undefined)?.name
  if (name === 'CredentialsProviderError' || (name !== undefined && CREDENTIAL_ERRORS.has(name))) {
    return 'Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --aws-profile, or log in with `aws sso login`.'
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function str(v: KeyFields[string] | undefined): string {
  return typeof v === 'string' ? v : ''
}

function map(v: KeyFields[string] | undefined): Record<string, string> {
  return typeof v === 'object' && v !== null ? { ...v } : {}
}

function contextOrUndefined(context: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(context).length > 0 ? context : undefined
}
