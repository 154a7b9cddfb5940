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

export const binaryFormat: Format = {
  name: 'binary',
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
