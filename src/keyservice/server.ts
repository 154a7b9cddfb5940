/**
 * The server side of sops's key service (keyservice/server.go): Encrypt and Decrypt requests
 * name a master key and carry a data key (or its `enc`); the key is used with what THIS process
 * holds (its env: SOPS_AGE_KEY_FILE, GNUPGHOME, AWS credentials…), through the same key sources
 * as a local run. A failure goes back as the status sops's server sends: Unknown with the key's
 * own error text, NotFound "Must provide a key" for a request that names none.
 */
import { chmodSync, existsSync, rmSync } from 'node:fs'
import { keySourceFromEntry } from '../keys/registry.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry } from '../keys/types.js'
import { DECRYPT_PATH, ENCRYPT_PATH, loadGrpc, STATUS } from './grpc.js'
import { decodeKeyRequest, encodeDataResponse, type KeyRequest } from './proto.js'

export type RequestKind = 'encrypt' | 'decrypt'

export interface KeyServiceServerOptions {
  /** `tcp` (or tcp4/tcp6) or `unix` (sops's --network). */
  network: string
  /** host:port, or the socket's path (sops's --address). */
  address: string
  /** The server's own environment and identities: what its keys are used with. */
  ctx: KeyContext
  /** sops's --prompt: asked once a request has been carried out; false rejects it. */
  confirm?: (kind: RequestKind, key: KeyEntry) => Promise<boolean>
}

export interface RunningKeyService {
  /** Where it listens: `tcp://127.0.0.1:43210` (the port really bound) or `unix:///path`. */
  readonly url: string
  /** Stops serving at once and removes the unix socket. */
  close(): void
}

/** A status sent back to the client. */
class StatusError extends Error {
  constructor(
    readonly code: number,
    details: string,
  ) {
    super(details)
  }
}

/** Listening failed (address in use, bad network): Go's net.Listen words. */
export class ListenError extends Error {}

export async function startKeyServiceServer(options: KeyServiceServerOptions): Promise<RunningKeyService> {
  const { network, address } = options
  checkNetwork(network, address)
  const grpc = await loadGrpc()
  const server = new grpc.Server()
  const method = (path: string, kind: RequestKind) => ({
    path,
    requestStream: false,
    responseStream: false,
    // Requests are decoded in answer(), so that a malformed one gets sops's status, not grpc-js's.
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (r: Uint8Array) => Buffer.from(r.buffer, r.byteOffset, r.byteLength),
    responseDeserialize: (b: Buffer) => b,
    originalName: kind,
  })
  const handler = (kind: RequestKind) => (call: { request: Buffer }, callback: (err: { code: number; details: string } | null, value?: Uint8Array) => void) => {
    answer(kind, call.request, options).then(
      (data) => callback(null, encodeDataResponse(data)),
      (e: unknown) => callback(e instanceof StatusError ? { code: e.code, details: e.message } : { code: STATUS.UNKNOWN, details: reasonOf(e) }),
    )
  }
  server.addService({ Encrypt: method(ENCRYPT_PATH, 'encrypt'), Decrypt: method(DECRYPT_PATH, 'decrypt') }, { Encrypt: handler('encrypt'), Decrypt: handler('decrypt') })

  const port = await bind(grpc, server, network, address)
  let closed = false
  return {
    url: network === 'unix' ? `unix://${address}` : `${network}://${address.replace(/:\d*$/, `:${port}`)}`,
    close: () => {
      if (closed) return
      closed = true
      server.forceShutdown()
      if (network === 'unix') rmSync(address, { force: true })
    },
  }
}

/** Go's net.Listen refuses what is no stream network, in its words. */
function checkNetwork(network: string, address: string): void {
  if (network === 'unix' || /^tcp[46]?$/.test(network)) return
  if (/^udp[46]?$/.test(network)) throw new ListenError(`listen ${network} ${address}: address ${address}: unexpected address type`)
  throw new ListenError(`listen ${network}: unknown network ${network}`)
}

async function bind(grpc: typeof import('@grpc/grpc-js'), server: import('@grpc/grpc-js').Server, network: string, address: string): Promise<number> {
  // A unix socket is created for its owner alone (sops leaves it to the umask): whoever can
  // connect can have data keys decrypted.
  const target = network === 'unix' ? `unix:${address}` : address.startsWith(':') ? `[::]${address}` : address
  if (network === 'unix' && existsSync(address)) throw new ListenError(`listen unix ${address}: bind: address already in use`)
  const umask = network === 'unix' ? process.umask(0o177) : undefined
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)))
    })
    if (network === 'unix') chmodSync(address, 0o600)
    return port
  } catch (e) {
    throw new ListenError(`listen ${network} ${address}: bind: ${errnoText(e instanceof Error ? e.message : String(e))}`)
  } finally {
    if (umask !== undefined) process.umask(umask)
  }
}

/** Go's words for the errno in a grpc-js bind failure. */
function errnoText(message: string): string {
  if (message.includes('EADDRINUSE')) return 'address already in use'
  if (message.includes('EACCES')) return 'permission denied'
  if (message.includes('ENOENT')) return 'no such file or directory'
  if (message.includes('EADDRNOTAVAIL')) return 'cannot assign requested address'
  return message
}

/** Carries out one request with the server's own keys (server.go's Encrypt/Decrypt). */
async function answer(kind: RequestKind, body: Uint8Array, options: KeyServiceServerOptions): Promise<Uint8Array> {
  let request: KeyRequest
  try {
    request = decodeKeyRequest(body)
  } catch (e) {
    throw new StatusError(STATUS.INTERNAL, `grpc: error unmarshalling request: ${reasonOf(e)}`)
  }
  const { key, data } = request
  if (key === undefined) throw new StatusError(STATUS.NOT_FOUND, 'Must provide a key')
  const source = await keySourceFromEntry(key)
  let result: Uint8Array
  if (kind === 'encrypt') {
    const entry = await source.wrap(data, options.ctx)
    result = Buffer.from(typeof entry.fields.enc === 'string' ? entry.fields.enc : '', 'utf8')
  } else {
    // The client sends the `enc` string of its file.
    result = await source.unwrap({ type: key.type, fields: { ...key.fields, enc: Buffer.from(data).toString('utf8') } }, options.ctx)
  }
  if (options.confirm && !(await options.confirm(kind, key))) throw new StatusError(STATUS.PERMISSION_DENIED, 'Request rejected by user')
  return result
}

function reasonOf(e: unknown): string {
  if (e instanceof KeyUnwrapError) return e.reason
  return e instanceof Error ? e.message : String(e)
}
