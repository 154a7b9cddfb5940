/**
 * Master-key entries as core sees them: a type id and the fields sops stores for the key.
 *
 * Core names no key type. Each key source declares its id from its own descriptor file in
 * src/keys/sources/ by adding a property to KeyTypeIds (TypeScript declaration merging), so a new
 * source extends KeyType without touching core, and core code that reads or writes key lists is
 * handed the list of sources (src/keys/metadata.ts) instead of spelling it.
 */

/** One property per key type id; see src/keys/sources/*.ts. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging, one property per key source
export interface KeyTypeIds {}

export type KeyType = Extract<keyof KeyTypeIds, string>

/** The metadata fields of one master key exactly as sops stores them (enc included). */
export type KeyFields = Record<string, string | Record<string, string>>

export interface KeyEntry {
  type: KeyType
  fields: KeyFields
}

/** What core needs to read and write one key type's list in a metadata key group. */
export interface MetadataKeyList {
  readonly type: KeyType
  /** Field name inside a key group of the `sops` metadata block. */
  readonly metadataField: string
  /** Its entries carry a `created_at` that must parse as RFC 3339 (every type but age). */
  readonly createdAt: boolean
  /** Written as `[]` in every key_groups entry even when empty (a Go struct field without omitempty). */
  readonly alwaysInKeyGroups: boolean
  /**
   * Throws what sops's metadata loader refuses in an entry beyond its `created_at` (its key
   * constructor's errors), so the file is refused at load, before any key is asked.
   * `where` names the entry (`key_groups[0].hckms[1]`).
   */
  readonly checkEntry?: (fields: KeyFields, where: string) => void
}
