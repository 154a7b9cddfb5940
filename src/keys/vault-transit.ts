/**
 * HashiCorp Vault transit key source (spec §6.6), with plain fetch.
 *
 * URI `https://vault:8200/v1/<engine_path>/keys/<key_name>` → vault_address, engine_path (may
 * contain `/`), key_name. Encrypt POSTs `{"plaintext": base64(dataKey)}` to
 * `<address>/v1/<engine_path>/encrypt/<key_name>` and stores the returned `ciphertext`
 * (`vault:v1:…`) verbatim as `enc`; decrypt POSTs `{"ciphertext": enc}` to …/decrypt/… and
 * base64-decodes `plaintext`.
 *
 * Token: VAULT_TOKEN, else `~/.vault-token` (trimmed). VAULT_NAMESPACE → X-Vault-Namespace.
 * SOPS_HC_VAULT_ALLOWLIST (`all` by default, `none`, or comma-separated URL prefixes) limits the
 * servers the token is sent to: a file's metadata chooses the address, so without it anyone
 * who can write a file could have tsops hand them the token.
 */
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { GenericError } from '../core/errors.js'
import { MAX_ATTEMPTS, NETWORK_TIMEOUT_MS, REQUEST_TIMEOUT_MS, timeoutSignal } from './timeouts.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeyFields, type KeySource } from './types.js'

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
    wrap: (part, ctx) => wrap(k, part, ctx),
    unwrap: (entry, ctx) => unwrap(k, entry, ctx),
  }
}

export function fromEntry(entry: KeyEntry): KeySource {
  const f = entry.fields
  return vaultTransitKeySource({ vaultAddress: str(f.vault_address), enginePath: str(f.engine_path), keyName: str(f.key_name) })
}

export function fromSpec(spec: string): KeySource {
  return vaultTransitKeySource(parseVaultUri(spec.trim()))
}

/** sops's ToString: `<address>/v1/<engine_path>/keys/<key_name>`. */
export function keyUri(key: VaultKey): string {
  return `${key.vaultAddress}/v1/${key.enginePath}/keys/${key.keyName}`
}

/**
 * sops's NewMasterKeyFromURI: a scheme is required, the path must start with `/v1/` (so
 * `https://host/prefix/v1/…` is rejected) and end with `/keys/<name>`. The address keeps the
 * host and port as written (Go's url keeps `:443`; WHATWG URL would drop it), so the metadata
 * matches what sops writes for the same URI.
 */
