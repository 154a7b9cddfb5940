/**
 * A loopback HashiCorp Vault with KV secrets engines (v1 and v2), speaking the HTTP API paths
 * the Vault Go client uses for Logical().Read/Write (what sops publish calls):
 *
 *   KV v1  GET /v1/<mount>/<path>        → {"data": {…}}                       404 when absent
 *          PUT /v1/<mount>/<path> {…}    → 204
 *   KV v2  GET /v1/<mount>/data/<path>   → {"data": {"data": {…}, "metadata": {version…}}}
 *          PUT /v1/<mount>/data/<path> {"data": {…}} → {"data": {"version": N, …}}
 *
 * `X-Vault-Token` must be a known token (403 `permission denied` otherwise); an unmounted path is
 * Vault's 404 `no handler for route`; error bodies are `{"errors": [...]}`. A real Vault or
 * OpenBao dev server is a 100+ MB Go build, beyond what CI should build for this; real sops
 * 3.13.2 publishes to this one in test/sops/publish.sops.test.ts, which pins that the paths,
 * methods and bodies are the ones sops's client really sends.
 */
import crypto from 'node:crypto'
import http from 'node:http'

export const KV_ROOT_TOKEN = 'hvs.tsops-kv-root-token'

export interface KvRequest {
  method: string
  /** Without /v1/. */
  path: string
  body: unknown
  token?: string
  namespace?: string
  status: number
}

interface Secret {
  /** Every version written (v1 keeps the last only). */
  versions: Record<string, unknown>[]
}

interface Mount {
  version: 1 | 2
  secrets: Map<string, Secret>
}

export interface VaultKvServer {
  url: string
  log: KvRequest[]
  tokens: Set<string>
  /** Mount a KV engine of `version` at `path` (no slashes around it). */
  mount(path: string, version: 1 | 2): void
  /** The latest data of a secret, or undefined. */
  read(mount: string, path: string): Record<string, unknown> | undefined
  /** How many versions a KV v2 secret has (v1: 1 when it exists). */
  versions(mount: string, path: string): number
  close(): Promise<void>
}

export async function startVaultKvServer(): Promise<VaultKvServer> {
  const mounts = new Map<string, Mount>()
  const tokens = new Set([KV_ROOT_TOKEN])
  const log: KvRequest[] = []

  /** The mount `path` lies in (longest match) and the rest of the path. */
  function locate(path: string): { mount: Mount; rest: string } | undefined {
    const names = [...mounts.keys()].filter((m) => path === m || path.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)
    const name = names[0]
    return name === undefined ? undefined : { mount: mounts.get(name)!, rest: path.slice(name.length + 1) }
  }

  function answer(method: string, path: string, body: unknown, token: string | undefined): [number, unknown] {
    if (token === undefined || !tokens.has(token)) return [403, { errors: ['permission denied'] }]
    const found = locate(path)
    if (!found || found.rest === '') return [404, { errors: [`no handler for route "${path}". route entry not found.`] }]
    const { mount } = found
    let key = found.rest
    if (mount.version === 2) {
      if (!key.startsWith('data/')) return [404, { errors: [`no handler for route "${path}". route entry not found.`] }]
      key = key.slice('data/'.length)
    }
    const secret = mount.secrets.get(key)
    if (method === 'GET') {
      if (!secret) return [404, { errors: [] }]
      const data = secret.versions.at(-1)!
      if (mount.version === 1) return [200, envelope(data)]
      return [200, envelope({ data, metadata: metadata(secret.versions.length) })]
    }
    if (method !== 'PUT' && method !== 'POST') return [405, { errors: ['unsupported operation'] }]
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return [400, { errors: ['failed to parse JSON input'] }]
    const record = body as Record<string, unknown>
    if (mount.version === 1) {
      mount.secrets.set(key, { versions: [record] })
      return [204, undefined]
    }
    const data = record['data']
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return [400, { errors: ['no data provided'] }]
    const next = secret ?? { versions: [] }
    next.versions.push(data as Record<string, unknown>)
    mount.secrets.set(key, next)
    return [200, envelope(metadata(next.versions.length))]
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown
      try {
        body = text === '' ? undefined : JSON.parse(text)
      } catch {
        body = text
      }
      const token = typeof req.headers['x-vault-token'] === 'string' ? req.headers['x-vault-token'] : undefined
      const entry: KvRequest = { method: req.method ?? '', path: pathname.replace(/^\/v1\//, ''), body, status: 0 }
      if (token !== undefined) entry.token = token
      if (typeof req.headers['x-vault-namespace'] === 'string') entry.namespace = req.headers['x-vault-namespace']
      log.push(entry)
      const [status, payload] = pathname.startsWith('/v1/') ? answer(entry.method, entry.path, body, token) : [404, { errors: [] }]
      entry.status = status
      if (payload === undefined) {
        res.writeHead(status)
        return res.end()
      }
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(payload))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const secretOf = (mount: string, path: string) => mounts.get(mount)?.secrets.get(path)
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    tokens,
    mount: (path, version) => void mounts.set(path, { version, secrets: new Map() }),
    read: (mount, path) => secretOf(mount, path)?.versions.at(-1),
    versions: (mount, path) => secretOf(mount, path)?.versions.length ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function envelope(data: unknown) {
  return { request_id: crypto.randomUUID(), lease_id: '', renewable: false, lease_duration: 0, data, wrap_info: null, warnings: null, auth: null }
}

function metadata(version: number) {
  return { created_time: new Date().toISOString(), custom_metadata: null, deletion_time: '', destroyed: false, version }
}
