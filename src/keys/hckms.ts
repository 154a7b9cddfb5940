/**
 * HuaweiCloud KMS key source (sops `hckms/keysource.go`), with plain fetch and our own request
 * signing (./hckms-sign.ts) instead of huaweicloud-sdk-go-v3.
 *
 * Key id `region:key-uuid` (split at the first `:`, each side trimmed, neither empty). Encrypt
 * POSTs `{"key_id": uuid, "plain_text": base64(dataKey), "encryption_algorithm":
 * "SYMMETRIC_DEFAULT"}` to `<endpoint>/v1.0/<project_id>/kms/encrypt-data` and stores the
 * returned `cipher_text` verbatim as `enc`; decrypt sends `{"cipher_text": enc, …, "key_id":
 * uuid}` to …/decrypt-data and base64-decodes `plain_text`. Entry fields: created_at, enc, key_id.
 *
 * Settings come from ctx.env, found the way the Go SDK finds them:
 *   - endpoint of a region: HUAWEICLOUD_SDK_REGION_KMS_<REGION> (upper case, `-` → `_`; a comma
 *     list, the first one is used), then the `KMS` list of the regions file
 *     (HUAWEICLOUD_SDK_REGIONS_FILE, else ~/.huaweicloud/regions.yaml), then the SDK's own table;
 *     an endpoint without a scheme is https;
 *   - credentials: HUAWEICLOUD_SDK_AK + HUAWEICLOUD_SDK_SK (+ HUAWEICLOUD_SDK_SECURITY_TOKEN,
 *     HUAWEICLOUD_SDK_PROJECT_ID), else the `[basic]` section of the credentials file
 *     (HUAWEICLOUD_SDK_CREDENTIALS_FILE, else ~/.huaweicloud/credentials: ak, sk,
 *     security_token, project_id, iam_endpoint). ECS metadata, pod identity and federated (IdP)
 *     credentials are not read;
 *   - project id: when none is given, IAM is asked for the project named like the region
 *     (HUAWEICLOUD_SDK_IAM_ENDPOINT or iam_endpoint to point at another IAM).
 *
 * Every call is bounded (./timeouts.ts); failures read as sops's (the SDK's error JSON).
 */
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { GenericError } from '../core/errors.js'
import { TreeMap } from '../core/tree.js'
import { iniFormat } from '../formats/ini.js'
import { goBase64Decode, goOpenError, goQuote, noAnswerText } from './go-text.js'
import { signRequest } from './hckms-sign.js'
import { MAX_ATTEMPTS, NETWORK_TIMEOUT_MS, REQUEST_TIMEOUT_MS, backoff, timeoutSignal } from './timeouts.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeySource } from './types.js'
import { parseKeyId, type HckmsKey } from './sources/hckms.js'

export { parseKeyId, type HckmsKey }

// ---------------------------------------------------------------------------------------------
// The key source

export function fromSpec(spec: string): KeySource {
  return hckmsKeySource(parseKeyId(spec))
}

/** An entry whose key_id sops could not parse fails when used, with sops's parse message. */
export function fromEntry(entry: KeyEntry): KeySource {
  const keyId = typeof entry.fields.key_id === 'string' ? entry.fields.key_id : ''
  try {
    return hckmsKeySource(parseKeyId(keyId))
  } catch (e) {
    const error = e as GenericError
    return {
      type: 'hckms',
      id: keyId,
      keyFields: { key_id: keyId },
      wrap: () => Promise.reject(error),
      unwrap: () => Promise.reject(new KeyUnwrapError('hckms', keyId, error.message)),
    }
  }
}

export function hckmsKeySource(key: HckmsKey): KeySource {
  const k = { ...key }
  return {
    type: 'hckms',
    id: k.keyId,
    keyFields: { key_id: k.keyId },
    wrap: (part, ctx) => wrap(k, part, ctx),
    unwrap: (entry, ctx) => unwrap(k, entry, ctx),
  }
}

async function wrap(key: HckmsKey, part: Uint8Array, ctx: KeyContext): Promise<KeyEntry> {
  const client = await clientOrThrow(key, ctx, (m, hint) => new GenericError(m, { code: 'BAD_CREDENTIALS', hint }))
  let answer: Record<string, unknown>
  try {
    answer = await kmsCall(client, 'encrypt-data', { key_id: key.keyUuid, plain_text: Buffer.from(part).toString('base64'), encryption_algorithm: 'SYMMETRIC_DEFAULT' }, ctx)
  } catch (e) {
    if (ctx.signal?.aborted) throw e
    throw new GenericError(`failed to encrypt sops data key with HuaweiCloud KMS: ${messageOf(e)}`, { code: 'KEY_WRAP_FAILED', hint: hintOf(e) })
  }
  const cipherText = answer.cipher_text
  if (typeof cipherText !== 'string') throw new GenericError('encryption response missing ciphertext', { code: 'KEY_WRAP_FAILED' })
  return { type: 'hckms', fields: { enc: cipherText, key_id: key.keyId } }
}

