/**
 * tsops's key service client and server, in process, over TCP on 127.0.0.1 and over a unix
 * socket: the server holds the keys (age identity, GnuPG home, AWS credentials for the loopback
 * KMS), the client holds none and gets its data keys wrapped and unwrapped there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { LOCAL_KEY_SERVICE, unwrapDataKey, wrapDataKey } from '../../src/keys/datakey.js'
import { keySourceFromEntry, keySourceFromSpec } from '../../src/keys/registry.js'
import type { KeyContext, KeyEntry, KeyService, KeyUnwrapError } from '../../src/keys/types.js'
import { parseKeyServiceUri, RemoteKeyService } from '../../src/keyservice/client.js'
import { loadGrpc } from '../../src/keyservice/grpc.js'
import { startKeyServiceServer, type RunningKeyService } from '../../src/keyservice/server.js'
import { testAgeIdentity } from '../helpers/age.js'
import { disposeGeneratedGpgHome, generatedGpgHome } from '../helpers/gpg.js'
import { closedPortUrl, kmsEnv, startKmsServer, testKeyArn, type KmsServer } from '../helpers/servers/aws-kms.js'

const dataKey = () => new Uint8Array(crypto.randomBytes(32))
/** A client with no keys of its own: nothing in its environment, no fallback to $HOME. */
const clientCtx = (services: readonly KeyService[]): KeyContext => ({ env: {}, envOnly: true, keyServices: services })
/** The "could not decrypt" report word-wraps reasons behind `  | `; join them back. */
const unwrapped = (text: string) => text.replace(/\n\s*\| ?/g, ' ').replace(/- \| /g, '- ')

let dir: string
let kms: KmsServer
const servers: RunningKeyService[] = []
const clients: RemoteKeyService[] = []

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-ks-'))
  kms = await startKmsServer()
})
afterAll(async () => {
  for (const c of clients) await c.close()
  for (const s of servers) s.close()
  await kms.close()
  await disposeGeneratedGpgHome()
  fs.rmSync(dir, { recursive: true, force: true })
})

async function serve(env: Record<string, string | undefined>, network: 'tcp' | 'unix' = 'tcp', address = '127.0.0.1:0'): Promise<RunningKeyService> {
  const server = await startKeyServiceServer({ network, address, ctx: { env, envOnly: true } })
  servers.push(server)
  return server
}

function client(url: string): RemoteKeyService {
  const c = new RemoteKeyService(parseKeyServiceUri(url)!)
  clients.push(c)
  return c
}

/** Wrap through `services` for one key, unwrap again through them: the data key comes back. */
async function roundTrip(type: 'age' | 'pgp' | 'kms', spec: string, services: readonly KeyService[], options = {}): Promise<KeyEntry> {
  const key = dataKey()
  const source = await keySourceFromSpec(type, spec, options)
  const wrapped = await wrapDataKey(key, [[source]], 0, clientCtx(services))
  const entry = wrapped.groups[0]![0]!
  expect(Buffer.from(await unwrapDataKey(wrapped.groups, 0, clientCtx(services)))).toEqual(Buffer.from(key))
  return entry
}

describe('age', () => {
  it('over TCP: the client holds no identity, the server does', async () => {
    const { identity, recipient } = await testAgeIdentity()
    const server = await serve({ SOPS_AGE_KEY: identity })
    expect(server.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    const entry = await roundTrip('age', recipient, [client(server.url)])
    // sops's age entry: recipient and enc, no created_at
    expect(Object.keys(entry.fields).sort()).toEqual(['enc', 'recipient'])
    expect(entry.fields.enc).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n/)
    // and the entry is an ordinary one: the identity alone opens it, without any service
    const direct = await unwrapDataKey([[entry]], 0, { env: { SOPS_AGE_KEY: identity }, envOnly: true })
    expect(direct).toHaveLength(32)
  })

  it('over a unix socket, created for its owner only and removed when the server stops', async () => {
    const { identity, recipient } = await testAgeIdentity()
    const socket = path.join(dir, 'ks.sock')
    const server = await serve({ SOPS_AGE_KEY: identity }, 'unix', socket)
    expect(server.url).toBe(`unix://${socket}`)
    expect(fs.statSync(socket).isSocket()).toBe(true)
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600)
    await roundTrip('age', recipient, [client(`unix://${socket}`)])
    server.close()
    expect(fs.existsSync(socket)).toBe(false)
  })

  it('a server without the identity answers with its own error, which the client lists', async () => {
    const { recipient } = await testAgeIdentity()
    const server = await serve({})
    const source = await keySourceFromSpec('age', recipient)
    const wrapped = await wrapDataKey(dataKey(), [[source]], 0, { env: {} }) // encrypting needs no identity
    const err = await unwrapDataKey(wrapped.groups, 0, clientCtx([client(server.url)])).catch((e: Error) => e)
    expect(unwrapped((err as Error).message)).toContain(`${recipient}: FAILED\n    - rpc error: code = Unknown desc = failed to load age identities.`)
  })
})

