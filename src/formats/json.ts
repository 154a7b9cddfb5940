/**
 * sops's JSON store (spec §5.2, upstream `stores/json/store.go`), byte for byte.
 *
 * Reading follows Go's `json.Decoder.Token()` state machine (that is what sops streams through),
 * so duplicate keys survive in order and error texts match Go's ("invalid character 'x' looking
 * for beginning of value"). Numbers follow sops's `UseNumber` + `normalizeJSONNumber`: integer
 * syntax within int64 is an int (bigint), anything else a float64.
 *
 * Writing reproduces `encodeTree` + `json.Indent`: Go's `json.Marshal` string escaping (HTML-safe,
 * `\b`/`\f` since Go 1.22, invalid UTF-8 as `\ufffd`), `": "` after keys, `{}`/`[]` when empty,
 * comments skipped, the `sops` block as the last key and a trailing newline.
 *
 * Both directions use explicit stacks instead of recursion, so deep input can never overflow the
 * JS stack; nesting is capped at Go's scanner limit (10000), beyond which sops cannot emit anyway.
 *
 * The reader is json-read.ts, the writer json-write.ts, Go's text rules go-text.ts; this file is
 * the store: the `sops` entry taken out and put back, and the Format.
 */
import { EmitError, GenericError } from '../core/errors.js'
import { TreeMap, type Value } from '../core/tree.js'
import type { Document, EmitOptions, Format } from './format.js'
import { asBuffer } from './go-text.js'
import { JsonReader } from './json-read.js'
import { encodeToBytes } from './json-write.js'

export { MAX_DEPTH } from './json-read.js'
export { quoteJsonString } from './json-write.js'
export { decodeUtf8Go } from './go-text.js'

/** The reserved top-level key holding the metadata. */
export const SOPS_KEY = 'sops'

/** How sops reports a plaintext parse failure (`encrypt`/`edit`): command prefix + store prefix. */
export const PLAIN_PARSE_PREFIX = 'Error unmarshalling file: Could not unmarshal input data: '
/** How sops reports an encrypted-file parse failure (`decrypt`): only the store prefix. */
export const ENCRYPTED_PARSE_PREFIX = 'Could not unmarshal input data: '

export interface ParseJsonOptions {
  /** Prepended to every parse error message (see PLAIN_PARSE_PREFIX / ENCRYPTED_PARSE_PREFIX). */
  prefix?: string
  /**
   * sops's ExtractMetadata checks: a duplicate or non-mapping `sops` entry is an error. Off for
   * plaintext, where any `sops` key must instead surface as "already encrypted" (exit 203).
   */
  strictMetadata?: boolean
}

/** Parse a JSON store file; a single mapping `sops` entry becomes `metadata`. */
export function parseJsonDocument(bytes: Uint8Array, options: ParseJsonOptions = {}): Document {
  const root = new JsonReader(asBuffer(bytes), options.prefix ?? PLAIN_PARSE_PREFIX).readDocument()
  return { branches: [root], metadata: extractMetadata(root, options.strictMetadata ?? false) }
}

/**
 * Take the `sops` entry out of the root. Without `strict`, anything but exactly one mapping
 * entry is left in place, so `hasMetadataKey` still reports it.
 */
function extractMetadata(root: TreeMap, strict: boolean): TreeMap | undefined {
  const entries = root.entries().filter((e) => e.key === SOPS_KEY)
  if (entries.length === 0) return undefined
  if (strict && entries.length > 1) throw new GenericError(`Found duplicate ${SOPS_KEY} entry`, { code: 'INVALID_METADATA' })
  const first = entries[0]!
  if (!(first.value instanceof TreeMap)) {
    if (strict) throw new GenericError(`Found ${SOPS_KEY} entry that is not a mapping`, { code: 'INVALID_METADATA' })
    return undefined
  }
  if (entries.length > 1) return undefined
  root.delete(SOPS_KEY)
  return first.value
}

/** Strict parse of an encrypted JSON file (sops's LoadEncryptedFile messages). */
export function parseEncryptedJson(bytes: Uint8Array): Document {
  return parseJsonDocument(bytes, { prefix: ENCRYPTED_PARSE_PREFIX, strictMetadata: true })
}

/** EmitPlainFile / EmitEncryptedFile: the first branch, `sops` appended last, trailing newline. */
export function emitJsonDocument(doc: Document, options?: EmitOptions): Uint8Array {
  const branch = doc.branches[0] ?? new TreeMap()
  let root = branch
  if (doc.metadata !== undefined) {
    if (branch.entry(SOPS_KEY) !== undefined) {
      throw new EmitError(
        `Error marshaling metadata: Found key "${SOPS_KEY}" in encrypted data, which is a reserved key used for SOPS metadata`,
      )
    }
    root = new TreeMap([...branch.items, { key: SOPS_KEY, value: doc.metadata }])
  }
  return encodeToBytes(root, options, '\n', 'Error marshaling to json: ')
}

/** EmitValue (`--extract` of a list or scalar): re-indented, no trailing newline. */
export function emitJsonValue(value: Value, options?: EmitOptions): Uint8Array {
  return encodeToBytes(value, options, '', '')
}

export const jsonFormat: Format = {
  name: 'json',
  capabilities: { rawStrings: false, comments: false, multipleDocuments: false, encryptionRules: true, example: 'complex-tree' },
  extensions: ['.json'],
  parse: (bytes) => parseJsonDocument(bytes),
  emit: emitJsonDocument,
  emitValue: emitJsonValue,
  hasMetadataKey: (doc) => doc.metadata !== undefined || doc.branches.some((b) => b.entry(SOPS_KEY) !== undefined),
}
