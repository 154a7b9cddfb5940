/**
 * Protocol Buffers encoding of the few messages of sops's keyservice/keyservice.proto, by hand:
 * a runtime .proto loader (protobufjs) would weigh more than the whole protocol.
 *
 *   Key             oneof key_type { KmsKey kms_key = 1; PgpKey pgp_key = 2; … }   (keys.ts)
 *   EncryptRequest  Key key = 1; bytes plaintext = 2;     EncryptResponse  bytes ciphertext = 1;
 *   DecryptRequest  Key key = 1; bytes ciphertext = 2;    DecryptResponse  bytes plaintext = 1;
 *
 * Both requests share one shape (a key and some bytes), both responses another (some bytes).
 * proto3 rules: empty strings and bytes are left out, unknown fields are skipped, the last of a
 * repeated scalar or oneof wins, strings must be UTF-8.
 */
import type { KeyEntry, KeyFields } from '../keys/types.js'
import { KEY_MESSAGES, keyTypeOfOneof } from './keys.js'

/** A message that cannot be decoded (gRPC answers it with INTERNAL, as grpc-go does). */
export class ProtoDecodeError extends Error {
  constructor(reason: string) {
    super(`proto: cannot parse invalid wire-format data: ${reason}`)
    this.name = 'ProtoDecodeError'
  }
}

const VARINT = 0
const FIXED64 = 1
const LENGTH_DELIMITED = 2
const FIXED32 = 5

// ---------------------------------------------------------------------------------------------
// Encoding

class Writer {
  private readonly chunks: Uint8Array[] = []

  private varint(value: number): void {
    const bytes: number[] = []
    let v = value
    while (v > 0x7f) {
      bytes.push((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    bytes.push(v)
    this.chunks.push(Uint8Array.from(bytes))
  }

  /** A length-delimited field, written even when empty (a set oneof member, a map entry). */
  field(number: number, bytes: Uint8Array): this {
    this.varint(number * 8 + LENGTH_DELIMITED)
    this.varint(bytes.length)
    this.chunks.push(bytes)
    return this
  }

  /** A proto3 string or bytes field: left out when empty. */
  optional(number: number, value: string | Uint8Array): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
    return bytes.length === 0 ? this : this.field(number, bytes)
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks)
  }
}

/** The `Key` message of a key (an entry's identifying fields, see keys.ts). */
export function encodeKey(key: KeyEntry): Uint8Array {
  const message = KEY_MESSAGES[key.type]
  const inner = new Writer()
  for (const [name, number] of Object.entries(message.strings)) {
    const value = key.fields[name]
    if (typeof value === 'string') inner.optional(number, value)
  }
  for (const [name, number] of Object.entries(message.maps)) {
    const map = key.fields[name]
    if (typeof map !== 'object') continue
    for (const [k, v] of Object.entries(map)) inner.field(number, new Writer().optional(1, k).optional(2, v).finish())
  }
  return new Writer().field(message.oneof, inner.finish()).finish()
}

/** EncryptRequest {key, plaintext} or DecryptRequest {key, ciphertext}. */
export function encodeKeyRequest(key: KeyEntry, data: Uint8Array): Uint8Array {
  return new Writer().field(1, encodeKey(key)).optional(2, data).finish()
}

/** EncryptResponse {ciphertext} or DecryptResponse {plaintext}. */
export function encodeDataResponse(data: Uint8Array): Uint8Array {
  return new Writer().optional(1, data).finish()
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface Field {
  number: number
  /** The payload of a length-delimited field; undefined for the other wire types (skipped). */
  bytes?: Uint8Array
}

/** Every field of a message, in order. Throws ProtoDecodeError on truncated or malformed data. */
function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0
  const varint = (): number => {
    let value = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new ProtoDecodeError('unexpected EOF')
      const b = buf[pos++]!
      value += (b & 0x7f) * scale
      if (b < 0x80) return value
      scale *= 0x80
    }
    throw new ProtoDecodeError('variable length integer overflow')
  }
  const skip = (n: number) => {
    if (n > buf.length - pos) throw new ProtoDecodeError('unexpected EOF')
    pos += n
  }
  while (pos < buf.length) {
    const tag = varint()
    const number = Math.floor(tag / 8)
    const wire = tag % 8
    if (number === 0) throw new ProtoDecodeError('invalid field number')
    if (wire === VARINT) varint()
    else if (wire === FIXED64) skip(8)
    else if (wire === FIXED32) skip(4)
    else if (wire === LENGTH_DELIMITED) {
      const length = varint()
      const start = pos
      skip(length)
      yield { number, bytes: buf.subarray(start, pos) }
      continue
    } else throw new ProtoDecodeError(`unsupported wire type ${wire}`)
    yield { number }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new ProtoDecodeError('string field contains invalid UTF-8')
  }
}

/** A `Key` message; undefined when no key type is set (sops: "Must provide a key"). */
export function decodeKey(buf: Uint8Array): KeyEntry | undefined {
  let key: KeyEntry | undefined
  for (const f of fields(buf)) {
    const type = keyTypeOfOneof(f.number)
    if (type === undefined || f.bytes === undefined) continue
    key = { type, fields: decodeKeyFields(f.bytes, KEY_MESSAGES[type]) }
  }
  return key
}

function decodeKeyFields(buf: Uint8Array, message: (typeof KEY_MESSAGES)[keyof typeof KEY_MESSAGES]): KeyFields {
  const byNumber = new Map<number, [string, 'string' | 'map']>([
    ...Object.entries(message.strings).map(([name, n]): [number, [string, 'string']] => [n, [name, 'string']]),
    ...Object.entries(message.maps).map(([name, n]): [number, [string, 'map']] => [n, [name, 'map']]),
  ])
  const out: KeyFields = {}
  // proto3 strings read as "" when absent, as Go's generated structs do.
  for (const name of Object.keys(message.strings)) out[name] = ''
  for (const f of fields(buf)) {
    const known = byNumber.get(f.number)
    if (!known || f.bytes === undefined) continue
    const [name, kind] = known
    if (kind === 'string') out[name] = text(f.bytes)
    else {
      const map = typeof out[name] === 'object' ? out[name] : (out[name] = {})
      const [k, v] = decodeMapEntry(f.bytes)
      map[k] = v
    }
  }
  return out
}

function decodeMapEntry(buf: Uint8Array): [string, string] {
  let key = ''
  let value = ''
  for (const f of fields(buf)) {
    if (f.bytes === undefined) continue
    if (f.number === 1) key = text(f.bytes)
    else if (f.number === 2) value = text(f.bytes)
  }
  return [key, value]
}

export interface KeyRequest {
  /** Undefined when the request names no key. */
  key?: KeyEntry
  data: Uint8Array
}

export function decodeKeyRequest(buf: Uint8Array): KeyRequest {
  let key: KeyEntry | undefined
  let data: Uint8Array = new Uint8Array(0)
  for (const f of fields(buf)) {
    if (f.bytes === undefined) continue
    if (f.number === 1) key = decodeKey(f.bytes)
    else if (f.number === 2) data = f.bytes
  }
  return key === undefined ? { data } : { key, data }
}

export function decodeDataResponse(buf: Uint8Array): Uint8Array {
  let data: Uint8Array = new Uint8Array(0)
  for (const f of fields(buf)) if (f.number === 1 && f.bytes !== undefined) data = f.bytes
  return data
}
