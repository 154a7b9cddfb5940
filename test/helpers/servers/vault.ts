/**
 * A loopback HashiCorp Vault with the transit engine's encrypt/decrypt endpoints, speaking
 * Vault's HTTP API: `X-Vault-Token` checked against per-token path policies, engines mounted
 * per namespace (`X-Vault-Namespace`), `{"errors": [...]}` bodies with Vault's statuses (403
 * permission denied, 400 bad ciphertext/wrong key, 404 no route), `vault:v1:` ciphertexts
 * (AES-256-GCM, 12-byte nonce prefix, as Vault's aes256-gcm96 keys produce).
 */
import crypto from 'node:crypto'
import http from 'node:http'

export interface VaultTokenPolicy {
  /** Path prefixes (without /v1/) the token may POST to, or '*' for all. */
  paths: '*' | string[]
}

export interface VaultRequestLog {
  method: string
  path: string
  namespace?: string
  tokenSent: boolean
  status: number
}

export interface VaultServer {
  url: string
  port: number
  log: VaultRequestLog[]
  tokens: Map<string, VaultTokenPolicy>
  state: {
    /** The next N requests get 503 "Vault is sealed". */
    unavailable: number
    /** Answer every request with a 307 to this origin (a standby node). */
    redirectTo?: string
  }
  /** Mount a transit engine at `path` (in `namespace`, '' for root) and create `keys` in it. */
  mount(path: string, keys: string[], namespace?: string): void
  close(): Promise<void>
}

export const VAULT_ROOT_TOKEN = 'hvs.tsops-test-root-token'

interface Engine {
  keys: Map<string, Buffer>
}

export async function startVaultServer(): Promise<VaultServer> {
  const engines = new Map<string, Engine>() // `${namespace}\n${mount}`
  const tokens = new Map<string, VaultTokenPolicy>([[VAULT_ROOT_TOKEN, { paths: '*' }]])
  const log: VaultRequestLog[] = []
  const state: VaultServer['state'] = { unavailable: 0 }

  const mount = (path: string, keys: string[], namespace = '') => {
    const engine = engines.get(`${namespace}\n${path}`) ?? { keys: new Map() }
    for (const k of keys) engine.keys.set(k, crypto.randomBytes(32))
    engines.set(`${namespace}\n${path}`, engine)
  }

  function answer(req: http.IncomingMessage, body: string): [number, unknown] {
    if (state.unavailable > 0) {
      state.unavailable--
      return [503, { errors: ['Vault is sealed'] }]
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (!url.pathname.startsWith('/v1/') || (req.method !== 'POST' && req.method !== 'PUT')) return [405, { errors: ['unsupported operation'] }]
    const path = url.pathname.slice(4)
    const token = req.headers['x-vault-token']
    const policy = typeof token === 'string' ? tokens.get(token) : undefined
    if (!policy) return [403, { errors: ['permission denied', ...(token ? ['invalid token'] : [])] }]
    if (policy.paths !== '*' && !policy.paths.some((p) => path.startsWith(p))) return [403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] }]

    const namespace = String(req.headers['x-vault-namespace'] ?? '').replace(/^\/+|\/+$/g, '')
    const m = /^(.+)\/(encrypt|decrypt)\/([^/]+)$/.exec(path)
    const engine = m ? engines.get(`${namespace}\n${m[1]}`) : undefined
    if (!m || !engine) return [404, { errors: [`no handler for route "${path}". route entry not found.`] }]
    const [, , op, name] = m
    let input: Record<string, unknown>
    try {
      input = JSON.parse(body) as Record<string, unknown>
    } catch {
      return [400, { errors: ['failed to parse JSON input'] }]
    }
    if (op === 'encrypt') {
      if (typeof input.plaintext !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(input.plaintext)) return [400, { errors: ['failed to base64-decode plaintext'] }]
      // Like Vault, encrypt creates ("upserts") a missing key.
      if (!engine.keys.has(name!)) engine.keys.set(name!, crypto.randomBytes(32))
      const nonce = crypto.randomBytes(12)
      const c = crypto.createCipheriv('aes-256-gcm', engine.keys.get(name!)!, nonce)
      const ct = Buffer.concat([c.update(Buffer.from(input.plaintext, 'base64')), c.final(), c.getAuthTag()])
      return [200, data({ ciphertext: `vault:v1:${Buffer.concat([nonce, ct]).toString('base64')}`, key_version: 1 })]
    }
    const key = engine.keys.get(name!)
    if (!key) return [400, { errors: ['encryption key not found'] }]
    const ciphertext = typeof input.ciphertext === 'string' ? input.ciphertext : ''
    const cm = /^vault:v(\d+):(.*)$/.exec(ciphertext)
    if (!cm) return [400, { errors: ['invalid ciphertext: no prefix'] }]
    const raw = Buffer.from(cm[2]!, 'base64')
    if (raw.length < 28) return [400, { errors: ['invalid ciphertext: could not decode'] }]
    try {
      const d = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
      d.setAuthTag(raw.subarray(raw.length - 16))
      const pt = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()])
      return [200, data({ plaintext: pt.toString('base64') })]
    } catch {
      return [400, { errors: ['cipher: message authentication failed'] }]
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const entry: VaultRequestLog = {
        method: req.method ?? '',
        path: new URL(req.url ?? '/', 'http://localhost').pathname,
        tokenSent: typeof req.headers['x-vault-token'] === 'string',
        status: 0,
      }
      const ns = req.headers['x-vault-namespace']
      if (typeof ns === 'string') entry.namespace = ns
      log.push(entry)
      if (state.redirectTo) {
        entry.status = 307
        res.writeHead(307, { Location: `${state.redirectTo}${req.url ?? '/'}` })
        return res.end()
      }
      const [status, payload] = answer(req, Buffer.concat(chunks).toString('utf8'))
      entry.status = status
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(payload))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    tokens,
    state,
    mount,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function data(d: Record<string, unknown>) {
  return { request_id: crypto.randomUUID(), lease_id: '', renewable: false, lease_duration: 0, data: d, wrap_info: null, warnings: null, auth: null }
}