describe('pgp', () => {
  it('the server\'s GnuPG home holds the key; the client has no gpg home at all', async () => {
    const gpg = await generatedGpgHome()
    const server = await serve(gpg.env)
    const entry = await roundTrip('pgp', gpg.fingerprint, [client(server.url)])
    expect(entry.fields.fp).toBe(gpg.fingerprint)
    expect(entry.fields.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(entry.fields.enc).toMatch(/^-----BEGIN PGP MESSAGE-----/)
  })
})

describe('aws kms (loopback KMS)', () => {
  const ARN = testKeyArn('keyservice', 'eu-central-1')
  const ROLE = 'arn:aws:iam::111122223333:role/sops'

  it('the server holds the AWS credentials; role, context and profile travel with the key', async () => {
    const server = await serve(kmsEnv(kms, { AWS_REGION: 'us-west-2' }))
    kms.log.length = 0
    const entry = await roundTrip('kms', ARN, [client(server.url)], { role: ROLE, context: { app: 'web', env: 'prod' } })
    expect(entry.fields).toMatchObject({ arn: ARN, role: ROLE, context: { app: 'web', env: 'prod' }, aws_profile: '' })
    expect(entry.fields.created_at).toMatch(/Z$/)
    const kmsCalls = kms.log.filter((l) => l.service === 'kms')
    expect(kmsCalls.map((l) => [l.operation, l.status])).toEqual([
      ['Encrypt', 200],
      ['Decrypt', 200],
    ])
    // the context reached KMS: it came through the key service's map field
    expect(kmsCalls[1]!.input?.EncryptionContext).toEqual({ app: 'web', env: 'prod' })
    expect(kms.log.some((l) => l.service === 'sts' && l.input?.RoleArn === ROLE)).toBe(true)
  })

  it('a server whose KMS cannot be reached: the client reports the server\'s error', async () => {
    const server = await serve(kmsEnv(kms, { AWS_ENDPOINT_URL_KMS: await closedPortUrl(), AWS_MAX_ATTEMPTS: '1' }))
    const source = await keySourceFromSpec('kms', ARN)
    const err = await wrapDataKey(dataKey(), [[source]], 0, clientCtx([client(server.url)])).catch((e: Error) => e)
    expect((err as Error).message).toMatch(new RegExp(`^Could not generate data key: \\[failed to encrypt new data key with master key "${ARN}": rpc error: code = Unknown desc = `))
  })
})

describe('services in order, first success wins (sops.go)', () => {
  it('a key is tried on each service until one succeeds; the others\' failures do not matter', async () => {
    const { identity, recipient } = await testAgeIdentity()
    const without = await serve({})
    const withKey = await serve({ SOPS_AGE_KEY: identity })
    await roundTrip('age', recipient, [LOCAL_KEY_SERVICE, client(without.url), client(withKey.url)])
  })

  it('when all fail, every service\'s reason is listed, in order', async () => {
    const { recipient } = await testAgeIdentity()
    const without = await serve({})
    const unreachable = new URL(await closedPortUrl())
    const source = await keySourceFromSpec('age', recipient)
    const wrapped = await wrapDataKey(dataKey(), [[source]], 0, { env: {} })
    const services = [LOCAL_KEY_SERVICE, client(without.url), client(`tcp://127.0.0.1:${unreachable.port}`)]
    const message = unwrapped(((await unwrapDataKey(wrapped.groups, 0, clientCtx(services)).catch((e: Error) => e)) as Error).message)
    const reasons = message.split(`${recipient}: FAILED\n`)[1]!.split(/\n *\n {4}- /)
    expect(reasons).toHaveLength(3)
    expect(reasons[0]).toMatch(/^ {4}- failed to load age identities/)
    expect(reasons[1]).toMatch(/^rpc error: code = Unknown desc = failed to load age identities/)
    expect(reasons[2]).toMatch(
      `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:${unreachable.port}: connect: connection refused"`,
    )
  })

  it('encrypting: the same, and each failure is named after the key', async () => {
    const unreachable = new URL(await closedPortUrl())
    const source = await keySourceFromSpec('kms', testKeyArn('x', 'eu-central-1'))
    const err = await wrapDataKey(dataKey(), [[source]], 0, clientCtx([client(`tcp://127.0.0.1:${unreachable.port}`), client('http://127.0.0.1:1')])).catch((e: Error) => e)
    expect((err as Error).message).toBe(
      `Could not generate data key: [failed to encrypt new data key with master key "${source.label}": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:${unreachable.port}: connect: connection refused" ` +
        `failed to encrypt new data key with master key "${source.label}": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial http: unknown network http"]`,
    )
  })

  it('URIs taken apart as Go\'s url.Parse does; one without a host has nothing to resolve', async () => {
    expect(parseKeyServiceUri('tcp://127.0.0.1:5000')).toEqual({ network: 'tcp', address: '127.0.0.1:5000', uri: 'tcp://127.0.0.1:5000' })
    expect(parseKeyServiceUri('unix:///run/ks.sock')).toMatchObject({ network: 'unix', address: '/run/ks.sock' })
    expect(parseKeyServiceUri('unix:/run/ks.sock')).toMatchObject({ network: 'unix', address: '/run/ks.sock' })
    expect(parseKeyServiceUri('localhost:5000')).toMatchObject({ network: 'localhost', address: '' })
    expect(parseKeyServiceUri('1tcp://x')).toBeUndefined() // Go: first path segment in URL cannot contain colon
    const source = await keySourceFromSpec('age', (await testAgeIdentity()).recipient)
    await expect(client('localhost:5000').wrap(source, dataKey(), { env: {} })).rejects.toThrow(/^rpc error: code = Unavailable desc = dns resolver: missing address$/)
  })

  it('no service at all (the local one disabled, none given): sops\'s errors', async () => {
    const { recipient } = await testAgeIdentity()
    const source = await keySourceFromSpec('age', recipient)
    await expect(wrapDataKey(dataKey(), [[source]], 0, clientCtx([]))).rejects.toThrow(/^Could not generate data key: \[no key services provided, cannot update master keys\]$/)
    const wrapped = await wrapDataKey(dataKey(), [[source]], 0, { env: {} })
    const err = (await unwrapDataKey(wrapped.groups, 0, clientCtx([])).catch((e: Error) => e)) as Error
    // the key is listed with no reason under it, exactly as sops prints it
    expect(err.message).toContain(`Group 0: FAILED\n  ${recipient}: FAILED\n\n\nRecovery failed because no master key`)
  })
})

describe('the server\'s answers to malformed requests (server.go)', () => {
  async function rawCall(url: string, method: string, body: Buffer): Promise<{ code: number; details: string }> {
    const grpc = await loadGrpc()
    const c = new grpc.Client(url.replace(/^tcp:\/\//, ''), grpc.credentials.createInsecure())
    try {
      return await new Promise((resolve) => {
        c.makeUnaryRequest(method, (b: Buffer) => b, (b: Buffer) => b, body, (err) => resolve({ code: err?.code ?? 0, details: err?.details ?? '' }))
      })
    } finally {
      c.close()
    }
  }

  it('a request naming no key: NotFound "Must provide a key"', async () => {
    const server = await serve({})
    expect(await rawCall(server.url, '/KeyService/Decrypt', Buffer.from('1201ff', 'hex'))).toEqual({ code: 5, details: 'Must provide a key' })
    expect(await rawCall(server.url, '/KeyService/Encrypt', Buffer.alloc(0))).toEqual({ code: 5, details: 'Must provide a key' })
  })

  it('bytes that are not protobuf: Internal, and the server keeps serving', async () => {
    const server = await serve({})
    const answer = await rawCall(server.url, '/KeyService/Decrypt', Buffer.from('0a', 'hex'))
    expect(answer.code).toBe(13)
    expect(answer.details).toMatch(/^grpc: error unmarshalling request: proto: /)
    expect(await rawCall(server.url, '/KeyService/Encrypt', Buffer.alloc(0))).toEqual({ code: 5, details: 'Must provide a key' })
  })

  it('a key the server\'s source refuses: Unknown with the source\'s own words', async () => {
    const server = await serve({})
    const body = Buffer.from('0a053a030a0178' + '1201ff', 'hex') // hckms_key { key_id: "x" }
    const answer = await rawCall(server.url, '/KeyService/Decrypt', body)
    const local = await (await keySourceFromEntry({ type: 'hckms', fields: { key_id: 'x', enc: '\xff' } })).unwrap({ type: 'hckms', fields: { key_id: 'x', enc: '\xff' } }, { env: {} }).catch((e: KeyUnwrapError) => e.reason)
    expect(answer).toEqual({ code: 2, details: local })
    expect(answer.details).toMatch(/key ID/)
  })

  it('listening on an address in use, or an unknown network: Go\'s net.Listen words', async () => {
    const server = await serve({})
    await expect(startKeyServiceServer({ network: 'tcp', address: server.url.slice('tcp://'.length), ctx: { env: {} } })).rejects.toThrow(
      `listen tcp ${server.url.slice('tcp://'.length)}: bind: address already in use`,
    )
    await expect(startKeyServiceServer({ network: 'udp', address: '127.0.0.1:0', ctx: { env: {} } })).rejects.toThrow('listen udp 127.0.0.1:0: address 127.0.0.1:0: unexpected address type')
    await expect(startKeyServiceServer({ network: 'foo', address: '127.0.0.1:0', ctx: { env: {} } })).rejects.toThrow('listen foo: unknown network foo')
    // tcp4 is TCP, as for Go's net.Listen
    const tcp4 = await startKeyServiceServer({ network: 'tcp4', address: '127.0.0.1:0', ctx: { env: {} } })
    servers.push(tcp4)
    expect(tcp4.url).toMatch(/^tcp4:\/\/127\.0\.0\.1:\d+$/)
  })
})
