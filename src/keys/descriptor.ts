/**
 * What one key source declares about itself: its names in the metadata, on the command line and
 * in .sops.yaml, how its ids are normalised, compared and read from a key_groups entry, and the
 * module that implements it. Each source has a small descriptor file in ./sources/ (data and
 * pure functions only, nothing heavy: the CLI loads them all at start-up) whose `load` imports
 * the implementation on first use, so an age-only decrypt never loads PGP or cloud SDK code.
 */
import { formatPath, type FieldPath } from '../core/field-path.js'
import type { KeyFields, KeyType } from '../core/key-entry.js'
import type { KeyEntry, KeySource, KeySpec, KeySpecOptions } from './types.js'

/** What each key-source implementation file exports. */
export interface KeySourceModule {
  /** A source for an entry read from a file's metadata (enc and all other fields included). */
  fromEntry(entry: KeyEntry): KeySource
  /** A source for one id given on the CLI, in an env var or in .sops.yaml (already split on commas). */
  fromSpec(spec: string, options?: KeySpecOptions): KeySource
}

/** The accessors a key_groups entry of .sops.yaml is read with (config/source.ts ConfigSource). */
export interface ConfigReader {
  /** null/absent → undefined; a field outside `known` is warned about and ignored. */
  map(v: unknown, path: FieldPath, known: readonly string[]): Record<string, unknown> | undefined
  /** null/absent → undefined; numbers and booleans as their text unless `strict`. */
  string(v: unknown, path: FieldPath, strict?: boolean): string | undefined
  error(path: FieldPath, message: string): Error
}

/** `--<name>` / `-<short>` on encrypt and edit, `--add-<name>` / `--rm-<name>` on rotate. */
export interface KeyFlag<Name extends string = string> {
  readonly name: Name
  readonly short?: string
  /** Env var read when the flag is absent (a comma list). */
  readonly env: string
  /** The help lines of the flag, --add-… and --rm-…, in sops's own words. */
  readonly usage: string
  readonly addUsage: string
  readonly rmUsage: string
  /** Other flags that help lists right after this one (kms: --aws-profile). */
  readonly helpWith?: readonly string[]
}

export interface KeySourceDescriptor<FlagName extends string = string> {
  readonly type: KeyType
  /** Field name inside a key group of the `sops` metadata block. */
  readonly metadataField: string
  /** Its metadata entries carry `created_at` (stamped when the key wraps the data key). */
  readonly createdAt: boolean
  /** Written as `[]` in every key_groups entry of the metadata, even when empty (no omitempty in sops). */
  readonly alwaysInKeyGroups?: boolean
  /**
   * sops's comma-list constructor for the type skips empty items (`--hc-vault-transit a,,b`);
   * for the others an empty item is a key with an empty id, which fails as in sops.
   */
  readonly skipsEmptyListItems?: boolean
  /** Throws what sops refuses in a metadata entry when it loads the file (core/key-entry.ts MetadataKeyList). */
  readonly checkEntry?: (fields: KeyFields, where: string) => void
  readonly flag: KeyFlag<FlagName>
  readonly config: {
    /** Field of a flat creation rule (a string comma list or a list of them). */
    readonly field: string
    /** The flat field is a Go `[]string` in sops: a list is required, a plain string refused. */
    readonly typedSlice?: boolean
    /** Field inside a `key_groups` entry. */
    readonly groupField: string
    /** How one item of that field is read; absent: the item is a string (itself a comma list). */
    readonly groupEntry?: (reader: ConfigReader, item: unknown, path: FieldPath) => KeySpec[]
  }
  /** The key's id from its metadata fields (what --rm-* and key-group diffs match on). */
  idOf(fields: KeyFields): string
  /** How sops's messages name the key (MasterKey.ToString) when that is more than the id. */
  labelOf?(fields: KeyFields): string
  /** An id as sops's key constructor normalises it. */
  normalizeId(raw: string): string
  /** The spec of one list entry (flag, env var, flat rule); default: the normalised id. */
  specOf?(entry: string, options: KeySpecOptions): KeySpec
  /** A flat rule's key with --encryption-context applied (sops applies it to KMS keys only). */
  withEncryptionContext?(spec: KeySpec, context: Record<string, string>): KeySpec
  /** Whether two ids name the same key (sops compares MasterKey.ToString); default: equal strings. */
  sameId?(a: string, b: string): boolean
  /** Its `Key` message in sops's keyservice.proto (src/keyservice speaks it). */
  readonly keyService: KeyServiceMessage
  /** Undefined until the source is implemented: files using it still parse, the key just fails. */
  readonly load?: () => Promise<KeySourceModule>
}

/**
 * A key type's message in sops's keyservice/keyservice.proto. Metadata field names are the
 * .proto's names except PGP's `fp` (the .proto's `fingerprint`).
 */
export interface KeyServiceMessage {
  /** Field number of the type's message inside `Key` (`oneof key_type`). */
  readonly oneof: number
  /** string fields: metadata field name -> field number. */
  readonly strings: Readonly<Record<string, number>>
  /** map<string, string> fields: metadata field name -> field number. */
  readonly maps: Readonly<Record<string, number>>
  /** How the server's --prompt names the key (server.go keyToString; it has no words for age). */
  readonly title: (f: Readonly<Record<string, string>>) => string
}

/** Keeps the flag name's literal type, from which the CLI's flag names are derived. */
export function defineKeySource<const FlagName extends string>(descriptor: KeySourceDescriptor<FlagName>): KeySourceDescriptor<FlagName> {
  return descriptor
}

/** A string field of metadata fields, '' when absent. */
export function stringField(fields: KeyFields, name: string): string {
  const v = fields[name]
  return typeof v === 'string' ? v : ''
}

/** sops's constructors of these keys strip every space ("AAAA BBBB …" is a common way to paste a fingerprint). */
export const stripSpaces = (raw: string): string => raw.replace(/ /g, '')

/** Other ids are only trimmed. */
export const trimSpaces = (raw: string): string => raw.trim()

/** A required, trimmed string field of a key_groups entry. */
export function requiredField(reader: ConfigReader, m: Record<string, unknown> | undefined, path: FieldPath, field: string): string {
  const s = reader.string(m?.[field], [...path, field])?.trim()
  if (!s) throw reader.error(path, `${formatPath([...path, field])} is required`)
  return s
}
