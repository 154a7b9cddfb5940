/**
 * A loopback Cloud KMS for tests: the real google.cloud.kms.v1.KeyManagementService over gRPC
 * (@grpc/grpc-js Server, plaintext, on 127.0.0.1:0), defined by the .proto files shipped inside
 * @google-cloud/kms and google-gax, plus the same two methods over REST (the JSON transcoding
 * gax's `fallback` client speaks) on a second port. The real KeyManagementServiceClient runs its
 * whole code path against it: serialization, metadata, retries, error mapping.
 *
 * Encrypt and Decrypt as Cloud KMS behaves for a symmetric key:
 *   - the `authorization` metadata/header must be `Bearer <token>`, or a self-signed RS256 JWT
 *     of a trusted service account (what google-auth-library sends for service-account
 *     credentials: JWT access with scope) — UNAUTHENTICATED otherwise;
 *   - unknown key names are NOT_FOUND; `deny` makes a key PERMISSION_DENIED;
 *   - ciphertexts are AES-256-GCM under a per-key secret (HMAC of a server secret and the key
 *     name) with the name as AAD, so Decrypt with another key fails INVALID_ARGUMENT exactly
 *     like KMS ("Decryption failed: the ciphertext is invalid.");
 *   - `throttle(n)` answers the next n calls RESOURCE_EXHAUSTED (quota exceeded).
 */
import crypto from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { REPO_ROOT } from '../paths.js'

export const TEST_PROJECT = 'tsops-test'

/** A resource id in the test project. */
export function testResourceId(key = 'sops-key', ring = 'tsops-ring', location = 'global'): string {
  return `projects/${TEST_PROJECT}/locations/${location}/keyRings/${ring}/cryptoKeys/${key}`
}

export interface RecordedCall {
  transport: 'grpc' | 'rest'
  method: 'Encrypt' | 'Decrypt'
  name: string
  /** The authorization value received (for assertions on the credential path; test token only). */
  authorization: string | undefined
  /** Who the server authenticated: 'token' or the service account's email ('' when rejected). */
  principal: string
}

export interface GcpKmsServer {
  /** `127.0.0.1:<port>` of the gRPC service (SOPS_GCP_KMS_ENDPOINT). */
  readonly grpcEndpoint: string
  /** `127.0.0.1:<port>` of the REST service (SOPS_GCP_KMS_ENDPOINT with SOPS_GCP_KMS_CLIENT_TYPE=rest). */
  readonly restEndpoint: string
  /** The only bearer token accepted. */
  readonly token: string
  /** Every call received, in order. */
  readonly calls: RecordedCall[]
  /** Make a key name exist (testResourceId() exists from the start). */
  addKey(name: string): void
  /** Answer PERMISSION_DENIED for this key (or stop doing so). */
  deny(name: string, denied?: boolean): void
  /** Answer the next `n` calls (any key) RESOURCE_EXHAUSTED. */
  throttle(n: number): void
  /** Accept self-signed JWTs of this service account (its public key, PEM). */
  trustServiceAccount(email: string, publicKeyPem: string): void
  close(): Promise<void>
}

const PROTO_DIRS = [path.join(REPO_ROOT, 'node_modules/@google-cloud/kms/build/protos'), path.join(REPO_ROOT, 'node_modules/google-gax/build/protos')]

interface EncryptRequest {
  name: string
  plaintext: Buffer
}
interface DecryptRequest {
  name: string
  ciphertext: Buffer
}

class KmsFailure extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message)
  }
}

/** gRPC code -> HTTP status and google.rpc status name, as Google's REST front end maps them. */
const HTTP_OF: Partial<Record<grpc.status, [number, string]>> = {
  [grpc.status.INVALID_ARGUMENT]: [400, 'INVALID_ARGUMENT'],
  [grpc.status.NOT_FOUND]: [404, 'NOT_FOUND'],
  [grpc.status.PERMISSION_DENIED]: [403, 'PERMISSION_DENIED'],
  [grpc.status.RESOURCE_EXHAUSTED]: [429, 'RESOURCE_EXHAUSTED'],
  [grpc.status.UNAUTHENTICATED]: [401, 'UNAUTHENTICATED'],
}

