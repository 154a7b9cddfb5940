/**
 * A loopback Azure Key Vault + Entra ID token endpoint for tests, over HTTPS on 127.0.0.1 with
 * a certificate from ./tls-cert.ts. The real @azure/keyvault-keys and @azure/identity run their
 * whole code path against it:
 *
 *   - Entra ID (what MSAL asks for, with AZURE_AUTHORITY_HOST pointing here):
 *       GET  /{tenant}/v2.0/.well-known/openid-configuration
 *       POST /{tenant}/oauth2/v2.0/token   (client_credentials; client id and secret checked)
 *   - Key Vault (REST API 7.x):
 *       any request without a valid bearer token -> 401 with the challenge
 *         `WWW-Authenticate: Bearer authorization="<url>/<tenant>", resource="https://vault.azure.net"`
 *         (the SDK first sends each new client's request without a body or token to get it);
 *       GET  /keys/{name}[/{version}]                      the key bundle (JWK public part)
 *       POST /keys/{name}/{version}/encrypt|decrypt        {alg, value} with RSA-OAEP-256
 *
 * Keys are real RSA-2048 pairs, so results are real RSA-OAEP-256 (SHA-256) ciphertexts and a
 * data key encrypted with one key cannot be decrypted with another (400 BadParameter, as Key
 * Vault answers). Switches: deny (403), unknown names/versions (404), throttle(n) (429 with
 * Retry-After for the next n Key Vault requests).
 */
import crypto from 'node:crypto'
import type http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { generateLoopbackCert, type LoopbackCert } from './tls-cert.js'

export const TEST_TENANT = '72f988bf-0000-4000-8000-00000000c0de'
export const TEST_CLIENT_ID = '0c0ffee0-0000-4000-8000-000000000001'
const MSI_PATH = '/msi/token'
const MSI_HEADER = 'tsops-test-identity-header'

export interface AzureRequestLog {
  method: string
  path: string
  status: number
  /** The request carried the server's access token. */
  authorized: boolean
}

export interface AzureKvServer {
  /** `https://127.0.0.1:<port>`: both the vault URL and AZURE_AUTHORITY_HOST. */
  readonly url: string
  readonly cert: LoopbackCert
  readonly clientSecret: string
  readonly log: AzureRequestLog[]
  /** Access tokens handed out so far. */
  readonly tokensIssued: () => number
  /** Create a key (or a new version of it); returns the new version. */
  addKey(name: string): string
  /** The key's URL `<url>/keys/<name>[/<version>]`. */
  keyUrl(name: string, version?: string): string
  /** Answer 403 for this key (or stop doing so). */
  deny(name: string, denied?: boolean): void
  /** Answer the next `n` authorized Key Vault requests 429 (Retry-After: `retryAfterSeconds`). */
  throttle(n: number, retryAfterSeconds?: number): void
  /** What a user sets to log in as the test service principal (EnvironmentCredential). */
  credentialEnv(): Record<string, string>
  /**
   * What an App Service managed identity sets (IDENTITY_ENDPOINT, IDENTITY_HEADER): a login both
   * the Go SDK (real sops) and @azure/identity accept without talking to login.microsoftonline.com.
   */
  managedIdentityEnv(): Record<string, string>
  close(): Promise<void>
}

interface KeyVersion {
  version: string
  privateKey: crypto.KeyObject
  publicKey: crypto.KeyObject
  created: number
}

export interface AzureKvServerOptions {
  /**
   * The resource the 401 challenge names (and the token scope it asks for). Key Vault's own is
   * https://vault.azure.net. The Go SDK (real sops) accepts a challenge only when the vault's
   * host ends with "." + the resource's host (port included): 'suffix' names `https://0.0.1:<port>`,
   * which `127.0.0.1:<port>` ends with.
   */
  resource?: 'vault.azure.net' | 'suffix'
}

