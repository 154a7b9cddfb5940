/**
 * HashiCorp Vault transit key source (spec §6.6), with plain fetch.
 *
 * URI `https://vault:8200/v1/<engine_path>/keys/<key_name>` → vault_address, engine_path (may
 * contain `/`), key_name. Encrypt PUTs `{"plaintext": base64(dataKey)}` to
 * `<address>/v1/<engine_path>/encrypt/<key_name>` and stores the returned `ciphertext`
 * (`vault:v1:…`) verbatim as `enc`; decrypt PUTs `{"ciphertext": enc}` to …/decrypt/… and
 * base64-decodes `plaintext`. Failures read as sops's (the Vault Go client's words).
 *
 * Token: VAULT_TOKEN, else `~/.vault-token` (trimmed), else none. VAULT_NAMESPACE → X-Vault-Namespace.
 * SOPS_HC_VAULT_ALLOWLIST (`all` by default, `none`, or comma-separated URL prefixes) limits the
 * servers the token is sent to: a file's metadata chooses the address, so without it anyone
 * who can write a file could have tsops hand them the token.
 */
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { GenericError } from '../core/errors.js'
import { goBase64Decode, goOpenError, goQuote, noAnswerText } from './go-text.js'
import { MAX_ATTEMPTS, NETWORK_TIMEOUT_MS, REQUEST_TIMEOUT_MS, backoff, timeoutSignal } from './timeouts.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeyFields, type KeySource } from './types.js'
import { stringField } from './descriptor.js'

type Env = KeyContext['env']

export interface VaultKey {
  /** scheme://host[:port], no path. */
  vaultAddress: string
  enginePath: string
  keyName: string
}

export const ALLOWLIST_ENV = 'SOPS_HC_VAULT_ALLOWLIST'

// ---------------------------------------------------------------------------------------------
// The key source

export function vaultTransitKeySource(key: VaultKey): KeySource {
  const k = { ...key }
  return {
    type: 'hc_vault',
    id: keyUri(k),
    keyFields: { engine_path: k.enginePath, key_name: k.keyName, vault_address: k.vaultAddress },
    wrap: (part, ctx) => wrap(k, part, ctx),
    unwrap: (entry, ctx) => unwrap(k, entry, ctx),
  }
}

export function fromEntry(entry: KeyEntry): KeySource {
  const f = entry.fields
  return vaultTransitKeySource({ vaultAddress: stringField(f, 'vault_address'), enginePath: stringField(f, 'engine_path'), keyName: stringField(f, 'key_name') })
}

export function fromSpec(spec: string): KeySource {
  return vaultTransitKeySource(parseVaultUri(spec.trim()))
}

/** sops's ToString: `<address>/v1/<engine_path>/keys/<key_name>`. */
export function keyUri(key: VaultKey): string {
  return `${key.vaultAddress}/v1/${key.enginePath}/keys/${key.keyName}`
}

const URI_EXAMPLE = 'https://vault.example.com:8200/v1/transit/keys/keyName'

/**
 * sops's NewMasterKeyFromURI, with its messages: a scheme is required; a path with a segment
 * before `/v<N>/` (a proxy prefix) and a path with fewer than three segments after it are
 * refused; the key is the last segment and the engine path what lies between `v<N>` and the
 * segment before the key (sops does not check that one is `keys`). The address keeps the host
 * and port as written (Go's url keeps `:443`), so the metadata matches what sops writes.
 */
export function parseVaultUri(uri: string): VaultKey {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)/.exec(uri)
  if (!m) throw new GenericError(`missing scheme in Vault URL (should be like this: +${URI_EXAMPLE}), got: ${uri}`, { code: 'BAD_KEY' })
  const requestUri = m[3] || '/'
  if (/\/[^/]+\/v\d+\/[^/]+\/[^/]+\/[^/]+/.test(requestUri)) {
    throw new GenericError(`running Vault with a prefixed URL is not supported! (Format has to be like ${URI_EXAMPLE})`, { code: 'BAD_KEY' })
  }
  if (!/\/v\d+\/[^/]+\/[^/]+\/[^/]+/.test(requestUri)) throw new GenericError(`vault path does not seem to be formatted correctly: (eg. ${URI_EXAMPLE})`, { code: 'BAD_KEY' })
  const dirs = requestUri.replace(/^\/+|\/+$/g, '').split('/')
  const enginePath = path.posix.normalize(dirs.slice(1, -2).join('/')).replace(/\/+$/, '')
  return { vaultAddress: `${m[1]!.toLowerCase()}://${m[2] ?? ''}`, enginePath, keyName: dirs.at(-1)! }
}

/** Where sops names the backend in its messages: `<engine>/<op>/<key>`. */
function backendPath(key: VaultKey, op: 'encrypt' | 'decrypt'): string {
  return `${key.enginePath}/${op}/${key.keyName}`
}