export async function startGcpKmsServer(options: { token?: string } = {}): Promise<GcpKmsServer> {
  const token = options.token ?? `ya29.tsops-test-${crypto.randomBytes(12).toString('hex')}`
  const serverSecret = crypto.randomBytes(32)
  const keys = new Set<string>([testResourceId()])
  const denied = new Set<string>()
  const calls: RecordedCall[] = []
  const serviceAccounts = new Map<string, crypto.KeyObject>()
  let throttled = 0

  /** 'token', a service account email, or '' when the credentials are not accepted. */
  function authenticate(authorization: string | undefined): string {
    if (authorization === `Bearer ${token}`) return 'token'
    const jwt = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(authorization ?? '')
    if (!jwt) return ''
    try {
      const header = JSON.parse(Buffer.from(jwt[1]!, 'base64url').toString('utf8')) as { alg?: string }
      const claims = JSON.parse(Buffer.from(jwt[2]!, 'base64url').toString('utf8')) as { iss?: string; exp?: number; scope?: string }
      const key = serviceAccounts.get(claims.iss ?? '')
      if (!key || header.alg !== 'RS256' || !(typeof claims.exp === 'number' && claims.exp * 1000 > Date.now())) return ''
      if (!/cloud-platform|cloudkms/.test(claims.scope ?? '')) return ''
      const ok = crypto.verify('sha256', Buffer.from(`${jwt[1]}.${jwt[2]}`), key, Buffer.from(jwt[3]!, 'base64url'))
      return ok ? claims.iss! : ''
    } catch {
      return ''
    }
  }

  const keyFor = (name: string) => crypto.createHmac('sha256', serverSecret).update(name).digest()

  /** Checks shared by both methods, in the order KMS applies them. */
  function admit(transport: RecordedCall['transport'], method: RecordedCall['method'], name: string, authorization: string | undefined): void {
    const principal = authenticate(authorization)
    calls.push({ transport, method, name, authorization, principal })
    if (principal === '') {
      throw new KmsFailure(grpc.status.UNAUTHENTICATED, 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.')
    }
    if (throttled > 0) {
      throttled--
      throw new KmsFailure(grpc.status.RESOURCE_EXHAUSTED, "Quota exceeded for quota metric 'Cryptographic requests' and limit 'Cryptographic requests per minute'.")
    }
    const permission = method === 'Encrypt' ? 'useToEncrypt' : 'useToDecrypt'
    if (denied.has(name)) throw new KmsFailure(grpc.status.PERMISSION_DENIED, `Permission 'cloudkms.cryptoKeyVersions.${permission}' denied on resource '${name}' (or it may not exist).`)
    if (!keys.has(name)) throw new KmsFailure(grpc.status.NOT_FOUND, `CryptoKey ${name} not found.`)
  }

  function encrypt(req: EncryptRequest): { name: string; ciphertext: Buffer } {
    const iv = crypto.randomBytes(12)
    const cipher = crypto.createCipheriv('aes-256-gcm', keyFor(req.name), iv)
    cipher.setAAD(Buffer.from(req.name))
    const body = Buffer.concat([cipher.update(req.plaintext), cipher.final()])
    return { name: `${req.name}/cryptoKeyVersions/1`, ciphertext: Buffer.concat([iv, body, cipher.getAuthTag()]) }
  }

  function decrypt(req: DecryptRequest): { plaintext: Buffer } {
    const c = req.ciphertext
    if (c.length < 28) throw new KmsFailure(grpc.status.INVALID_ARGUMENT, 'Decryption failed: the ciphertext is invalid.')
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', keyFor(req.name), c.subarray(0, 12))
      decipher.setAAD(Buffer.from(req.name))
      decipher.setAuthTag(c.subarray(c.length - 16))
      return { plaintext: Buffer.concat([decipher.update(c.subarray(12, c.length - 16)), decipher.final()]) }
    } catch {
      throw new KmsFailure(grpc.status.INVALID_ARGUMENT, 'Decryption failed: the ciphertext is invalid.')
    }
  }

  // ---- gRPC ----
  const definition = await protoLoader.load('google/cloud/kms/v1/service.proto', {
    includeDirs: PROTO_DIRS,
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  })
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    google: { cloud: { kms: { v1: { KeyManagementService: { service: grpc.ServiceDefinition } } } } }
  }
  const grpcServer = new grpc.Server()
  const unary =
    <Req extends { name: string }, Res>(method: RecordedCall['method'], handler: (req: Req) => Res): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      try {
        const auth = call.metadata.get('authorization')[0]
        admit('grpc', method, call.request.name, typeof auth === 'string' ? auth : undefined)
        callback(null, handler(call.request))
      } catch (e) {
        const f = e instanceof KmsFailure ? e : new KmsFailure(grpc.status.INTERNAL, String(e))
        callback({ code: f.code, details: f.message })
      }
    }
  // Only the two methods sops uses; grpc-js answers UNIMPLEMENTED for the rest.
  grpcServer.addService(loaded.google.cloud.kms.v1.KeyManagementService.service, {
    Encrypt: unary<EncryptRequest, ReturnType<typeof encrypt>>('Encrypt', encrypt),
    Decrypt: unary<DecryptRequest, ReturnType<typeof decrypt>>('Decrypt', decrypt),
  })
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  )

  // ---- REST: POST /v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/**}:encrypt|decrypt ----
  const restServer = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' })
        res.end(JSON.stringify(body))
      }
      try {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1')
        const m = /^\/v1\/(.+):(encrypt|decrypt)$/.exec(decodeURIComponent(url.pathname))
        if (req.method !== 'POST' || !m) return send(404, { error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } })
        const name = m[1]!
        const method = m[2] === 'encrypt' ? 'Encrypt' : 'Decrypt'
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>
        const auth = req.headers.authorization
        admit('rest', method, name, auth)
        if (method === 'Encrypt') {
          const out = encrypt({ name, plaintext: Buffer.from(String(body.plaintext ?? ''), 'base64') })
          return send(200, { name: out.name, ciphertext: out.ciphertext.toString('base64') })
        }
        const out = decrypt({ name, ciphertext: Buffer.from(String(body.ciphertext ?? ''), 'base64') })
        return send(200, { plaintext: out.plaintext.toString('base64') })
      } catch (e) {
        const f = e instanceof KmsFailure ? e : new KmsFailure(grpc.status.INVALID_ARGUMENT, String(e))
        const [status, name] = HTTP_OF[f.code] ?? [500, 'INTERNAL']
        return send(status, { error: { code: status, message: f.message, status: name } })
      }
    })
  })
  const restPort = await listen(restServer)

  return {
    grpcEndpoint: `127.0.0.1:${grpcPort}`,
    restEndpoint: `127.0.0.1:${restPort}`,
    token,
    calls,
    addKey: (name) => void keys.add(name),
    deny: (name, isDenied = true) => void (isDenied ? denied.add(name) : denied.delete(name)),
    throttle: (n) => {
      throttled = n
    },
    trustServiceAccount: (email, publicKeyPem) => void serviceAccounts.set(email, crypto.createPublicKey(publicKeyPem)),
    close: async () => {
      grpcServer.forceShutdown()
      restServer.closeAllConnections()
      await new Promise<void>((resolve) => restServer.close(() => resolve()))
    },
  }
}

function listen(server: http.Server | net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
  })
}

/** A loopback port nobody listens on (bound, then released): connections are refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  const port = await listen(server)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A loopback port that accepts connections and never answers (a hung server or proxy). */
export async function startHangingServer(): Promise<{ port: number; /** Connections accepted so far. */ connections(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  let accepted = 0
  const server = net.createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const port = await listen(server)
  return {
    port,
    connections: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
