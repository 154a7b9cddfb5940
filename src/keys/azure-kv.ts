/**
 * Azure Key Vault key source (spec §6.5): the data key (or Shamir share) goes through the Key
 * Vault `encrypt`/`decrypt` operations (not wrap/unwrap) with RSA-OAEP-256, and `enc` is the
 * result in base64url without padding (Go's base64.RawURLEncoding). Entry fields, as sops
 * writes them: created_at, enc, name, vault_url, version.
 *
 * Keys are given as `https://<vault>/keys/<name>[/<version>]`; without a version the latest
 * one is looked up (KeyClient.getKey) when the data key is encrypted, because the metadata must
 * name the exact version that can decrypt it.
 *
 * @azure/keyvault-keys and @azure/identity are imported on first use only. Credentials are
 * DefaultAzureCredential's, as in sops (environment, workload identity, managed identity, Azure
 * CLI, …). Those credentials read the process environment themselves (AZURE_TENANT_ID,
 * AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, …); AZURE_AUTHORITY_HOST is taken from ctx.env.
 *
 * Loopback endpoints (a local emulator or a test server) need two relaxations, both granted
 * only when the host is 127.0.0.0/8, ::1 or localhost, where a token cannot leave the machine:
 *   - the vault: the Key Vault SDK checks that the vault host is a subdomain of the resource
 *     named in the 401 challenge (e.g. *.vault.azure.net); `disableChallengeResourceVerification`
 *     is set for a loopback vault, which can never be such a subdomain;
 *   - the authority (AZURE_AUTHORITY_HOST): MSAL checks an unknown authority host by asking
 *     login.microsoftonline.com (instance discovery), and accepts it as a custom domain when
 *     that service answers at all; for a loopback authority the check is skipped
 *     (`disableInstanceDiscovery`): it would only add a request to the internet.
 * A private CA is trusted through NODE_EXTRA_CA_CERTS, or AzureKvOptions.tlsOptions for
 * library callers.
 *
 * Every operation is bounded (./timeouts.ts): MAX_ATTEMPTS attempts (the SDK's retry policy
 * also waits out 429/503 Retry-After), REQUEST_TIMEOUT_MS per attempt, NETWORK_TIMEOUT_MS
 * overall (token acquisition, the key lookup and any Retry-After wait included).
 */
import type { TokenCredential } from '@azure/core-auth'
import type { PipelinePolicy, PipelineRequest, TlsSettings } from '@azure/core-rest-pipeline'
import type { CryptographyClientOptions, KeyClientOptions, KeyVaultKey } from '@azure/keyvault-keys'
import type { DefaultAzureCredentialOptions } from '@azure/identity'
import { STATUS_CODES } from 'node:http'
import { GenericError } from '../core/errors.js'
import { goJsonIndent, goQuote } from './go-text.js'
import { DEFAULT_NETWORK_TIMEOUTS, formatSeconds, networkTimeouts, NetworkTimeoutError, timeoutSignal, withTimeout, type NetworkTimeouts } from './timeouts.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeySource } from './types.js'
import { stringField } from './descriptor.js'

type Env = KeyContext['env']
type KeysModule = typeof import('@azure/keyvault-keys')
type IdentityModule = typeof import('@azure/identity')
type PipelineModule = typeof import('@azure/core-rest-pipeline')

/** The only algorithm sops uses. */
const ALGORITHM = 'RSA-OAEP-256'

/** What one Azure Key Vault master key is made of (besides its `enc`). */
export interface AzureKeyRef {
  /** As given, e.g. `https://myvault.vault.azure.net` (written to vault_url verbatim). */
  vaultUrl: string
  name: string
  /** '' until resolved: the latest version is looked up when wrapping. */
  version: string
}

/** Options for library callers; the CLI uses none. */
export interface AzureKvOptions {
  /** TLS settings for every request (Key Vault and the token endpoint), e.g. `{ ca }` for a private CA. */
  tlsOptions?: TlsSettings
}