export function parseVaultUri(uri: string): VaultKey {
  const hint = { hint: 'Use a URI like https://vault.example.com:8200/v1/transit/keys/keyName' }
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]+)([^?#]*)/.exec(uri)
  if (!m) throw new GenericError(`invalid Vault transit URI ${JSON.stringify(uri)}: missing scheme or host`, hint)
  const scheme = m[1]!.toLowerCase()
  if (scheme !== 'https' && scheme !== 'http') throw new GenericError(`invalid Vault transit URI ${JSON.stringify(uri)}: the scheme must be http or https`, hint)
  const pathname = m[3]!
  const malformed = () => new GenericError(`Vault path does not seem to be formatted correctly: ${pathname}`, hint)
  if (!pathname.startsWith('/v1/')) throw malformed()
  const parts = pathname.slice('/v1/'.length).replace(/\/+$/, '').split('/')
  const keyName = parts.pop()
  const keys = parts.pop()
  if (keyName === undefined || keyName === '' || keys !== 'keys' || parts.length === 0 || parts.some((p) => p === '')) throw malformed()
  return { vaultAddress: `${scheme}://${m[2]!}`, enginePath: parts.join('/'), keyName }
}

async function wrap(key: VaultKey, part: Uint8Array, ctx: KeyContext): Promise<KeyEntry> {
  let ciphertext: string
  try {
    const data = await transit(key, 'encrypt', { plaintext: Buffer.from(part).toString('base64') }, ctx)
    ciphertext = typeof data.ciphertext === 'string' ? data.ciphertext : ''
    if (ciphertext === '') throw new VaultError('Vault returned no ciphertext')
  } catch (e) {
    if (ctx.signal?.aborted) throw e
    throw new GenericError(`failed to encrypt sops data key with Vault transit: ${messageOf(e)}`, { hint: hintOf(e) })
  }
  const fields: KeyFields = {
    created_at: rfc3339UtcNow(),
    enc: ciphertext,
    engine_path: key.enginePath,
    key_name: key.keyName,
    vault_address: key.vaultAddress,
  }
  return { type: 'hc_vault', fields }
}

async function unwrap(key: VaultKey, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array> {
  const id = keyUri(key)
  const fail = (reason: string) => new KeyUnwrapError('hc_vault', id, reason)
  const enc = entry.fields.enc
  if (typeof enc !== 'string' || enc === '') throw fail('no encrypted data key (enc) in the metadata')
  try {
    const data = await transit(key, 'decrypt', { ciphertext: enc }, ctx)
    const plaintext = typeof data.plaintext === 'string' ? data.plaintext : ''
    if (plaintext === '') throw new VaultError('Vault returned no plaintext')
    return new Uint8Array(Buffer.from(plaintext, 'base64'))
  } catch (e) {
    if (ctx.signal?.aborted) throw e
    throw fail(`failed to decrypt sops data key with Vault transit: ${messageOf(e)}`)
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

/** Statuses worth another attempt: Vault sealed/standby/overloaded, rate limited. */
const RETRY_STATUS = new Set([429, 500, 502, 503, 504])

async function transit(key: VaultKey, op: 'encrypt' | 'decrypt', body: Record<string, string>, ctx: KeyContext): Promise<Record<string, unknown>> {
  const url = `${key.vaultAddress}/v1/${key.enginePath}/${op}/${key.keyName}`
  if (!allowed(keyUri(key), ctx.env)) {
    throw new VaultError(
      `${key.vaultAddress} is not allowed by ${ALLOWLIST_ENV}`,
      `Add the address to ${ALLOWLIST_ENV} (a comma list of URL prefixes, or "all") if you trust it.`,
    )
  }
  const token = await vaultToken(ctx)
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Vault-Token': token, 'X-Vault-Request': 'true' }
  const namespace = ctx.env.VAULT_NAMESPACE
  if (namespace) headers['X-Vault-Namespace'] = namespace

  // One deadline for all attempts; each attempt has its own shorter one.
  const overall = timeoutSignal(NETWORK_TIMEOUT_MS, ctx.signal)
  let target = url
  let redirects = 0
  let last: unknown
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (attempt > 1) await sleep(100 * 2 ** (attempt - 2), overall)
    let res: Response
    let text: string
    try {
      res = await fetch(target, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: timeoutSignal(REQUEST_TIMEOUT_MS, overall),
        redirect: 'manual',
      })
      text = await res.text()
    } catch (e) {
      if (ctx.signal?.aborted) throw e
      last = e
      if (overall.aborted) break
      continue
    }
    if (res.ok) return parseData(text)
    // A standby node redirects to the active one. Followed by hand, so the token only goes to
    // an allowed server, and at most once.
    const location = res.headers.get('location')
    if ((res.status === 307 || res.status === 308) && location && redirects === 0) {
      const next = new URL(location, target).toString()
      if (!allowed(next, ctx.env)) throw new VaultError(`Vault redirected to ${new URL(next).origin}, which is not allowed by ${ALLOWLIST_ENV}`)
      target = next
      redirects++
      attempt--
      continue
    }
    last = new HttpStatusError(res.status, vaultErrors(text))
    if (!RETRY_STATUS.has(res.status)) break
  }
  throw toVaultError(last, key, op)
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string,
  ) {
    super(`HTTP ${status}${errors ? `: ${errors}` : ''}`)
  }
}

function toVaultError(e: unknown, key: VaultKey, op: string): VaultError {
  if (e instanceof HttpStatusError) {
    const detail = `(HTTP ${e.status}${e.errors ? `: ${e.errors}` : ''})`
    switch (e.status) {
      case 403:
        return new VaultError(`permission denied ${detail}`, `Check VAULT_TOKEN (or ~/.vault-token) and that its policy allows update on ${key.enginePath}/${op}/${key.keyName}.`)
      case 400:
        return op === 'decrypt'
          ? new VaultError(`Vault could not decrypt the data key: it was encrypted with another transit key, or it is damaged ${detail}`)
          : new VaultError(`Vault rejected the request ${detail}`)
      case 404:
        return new VaultError(`no transit engine "${key.enginePath}" or key "${key.keyName}" at ${key.vaultAddress} ${detail}`, 'Check the engine path, the key name and VAULT_NAMESPACE.')
      default:
        return new VaultError(`Vault answered ${detail}`)
    }
  }
  const cause = (e as { cause?: { code?: string } } | undefined)?.cause
  const name = (e as { name?: string } | undefined)?.name
  if (name === 'TimeoutError') return new VaultError(`Vault at ${key.vaultAddress} did not answer in time`)
  const code = cause?.code ?? (e as { code?: string } | undefined)?.code
  return new VaultError(`could not reach Vault at ${key.vaultAddress}${code ? ` (${code})` : e instanceof Error ? ` (${e.message})` : ''}`)
}

/** Vault answers errors as `{"errors": ["…"]}`. */
function vaultErrors(text: string): string {
  try {
    const parsed = JSON.parse(text) as { errors?: unknown }
    if (Array.isArray(parsed.errors)) return parsed.errors.map(String).join('; ').slice(0, 500)
  } catch {
    // not JSON: fall through
  }
  return ''
}

function parseData(text: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(text) as { data?: unknown }
    if (parsed.data && typeof parsed.data === 'object') return parsed.data as Record<string, unknown>
  } catch {
    // reported below
  }
  throw new VaultError('Vault sent an answer without a data object')
}

// ---------------------------------------------------------------------------------------------
// Token and allow list

/**
 * VAULT_TOKEN, else `~/.vault-token` trimmed (HOME from ctx.env), as the Vault CLI does; with
 * envOnly no file unless env itself gives HOME.
 */
async function vaultToken(ctx: KeyContext): Promise<string> {
  const env = ctx.env
  const fromEnv = env.VAULT_TOKEN
  if (fromEnv) return fromEnv
  const home = env.HOME || (ctx.envOnly ? undefined : os.homedir())
  const file = home === undefined ? undefined : path.join(home, '.vault-token')
  try {
    const token = file === undefined ? '' : (await readFile(file, 'utf8')).trim()
    if (token !== '') return token
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new VaultError(`could not read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  throw new VaultError('no Vault token: VAULT_TOKEN is not set and ~/.vault-token does not exist', 'Set VAULT_TOKEN or run `vault login`.')
}

/** `all` (or unset): every server; `none`: no server; else a comma list of URL prefixes. */
export function allowed(uri: string, env: Env): boolean {
  const value = (env[ALLOWLIST_ENV] ?? '').trim()
  if (value === '' || value === 'all') return true
  if (value === 'none') return false
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .some((prefix) => uri.startsWith(prefix))
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true })
  })
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function hintOf(e: unknown): string | undefined {
  return e instanceof VaultError ? e.hint : undefined
}

function str(v: KeyFields[string] | undefined): string {
  return typeof v === 'string' ? v : ''
}

function rfc3339UtcNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}
