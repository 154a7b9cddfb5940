/**
 * The contract every file format implements (one file per format in this folder).
 *
 * A format turns bytes into sops's ordered tree (plus the raw `sops` metadata block, still as a
 * tree) and back. The core never sees bytes; a format never sees keys or ciphers.
 */
import type { TreeMap, Value } from '../core/tree.js'
import type { Plaintext } from '../core/cipher.js'

export type FormatName = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary' | 'toml'

export interface Document {
  /** One branch per YAML document; exactly one for every other format. */
  branches: TreeMap[]
  /**
   * The `sops` metadata block as a plain tree, unflattened (dotenv `sops_*` keys and the INI
   * `[sops]` section are folded back into nested maps/lists). Undefined for plaintext files.
   */
  metadata: TreeMap | undefined
  /** Format-private state kept from parse so emit can preserve layout (e.g. TOML's source). */
  origin?: unknown
}

export interface EmitOptions {
  /** --indent / stores.<format>.indent from .sops.yaml */
  indent?: number
}

/**
 * What a format can hold and how the pipeline must treat it: code outside this folder asks these
 * instead of switching on the format's name.
 */
export interface FormatCapabilities {
  /** Decrypted `str` values stay bytes: a binary file may hold anything, not only UTF-8. */
  readonly rawStrings: boolean
  /** Comments are part of the tree (and encrypted like values). */
  readonly comments: boolean
  /** One file may hold several documents (YAML's `---`). */
  readonly multipleDocuments: boolean
  /**
   * Encryption rules (`unencrypted_suffix`, …) are written into the file's metadata. sops's binary
   * store forces them empty.
   */
  readonly encryptionRules: boolean
  /**
   * What `edit` of a new file starts from (sops's EmitExample, stores.go): the complex tree
   * (YAML, JSON), the simple one of sections (INI), the flat one (dotenv), or a line of text.
   */
  readonly example: 'complex-tree' | 'simple-tree' | 'flat-tree' | 'text'
}

export interface Format {
  readonly name: FormatName
  readonly capabilities: FormatCapabilities
  /** File name suffixes, with the dot: ['.yaml', '.yml'] */
  readonly extensions: readonly string[]
  /** Parse a plaintext or encrypted file. Throws FormatError (exit 2) with line/column. */
  parse(bytes: Uint8Array): Document
  /** Serialize; writes `doc.metadata` where the format keeps it when present. */
  emit(doc: Document, options?: EmitOptions): Uint8Array
  /** `--extract` of a non-map value (YAML `42\n`, JSON re-indented). Throws if unsupported. */
  emitValue?(value: Value, options?: EmitOptions): Uint8Array
  /**
   * For formats that encrypt source spellings (TOML Literals): turn a decrypted plaintext of
   * `type` back into a value. Undefined (or returning undefined) = sops's typing.
   */
  decodeLiteral?(type: string, text: string): Plaintext | undefined
  /** Does the parsed plaintext already carry sops metadata keys (top-level `sops`, or `sops_*`)? */
  hasMetadataKey(doc: Document): boolean
}