async function unwrap(key: HckmsKey, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array> {
  const fail = (reason: string, hint?: string) => new KeyUnwrapError('hckms', key.keyId, reason, hint)
  const client = await clientOrThrow(key, ctx, fail)
  const enc = typeof entry.fields.enc === 'string' ? entry.fields.enc : ''
  let answer: Record<string, unknown>
  try {
    answer = await kmsCall(client, 'decrypt-data', { cipher_text: enc, encryption_algorithm: 'SYMMETRIC_DEFAULT', key_id: key.keyUuid }, ctx)
  } catch (e) {
    if (ctx.signal?.aborted) throw e
    throw fail(`failed to decrypt sops data key with HuaweiCloud KMS: ${messageOf(e)}`, hintOf(e))
  }
  const plainText = answer.plain_text
  if (typeof plainText !== 'string') throw fail('decryption response missing plaintext')
  const decoded = goBase64Decode(plainText, true, false)
  if (!decoded.ok) throw fail(`failed to base64 decode decrypted data key: ${decoded.error}`)
  return new Uint8Array(decoded.bytes)
}

// ---------------------------------------------------------------------------------------------
// Client set-up: endpoint and credentials

interface Credentials {
  ak: string
  sk: string
  securityToken: string
  /** Empty: asked from IAM (KeystoneListProjects by region name), as the SDK does. */
  projectId: string
  /** `iam_endpoint` of the credentials file, else empty. */
  iamEndpoint: string
}

interface Client {
  endpoint: string
  credentials: Credentials
}

/** A failure with a message fit for the person at the terminal (never a secret) and a hint. */
class HckmsError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'HckmsError'
  }
}

/** Credentials, then the region's endpoint, then the project id: the SDK's order (and so its first error). */
async function clientOrThrow<E extends Error>(key: HckmsKey, ctx: KeyContext, error: (message: string, hint?: string) => E): Promise<Client> {
  try {
    const client = { credentials: credentials(ctx), endpoint: endpointOf(key.region, ctx) }
    if (client.credentials.projectId === '') client.credentials.projectId = await projectIdFromIam(key.region, client.credentials, ctx)
    return client
  } catch (e) {
    if (ctx.signal?.aborted) throw e
    throw error(`failed to create HuaweiCloud KMS client: ${messageOf(e)}`, hintOf(e))
  }
}

const CREDENTIALS_HINT = 'Set HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK and HUAWEICLOUD_SDK_PROJECT_ID, or write them to ~/.huaweicloud/credentials ([basic] ak, sk, project_id).'

/** The SDK's BasicCredentialProviderChain, env and profile file only, with its messages. */
function credentials(ctx: KeyContext): Credentials {
  const errors: string[] = []
  for (const provider of [credentialsFromEnv, credentialsFromProfile]) {
    const found = provider(ctx)
    if (typeof found !== 'string') return found
    errors.push(found)
  }
  errors.push('(tsops reads no ECS metadata or pod identity credentials)')
  throw new HckmsError(`failed to get HuaweiCloud credentials: ${sdkErrorMessage(`unable to get credential in providers:\n${errors.join('\n')}`)}`, CREDENTIALS_HINT)
}

const MISSING_AK_SK = sdkErrorMessage('AK&SK or IdpId&IdTokenFile does not exist')

function credentialsFromEnv(ctx: KeyContext): Credentials | string {
  const env = ctx.env
  return basicCredentials({
    ak: env.HUAWEICLOUD_SDK_AK ?? '',
    sk: env.HUAWEICLOUD_SDK_SK ?? '',
    securityToken: env.HUAWEICLOUD_SDK_SECURITY_TOKEN ?? '',
    projectId: env.HUAWEICLOUD_SDK_PROJECT_ID ?? '',
    iamEndpoint: '',
    federated: Boolean(env.HUAWEICLOUD_SDK_IDP_ID && env.HUAWEICLOUD_SDK_ID_TOKEN_FILE),
  })
}

