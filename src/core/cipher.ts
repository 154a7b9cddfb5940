/**
 * The value cipher: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` (spec §1).
 * AES-256-GCM through node:crypto with sops's 32-byte IV; the AAD is the value's key path.
 */
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomFillSync, type Hash, type KeyObject } from 'node:crypto'
import { Comment, Literal, Timestamp, type Scalar } from './tree.js'
import { DecryptValueError, EncryptTreeError } from './errors.js'
import { canonicalTimeText, formatFloatF, parseGoBool, parseGoFloat, parseGoInt } from './gofmt.js'

export const IV_SIZE = 32
export const TAG_SIZE = 16
export const DATA_KEY_SIZE = 32

export type ValueType = 'str' | 'int' | 'float' | 'bool' | 'time' | 'comment' | 'bytes' | (string & {})

/** What the cipher encrypts: a non-null scalar or a comment. */
export type Plaintext = Exclude<Scalar, null> | Comment

const ENC_PREFIX = 'ENC[AES256_GCM,data:'

export function isEncryptedValue(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith('ENC[AES256_GCM,')
}

/** The `type:` tag and plaintext bytes of a value, exactly as Go's Cipher.Encrypt writes them. */
export function encodePlaintext(v: Plaintext): { type: ValueType; bytes: Buffer } {
  if (v instanceof Literal) return { type: v.typeTag ?? encodePlaintext(v.value).type, bytes: Buffer.from(v.raw, 'utf8') }
  if (typeof v === 'string') return { type: 'str', bytes: Buffer.from(v, 'utf8') }
  if (v instanceof Uint8Array) return { type: 'str', bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength) }
  if (typeof v === 'bigint') return { type: 'int', bytes: Buffer.from(v.toString()) }
  if (typeof v === 'number') return { type: 'float', bytes: Buffer.from(formatFloatF(v)) }
  if (typeof v === 'boolean') return { type: 'bool', bytes: Buffer.from(v ? 'True' : 'False') }
  if (v instanceof Timestamp) return { type: 'time', bytes: Buffer.from(v.text) }
  return { type: 'comment', bytes: Buffer.from(v.text, 'utf8') }
}

/** Bytes fed to the MAC for a clear or decrypted value (sops.go:ToBytes). */
export function macBytes(v: Exclude<Scalar, null>): Buffer {
  return encodePlaintext(v instanceof Literal ? v.value : v).bytes
}

/** hash.update(macBytes(v)), without a Buffer per value for strings (most values). */
export function feedMac(hash: Hash, v: Exclude<Scalar, null>): void {
  if (typeof v === 'string') hash.update(v, 'utf8')
  else hash.update(macBytes(v))
}

function decodePlaintext(type: string, bytes: Buffer, rawStrings: boolean): Plaintext {
  const text = () => bytes.toString('utf8')
  switch (type) {
    case 'str':
      // The plaintext buffer is ours alone: hand it over instead of copying (64 MiB binaries).
      return rawStrings ? bytes : text()
    case 'bytes':
      return bytes
    case 'int': {
      const n = parseGoInt(text())
      if (n === undefined) throw new DecryptValueError(`Error decrypting value: could not parse int plaintext`)
      return n
    }
    case 'float': {
      const n = parseGoFloat(text())
      if (n === undefined) throw new DecryptValueError(`Error decrypting value: could not parse float plaintext`)
      return n
    }
    case 'bool': {
      const b = parseGoBool(text())
      if (b === undefined) throw new DecryptValueError(`Error decrypting value: could not parse bool plaintext`)
      return b
    }
    case 'time': {
      const t = canonicalTimeText(text())
      if (t === undefined) throw new DecryptValueError(`Error decrypting value: could not parse time plaintext`)
      return new Timestamp(t)
    }
    case 'comment':
      return new Comment(text())
    default:
      throw new DecryptValueError(`Unknown datatype: ${type}`)
  }
}

/**
 * Go base64.StdEncoding.DecodeString: padding required, nothing but the alphabet.
 * Node's decoder skips characters outside the alphabet (and stops at inner padding), so any
 * such character shows up as a shorter result than the length and padding promise; only the
 * URL-safe `-` and `_`, which Node accepts as digits, need a look of their own. This keeps the
 * check native-speed on a 90 MB value, where a regex over the string took most of a decrypt.
 */
