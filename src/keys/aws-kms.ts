/**
 * AWS KMS key source (spec §6.3): `enc` is the standard base64 of the CiphertextBlob that KMS
 * Encrypt returns for the data key (or Shamir share), with the entry's encryption context.
 *
 * Entry fields, as sops writes them: arn, aws_profile (always, "" when unset), context (only
 * when non-empty), created_at, enc, role (only when non-empty).
 *
 * @aws-sdk/client-kms (and client-sts for `+role`) are imported on first use: loading this
 * file costs nothing, and files without KMS keys never load the SDK. With static credentials
 * tsops calls KMS itself instead (aws-kms-direct.ts; the rule is in aws-kms-route.ts): same
 * requests, retries, time limits and error texts, without the SDK's start-up cost.
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
import { directDecrypt, directEncrypt } from './aws-kms-direct.js'
import { kmsClientRoute, type DirectRoute } from './aws-kms-route.js'
import type { AwsSigningCredentials } from './aws-sigv4.js'
import { assumeRoleDirect } from './aws-sts-direct.js'
import { describeAwsError, hintFor } from './aws-errors.js'
import { goBase64Decode } from './go-text.js'
import { kmsLabel, splitRole } from './sources/kms.js'
import { boundedCall, type BoundedCall } from './bounded-call.js'
import { DEFAULT_NETWORK_TIMEOUTS, networkTimeouts, timeoutSignal, type NetworkTimeouts } from './timeouts.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeyFields, type KeySource, type KeySpecOptions } from './types.js'
import { stringField } from './descriptor.js'

export { describeAwsError, hintFor, type AwsCall } from './aws-errors.js'

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
    keyFields: kmsKeyFields(key),
    wrap: (part, ctx) => wrap(key, part, ctx),
    unwrap: (entry, ctx) => unwrap(key, entry, ctx),
  }
}

export function fromEntry(entry: KeyEntry): KeySource {
  const f = entry.fields
  return awsKmsKeySource({ arn: stringField(f, 'arn'), role: stringField(f, 'role'), context: map(f.context), awsProfile: stringField(f, 'aws_profile') })
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
  if (region === undefined) throw new GenericError(invalidArn(key.arn), { code: 'BAD_KEY', hint: ARN_HINT })
  const blob = await boundedCall(
    bounds(key, ctx, 'encrypt'),
    async (signal) => {
      const input = { KeyId: key.arn, Plaintext: part, EncryptionContext: contextOrUndefined(key.context) }
      const route = kmsClientRoute(key, region, { kms: endpointFromEnv(ctx.env, 'KMS'), sts: endpointFromEnv(ctx.env, 'STS') }, ctx.env)
      const out =
        route.client === 'direct'
          ? { CiphertextBlob: await directEncrypt({ endpoint: route.endpoint, region, credentials: await directCredentials(route, region, signal, ctx), signal, transport: directTransport(ctx) }, input) }
          : await (await clientFor(key, region, ctx.env, networkTimeouts(ctx))).send(new (await loadKms()).EncryptCommand(input), { abortSignal: signal })
      if (!out.CiphertextBlob || out.CiphertextBlob.length === 0) throw new Error('KMS returned an empty CiphertextBlob')
      return out.CiphertextBlob
    },
    (e) => new GenericError(failureText('encrypt', e, region, ctx), { code: 'KEY_WRAP_FAILED', hint: hintFor(e) }),
  )
  return { type: 'kms', fields: { ...kmsKeyFields(key), enc: Buffer.from(blob).toString('base64') } }
}

/** The fields that name the key in its entry: aws_profile always, context and role only when set. */
function kmsKeyFields(key: KmsKeyConfig): KeyFields {
  const fields: KeyFields = { arn: key.arn, aws_profile: key.awsProfile }
  if (Object.keys(key.context).length > 0) fields.context = { ...key.context }
  if (key.role !== '') fields.role = key.role
  return fields
}