async function wrap(key: VaultKey, part: Uint8Array, ctx: KeyContext): Promise<KeyEntry> {
  let ciphertext: string
  try {
    const data = await transit(key, 'encrypt', { plaintext: Buffer.from(part).toString('base64') }, ctx)
    const c = data?.ciphertext
    if (data === undefined) throw new VaultError('transit backend is empty')
    if (c === undefined || c === null) throw new VaultError('no encrypted data')
    if (typeof c !== 'string') throw new VaultError('encrypted ciphertext cannot be cast to string')
    ciphertext = c
  } catch (e) {
    if (ctx.signal?.aborted) throw e
    if (e instanceof UnwrappedVaultError) throw new GenericError(e.message, { code: 'KEY_WRAP_FAILED', hint: e.hint })
    throw new GenericError(`failed to encrypt sops data key to Vault transit backend '${backendPath(key, 'encrypt')}': ${messageOf(e)}`, { code: 'KEY_WRAP_FAILED', hint: hintOf(e) })
  }
  const fields: KeyFields = {
    enc: ciphertext,
    engine_path: key.enginePath,
    key_name: key.keyName,
    vault_address: key.vaultAddress,
  }
  return { type: 'hc_vault', fields }
}

async function unwrap(key: VaultKey, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array> {
  const id = keyUri(key)
  const fail = (reason: string, hint?: string) => new KeyUnwrapError('hc_vault', id, reason, hint)
  const enc = entry.fields.enc
  try {
    const data = await transit(key, 'decrypt', { ciphertext: typeof enc === 'string' ? enc : '' }, ctx)
    const p = data?.plaintext
    if (data === undefined) throw new VaultError('transit backend is empty')
    if (p === undefined || p === null) throw new VaultError('no decrypted data')
    if (typeof p !== 'string') throw new VaultError('decrypted plaintext data cannot be cast to string')
    const decoded = goBase64Decode(p, true, false)
    if (!decoded.ok) throw new VaultError('cannot decode base64 plaintext into data key bytes')
    return new Uint8Array(decoded.bytes)
  } catch (e) {
    if (ctx.signal?.aborted) throw e
    if (e instanceof UnwrappedVaultError) throw fail(e.message, e.hint)
    throw fail(`failed to decrypt sops data key from Vault transit backend '${backendPath(key, 'decrypt')}': ${messageOf(e)}`, hintOf(e))
  }
}

// ---------------------------------------------------------------------------------------------
// The HTTP call

/** A failure with a message fit for the person at the terminal (no token, no key material). */
class VaultError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'VaultError'
  }
}

/** A failure sops reports as is, without "failed to … Vault transit backend …" (client set-up: allow list, token file). */
class UnwrappedVaultError extends VaultError {}

/** Statuses worth another attempt: Vault sealed/standby/overloaded, rate limited. */
const RETRY_STATUS = new Set([429, 500, 502, 503, 504])

/**
 * One transit call, like the Vault Go client sops uses: PUT, `X-Vault-Token` when there is a
 * token (without one Vault answers 403, as it does for sops), errors in the client's words.
 * Returns the answer's `data` (undefined when there is none).
 */
async function transit(key: VaultKey, op: 'encrypt' | 'decrypt', body: Record<string, string>, ctx: KeyContext): Promise<Record<string, unknown> | undefined> {
  const url = `${key.vaultAddress}/v1/${key.enginePath}/${op}/${key.keyName}`
  const allow = allowList(ctx.env)
  if (typeof allow === 'string') throw new UnwrappedVaultError(allow)
  if (!allow(key.vaultAddress)) {
    throw new UnwrappedVaultError(
      `Allowlist does not allow ${key.vaultAddress}`,
      `Add the address to ${ALLOWLIST_ENV} (a comma list of URL prefixes, or "all") if you trust it.`,
    )
  }
  const token = await vaultToken(ctx)
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Vault-Request': 'true' }
  if (token !== '') headers['X-Vault-Token'] = token
  const namespace = ctx.env.VAULT_NAMESPACE
  if (namespace) headers['X-Vault-Namespace'] = namespace
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(key.vaultAddress)?.[1]
  if (scheme !== 'http' && scheme !== 'https') throw new VaultError(`Put ${goQuote(url)}: unsupported protocol scheme ${goQuote(scheme ?? '')}`)

  // One deadline for all attempts; each attempt has its own shorter one.
  const overall = timeoutSignal(NETWORK_TIMEOUT_MS, ctx.signal)
  let target = url
  let redirects = 0
  let last: unknown
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (attempt > 1) await backoff(100 * 2 ** (attempt - 2), overall)
    let res: Response
    let text: string
    try {
      res = await fetch(target, {
        method: 'PUT',
        headers,
        body: JSON.stringify(body),
        signal: timeoutSignal(REQUEST_TIMEOUT_MS, overall),
        redirect: 'manual',
      })
      text = await res.text()
    } catch (e) {
      if (ctx.signal?.aborted) throw e
      last = new VaultError(networkErrorText(e, target, key.vaultAddress))
      if (overall.aborted) break
      continue
    }
    if (res.ok) return parseData(text)
    // A standby node redirects to the active one. Followed by hand, so the token only goes to
    // an allowed server, and at most once.
    const location = res.headers.get('location')
    if ((res.status === 307 || res.status === 308) && location && redirects === 0) {
      const next = new URL(location, target).toString()
      if (!allow(new URL(next).origin)) throw new VaultError(`Vault redirected to ${new URL(next).origin}, which is not allowed by ${ALLOWLIST_ENV}`)
      target = next
      redirects++
      attempt--
      continue
    }
    last = new VaultError(responseErrorText(res, text, target), res.status === 403 ? `Check VAULT_TOKEN (or ~/.vault-token) and that its policy allows update on ${backendPath(key, op)}.` : undefined)
    if (!RETRY_STATUS.has(res.status)) break
  }
  throw last
}

