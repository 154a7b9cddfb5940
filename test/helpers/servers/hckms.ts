/**
 * A loopback HuaweiCloud KMS (API v1.0 paths, as KMS v2 of the Go SDK calls them):
 * POST /v1.0/{project_id}/kms/encrypt-data and /decrypt-data, behind an API-gateway check of the
 * SDK-HMAC-SHA256 signature with the test AK/SK (src/keys/hckms-sign.ts; real sops's requests
 * passing this check is what proves both sides). Errors come in HuaweiCloud's shapes: the
 * gateway's flat `{"error_code":"APIGW.0301","error_msg":…}` and KMS's
 * `{"error":{"error_code":"KMS.…","error_msg":…}}`, with an X-Request-Id.
 *
 * Ciphertexts are AES-256-GCM under a per-key secret only this server holds, written like KMS's
 * (upper-case hex): `key uuid | nonce | ciphertext | tag`. So a cipher text is only decryptable
 * by the server that made it, and a tampered one fails.
 *
 * It also answers IAM's GET /v3/projects?name=<region> (signed the same way), which the SDK asks
 * when no project id is configured: over TLS (`{ tls }`) only does real sops reach it, since the
 * SDK puts `https://` before HUAWEICLOUD_SDK_IAM_ENDPOINT.
 *
 * Point a client at it with HUAWEICLOUD_SDK_REGION_KMS_<REGION>=<url> (`env(region)`).
 */
import crypto from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import type { LoopbackCert } from './tls-cert.js'
import { DATE_HEADER, canonicalRequest, parseAuthorization, signature } from '../../../src/keys/hckms-sign.js'

export const HCKMS_AK = 'TSOPSTESTACCESSKEY01'
export const HCKMS_SK = 'tsops-test-secret-key-0123456789abcdef'
export const HCKMS_PROJECT_ID = '0a1b2c3d4e5f60718293a4b5c6d7e8f9'
export const HCKMS_REGION = 'tr-west-1'

export interface HckmsRequestLog {
  method: string
  path: string
  access?: string
  signedHeaders?: string[]
  headers: http.IncomingHttpHeaders
  status: number
  errorCode?: string
}

export interface HckmsServer {
  url: string
  port: number
  log: HckmsRequestLog[]
  state: {
    /** The next N requests get 503 from the gateway. */
    unavailable: number
    /** What IAM lists for a region name (default: the test project for the test region). */
    projects: Map<string, string[]>
  }
  /** A new key; returns its uuid. */
  createKey(): string
  /** `region:uuid`, as sops takes it. */
  keyId(uuid: string, region?: string): string
  /** The env that sends both tools to this server with the test credentials. */
  env(region?: string): Record<string, string>
  close(): Promise<void>
}

/** HUAWEICLOUD_SDK_REGION_KMS_TR_WEST_1 for tr-west-1 (the Go SDK's env region provider). */
export function regionEnvName(region: string): string {
  return `HUAWEICLOUD_SDK_REGION_KMS_${region.toUpperCase().replaceAll('-', '_')}`
}

type Answer = [status: number, body: unknown, errorCode?: string]

const MAX_SKEW_MS = 15 * 60_000

