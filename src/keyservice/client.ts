/**
 * A sops key service reached over gRPC (`--keyservice tcp://host:port` / `unix:///path`): master
 * keys are used there, with the keys and credentials that process holds. The connection is
 * opened on the first call (grpc-js loaded then) and shared by every key of the run.
 */
import type { KeyContext, KeyEntry, KeyService, KeySource } from '../keys/types.js'
import { DECRYPT_PATH, ENCRYPT_PATH, goStatusText, loadGrpc, STATUS } from './grpc.js'
import { entryOfWrappedKey, keyOfEntry } from './keys.js'
import { decodeDataResponse, encodeKeyRequest } from './proto.js'

type GrpcClient = import('@grpc/grpc-js').Client

/** A `--keyservice` URI taken apart as sops does (Go's url.Parse: scheme, then host or path). */
export interface KeyServiceAddress {
  /** The URI's scheme: the network dialled (tcp, unix; sops passes any scheme to net.Dial). */
  network: string
  /** host:port, or the socket's path. */
  address: string
  uri: string
}

/** undefined when the URI cannot be parsed (sops warns and skips it). */
export function parseKeyServiceUri(uri: string): KeyServiceAddress | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)/.exec(uri)
  if (!m) return /^[^/?#]*:/.test(uri) || /[\x00-\x1f\x7f ]/.test(uri) ? undefined : { network: '', address: '', uri }
  const network = m[1]!.toLowerCase()
  return { network, address: network === 'unix' ? m[3]! : (m[2] ?? ''), uri }
}

/** How sops names the service in its log: `tcp://127.0.0.1:5000`, `unix:///tmp/sops.sock`. */
export function describeAddress(a: KeyServiceAddress): string {
  return `${a.network}://${a.address}`
}

export class RemoteKeyService implements KeyService {
  private client: Promise<GrpcClient> | undefined

  constructor(readonly address: KeyServiceAddress) {}

  async wrap(key: KeySource, part: Uint8Array, ctx: KeyContext): Promise<KeyEntry> {
    if (key.keyFields === undefined) throw new Error(`${key.type} keys cannot be used through a key service by this version of tsops`)
    const wanted: KeyEntry = { type: key.type, fields: key.keyFields }
    const ciphertext = await this.call(ENCRYPT_PATH, encodeKeyRequest(wanted, part), ctx)
    return entryOfWrappedKey(wanted, ciphertext)
  }

  async unwrap(_key: KeySource, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array> {
    const enc = entry.fields.enc
    // sops sends the `enc` string as it is in the file.
    const ciphertext = Buffer.from(typeof enc === 'string' ? enc : '', 'utf8')
    return this.call(DECRYPT_PATH, encodeKeyRequest(keyOfEntry(entry), ciphertext), ctx)
  }

  /** Closes the connection (a CLI run simply exits; library callers and tests call this). */
  async close(): Promise<void> {
    const client = this.client
    this.client = undefined
    if (client) (await client).close()
  }

  private connect(): Promise<GrpcClient> {
    this.client ??= loadGrpc().then((grpc) => new grpc.Client(grpcTarget(this.address), grpc.credentials.createInsecure()))
    return this.client
  }

  private async call(path: string, request: Uint8Array, ctx: KeyContext): Promise<Uint8Array> {
    const { network, address } = this.address
    // grpc-go's checks, in its order: a URI without a host (`localhost:5000` is scheme
    // `localhost`) has nothing to resolve; a scheme that is no network cannot be dialled.
    if (network !== 'unix' && address === '') throw new Error(goStatusText(STATUS.UNAVAILABLE, 'dns resolver: missing address'))
    if (!DIALABLE.has(network)) {
      throw new Error(goStatusText(STATUS.UNAVAILABLE, `connection error: desc = "transport: Error while dialing: dial ${network}: unknown network ${network}"`))
    }
    const client = await this.connect()
    ctx.signal?.throwIfAborted()
    return new Promise((resolve, reject) => {
      const call = client.makeUnaryRequest(
        path,
        (r: Uint8Array) => Buffer.from(r.buffer, r.byteOffset, r.byteLength),
        (b: Buffer) => decodeDataResponse(b),
        request,
        (err, response) => {
          ctx.signal?.removeEventListener('abort', cancel)
          if (err) reject(new Error(goStatusText(err.code, this.goDetails(err.code, err.details))))
          else resolve(response ?? new Uint8Array(0))
        },
      )
      const cancel = () => call.cancel()
      ctx.signal?.addEventListener('abort', cancel, { once: true })
    })
  }

  /**
   * grpc-go's words for a service that cannot be reached, which sops prints (`connection error:
   * desc = "transport: Error while dialing: dial tcp 127.0.0.1:5000: connect: connection
   * refused"`); grpc-js's own details otherwise.
   */
  private goDetails(code: number, details: string): string {
    const errno = /\b(ECONNREFUSED|ENOENT|EACCES|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/.exec(details)?.[1]
    if (code !== STATUS.UNAVAILABLE || errno === undefined) return details
    const { network } = this.address
    return `connection error: desc = "transport: Error while dialing: dial ${network} ${dialAddress(this.address)}: connect: ${ERRNO_TEXT[errno]}"`
  }
}

/** The networks Go's net.Dial knows that grpc-js can reach (tcp4/tcp6 are dialled as tcp). */
const DIALABLE: ReadonlySet<string> = new Set(['tcp', 'tcp4', 'tcp6', 'unix'])

/** Go's texts of the errno values a dial meets (syscall.Errno.Error()). */
const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  ECONNRESET: 'connection reset by peer',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
}

/** What grpc-go dials: the socket's path, or host:port with port 443 when none is given. */
function dialAddress(a: KeyServiceAddress): string {
  return a.network === 'unix' || /:\d*$/.test(a.address) ? a.address : `${a.address}:443`
}

/** grpc-js's name for the address: `unix:/path` for a socket, host:port for TCP (`:5000` is the local host's). */
function grpcTarget(a: KeyServiceAddress): string {
  const address = dialAddress(a)
  if (a.network === 'unix') return `unix:${address}`
  return address.startsWith(':') ? `localhost${address}` : address
}