/** The Vault client's ResponseError text. */
export function responseErrorText(res: Response, text: string, url: string, method: 'GET' | 'PUT' = 'PUT'): string {
  const ns = res.headers.get('x-vault-namespace') ?? ''
  const errors = vaultErrors(text)
  const head = `Error making API request.\n\n${ns !== '' && ns !== 'root/' ? `Namespace: ${ns}\n` : ''}URL: ${method} ${url}\nCode: ${res.status}. `
  if (errors === undefined) return `${head}Raw Message:\n\n${text}`
  return `${head}Errors:\n\n${errors.map((e) => `* ${e}`).join('')}`
}

/** No answer from Vault: how long tsops waited, or Go's *url.Error (`Put "URL": dial tcp …`). */
export function networkErrorText(e: unknown, url: string, vaultAddress: string, method: 'Get' | 'Put' = 'Put'): string {
  return noAnswerText(e, method, url, `Vault at ${vaultAddress}`)
}

/** Vault answers errors as `{"errors": ["…"]}`; undefined when the body is not JSON (the client then shows it raw). */
function vaultErrors(text: string): string[] | undefined {
  try {
    const parsed = JSON.parse(text) as { errors?: unknown }
    return Array.isArray(parsed?.errors) ? parsed.errors.map(String) : []
  } catch {
    return undefined
  }
}

function parseData(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined
  try {
    const parsed = JSON.parse(text) as { data?: unknown }
    return parsed.data && typeof parsed.data === 'object' ? (parsed.data as Record<string, unknown>) : {}
  } catch {
    throw new VaultError('Vault sent an answer that is not JSON')
  }
}

// ---------------------------------------------------------------------------------------------
// Token and allow list

/**
/**
 * VAULT_TOKEN, else `~/.vault-token` trimmed (HOME from ctx.env), else none: sops then sends
 * the request without a token and Vault's 403 says why. With envOnly (the library's
 * `inheritEnv: false`) no file unless env itself gives HOME.
 */
export async function vaultToken(ctx: KeyContext): Promise<string> {
  const env = ctx.env
  const fromEnv = env.VAULT_TOKEN
  if (fromEnv) return fromEnv
  const home = env.HOME || (ctx.envOnly ? undefined : os.homedir())
  if (home === undefined) return ''
  const file = path.join(home, '.vault-token')
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ''
    throw new UnwrappedVaultError(`cannot get Vault token: ${goOpenError(file, e)}`)
  }
}

/**
 * sops's allow list: `all` (the default, also when unset or empty), `none`, or a comma list of
 * URL prefixes; an address (with a trailing `/`) must start with one of them (each with a
 * trailing `/`). A malformed list is sops's error text.
 */
function allowList(env: Env): ((address: string) => boolean) | string {
  const value = env[ALLOWLIST_ENV] || 'all'
  if (value === 'all') return () => true
  if (value === 'none') return () => false
  const prefixes: string[] = []
  for (const [i, raw] of value.split(',').entries()) {
    const entry = raw.replace(/^ +| +$/g, '')
    if (entry === '') return `${ALLOWLIST_ENV}'s entry ${i + 1} is empty`
    prefixes.push(entry.endsWith('/') ? entry : `${entry}/`)
  }
  return (address) => {
    const a = address.endsWith('/') ? address : `${address}/`
    return prefixes.some((p) => a.startsWith(p))
  }
}

/** Whether the allow list lets the token go to `address` (a malformed list allows nothing). */
export function allowed(address: string, env: Env): boolean {
  const allow = allowList(env)
  return typeof allow !== 'string' && allow(address)
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function hintOf(e: unknown): string | undefined {
  return e instanceof VaultError ? e.hint : undefined
}