export async function startHckmsServer(options: { tls?: LoopbackCert } = {}): Promise<HckmsServer> {
  const keys = new Map<string, Buffer>()
  const log: HckmsRequestLog[] = []
  const state: HckmsServer['state'] = { unavailable: 0, projects: new Map([[HCKMS_REGION, [HCKMS_PROJECT_ID]]]) }

  const gateway = (msg: string, status = 401): Answer => [status, { error_msg: msg, error_code: 'APIGW.0301', request_id: requestId('APIGW.0301') }, 'APIGW.0301']
  const kms = (status: number, code: string, msg: string): Answer => [status, { error: { error_code: code, error_msg: msg } }, code]

  /** The gateway's check: a well-formed SDK-HMAC-SHA256 Authorization by the test AK, fresh, with the right signature. */
  function authenticate(req: http.IncomingMessage, path: string, query: URLSearchParams, body: string, entry: HckmsRequestLog): Answer | undefined {
    const header = req.headers.authorization
    if (typeof header !== 'string') return gateway('Incorrect IAM authentication information: Authorization not found')
    const auth = parseAuthorization(header)
    if (!auth) return gateway('Incorrect IAM authentication information: unsupported authorization format')
    entry.access = auth.access
    entry.signedHeaders = auth.signedHeaders
    if (auth.access !== HCKMS_AK) return gateway(`Incorrect IAM authentication information: ak ${auth.access} not exist`)
    const date = req.headers[DATE_HEADER.toLowerCase()]
    if (typeof date !== 'string' || !auth.signedHeaders.includes(DATE_HEADER.toLowerCase())) return gateway('Incorrect IAM authentication information: x-sdk-date not signed')
    const when = Date.parse(date.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'))
    if (!Number.isFinite(when) || Math.abs(Date.now() - when) > MAX_SKEW_MS) return gateway('Incorrect IAM authentication information: x-sdk-date expired')
    const headers: Record<string, string> = {}
    for (const name of auth.signedHeaders) {
      const v = req.headers[name]
      if (typeof v === 'string') headers[name] = v
    }
    const expected = signature(canonicalRequest({ method: req.method ?? '', path, query: Object.fromEntries(query), headers, body }, auth.signedHeaders), date, HCKMS_SK)
    if (!timingSafeEqualHex(expected, auth.signature)) return gateway('Incorrect IAM authentication information: verify aksk signature fail')
    return undefined
  }

  function answer(req: http.IncomingMessage, body: string, entry: HckmsRequestLog): Answer {
    if (state.unavailable > 0) {
      state.unavailable--
      return [503, { error_msg: 'The service is unavailable.', error_code: 'APIGW.0201', request_id: requestId('APIGW.0201') }, 'APIGW.0201']
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    const denied = authenticate(req, url.pathname, url.searchParams, body, entry)
    if (denied) return denied
    if (url.pathname === '/v3/projects' && req.method === 'GET') return listProjects(url.searchParams.get('name') ?? '')
    const m = /^\/v1\.0\/([^/]+)\/kms\/(encrypt-data|decrypt-data)$/.exec(url.pathname)
    if (!m || req.method !== 'POST') return [404, { error_msg: 'API not found', error_code: 'APIGW.0101', request_id: requestId('APIGW.0101') }, 'APIGW.0101']
    if (m[1] !== HCKMS_PROJECT_ID || req.headers['x-project-id'] !== HCKMS_PROJECT_ID) return kms(403, 'KMS.0103', 'The project id does not match the credentials.')
    let input: Record<string, unknown>
    try {
      input = JSON.parse(body) as Record<string, unknown>
    } catch {
      return kms(400, 'KMS.0201', 'Invalid request: the body is not JSON.')
    }
    return m[2] === 'encrypt-data' ? encrypt(input) : decrypt(input)
  }

  /** IAM KeystoneListProjects filtered by name, as the SDK asks it. */
  function listProjects(name: string): Answer {
    const projects = (state.projects.get(name) ?? []).map((id) => ({ id, name, domain_id: 'd0', enabled: true, is_domain: false, parent_id: 'd0' }))
    return [200, { projects, links: { self: '/v3/projects', next: null, previous: null } }]
  }

  function encrypt(input: Record<string, unknown>): Answer {
    const keyId = typeof input.key_id === 'string' ? input.key_id : ''
    const key = keys.get(keyId)
    if (!key) return kms(404, 'KMS.0207', `The key ${keyId} does not exist.`)
    const plain = typeof input.plain_text === 'string' ? Buffer.from(input.plain_text, 'utf8') : Buffer.alloc(0)
    if (plain.length < 1 || plain.length > 4096) return kms(400, 'KMS.0201', 'Invalid plain_text: 1 to 4096 bytes.')
    const nonce = crypto.randomBytes(12)
    const c = crypto.createCipheriv('aes-256-gcm', key, nonce)
    c.setAAD(Buffer.from(keyId))
    const ct = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()])
    return [200, { key_id: keyId, cipher_text: Buffer.concat([Buffer.from(keyId), nonce, ct]).toString('hex').toUpperCase() }]
  }

  function decrypt(input: Record<string, unknown>): Answer {
    const text = typeof input.cipher_text === 'string' ? input.cipher_text : ''
    const raw = /^(?:[0-9A-Fa-f]{2})+$/.test(text) ? Buffer.from(text, 'hex') : Buffer.alloc(0)
    if (raw.length < 36 + 12 + 16 + 1) return kms(400, 'KMS.0206', 'Invalid cipher_text.')
    const keyId = raw.subarray(0, 36).toString('latin1')
    const key = keys.get(keyId)
    if (!key) return kms(404, 'KMS.0207', `The key ${keyId} does not exist.`)
    if (typeof input.key_id === 'string' && input.key_id !== keyId) return kms(400, 'KMS.0206', 'The cipher_text was not encrypted with this key.')
    try {
      const d = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(36, 48))
      d.setAAD(Buffer.from(keyId))
      d.setAuthTag(raw.subarray(raw.length - 16))
      const plain = Buffer.concat([d.update(raw.subarray(48, raw.length - 16)), d.final()])
      return [200, { key_id: keyId, plain_text: plain.toString('utf8'), plain_text_base64: plain.toString('base64') }]
    } catch {
      return kms(400, 'KMS.0206', 'Invalid cipher_text: decryption failed.')
    }
  }

  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const entry: HckmsRequestLog = { method: req.method ?? '', path: new URL(req.url ?? '/', 'http://localhost').pathname, headers: req.headers, status: 0 }
      log.push(entry)
      const [status, payload, errorCode] = answer(req, Buffer.concat(chunks).toString('utf8'), entry)
      entry.status = status
      if (errorCode !== undefined) entry.errorCode = errorCode
      res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'X-Request-Id': requestId(errorCode ?? 'ok'), 'X-IAM-Trace-Id': requestId('iam') })
      res.end(JSON.stringify(payload))
    })
  }
  const server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler) : http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`
  return {
    url,
    port,
    log,
    state,
    createKey() {
      const uuid = crypto.randomUUID()
      keys.set(uuid, crypto.randomBytes(32))
      return uuid
    },
    keyId: (uuid, region = HCKMS_REGION) => `${region}:${uuid}`,
    env: (region = HCKMS_REGION) => ({
      HUAWEICLOUD_SDK_AK: HCKMS_AK,
      HUAWEICLOUD_SDK_SK: HCKMS_SK,
      HUAWEICLOUD_SDK_PROJECT_ID: HCKMS_PROJECT_ID,
      [regionEnvName(region)]: url,
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Deterministic per outcome, so twin runs print the same request id. */
function requestId(seed: string): string {
  return crypto.createHash('md5').update(seed).digest('hex')
}

function timingSafeEqualHex(a: string, b: string): boolean {
  return a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b))
}