/**
 * sops's NewMasterKeyFromURL pattern, plus a trailing slash on the vault part (a vaultUrl
 * written with one in a `.sops.yaml` key group).
 */
const KEY_URL_RE = /^(https:\/\/[^/]+\/?)\/keys\/([^/]+)(?:\/([^/]*))?$/

export function parseAzureKeyUrl(url: string): AzureKeyRef {
  const trimmed = url.trim()
  const m = KEY_URL_RE.exec(trimmed)
  if (!m) {
    // sops formats the failed match too (%v of a nil slice: `[]`).
    throw new GenericError(`could not parse ${goQuote(trimmed)} into a valid Azure Key Vault MasterKey []`, { code: 'BAD_KEY',
      hint: 'Use https://<vault>.vault.azure.net/keys/<name>[/<version>].',
    })
  }
  return { vaultUrl: m[1]!, name: m[2]!, version: m[3] ?? '' }
}

/** sops's MasterKey.ToString: `<vault_url>/keys/<name>/<version>`. */
export function azureKeyId(ref: AzureKeyRef): string {
  return `${ref.vaultUrl}/keys/${ref.name}/${ref.version}`
}

// ---------------------------------------------------------------------------------------------
// The key source

const NO_OPTIONS: AzureKvOptions = {}

export function azureKvKeySource(ref: AzureKeyRef, options: AzureKvOptions = NO_OPTIONS): KeySource {
  const key: AzureKeyRef = { ...ref }
  return {
    type: 'azure_kv',
    id: azureKeyId(key),
    keyFields: { name: key.name, vault_url: key.vaultUrl, version: key.version },
    wrap: (part, ctx) => wrap(key, part, ctx, options),
    unwrap: (entry, ctx) => unwrap(key, entry, ctx, options),
  }
}

export function fromEntry(entry: KeyEntry): KeySource {
  const f = entry.fields
  return azureKvKeySource({ vaultUrl: stringField(f, 'vault_url'), name: stringField(f, 'name'), version: stringField(f, 'version') })
}

export function fromSpec(spec: string): KeySource {
  return azureKvKeySource(parseAzureKeyUrl(spec))
}

async function wrap(key: AzureKeyRef, part: Uint8Array, ctx: KeyContext, options: AzureKvOptions): Promise<KeyEntry> {
  let done: { version: string; result: Uint8Array }
  try {
    done = await bounded(key, ctx, 'encrypt', async (signal) => {
      const sdk = await loadKeys()
      const credential = await credentialFor(ctx, options)
      const clientOptions = await keyVaultClientOptions(key, options, networkTimeouts(ctx))
      let resolved = key.version
      if (resolved === '') {
        // sops's ensureKeyHasVersion: the metadata must name the version that encrypted.
        const kv = new sdk.KeyClient(vaultBase(key), credential, clientOptions)
        const latest = await kv.getKey(key.name, { abortSignal: signal }).catch((e: unknown) => {
          throw new KeyVersionError(e)
        })
        resolved = latest.properties.version ?? ''
        if (resolved === '') throw new Error(`Key Vault returned no version for key ${key.name}`)
      }
      const client = new sdk.CryptographyClient(remoteOnly({ ...key, version: resolved }), credential, clientOptions)
      const out = await client.encrypt({ algorithm: ALGORITHM, plaintext: part }, { abortSignal: signal })
      return { version: resolved, result: out.result }
    })
  } catch (e) {
    if (ctx.signal?.aborted) throw e
    // sops names the step: the key's latest version is fetched before the key is used.
    if (e instanceof KeyVersionError) {
      throw new GenericError(`failed to fetch Azure Key to retrieve key version: ${describeAzureError(e.cause, key, 'encrypt', networkTimeouts(ctx))}`, { code: 'KEY_WRAP_FAILED', hint: hintFor(e.cause) })
    }
    throw new GenericError(`failed to encrypt sops data key with Azure Key Vault key '${displayUrl(key)}': ${describeAzureError(e, key, 'encrypt', networkTimeouts(ctx))}`, { code: 'KEY_WRAP_FAILED',
      hint: hintFor(e),
    })
  }
  if (done.result.length === 0) throw new GenericError(`failed to encrypt sops data key with Azure Key Vault key '${displayUrl(key)}': Key Vault returned an empty result`, { code: 'KEY_WRAP_FAILED' })
  return {
    type: 'azure_kv',
    fields: {
      enc: Buffer.from(done.result).toString('base64url'), // unpadded, like Go's RawURLEncoding
      name: key.name,
      vault_url: key.vaultUrl,
      version: done.version,
    },
  }
}

