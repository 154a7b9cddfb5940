/**
 * sops's binary store (spec §5.3, upstream `stores/json/store.go:BinaryStore`): any file that is
 * not YAML/JSON/dotenv/INI. The whole plaintext is one value `data`; the encrypted file is a
 * JSON store document `{"data": "ENC[…]", "sops": {…}}`.
 *
 * Reading is split by direction because the two are ambiguous: a plaintext that happens to be
 * JSON with `data` and `sops` keys (e.g. an encrypted file being encrypted again as binary) must
 * stay opaque bytes, as in sops, where the command decides (LoadPlainFile vs LoadEncryptedFile).
 * So `binaryFormat.parse` always wraps raw bytes, and `parseEncryptedBinary` reads the JSON form.
 *
 * The payload is never turned into a JS string: `data` is a Uint8Array view of the input (no
 * copy), and plaintext output returns the decrypted bytes as they are.
 */
import { BinaryEmitError, EmitError } from '../core/errors.js'
import { TreeMap, type Value } from '../core/tree.js'
import type { Document, EmitOptions, Format } from './format.js'
import { emitJsonDocument, parseEncryptedJson, SOPS_KEY } from './json.js'

export const DATA_KEY = 'data'

/** What sops's decrypt adds to a binary emit failure (as part of the message, see decrypt.ts). */
export const NOT_BINARY_HINT = 'This is likely not an encrypted binary file? If not, use --output-type to select the correct output type.'

function binaryEmitError(detail: string): BinaryEmitError {
  return new BinaryEmitError(`error emitting binary store: ${detail}`)
}

/** LoadPlainFile: the file's bytes as the single value `data` (an empty file gives ""). */
function parsePlainBinary(bytes: Uint8Array): Document {
  const data: Value = bytes.length === 0 ? '' : bytes
  return { branches: [new TreeMap([{ key: DATA_KEY, value: data }])], metadata: undefined }
}

/** LoadEncryptedFile: the JSON store document with its metadata extracted. */
export function parseEncryptedBinary(bytes: Uint8Array): Document {
  return parseEncryptedJson(bytes)
}

/** EmitPlainFile: the first `data` value's bytes, nothing added. */
function emitPlainBinary(doc: Document): Uint8Array {
  if (doc.branches.length !== 1) throw binaryEmitError('there must be exactly one tree branch')
  const entry = doc.branches[0]!.entry(DATA_KEY)
  if (entry === undefined) throw binaryEmitError('no binary data found in tree')
  const data = entry.value
  if (data instanceof Uint8Array) return data
  if (typeof data === 'string') return Buffer.from(data, 'utf8')
  throw binaryEmitError(`'${DATA_KEY}' key in tree does not have a string value`)
}

/** An ENC value needs no JSON escaping: base64, the ENC frame's punctuation and the type name. */
const JSON_SAFE_ENC = /^ENC\[AES256_GCM,[A-Za-z0-9+/=,:_]*\]$/

/**
 * The encrypted envelope, with the (possibly 90 MB) `data` value spliced in as bytes instead of
 * going through the JSON escaper, an array join and a UTF-8 encode: same output, a fraction of
 * the memory and time. Anything unusual takes the general JSON path.
 */
function emitEncryptedBinary(doc: Document, options?: EmitOptions): Uint8Array {
  const entries = doc.branches.length === 1 ? doc.branches[0]!.entries() : []
  const data = entries.length === 1 && entries[0]!.key === DATA_KEY ? entries[0]!.value : undefined
  if (typeof data !== 'string' || data.length < 1024 || !JSON_SAFE_ENC.test(data)) return emitJsonDocument(doc, options)
  const placeholder = new TreeMap([{ key: DATA_KEY, value: '' }])
  const frame = Buffer.from(emitJsonDocument({ ...doc, branches: [placeholder] }, options))
  const slot = frame.indexOf('"data": ""') + '"data": "'.length
  // One allocation for the whole file; the value is written straight into it (ASCII = latin1).
  const out = Buffer.allocUnsafe(frame.length + data.length)
  frame.copy(out, 0, 0, slot)
  out.write(data, slot, 'latin1')
  frame.copy(out, slot + data.length, slot)
  return out
}

// ---- streaming: the envelope around a payload that is never held as one value -------------

/** How the `data` value of every encrypted binary file begins; its base64 ciphertext follows. */
export const ENC_DATA_PREFIX = 'ENC[AES256_GCM,data:'

/** The encrypted envelope split around the base64 payload of `data`: what comes before it and after it. */
export interface BinaryFrame {
  head: Buffer
  tail: Buffer
}