export async function startAzureKvServer(options: AzureKvServerOptions = {}): Promise<AzureKvServer> {
  const cert = generateLoopbackCert()
  const clientSecret = `tsops~test~${crypto.randomBytes(12).toString('hex')}`
  const accessTokens = new Set<string>()
  const keys = new Map<string, KeyVersion[]>()
  const denied = new Set<string>()
  const log: AzureRequestLog[] = []
  let throttled = 0
  let retryAfter = 1
  let url = ''
  const resource = () => (options.resource === 'suffix' ? `https://0.0.1:${new URL(url).port}` : 'https://vault.azure.net')

  const server = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const pathname = new URL(req.url ?? '/', url).pathname
      const authorized = accessTokens.has((req.headers.authorization ?? '').replace(/^Bearer /, ''))
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        log.push({ method: req.method ?? '', path: pathname, status, authorized })
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
        res.end(JSON.stringify(body))
      }
      try {
        if (pathname === MSI_PATH) return appServiceIdentity(req, send)
        route(req.method ?? 'GET', pathname, Buffer.concat(chunks).toString('utf8'), req.headers.authorization, authorized, send)
      } catch (e) {
        send(500, { error: { code: 'InternalError', message: String(e) } })
      }
    })
  })

  type Send = (status: number, body: unknown, headers?: Record<string, string>) => void

  /** App Service managed identity (IDENTITY_ENDPOINT/IDENTITY_HEADER): a token for the resource asked. */
  function appServiceIdentity(req: http.IncomingMessage, send: Send): void {
    if (req.headers['x-identity-header'] !== MSI_HEADER) return send(401, { error: 'invalid X-IDENTITY-HEADER' })
    const token = `kv-msi-token-${crypto.randomBytes(16).toString('hex')}`
    accessTokens.add(token)
    const res = new URL(req.url ?? '/', url).searchParams.get('resource') ?? ''
    send(200, { access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource: res, token_type: 'Bearer' })
  }
  const kvError = (send: Send, status: number, code: string, message: string, headers?: Record<string, string>) => send(status, { error: { code, message } }, headers)

  function route(method: string, pathname: string, body: string, authorization: string | undefined, authorized: boolean, send: Send): void {
    // ---- Entra ID ----
    const tenantPath = new RegExp(`^/${TEST_TENANT}(/.*)$`).exec(pathname)
    if (tenantPath) {
      const rest = tenantPath[1]
      const base = `${url}/${TEST_TENANT}`
      if (method === 'GET' && rest === '/v2.0/.well-known/openid-configuration') {
        return send(200, {
          token_endpoint: `${base}/oauth2/v2.0/token`,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${base}/oauth2/v2.0/logout`,
          jwks_uri: `${base}/discovery/v2.0/keys`,
          issuer: `${base}/v2.0`,
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
          token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        })
      }
      if (method === 'POST' && rest === '/oauth2/v2.0/token') {
        const form = new URLSearchParams(body)
        if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== TEST_CLIENT_ID) {
          return send(400, { error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.` })
        }
        if (form.get('client_secret') !== clientSecret) {
          return send(401, { error: 'invalid_client', error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${TEST_CLIENT_ID}'.` })
        }
        if (!(form.get('scope') ?? '').split(' ').includes(`${resource()}/.default`)) {
          return send(400, { error: 'invalid_scope', error_description: 'AADSTS70011: The provided value for the input parameter scope is not valid.' })
        }
        const token = `kv-test-token-${crypto.randomBytes(16).toString('hex')}`
        accessTokens.add(token)
        return send(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token })
      }
      return send(404, { error: 'not_found' })
    }

    // ---- Key Vault ----
    const challenge = { 'www-authenticate': `Bearer authorization="${url}/${TEST_TENANT}", resource="${resource()}"` }
    if (!authorized) {
      if (authorization === undefined) return send(401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, challenge)
      return kvError(send, 401, 'Unauthorized', 'AKV10032: Invalid issuer. Expected one of ... (token not issued by the test tenant)', challenge)
    }
    if (throttled > 0) {
      throttled--
      return kvError(send, 429, 'Throttled', 'Request was not allowed because of throttling. Please try again later.', { 'retry-after': String(retryAfter) })
    }
    const m = /^\/keys\/([^/]+)(?:\/([^/]*))?(?:\/(encrypt|decrypt))?$/.exec(pathname)
    if (!m) return kvError(send, 404, 'NotFound', `No route for ${method} ${pathname}`)
    const [, name, versionPart, op] = m as unknown as [string, string, string | undefined, 'encrypt' | 'decrypt' | undefined]
    const versions = keys.get(name)
    const key = versionPart ? versions?.find((v) => v.version === versionPart) : versions?.[versions.length - 1]
    if (denied.has(name)) {
      const what = op ?? 'get'
      return kvError(send, 403, 'Forbidden', `Operation "${what}" is not allowed by vault policy. Caller: appid=${TEST_CLIENT_ID};tid=${TEST_TENANT} Vault: test-vault;location=loopback`)
    }
    if (!key) return kvError(send, 404, 'KeyNotFound', `A key with (name/id) ${name}${versionPart ? `/${versionPart}` : ''} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command.`)
    const kid = `${url}/keys/${name}/${key.version}`
    if (!op) {
      if (method !== 'GET') return kvError(send, 405, 'MethodNotAllowed', `${method} is not allowed on a key`)
      const jwk = key.publicKey.export({ format: 'jwk' })
      return send(200, {
        key: { kid, kty: 'RSA', key_ops: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'], n: jwk.n, e: jwk.e },
        attributes: { enabled: true, created: key.created, updated: key.created, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
      })
    }
    if (method !== 'POST') return kvError(send, 405, 'MethodNotAllowed', `${method} is not allowed for ${op}`)
    const params = JSON.parse(body || '{}') as { alg?: string; value?: string }
    if (params.alg !== 'RSA-OAEP-256') return kvError(send, 400, 'BadParameter', `Algorithm ${params.alg} is not supported by this test vault`)
    const input = Buffer.from(params.value ?? '', 'base64url')
    const padding = { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }
    if (op === 'encrypt') {
      return send(200, { kid, value: crypto.publicEncrypt({ key: key.publicKey, ...padding }, input).toString('base64url') })
    }
    let plaintext: Buffer
    try {
      plaintext = crypto.privateDecrypt({ key: key.privateKey, ...padding }, input)
    } catch {
      return kvError(send, 400, 'BadParameter', 'The parameter is incorrect.\r\n')
    }
    return send(200, { kid, value: plaintext.toString('base64url') })
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
  })
  url = `https://127.0.0.1:${port}`

  return {
    url,
    cert,
    clientSecret,
    log,
    tokensIssued: () => accessTokens.size,
    managedIdentityEnv: () => ({ IDENTITY_ENDPOINT: `${url}${MSI_PATH}`, IDENTITY_HEADER: MSI_HEADER }),

    addKey(name) {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
      const version = crypto.randomBytes(16).toString('hex')
      const list = keys.get(name) ?? []
      list.push({ version, privateKey, publicKey, created: Math.floor(Date.now() / 1000) })
      keys.set(name, list)
      return version
    },
    keyUrl: (name, version) => `${url}/keys/${name}${version ? `/${version}` : ''}`,
    deny: (name, isDenied = true) => void (isDenied ? denied.add(name) : denied.delete(name)),
    throttle: (n, seconds = 1) => {
      throttled = n
      retryAfter = seconds
    },
    credentialEnv: () => ({
      AZURE_TENANT_ID: TEST_TENANT,
      AZURE_CLIENT_ID: TEST_CLIENT_ID,
      AZURE_CLIENT_SECRET: clientSecret,
      AZURE_AUTHORITY_HOST: url,
    }),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      cert.cleanup()
    },
  }
}