/** Fetching the key's latest version failed (sops reports that step on its own). */
class KeyVersionError extends Error {
  constructor(override readonly cause: unknown) {
    super('failed to fetch Azure Key to retrieve key version')
  }
}

async function unwrap(key: AzureKeyRef, entry: KeyEntry, ctx: KeyContext, options: AzureKvOptions): Promise<Uint8Array> {
  const id = azureKeyId(key)
  const fail = (reason: string, hint?: string) => new KeyUnwrapError('azure_kv', id, reason, hint)
  if (!/^https:\/\/[^/]+\/?$/.test(key.vaultUrl) || key.name === '' || key.name.includes('/')) {
    throw fail(`invalid Azure Key Vault key in the metadata (vault_url ${JSON.stringify(key.vaultUrl)}, name ${JSON.stringify(key.name)})`)
  }
  const enc = entry.fields.enc
  if (typeof enc !== 'string' || enc === '') throw fail('no encrypted data key (enc) in the metadata')
  // Go's RawURLEncoding: URL alphabet, no padding.
  if (!/^[A-Za-z0-9_-]+$/.test(enc) || enc.length % 4 === 1) throw fail('failed to base64 decode Azure Key Vault encrypted key: not unpadded base64url')
  const ciphertext = Buffer.from(enc, 'base64url')
  try {
    const plaintext = await bounded(key, ctx, 'decrypt', async (signal) => {
      const sdk = await loadKeys()
      const client = new sdk.CryptographyClient(remoteOnly(key), await credentialFor(ctx, options), await keyVaultClientOptions(key, options, networkTimeouts(ctx)))
      const out = await client.decrypt({ algorithm: ALGORITHM, ciphertext }, { abortSignal: signal })
      return out.result
    })
    if (plaintext.length === 0) throw fail(`failed to decrypt sops data key with Azure Key Vault key '${id}': Key Vault returned an empty result`)
    return new Uint8Array(plaintext)
  } catch (e) {
    if (e instanceof KeyUnwrapError || ctx.signal?.aborted) throw e
    throw fail(`failed to decrypt sops data key with Azure Key Vault key '${id}': ${describeAzureError(e, key, 'decrypt', networkTimeouts(ctx))}`, hintFor(e))
  }
}

/**
 * One deadline for the whole operation: the signal stops the SDK (its AbortError becomes a
 * NetworkTimeoutError when the deadline caused it), withTimeout guards what takes no signal.
 */
async function bounded<T>(key: AzureKeyRef, ctx: KeyContext, op: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const what = `Azure Key Vault ${op} with ${displayUrl(key)}`
  const { overallMs } = networkTimeouts(ctx)
  const signal = timeoutSignal(overallMs, ctx.signal)
  try {
    return await withTimeout(run(signal), overallMs + 1_000, what)
  } catch (e) {
    // The caller's abort wins (its reason is not a TimeoutError); our deadline becomes a clear error.
    const reason: unknown = signal.reason
    if (signal.aborted && reason instanceof DOMException && reason.name === 'TimeoutError') throw new NetworkTimeoutError(what, overallMs)
    throw e
  }
}