async function unwrap(key: KmsKeyConfig, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array> {
  const fail = (reason: string, hint?: string) => new KeyUnwrapError('kms', key.arn, reason, hint)
  const enc = entry.fields.enc
  if (typeof enc !== 'string' || enc === '') throw fail('no encrypted data key (enc) in the metadata')
  const blob = goBase64Decode(enc, true, false)
  if (!blob.ok) throw fail(`error base64-decoding encrypted data key: ${blob.error}`)
  const region = regionOf(key.arn)
  if (region === undefined) throw fail(invalidArn(key.arn))
  return boundedCall(
    bounds(key, ctx, 'decrypt'),
    async (signal) => {
      const input = { KeyId: key.arn, CiphertextBlob: blob.bytes, EncryptionContext: contextOrUndefined(key.context) }
      const route = kmsClientRoute(key, region, { kms: endpointFromEnv(ctx.env, 'KMS'), sts: endpointFromEnv(ctx.env, 'STS') }, ctx.env)
      const out =
        route.client === 'direct'
          ? { Plaintext: await directDecrypt({ endpoint: route.endpoint, region, credentials: await directCredentials(route, region, signal, ctx), signal, transport: directTransport(ctx) }, input) }
          : await (await clientFor(key, region, ctx.env, networkTimeouts(ctx))).send(new (await loadKms()).DecryptCommand(input), { abortSignal: signal })
      if (!out.Plaintext || out.Plaintext.length === 0) throw new Error('KMS returned an empty plaintext')
      return out.Plaintext
    },
    (e) => fail(failureText('decrypt', e, region, ctx), hintFor(e)),
  )
}

/** The direct client's credentials: the route's own, or its role's (a failure reads as on the SDK path). */
async function directCredentials(route: DirectRoute, region: string, signal: AbortSignal, ctx: KeyContext): Promise<AwsSigningCredentials> {
  if (!route.assumeRole) return route.credentials
  const { role, endpoint } = route.assumeRole
  try {
    return await assumeRoleDirect({ role, sessionName: stsSessionName(), endpoint, region, credentials: route.credentials, signal, transport: directTransport(ctx) })
  } catch (e) {
    if (signal.aborted) throw e
    throw new AssumeRoleError(role, e)
  }
}

/**
 * One deadline for the whole operation (credentials, AssumeRole, retries): the signal stops
 * the SDK's requests, the deadline guards the parts that take no signal (credential providers).
 */
function bounds(key: KmsKeyConfig, ctx: KeyContext, op: string): BoundedCall {
  const { overallMs } = networkTimeouts(ctx)
  return { ctx, what: `AWS KMS ${op} with ${key.arn}`, signalMs: overallMs, deadlineMs: overallMs + 1_000 }
}

/** The direct client's per-attempt bounds: the context's (tests inject short ones), else the defaults. */
function directTransport(ctx: KeyContext): { connectTimeoutMs: number; requestTimeoutMs: number; maxAttempts: number } {
  const t = networkTimeouts(ctx)
  return { connectTimeoutMs: t.connectMs, requestTimeoutMs: t.requestMs, maxAttempts: t.attempts }
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

async function clientFor(key: KmsKeyConfig, region: string, env: Env, timeouts: NetworkTimeouts): Promise<KMSClient> {
  const kms = await loadKms()
  const base = baseCredentials(env, key.awsProfile)
  const endpoint = endpointFromEnv(env, 'KMS')
  const stsEndpoint = endpointFromEnv(env, 'STS')
  // The credentials enter the key only as a digest.
  const secret = base.credentials ? createHash('sha256').update(JSON.stringify(base.credentials)).digest('hex') : ''
  const cacheKey = JSON.stringify([region, endpoint ?? '', stsEndpoint ?? '', base.profile ?? '', key.role, secret, timeouts])
  const cached = clients.get(cacheKey)
  if (cached) return cached

  const config: KMSClientConfig = { region, ...commonConfig(timeouts) }
  if (key.role !== '') {
    // A provider, not a value: the SDK memoizes it, shares one call between parallel requests,
    // calls it again near `expiration`, and does not keep a failure.
    config.credentials = () => assumeRole(key.role, region, base, env, timeouts)
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
export function commonConfig(timeouts: NetworkTimeouts = DEFAULT_NETWORK_TIMEOUTS) {
  return {
    maxAttempts: timeouts.attempts,
    // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes and keeps waiting.
    requestHandler: { connectionTimeout: timeouts.connectMs, requestTimeout: timeouts.requestMs, throwOnRequestTimeout: true },
  }
}

export interface BaseCredentials {
  credentials?: AwsCredentials
  profile?: string
}

/**
 * Like the AWS SDKs' default chain: an explicit profile wins over environment keys; then
 * static keys from the environment; then AWS_PROFILE; else the SDK's own chain.
 */
export function baseCredentials(env: Env, awsProfile: string): BaseCredentials {
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
async function assumeRole(role: string, region: string, base: BaseCredentials, env: Env, timeouts: NetworkTimeouts): Promise<AwsCredentials> {
  const sts = await loadSts()
  const endpoint = endpointFromEnv(env, 'STS')
  const client = quietly(
    () =>
      new sts.STSClient({
        region,
        ...commonConfig(timeouts),
        ...(base.credentials ? { credentials: { ...base.credentials } } : base.profile ? { profile: base.profile } : {}),
        ...(endpoint !== undefined ? { endpoint } : {}),
      }),
  )
  try {
    const out = await client.send(new sts.AssumeRoleCommand({ RoleArn: role, RoleSessionName: stsSessionName() }), {
      abortSignal: timeoutSignal(timeouts.overallMs),
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
export function endpointFromEnv(env: Env, service: 'KMS' | 'STS' | 'S3'): string | undefined {
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
export function quietly<T>(make: () => T): T {
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
// Errors: sops's texts around the SDK's (./aws-errors.ts turns an SDK failure into Go's words)

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
function failureText(op: 'encrypt' | 'decrypt', e: unknown, region: string, ctx: KeyContext): string {
  const { env } = ctx
  const timeouts = networkTimeouts(ctx)
  if (e instanceof AssumeRoleError) {
    return `${e.message}: ${describeAwsError(e.cause, { service: 'STS', operation: 'AssumeRole', url: postUrl(env, region, 'STS'), where: endpointLabel(env, region, 'STS') }, timeouts)}`
  }
  const call = { service: 'KMS' as const, operation: op === 'encrypt' ? 'Encrypt' : 'Decrypt', url: postUrl(env, region, 'KMS'), where: endpointLabel(env, region) }
  return `failed to ${op} sops data key with AWS KMS: ${describeAwsError(e, call, timeouts)}`
}

// ---------------------------------------------------------------------------------------------
// Small helpers


function map(v: KeyFields[string] | undefined): Record<string, string> {
  return typeof v === 'object' && v !== null ? { ...v } : {}
}

function contextOrUndefined(context: Record<string, string>): Record<string, string> | undefined {
  return Object.keys(context).length > 0 ? context : undefined
}