export function strictBase64(s: string, field: string): Buffer {
  const fail = () => new DecryptValueError(`Error base64-decoding ${field}: illegal base64 data`)
  if (s.length % 4 !== 0 || s.includes('-') || s.includes('_')) throw fail()
  const decoded = Buffer.from(s, 'base64')
  const padding = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0
  if (decoded.length !== (s.length / 4) * 3 - padding) throw fail()
  return decoded
}

export interface EncryptedParts {
  data: Buffer
  iv: Buffer
  tag: Buffer
  type: string
}

/** `s.lastIndexOf(sub, from)`, but nothing when `from` is negative (JS would search at 0). */
function lastIndexAtOrBefore(s: string, sub: string, from: number): number {
  return from < 0 ? -1 : s.lastIndexOf(sub, from)
}

/**
 * The captures of sops's `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` (greedy,
 * `.` matching newlines), found without a backtracking regex: on a crafted value full of
 * `,iv:`/`,tag:`/`,type:` the regex takes time polynomial of degree 4 (6 KB took 18 s).
 * Greedy groups mean: type ends at the last `]`; tag at the last `,type:` leaving type
 * non-empty; iv at the last `,tag:` leaving tag non-empty; data at the last `,iv:` likewise.
 */
export function matchEncrypted(value: string): [data: string, iv: string, tag: string, type: string] | undefined {
  if (!value.startsWith(ENC_PREFIX)) return undefined
  const close = value.lastIndexOf(']')
  const typeAt = lastIndexAtOrBefore(value, ',type:', close - 7)
  const tagAt = lastIndexAtOrBefore(value, ',tag:', typeAt - 6)
  const ivAt = lastIndexAtOrBefore(value, ',iv:', tagAt - 5)
  if (typeAt < 0 || tagAt < 0 || ivAt < ENC_PREFIX.length + 1) return undefined
  return [value.slice(ENC_PREFIX.length, ivAt), value.slice(ivAt + 4, tagAt), value.slice(tagAt + 5, typeAt), value.slice(typeAt + 6, close)]
}

export function parseEncrypted(value: string): EncryptedParts {
  const m = matchEncrypted(value)
  if (!m) throw new DecryptValueError(`Input string does not match sops' data format`)
  const [data, iv, tag, type] = m
  return { data: strictBase64(data, 'data'), iv: strictBase64(iv, 'iv'), tag: strictBase64(tag, 'tag'), type }
}

/**
 * Remembers the IV each (AAD, typed plaintext) pair was decrypted with, so re-encrypting an
 * unchanged value under the same data key gives the same ciphertext (spec §1.6): small diffs.
 */
export class IvStash {
  private readonly ivs = new Map<string, Buffer>()

  /** A disabled stash remembers nothing: for plain decrypts, which never re-encrypt. */
  constructor(readonly enabled = true) {}

  private static key(aad: string, type: ValueType, bytes: Buffer, inline: boolean): string {
    // A digest, not the bytes: a 64 MiB binary value must not become another 90 MB string.
    const digest = bytes.length > 64 ? createHash('sha256').update(bytes).digest('base64') : bytes.toString('base64')
    return `${type}${inline ? 'i' : ''}\u0000${aad}\u0000${bytes.length}\u0000${digest}`
  }

  remember(aad: string, type: ValueType, bytes: Buffer, inline: boolean, iv: Buffer): void {
    if (!this.enabled || bytes.length > IvStash.MAX_VALUE) return
    this.ivs.set(IvStash.key(aad, type, bytes, inline), iv)
  }

  lookup(aad: string, type: ValueType, bytes: Buffer, inline: boolean): Buffer | undefined {
    // Nothing remembered (every fresh encrypt): skip building the key.
    if (this.ivs.size === 0 || bytes.length > IvStash.MAX_VALUE) return undefined
    return this.ivs.get(IvStash.key(aad, type, bytes, inline))
  }