// ---------------------------------------------------------------------------------------------
// SDK clients and credentials

let keysModule: Promise<KeysModule> | undefined
let identityModule: Promise<IdentityModule> | undefined
const loadKeys = () => (keysModule ??= import('@azure/keyvault-keys'))
const loadIdentity = () => (identityModule ??= import('@azure/identity'))
let pipelineModule: Promise<PipelineModule> | undefined
const loadPipeline = () => (pipelineModule ??= import('@azure/core-rest-pipeline'))

/** Bounded retries for every client tsops makes (Key Vault and the token endpoint). */
function retryOptions(timeouts: NetworkTimeouts) {
  return { maxRetries: timeouts.attempts - 1, retryDelayInMs: 250, maxRetryDelayInMs: 2_000 }
}

/**
 * The per-attempt deadline, as a pipeline policy rather than the SDK's requestOptions.timeout:
 * that one leaves its timer running when a connection is refused (the CLI then waits 5 s to
 * exit), and the SDK does not retry the AbortError it ends with. Here a timed-out attempt
 * becomes an ETIMEDOUT RestError, which the retry policy retries like any network error.
 */
async function attemptTimeoutPolicy(timeouts: NetworkTimeouts): Promise<{ policy: PipelinePolicy; position: 'perRetry' }> {
  const { RestError } = await loadPipeline()
  const policy: PipelinePolicy = {
    name: 'tsopsAttemptTimeout',
    async sendRequest(request, next) {
      const outer = request.abortSignal
      const attempt = AbortSignal.timeout(timeouts.requestMs) // unref'd: never delays exit
      request.abortSignal = outer ? anySignal(outer, attempt) : attempt
      try {
        return await next(request)
      } catch (e) {
        if (attempt.aborted && !outer?.aborted) {
          throw new RestError(`no answer within ${formatSeconds(timeouts.requestMs)}`, { code: 'ETIMEDOUT', request })
        }
        throw e
      } finally {
        request.abortSignal = outer
      }
    },
  }
  return { policy, position: 'perRetry' }
}

/** `outer` or `attempt`, whichever aborts first (the SDK types signals as AbortSignalLike). */
function anySignal(outer: NonNullable<PipelineRequest['abortSignal']>, attempt: AbortSignal): AbortSignal {
  if (outer instanceof AbortSignal) return AbortSignal.any([outer, attempt])
  const controller = new AbortController()
  const abort = () => controller.abort()
  if (outer.aborted) abort()
  outer.addEventListener('abort', abort)
  attempt.addEventListener('abort', abort)
  return controller.signal
}

/**
 * Error answers' raw bodies, by request: the SDK's RestError keeps only the parsed message and
 * code, and sops prints the body as Key Vault sent it (pretty-printed).
 */
const errorBodies = new WeakMap<PipelineRequest, string>()
const ERROR_BODY_POLICY: { policy: PipelinePolicy; position: 'perRetry' } = {
  position: 'perRetry',
  policy: {
    name: 'tsopsErrorBody',
    async sendRequest(request, next) {
      const response = await next(request)
      if (response.status >= 400 && typeof response.bodyAsText === 'string') errorBodies.set(request, response.bodyAsText)
      return response
    },
  },
}

async function keyVaultClientOptions(key: AzureKeyRef, options: AzureKvOptions, timeouts: NetworkTimeouts): Promise<KeyClientOptions & CryptographyClientOptions> {
  return {
    retryOptions: retryOptions(timeouts),
    additionalPolicies: [await attemptTimeoutPolicy(timeouts), ERROR_BODY_POLICY],
    // See the header comment: a loopback vault can never be *.vault.azure.net.
    disableChallengeResourceVerification: isLoopbackUrl(key.vaultUrl),
    ...(options.tlsOptions ? { tlsOptions: options.tlsOptions } : {}),
  }
}