/**
 * The exact bytes the JSON store writes around `data`'s ciphertext, for a `data` value
 * `ENC[AES256_GCM,data:<payload><afterPayload>` (afterPayload = `,iv:…,tag:…,type:str]`), so the
 * payload can be written in chunks between them: same output as `emit`, never one 90 MB value.
 */
export function encryptedBinaryFrame(afterPayload: string, metadata: TreeMap, options?: EmitOptions): BinaryFrame {
  const value = `${ENC_DATA_PREFIX}${afterPayload}`
  if (!JSON_SAFE_ENC.test(value)) throw binaryEmitError('the encrypted value needs JSON escapes')
  const frame = Buffer.from(emitJsonDocument({ branches: [new TreeMap([{ key: DATA_KEY, value }])], metadata }, options))
  const marker = `"${DATA_KEY}": "${ENC_DATA_PREFIX}`
  const at = frame.indexOf(marker)
  if (at < 0) throw binaryEmitError('no data value in the envelope')
  const slot = at + marker.length
  return { head: frame.subarray(0, slot), tail: frame.subarray(slot) }
}

/**
 * Reads `length` bytes at `position` of the file being decrypted (fewer only at its end), into
 * `into` when given (a reused block buffer: small steady garbage instead of one buffer per block).
 */
export type ReadAt = (position: number, length: number, into?: Buffer) => Buffer

/** Where `data`'s base64 ciphertext lies in an encrypted binary file, and the file without it. */
export interface BinaryPayload {
  /** Byte offsets of the payload: [start, end). */
  start: number
  end: number
  /** The file with the payload cut out: the envelope, with `data` = `ENC[AES256_GCM,data:,iv:…]`. */
  skeleton: Buffer
}

/** The file as tsops and sops write it: `data` is the first key and its value starts the ENC frame. */
const PAYLOAD_START = /^[ \t\r\n]*\{[ \t\r\n]*"data"[ \t\r\n]*:[ \t\r\n]*"ENC\[AES256_GCM,data:/
const NOT_BASE64 = /[^A-Za-z0-9+/=]/
const SCAN_BLOCK = 64 << 10
/** The envelope after the payload is a few KiB of metadata; anything much larger is not ours to stream. */
const MAX_TAIL = 1 << 20

/**
 * Find the payload without reading the file into memory: the run of base64 after the ENC
 * prefix of a leading `data` key. Undefined for anything unusual (another layout, padding
 * inside the run, a length that is not a multiple of 4, a huge envelope): the caller then reads
 * the file whole, so unusual files behave exactly as before.
 */
export function locateBinaryPayload(read: ReadAt, size: number): BinaryPayload | undefined {
  const head = read(0, Math.min(size, 4096))
  const start = PAYLOAD_START.exec(head.toString('latin1'))?.[0].length
  if (start === undefined) return undefined
  let end = -1
  let firstPad = -1
  const buffer = Buffer.allocUnsafe(SCAN_BLOCK)
  for (let pos = start; pos < size && end < 0; pos += SCAN_BLOCK) {
    const block = read(pos, Math.min(SCAN_BLOCK, size - pos), buffer).toString('latin1')
    const stop = block.search(NOT_BASE64)
    const pad = block.indexOf('=')
    if (firstPad < 0 && pad >= 0 && (stop < 0 || pad < stop)) firstPad = pos + pad
    if (stop >= 0) end = pos + stop
  }
  if (end < 0 || (end - start) % 4 !== 0 || size - end > MAX_TAIL) return undefined
  if (firstPad >= 0 && firstPad < end - 2) return undefined
  return { start, end, skeleton: Buffer.concat([head.subarray(0, start), read(end, size - end)]) }
}

export const binaryFormat: Format = {
  name: 'binary',
  capabilities: { rawStrings: true, comments: false, multipleDocuments: false, encryptionRules: false, example: 'text' },
  extensions: [],
  parse: parsePlainBinary,
  /** Encrypted output (metadata present) is the JSON store's; decrypted output is the raw bytes. */
  emit(doc: Document, options?: EmitOptions): Uint8Array {
    return doc.metadata !== undefined ? emitEncryptedBinary(doc, options) : emitPlainBinary(doc)
  },
  emitValue(): never {
    throw new EmitError('Binary files are not structured and extracting a single value is not possible')
  },
  /** A plaintext binary branch only ever holds `data`, so this is false for it, as in sops. */
  hasMetadataKey: (doc) => doc.metadata !== undefined || doc.branches.some((b) => b.entry(SOPS_KEY) !== undefined),
}