function credentialsFromProfile(ctx: KeyContext): Credentials | string {
  const file = ctx.env.HUAWEICLOUD_SDK_CREDENTIALS_FILE || homeFile(ctx, 'credentials')
  if (file === undefined) return '$HOME is not defined'
  let section: Map<string, string>
  try {
    section = iniSection(readFileSync(file), 'basic')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).syscall !== undefined) return goOpenError(file, e)
    // Not go-ini's message: it can quote the offending line, which may hold the secret key.
    return `${file} is not a valid INI file`
  }
  return basicCredentials({
    ak: section.get('ak') ?? '',
    sk: section.get('sk') ?? '',
    securityToken: section.get('security_token') ?? '',
    projectId: section.get('project_id') ?? '',
    iamEndpoint: section.get('iam_endpoint') ?? '',
    federated: Boolean(section.get('idp_id') && section.get('id_token_file')),
  })
}

/** The SDK's fillCommonAttrs: IdP federation wins when configured (not supported here), then AK&SK. */
function basicCredentials(c: Credentials & { federated: boolean }): Credentials | string {
  if (c.federated) return sdkErrorMessage('IdpId&IdTokenFile (federated) credentials are not supported by tsops')
  if (c.ak === '' || c.sk === '') return MISSING_AK_SK
  return { ak: c.ak, sk: c.sk, securityToken: c.securityToken, projectId: c.projectId, iamEndpoint: c.iamEndpoint }
}

/** The values of one section of an INI file (go-ini, as the SDK reads it); empty when absent. */
function iniSection(bytes: Uint8Array, name: string): Map<string, string> {
  const [root] = iniFormat.parse(bytes).branches
  const section = root?.entries().find((e) => e.key === name)?.value
  const values = new Map<string, string>()
  if (section instanceof TreeMap) for (const { key, value } of section.entries()) if (typeof value === 'string') values.set(key, value)
  return values
}

/** `~/.huaweicloud/<name>`, HOME from ctx.env (with envOnly, nothing else). */
function homeFile(ctx: KeyContext, name: string): string | undefined {
  const home = ctx.env.HOME || (ctx.envOnly ? undefined : os.homedir())
  return home ? path.join(home, '.huaweicloud', name) : undefined
}

/** sdkerr's CredentialsTypeError text. */
function sdkErrorMessage(message: string): string {
  return `{"ErrorMessage": "${message}"}`
}

/** The endpoint of KMS in `region`, found as the SDK's kms region.SafeValueOf finds it. */
export function endpointOf(region: string, ctx: KeyContext): string {
  const fromEnv = ctx.env[regionEnvName(region)]
  const listed = fromEnv ? fromEnv.split(',') : regionsFileEndpoints(region, ctx)
  const endpoint = listed?.[0] ?? (KMS_REGIONS.includes(region) ? `https://kms.${region}.${region === 'eu-west-101' ? 'myhuaweicloud.eu' : 'myhuaweicloud.com'}` : undefined)
  if (endpoint === undefined) {
    throw new HckmsError(
      `invalid region ${goQuote(region)}: region id '${region}' is not in the following supported regions of service 'KMS': [${[...KMS_REGIONS].sort().join(', ')}]`,
      `Point tsops at the endpoint with ${regionEnvName(region)}=https://… if the region is new.`,
    )
  }
  return /^http/.test(endpoint) ? endpoint : `https://${endpoint}`
}

/** HUAWEICLOUD_SDK_REGION_KMS_TR_WEST_1 for tr-west-1. */
export function regionEnvName(region: string): string {
  return `HUAWEICLOUD_SDK_REGION_KMS_${region.replaceAll('-', '_').toUpperCase()}`
}

/** The `KMS` entries of the SDK's regions file (`KMS: [{id, endpoint, endpoints}]`). */
function regionsFileEndpoints(region: string, ctx: KeyContext): string[] | undefined {
  const file = ctx.env.HUAWEICLOUD_SDK_REGIONS_FILE || homeFile(ctx, 'regions.yaml')
  if (file === undefined) return undefined
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined // the SDK skips a file it cannot see
  }
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch {
    throw new HckmsError(`failed to resolve file: '${file}'`)
  }
  const services = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : {}
  for (const [service, entries] of Object.entries(services)) {
    if (service.toUpperCase() !== 'KMS' || !Array.isArray(entries)) continue
    for (const e of entries as Record<string, unknown>[]) {
      if (e?.id !== region) continue
      const list = [...(typeof e.endpoint === 'string' && e.endpoint !== '' ? [e.endpoint] : []), ...(Array.isArray(e.endpoints) ? e.endpoints.filter((x): x is string => typeof x === 'string') : [])]
      if (list.length > 0) return list
    }
  }
  return undefined
}

