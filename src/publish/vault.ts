/**
 * HashiCorp Vault KV destination (sops publish/vault.go): the file's decrypted values become the
 * secret at `<mount>/<vault_path>/<name>` (KV v1) or `<mount>/data/<vault_path>/<name>` (KV v2,
 * the default), written with Vault's HTTP API as the Go client writes it: PUT of the values
 * (v1) or of `{"data": values}` (v2), `X-Vault-Token` from VAULT_TOKEN or ~/.vault-token,
 * `X-Vault-Namespace` from VAULT_NAMESPACE, the address from the rule, else VAULT_ADDR, else
 * https://127.0.0.1:8200.
 *
 * Like sops, the secret is read first and not written again when it already holds the same
 * values (so KV v2 gets no new version); a failed read is only a warning.
 */
import { GenericError } from '../core/errors.js'
import { TreeMap, type MapEntry } from '../core/tree.js'
import { emitJsonValue } from '../formats/json.js'
import { REQUEST_TIMEOUT_MS, timeoutSignal } from '../keys/timeouts.js'
import { networkErrorText, responseErrorText, vaultToken } from '../keys/vault-transit.js'
import type { PublishEnv, PublishIo, ValuesDestination } from './types.js'
import { goValue, sameAsStored } from './vault-values.js'

export interface VaultRule {
  vaultAddress?: string | undefined
  vaultPath: string
  vaultKvMountName?: string | undefined
  vaultKvVersion?: number | undefined
}

/** The Vault Go client's default address (api.DefaultConfig). */
const DEFAULT_ADDRESS = 'https://127.0.0.1:8200'

export function vaultDestination(rule: VaultRule, env: PublishEnv): ValuesDestination {
  const dest = normalise(rule)
  const address = dest.address || env.VAULT_ADDR || DEFAULT_ADDRESS
  const secretPath = (name: string) => (dest.kvVersion === 1 ? `${dest.mount}${dest.path}${name}` : `${dest.mount}data/${dest.path}${name}`)
  return {
    kind: 'values',
    describe: (name) => `${address}/v1/${secretPath(name)}`,
    upload: (branches, name, io) => writeSecret(address, secretPath(name), dest.kvVersion, branches, io),
  }
}

/** NewVaultDestination: trailing slashes on path and mount, mount `secret/` and version 2 by default. */
function normalise(rule: VaultRule) {
  const withSlash = (s: string) => (s.endsWith('/') ? s : `${s}/`)
  return {
    address: rule.vaultAddress ?? '',
    path: withSlash(rule.vaultPath),
    mount: withSlash(rule.vaultKvMountName || 'secret/'),
    kvVersion: (rule.vaultKvVersion === 1 ? 1 : 2) as 1 | 2,
  }
}

async function writeSecret(address: string, secretPath: string, kvVersion: 1 | 2, branches: readonly TreeMap[], io: PublishIo): Promise<void> {
  const values = valuesOf(branches)
  const data = goValue(values)
  const url = `${address}/v1/${secretPath}`
  const headers = await requestHeaders(io)
  let existing: unknown
  try {
    existing = await readSecret(url, headers, address)
  } catch {
    io.warn(`Cannot check if destination secret already exists in ${secretPath}. New version will be created even if the data has not been changed.`)
  }
  if (existing !== undefined && sameAsStored(values, existing)) {
    io.info(`Secret in ${secretPath} is already up-to-date.\n`)
    return
  }
  const body = kvVersion === 1 ? data : new TreeMap([{ key: 'data', value: data }])
  await request('PUT', url, headers, address, Buffer.from(emitJsonValue(body, { indent: 0 })))
}

/**
 * sops's EmitAsMap: the documents' top-level entries merged into one map (a later key wins),
 * comments dropped.
 */
function valuesOf(branches: readonly TreeMap[]): TreeMap {
  const merged = new Map<string, MapEntry>()
  for (const branch of branches) for (const entry of branch.entries()) merged.set(entry.key, entry)
  return new TreeMap([...merged.values()])
}

async function requestHeaders(io: PublishIo): Promise<Record<string, string>> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Vault-Request': 'true' }
  let token: string
  try {
    token = await vaultToken(io.ctx)
  } catch (e) {
    throw new GenericError(e instanceof Error ? e.message : String(e), { code: 'PUBLISH_FAILED' })
  }
  if (token !== '') headers['X-Vault-Token'] = token
  const namespace = io.ctx.env.VAULT_NAMESPACE
  if (namespace) headers['X-Vault-Namespace'] = namespace
  return headers
}

/**
 * The stored secret's `data.data` (Logical().Read's Data["data"]), null when the secret
 * holds no such key, undefined when there is no secret (404). Throws when the read failed.
 */
async function readSecret(url: string, headers: Record<string, string>, address: string): Promise<unknown> {
  const text = await request('GET', url, headers, address)
  if (text === undefined) return undefined
  const parsed = JSON.parse(text) as { data?: Record<string, unknown> | null }
  return parsed.data?.['data'] ?? null
}

/** One call; the answer's text, undefined for a 404. Failures in the Vault Go client's words. */
async function request(method: 'GET' | 'PUT', url: string, headers: Record<string, string>, address: string, body?: Buffer): Promise<string | undefined> {
  let res: Response
  let text: string
  try {
    res = await fetch(url, { method, headers, signal: timeoutSignal(REQUEST_TIMEOUT_MS * 2), redirect: 'error', ...(body ? { body } : {}) })
    text = await res.text()
  } catch (e) {
    throw new GenericError(networkErrorText(e, url, address, method === 'GET' ? 'Get' : 'Put'), { code: 'PUBLISH_FAILED' })
  }
  if (method === 'GET' && res.status === 404) return undefined
  if (!res.ok) {
    throw new GenericError(responseErrorText(res, text, url, method), {
      code: 'PUBLISH_FAILED',
      hint: res.status === 403 ? 'Check VAULT_TOKEN (or ~/.vault-token) and that its policy allows create and update on this path.' : undefined,
    })
  }
  return text
}
