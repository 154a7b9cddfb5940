/**
 * The value cipher: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` (spec §1).
 * AES-256-GCM through node:crypto with sops's 32-byte IV; the AAD is the value's key path.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { Comment, Literal, Timestamp, type Scalar } from './tree.js'
import { DecryptValueError, EncryptTreeError } from './errors.js'
import { canonicalTimeText, formatFloatF, parseGoBool, parseGoFloat, parseGoInt } from './gofmt.js'

export const IV_SIZE = 32
export const TAG_SIZE = 16
export const DATA_KEY_SIZE = 32

export type ValueType = 'str' | 'int' | 'float' | 'bool' | 'time' | 'comment' | 'bytes' | (string & {})

/** What the cipher encrypts: a non-null scalar or a comment. */
export type Plaintext = Exclude<Scalar, null> | Comment

const ENC_RE = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/s

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

function decodePlaintext(type: string, bytes: Buffer, rawStrings: boolean): Plaintext {
  const text = () => bytes.toString('utf8')
  switch (type) {
    case 'str':
      return rawStrings ? new Uint8Array(bytes) : text()
    case 'bytes':
      return new Uint8Array(bytes)
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

// Linear, non-backtracking check (a grouped repetition overflows the regex stack on ~90 MB values).
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/

/** Go base64.StdEncoding.DecodeString: padding required, nothing but the alphabet. */
export function strictBase64(s: string, field: string): Buffer {
  if (s.length % 4 !== 0 || !B64_RE.test(s)) throw new DecryptValueError(`Error base64-decoding ${field}: illegal base64 data`)
  return Buffer.from(s, 'base64')
}

export interface EncryptedParts {
  data: Buffer
  iv: Buffer
  tag: Buffer
  type: string
}

export function parseEncrypted(value: string): EncryptedParts {
  const m = ENC_RE.exec(value)
  if (!m) throw new DecryptValueError(`Input string does not match sops' data format`)
  const [, data, iv, tag, type] = m as unknown as [string, string, string, string, string]
  return { data: strictBase64(data, 'data'), iv: strictBase64(iv, 'iv'), tag: strictBase64(tag, 'tag'), type }
}

/**
 * Remembers the IV each (AAD, typed plaintext) pair was decrypted with, so re-encrypting an
 * unchanged value under the same data key gives the same ciphertext (spec §1.6): small diffs.
 */
export class IvStash {
  private readonly ivs = new Map<string, Buffer>()

  private static key(aad: string, type: ValueType, bytes: Buffer, inline: boolean): string {
    // A digest, not the bytes: a 64 MiB binary value must not become another 90 MB string.
    const digest = bytes.length > 64 ? createHash('sha256').update(bytes).digest('base64') : bytes.toString('base64')
    return `${type}${inline ? 'i' : ''}\u0000${aad}\u0000${bytes.length}\u0000${digest}`
  }

  remember(aad: string, type: ValueType, bytes: Buffer, inline: boolean, iv: Buffer): void {
    this.ivs.set(IvStash.key(aad, type, bytes, inline), iv)
  }

  lookup(aad: string, type: ValueType, bytes: Buffer, inline: boolean): Buffer | undefined {
    return this.ivs.get(IvStash.key(aad, type, bytes, inline))
  }

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

export class ValueCipher {
  constructor(
    private readonly dataKey: Uint8Array,
    /** Shared across decrypt → re-encrypt of one file to keep unchanged ciphertexts stable. */
    readonly stash: IvStash = new IvStash(),
  ) {
    if (dataKey.length !== DATA_KEY_SIZE) throw new EncryptTreeError(`data key must be ${DATA_KEY_SIZE} bytes, got ${dataKey.length}`)
  }

  /** Encrypt a value; empty strings and empty comments stay "" (spec §1.5). */
  encrypt(value: Plaintext, aad: string): string {
    const { type, bytes } = encodePlaintext(value)
    if (bytes.length === 0 && (type === 'str' || type === 'comment')) return ''
    const inline = value instanceof Comment && value.inline
    const iv = this.stash.lookup(aad, type, bytes, inline) ?? randomBytes(IV_SIZE)
    const cipher = createCipheriv('aes-256-gcm', this.dataKey, iv)
    cipher.setAAD(Buffer.from(aad, 'utf8'))
    const data = Buffer.concat([cipher.update(bytes), cipher.final()])
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
    const { type, bytes } = encodePlaintext(result)
    this.stash.remember(aad, type, bytes, false, parts.iv)
    return result
  }

  private open({ data, iv, tag }: EncryptedParts, aad: string): Buffer {
    if (iv.length === 0) throw new DecryptValueError('Could not decrypt with AES_GCM: empty iv')
    if (tag.length !== TAG_SIZE) throw new DecryptValueError('Could not decrypt with AES_GCM: cipher: message authentication failed')
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.dataKey, iv)
      decipher.setAAD(Buffer.from(aad, 'utf8'))
      decipher.setAuthTag(tag)
      return Buffer.concat([decipher.update(data), decipher.final()])
    } catch {
      throw new DecryptValueError('Could not decrypt with AES_GCM: cipher: message authentication failed')
    }
  }
}