/** huaweicloud-sdk-go-v3 v0.1.202 services/kms/v2/region: kms.<region>.myhuaweicloud.com (eu-west-101: .eu). */
const KMS_REGIONS: readonly string[] = [
  'eu-west-101', 'cn-north-4', 'cn-north-1', 'cn-north-2', 'cn-east-2', 'cn-east-3', 'cn-south-1', 'cn-south-2', 'af-south-1',
  'cn-southwest-2', 'ap-southeast-2', 'ap-southeast-1', 'ap-southeast-3', 'la-south-2', 'sa-brazil-1', 'na-mexico-1', 'la-north-2',
  'cn-north-9', 'ap-southeast-4', 'tr-west-1', 'ae-ad-1', 'my-kualalumpur-1', 'ru-moscow-1', 'cn-east-5', 'cn-east-4', 'me-east-1',
  'ap-southeast-5', 'cn-south-4', 'cn-north-12', 'cn-north-11', 'af-north-1', 'cn-southwest-3',
]

// ---------------------------------------------------------------------------------------------
// The HTTP call

/** Statuses worth another attempt: gateway overloaded or throttling. */
const RETRY_STATUS = new Set([429, 500, 502, 503, 504])

/** The KMS API: POST /v1.0/<project_id>/kms/<op> with the project id in X-Project-Id as well. */
async function kmsCall(client: Client, op: 'encrypt-data' | 'decrypt-data', body: Record<string, string>, ctx: KeyContext): Promise<Record<string, unknown>> {
  const { projectId } = client.credentials
  const request: ApiRequest = {
    method: 'POST',
    path: `/v1.0/${encodeURIComponent(projectId)}/kms/${op}`,
    query: {},
    headers: { 'Content-Type': 'application/json;charset=UTF-8', 'X-Project-Id': projectId },
    body: JSON.stringify(body),
  }
  return (await send(client.endpoint, request, client.credentials, ctx)).answer
}

/**
 * The project of `region` from IAM (KeystoneListProjects, `GET /v3/projects?name=<region>`), as the
 * SDK finds it when none is configured; exactly one must come back. IAM: the credentials file's
 * iam_endpoint, else HUAWEICLOUD_SDK_IAM_ENDPOINT (https:// put before it unless it has it), else
 * the SDK's table for the region.
 */
async function projectIdFromIam(region: string, c: Credentials, ctx: KeyContext): Promise<string> {
  const fromEnv = ctx.env.HUAWEICLOUD_SDK_IAM_ENDPOINT
  const iam = c.iamEndpoint || (fromEnv ? (fromEnv.startsWith('https://') ? fromEnv : `https://${fromEnv}`) : IAM_REGIONS.includes(region) ? `https://iam.${region}.myhuaweicloud.com` : 'https://iam.myhuaweicloud.com')
  const request: ApiRequest = { method: 'GET', path: '/v3/projects', query: { name: region }, headers: {}, body: '' }
  let result: Awaited<ReturnType<typeof send>>
  try {
    result = await send(iam, request, c, ctx, IAM_TRACE_ID)
  } catch (e) {
    throw new HckmsError(`failed to get project id of region '${region}' automatically, ${messageOf(e)}`, hintOf(e) ?? PROJECT_HINT)
  }
  const trace = `${IAM_TRACE_ID}=${result.headers.get(IAM_TRACE_ID) ?? ''}`
  const projects = Array.isArray(result.answer.projects) ? (result.answer.projects as { id?: unknown }[]) : []
  const ids = projects.map((p) => (typeof p?.id === 'string' ? p.id : ''))
  if (ids.length === 1 && ids[0] !== '') return ids[0]!
  if (ids.length > 1) throw new HckmsError(`multiple project ids found: [${ids.join(',')}], ${trace}, please select one`, PROJECT_HINT)
  throw new HckmsError(`failed to get project id of region '${region}' automatically, ${trace}, confirm that the project exists in your account, or set project id manually`, PROJECT_HINT)
}

const IAM_TRACE_ID = 'X-IAM-Trace-Id'
const PROJECT_HINT = 'Set HUAWEICLOUD_SDK_PROJECT_ID (or project_id in ~/.huaweicloud/credentials).'

/** huaweicloud-sdk-go-v3 v0.1.202 core/auth/internal/iam_endpoint.go: iam.<region>.myhuaweicloud.com. */
const IAM_REGIONS: readonly string[] = [
  'cn-north-2', 'cn-north-4', 'cn-north-1', 'cn-east-2', 'cn-east-3', 'cn-south-1', 'cn-south-2', 'cn-southwest-2', 'ap-southeast-1',
  'ap-southeast-2', 'ap-southeast-3', 'af-south-1', 'sa-brazil-1', 'la-south-2', 'na-mexico-1', 'la-north-2', 'cn-north-9', 'eu-west-0',
  'my-kualalumpur-1', 'ru-moscow-1', 'me-east-1', 'ap-southeast-4', 'ae-ad-1', 'cn-east-4', 'cn-east-5', 'tr-west-1', 'cn-north-12',
]