  /**
   * Values above this size always get a fresh IV: hashing a 64 MiB binary twice per edit costs
   * more than the small-diff guarantee is worth for a value that is one huge line anyway.
   */
  static readonly MAX_VALUE = 1 << 20

  get size(): number {
    return this.ivs.size
  }
}

export interface DecryptOptions {
  /** Keep `str` plaintexts as bytes (binary files may hold non-UTF-8). */
  rawStrings?: boolean
  /**
   * Turn a plaintext back into a value for formats that encrypt source spellings (TOML's
   * Literal); return undefined to fall back to sops's typing.
   */
  decodeLiteral?: (type: string, text: string) => Plaintext | undefined
}

/** update() + final() without copying the (possibly huge) update output: GCM's final is empty. */
function joinFinal(head: Buffer, tail: Buffer): Buffer {
  return tail.length === 0 ? head : Buffer.concat([head, tail])
}

// IVs come from a CSPRNG pool refilled in bulk: one randomFillSync per 1,024 values instead of
// one per value (a 10,000-value file spent more time fetching IVs than encrypting).
const ivPool = Buffer.allocUnsafe(IV_SIZE * 1024)
let ivPoolOffset = ivPool.length

function freshIv(): Buffer {
  if (ivPoolOffset + IV_SIZE > ivPool.length) {
    randomFillSync(ivPool)
    ivPoolOffset = 0
  }
  // A copy: each value owns its IV, and the pool's bytes are never handed out twice.
  const iv = Buffer.from(ivPool.subarray(ivPoolOffset, ivPoolOffset + IV_SIZE))
  ivPoolOffset += IV_SIZE
  return iv
}

export class ValueCipher {
  /** One KeyObject for every value: createCipheriv then skips re-importing raw key bytes each call. */
  private readonly key: KeyObject

  constructor(
    dataKey: Uint8Array,
    /** Shared across decrypt → re-encrypt of one file to keep unchanged ciphertexts stable. */
    readonly stash: IvStash = new IvStash(),
  ) {
    if (dataKey.length !== DATA_KEY_SIZE) throw new EncryptTreeError(`data key must be ${DATA_KEY_SIZE} bytes, got ${dataKey.length}`)
    this.key = createSecretKey(dataKey)
  }

  /** Encrypt a value; empty strings and empty comments stay "" (spec §1.5). */
  encrypt(value: Plaintext, aad: string): string {
    const { type, bytes } = encodePlaintext(value)
    if (bytes.length === 0 && (type === 'str' || type === 'comment')) return ''
    const inline = value instanceof Comment && value.inline
    const iv = this.stash.lookup(aad, type, bytes, inline) ?? freshIv()
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    cipher.setAAD(Buffer.from(aad, 'utf8'))
    const data = joinFinal(cipher.update(bytes), cipher.final())
    const tag = cipher.getAuthTag()
    return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${tag.toString('base64')},type:${type}]`
  }

  /** Decrypt an `ENC[…]` string; "" decrypts to "". Throws DecryptValueError (exit 25). */
  decrypt(value: string, aad: string, options: DecryptOptions = {}): Plaintext {
    if (value === '') return ''
    const parts = parseEncrypted(value)
    const plain = this.open(parts, aad)
    const result =
      (parts.type !== 'comment' ? options.decodeLiteral?.(parts.type, plain.toString('utf8')) : undefined) ??
      decodePlaintext(parts.type, plain, options.rawStrings ?? false)
    if (this.stash.enabled) {
      const { type, bytes } = encodePlaintext(result)
      this.stash.remember(aad, type, bytes, false, parts.iv)
    }
    return result
  }

  private open({ data, iv, tag }: EncryptedParts, aad: string): Buffer {
    if (iv.length === 0) throw new DecryptValueError('Could not decrypt with AES_GCM: empty iv')
    if (tag.length !== TAG_SIZE) throw new DecryptValueError('Could not decrypt with AES_GCM: cipher: message authentication failed')
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv)
      decipher.setAAD(Buffer.from(aad, 'utf8'))
      decipher.setAuthTag(tag)
      return joinFinal(decipher.update(data), decipher.final())
    } catch {
      throw new DecryptValueError('Could not decrypt with AES_GCM: cipher: message authentication failed')
    }
  }
}