/**
 * One credential per KeyContext and options: DefaultAzureCredential caches its token, so every
 * Azure key of a command (and of every file in a bulk run) shares one token request.
 */
const credentials = new WeakMap<KeyContext, Map<AzureKvOptions, Promise<TokenCredential>>>()

function credentialFor(ctx: KeyContext, options: AzureKvOptions): Promise<TokenCredential> {
  let perCtx = credentials.get(ctx)
  if (!perCtx) {
    perCtx = new Map()
    credentials.set(ctx, perCtx)
  }
  let credential = perCtx.get(options)
  if (!credential) {
    const timeouts = networkTimeouts(ctx)
    credential = Promise.all([loadIdentity(), attemptTimeoutPolicy(timeouts)]).then(
      ([identity, timeout]) => new identity.DefaultAzureCredential({ ...credentialOptions(ctx.env, options, timeouts), additionalPolicies: [timeout] }),
    )
    perCtx.set(options, credential)
  }
  return credential
}

export function credentialOptions(env: Env, options: AzureKvOptions = NO_OPTIONS, timeouts: NetworkTimeouts = DEFAULT_NETWORK_TIMEOUTS): DefaultAzureCredentialOptions {
  const authorityHost = env.AZURE_AUTHORITY_HOST?.trim() || undefined
  return {
    retryOptions: retryOptions(timeouts),
    ...(authorityHost ? { authorityHost, disableInstanceDiscovery: isLoopbackUrl(authorityHost) } : {}),
    ...(options.tlsOptions ? { tlsOptions: options.tlsOptions } : {}),
  }
}

function vaultBase(key: AzureKeyRef): string {
  return key.vaultUrl.replace(/\/+$/, '')
}

/** The key identifier the SDK takes: `<vault>/keys/<name>[/<version>]` (no version: the latest). */
/**
 * The key as a KeyVaultKey without key material: the SDK then sends encrypt and decrypt to Key
 * Vault straight away, as sops's Go client does (given an id, it would first GET the key and
 * encrypt locally, with other requests and other failures than sops's).
 */
function remoteOnly(key: AzureKeyRef): KeyVaultKey {
  const id = sdkKeyId(key)
  return { id, name: key.name, properties: { id, name: key.name, vaultUrl: vaultBase(key), version: key.version } } as KeyVaultKey
}

function sdkKeyId(key: AzureKeyRef): string {
  return `${vaultBase(key)}/keys/${key.name}${key.version ? `/${key.version}` : ''}`
}

/** The key as a person would write it (no trailing slash for a missing version). */
function displayUrl(key: AzureKeyRef): string {
  return key.version ? azureKeyId(key) : `${key.vaultUrl}/keys/${key.name}`
}