interface ApiRequest {
  method: 'GET' | 'POST'
  path: string
  query: Record<string, string>
  headers: Record<string, string>
  body: string
}

/**
 * One signed call; the answer's JSON object. Retried (newly signed) on no answer and on
 * RETRY_STATUS, MAX_ATTEMPTS times within NETWORK_TIMEOUT_MS; an error status reads as the SDK's
 * ServiceResponseError (IAM's with its trace id: `traceHeader`).
 */
async function send(base: string, req: ApiRequest, c: Credentials, ctx: KeyContext, traceHeader?: string): Promise<{ answer: Record<string, unknown>; headers: Headers }> {
  const search = new URLSearchParams(req.query).toString()
  const url = `${base.replace(/\/+$/, '')}${req.path}${search === '' ? '' : `?${search}`}`
  const overall = timeoutSignal(NETWORK_TIMEOUT_MS, ctx.signal)
  let last: unknown
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (attempt > 1) await backoff(100 * 2 ** (attempt - 2), overall)
    const headers: Record<string, string> = { 'User-Agent': 'tsops', ...req.headers }
    if (c.securityToken !== '') headers['X-Security-Token'] = c.securityToken
    Object.assign(headers, signRequest({ ...req, headers }, c.ak, c.sk, new Date()))
    let res: Response
    let answer: string
    try {
      const init: RequestInit = { method: req.method, headers, signal: timeoutSignal(REQUEST_TIMEOUT_MS, overall), redirect: 'manual' }
      res = await fetch(url, req.method === 'POST' ? { ...init, body: req.body } : init)
      answer = await res.text()
    } catch (e) {
      if (ctx.signal?.aborted) throw e
      last = new HckmsError(networkErrorText(e, req.method, url, base))
      if (overall.aborted) break
      continue
    }
    if (res.status < 400) return { answer: parseAnswer(answer), headers: res.headers }
    last = new HckmsError(serviceResponseError(res, answer, traceHeader), res.status === 401 || res.status === 403 ? CREDENTIALS_HINT : undefined)
    if (!RETRY_STATUS.has(res.status)) break
  }
  throw last
}

function parseAnswer(text: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>
  } catch {
    // fall through
  }
  throw new HckmsError('HuaweiCloud sent an answer that is not a JSON object')
}

/**
 * sdkerr.ServiceResponseError as the SDK prints it (jsoniter, no HTML escaping, a newline at
 * the end): error_code/error_msg at the top of the body, else code/message, else the first
 * nested object that has them; the raw body when there is no message.
 */
export function serviceResponseError(res: Pick<Response, 'status' | 'headers'>, body: string, traceHeader?: string): string {
  let found: { code: string; message: string } = { code: '', message: '' }
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    parsed = undefined
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) found = errorFields(parsed as Record<string, unknown>) ?? found
  const trace = traceHeader === undefined ? null : res.headers.get(traceHeader)
  const message = (found.message === '' ? body : found.message) + (trace ? `, ${traceHeader}=${trace}` : '')
  return `${JSON.stringify({
    status_code: res.status,
    request_id: res.headers.get('x-request-id') ?? '',
    error_code: found.code,
    error_message: message,
    encoded_authorization_message: '',
    details: null,
  })}\n`
}

function errorFields(m: Record<string, unknown>): { code: string; message: string } | undefined {
  for (const [codeKey, messageKey] of [['error_code', 'error_msg'], ['code', 'message']] as const) {
    const code = m[codeKey]
    const message = m[messageKey]
    if (typeof code === 'string' && code !== '' && typeof message === 'string' && message !== '') return { code, message }
  }
  for (const v of Object.values(m)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const nested = errorFields(v as Record<string, unknown>)
      if (nested) return nested
    }
  }
  return undefined
}

/** No answer: Go's *url.Error (`Post "URL": dial tcp …`), or how long tsops waited. */
function networkErrorText(e: unknown, method: 'GET' | 'POST', url: string, base: string): string {
  return noAnswerText(e, method === 'GET' ? 'Get' : 'Post', url, `HuaweiCloud at ${base}`)
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function hintOf(e: unknown): string | undefined {
  return e instanceof HckmsError ? e.hint : undefined
}