export function isLoopbackUrl(url: string): boolean {
  let host: string
  try {
    host = new URL(url).hostname.toLowerCase()
  } catch {
    return false
  }
  host = host.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

// ---------------------------------------------------------------------------------------------
// Errors: one short, clear reason per failure kind. Key Vault and Entra ID messages name keys,
// vaults and principals, never the secret or the token.

interface AzureErrorLike {
  name?: string
  message?: string
  code?: string
  statusCode?: number
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED'])
const TLS_CODES = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|CERT_HAS_EXPIRED|ERR_TLS_CERT_ALTNAME_INVALID)/
const CREDENTIAL_ERRORS = new Set(['AuthenticationError', 'AggregateAuthenticationError', 'CredentialUnavailableError', 'AuthenticationRequiredError'])

export function describeAzureError(e: unknown, key: AzureKeyRef, op: 'encrypt' | 'decrypt', timeouts: NetworkTimeouts = DEFAULT_NETWORK_TIMEOUTS): string {
  const vault = vaultBase(key)
  if (e instanceof NetworkTimeoutError) {
    return `Key Vault at ${vault} did not answer within ${formatSeconds(e.ms)}`
  }
  const err = (typeof e === 'object' && e !== null ? e : { message: String(e) }) as AzureErrorLike
  const name = err.name ?? 'Error'
  const message = oneLine(err.message ?? '')
  if (CREDENTIAL_ERRORS.has(name)) return `could not get an Azure access token (${name}: ${message})`
  const status = err.statusCode
  const response = goResponseError(e)
  if (response !== undefined) return response
  const detail = status === undefined ? `${err.code ?? name}: ${message}` : `${status}${err.code ? ` ${err.code}` : ''}: ${message}`
  const attempts = `after ${timeouts.attempts} attempts`
  switch (status) {
    case 401:
      return `Key Vault rejected the access token (${detail})`
    case 403:
      return `access denied (${detail})`
    case 404:
      return `key not found (${detail})`
    case 400:
      return op === 'decrypt'
        ? `Key Vault could not decrypt the data key with this key: it was encrypted with another key, or enc is damaged (${detail})`
        : `Key Vault refused the request (${detail})`
    case 429:
      return `Key Vault throttled the request and still did ${attempts} (${detail})`
  }
  if (status !== undefined && status >= 500) return `Key Vault at ${vault} failed ${attempts} (${detail})`
  if (err.code === 'ETIMEDOUT' && status === undefined) return `Key Vault at ${vault} did not answer (${timeouts.attempts} attempts of ${formatSeconds(timeouts.requestMs)})`
  if (err.code !== undefined && NETWORK_CODES.has(err.code)) return `could not reach Key Vault at ${vault} ${attempts} (${err.code})`
  if (err.code !== undefined && TLS_CODES.test(err.code)) return `TLS error talking to Key Vault at ${vault} (${err.code}; NODE_EXTRA_CA_CERTS adds a private CA)`
  return message ? `${name}: ${message}` : name
}

/**
 * An HTTP error answer in azcore's words (ResponseError.Error(), what sops prints): the request,
 * the status, the error code and the body, pretty-printed, between separator lines.
 */
function goResponseError(e: unknown): string | undefined {
  const err = e as { statusCode?: number; code?: string; request?: { method?: string; url?: string }; response?: { status?: number; bodyAsText?: string | null; headers?: { get(name: string): string | undefined } } }
  const status = err.response?.status ?? err.statusCode
  if (status === undefined || err.response === undefined) return undefined
  const separator = '-'.repeat(80)
  let target = 'Request information not available'
  try {
    const u = new URL(err.request?.url ?? '')
    target = `${err.request?.method ?? 'GET'} ${u.protocol}//${u.host}${u.pathname}`
  } catch {
    // keep the placeholder
  }
  const request = err.request as PipelineRequest | undefined
  const body = err.response.bodyAsText ?? (request ? errorBodies.get(request) : undefined) ?? ''
  const code = err.response.headers?.get('x-ms-error-code') ?? errorCodeOf(body) ?? err.code
  const lines = [target, separator, `RESPONSE ${status}: ${status} ${STATUS_CODES[status] ?? ''}`, code ? `ERROR CODE: ${code}` : 'ERROR CODE UNAVAILABLE', separator]
  lines.push(body.length > 0 ? (goJsonIndent(body) ?? body) : 'Response contained no body')
  return `${lines.join('\n')}\n${separator}\n`
}

/** The `error.code` of a Key Vault error body. */
function errorCodeOf(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code
    return typeof code === 'string' && code !== '' ? code : undefined
  } catch {
    return undefined
  }
}

function hintFor(e: unknown): string | undefined {
  const name = (e as AzureErrorLike | undefined)?.name
  if (name !== undefined && CREDENTIAL_ERRORS.has(name)) {
    return 'Log in with `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or use a managed identity).'
  }
  return undefined
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 400 ? `${line.slice(0, 400)}…` : line
}

// ---------------------------------------------------------------------------------------------
// Small helpers

