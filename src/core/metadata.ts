/**
 * The `sops` metadata block (spec §5.7): read from the generic tree any format hands over, and
 * written back as sops writes it — every map's keys sorted, `age: []`/`hc_vault: []` in every
 * key group, `lastmodified` and `created_at` as RFC 3339 strings, `version` valid semver.
 */
import { TreeMap, TreeSeq, Timestamp, Literal, type Value } from './tree.js'
import { GenericError, MetadataNotFoundError } from './errors.js'
import { RULE_FIELDS, assertSingleRule, type EncryptionRules } from './rules.js'
import { canonicalSecondsTime, formatFloatF } from './gofmt.js'
import type { KeyEntry, KeyFields, MetadataKeyList } from './key-entry.js'

/** The sops format version tsops writes: the sops release whose format it emulates. */
export const SOPS_FORMAT_VERSION = '3.13.2'

export interface Metadata {
  /** One inner list per key group; a single group is written as top-level key lists. */
  keyGroups: KeyEntry[][]
  /** 0 when unset. */
  shamirThreshold: number
  lastModified: string
  /** `ENC[…]` of the MAC, or '' in broken files. */
  mac: string
  rules: EncryptionRules
  version: string
}

// ---- reading ----------------------------------------------------------------------------

/** Scalars as strings, the way mapstructure's WeaklyTypedInput reads them. */
function weakString(v: Value | undefined): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v)
  if (typeof v === 'number') return formatFloatF(v)
  if (v instanceof Timestamp) return v.text
  if (v instanceof Literal) return v.raw
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8')
  return undefined
}

/** Field lookup is case-insensitive, as with mapstructure. */
function field(map: TreeMap, name: string): Value | undefined {
  for (const e of map.entries()) if (e.key.toLowerCase() === name) return e.value
  return undefined
}

function readKeyFields(map: TreeMap, where: string): KeyFields {
  const fields: KeyFields = {}
  for (const { key, value } of map.entries()) {
    const name = key.toLowerCase()
    if (value instanceof TreeMap) {
      const sub: Record<string, string> = {}
      for (const e of value.entries()) sub[e.key] = weakString(e.value) ?? ''
      fields[name] = sub
    } else {
      const s = weakString(value)
      if (s !== undefined) fields[name] = s
      else if (value !== null) throw new GenericError(`invalid metadata: ${where}.${key} must be a string`, { code: 'INVALID_METADATA' })
    }
  }
  return fields
}

function readKeyList(container: TreeMap, keyList: MetadataKeyList, where: string): KeyEntry[] {
  const { type, metadataField: name } = keyList
  const list = field(container, name)
  if (list === undefined || list === null) return []
  if (!(list instanceof TreeSeq)) throw new GenericError(`invalid metadata: ${where}${name} must be a list`, { code: 'INVALID_METADATA' })
  return list.values().map((item, i) => {
    if (!(item instanceof TreeMap)) throw new GenericError(`invalid metadata: ${where}${name}[${i}] must be a mapping`, { code: 'INVALID_METADATA' })
    const fields = readKeyFields(item, `${where}${name}[${i}]`)
    if (keyList.createdAt) requireTime(fields.created_at, `${where}${name}[${i}].created_at`)
    keyList.checkEntry?.(fields, `${where}${name}[${i}]`)
    return { type, fields }
  })
}

/** One group's keys, list by list in the order given (sops's order: the decryption attempt order before sorting). */
function readGroup(container: TreeMap, keyLists: readonly MetadataKeyList[], where: string): KeyEntry[] {
  return keyLists.flatMap((keyList) => readKeyList(container, keyList, where))
}

function requireTime(v: unknown, name: string): string {
  const s = typeof v === 'string' ? v : ''
  const canonical = canonicalSecondsTime(s)
  if (canonical === undefined) {
    throw new GenericError(`parsing time ${JSON.stringify(s)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(s)} as "2006"`, { code: 'INVALID_METADATA', hint: `in the metadata field ${name}` })
  }
  return canonical
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/

export function isValidSopsVersion(v: string): boolean {
  return SEMVER.test(v) || v.startsWith('1.')
}

function readKeyGroups(meta: TreeMap, keyLists: readonly MetadataKeyList[]): KeyEntry[][] {
  const flat = readGroup(meta, keyLists, '')
  if (flat.length > 0) return [flat]
  const groups = field(meta, 'key_groups')
  if (groups instanceof TreeSeq) {
    const parsed = groups.values().map((g, i) => {
      if (!(g instanceof TreeMap)) throw new GenericError(`invalid metadata: key_groups[${i}] must be a mapping`, { code: 'INVALID_METADATA' })
      return readGroup(g, keyLists, `key_groups[${i}].`)
    })
    if (parsed.length > 0) return parsed
  }
  throw new GenericError('No keys found in file', { code: 'NO_KEYS_IN_FILE', hint: 'The sops metadata lists no master key; the file cannot be decrypted.' })
}

function readInt(v: Value | undefined, name: string): number {
  const s = weakString(v)
  if (s === undefined || s === '') return 0
  if (!/^[+-]?\d+$/.test(s)) throw new GenericError(`invalid metadata: ${name} must be an integer`, { code: 'INVALID_METADATA' })
  return Number(s)
}

function readBool(v: Value | undefined): boolean {
  const s = weakString(v)
  return s === 'true' || s === 'True' || s === 'TRUE' || s === '1' || s === 't' || s === 'T'
}

/**
 * Read and validate the metadata block. `undefined` -> MetadataNotFoundError. `keyLists`: the key
 * types, in sops's read order (the key registry's METADATA_KEY_LISTS; src/keys/metadata.ts passes it).
 */
export function readMetadata(tree: TreeMap | undefined, keyLists: readonly MetadataKeyList[]): Metadata {
  if (tree === undefined) throw new MetadataNotFoundError()
  const version = weakString(field(tree, 'version')) ?? ''
  if (version === '') throw new GenericError('Version string empty', { code: 'INVALID_METADATA', hint: 'the metadata has no version' })
  if (!isValidSopsVersion(version)) {
    throw new GenericError(`invalid metadata: version ${JSON.stringify(version)} is not a valid semantic version`, { code: 'INVALID_METADATA' })
  }
  const rules: EncryptionRules = {}
  for (const [name, key] of RULE_FIELDS) {
    const v = weakString(field(tree, key))
    if (v) rules[name] = v
  }
  if (readBool(field(tree, 'mac_only_encrypted'))) rules.macOnlyEncrypted = true
  assertSingleRule(rules)
  const lastModified = weakString(field(tree, 'lastmodified')) ?? ''
  requireTime(lastModified, 'lastmodified')
  return {
    keyGroups: readKeyGroups(tree, keyLists),
    shamirThreshold: readInt(field(tree, 'shamir_threshold'), 'shamir_threshold'),
    lastModified,
    mac: weakString(field(tree, 'mac')) ?? '',
    rules,
    version,
  }
}

/** The AAD of the MAC: lastmodified as Go re-formats it (second precision, `Z` for UTC). */
export function macAad(meta: Metadata): string {
  return canonicalSecondsTime(meta.lastModified) ?? meta.lastModified
}

// ---- writing ----------------------------------------------------------------------------

function sortedMap(entries: [string, Value][]): TreeMap {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return new TreeMap(sorted.map(([key, value]) => ({ key, value })))
}

function keyEntryTree(entry: KeyEntry): TreeMap {
  return sortedMap(
    Object.entries(entry.fields).map(([k, v]): [string, Value] => [
      k,
      typeof v === 'string' ? v : sortedMap(Object.entries(v).map(([ck, cv]): [string, Value] => [ck, cv])),
    ]),
  )
}

/** `alwaysPresent`: the lists written even when empty. Entries are grouped under their type's field. */
function keyListsTree(group: KeyEntry[], keyLists: readonly MetadataKeyList[], alwaysPresent: boolean): [string, Value][] {
  const byField = new Map<string, TreeMap[]>()
  for (const keyList of keyLists) if (alwaysPresent && keyList.alwaysInKeyGroups) byField.set(keyList.metadataField, [])
  for (const entry of group) {
    const keyList = keyLists.find((k) => k.type === entry.type)
    if (!keyList) throw new GenericError(`unknown key type ${entry.type}`, { code: 'UNKNOWN_KEY_TYPE' })
    const list = byField.get(keyList.metadataField) ?? []
    list.push(keyEntryTree(entry))
    byField.set(keyList.metadataField, list)
  }
  return [...byField].map(([name, list]): [string, Value] => [name, new TreeSeq(list)])
}

/**
 * The metadata block exactly as sops serializes it (stores/metadata.go: goToSops sorts every map).
 * `keyLists` as for readMetadata.
 */
export function metadataTree(meta: Metadata, keyLists: readonly MetadataKeyList[]): TreeMap {
  const entries: [string, Value][] = []
  if (meta.keyGroups.length === 1) {
    entries.push(...keyListsTree(meta.keyGroups[0]!, keyLists, false))
  } else {
    // key_groups entries always carry some lists (age and hc_vault): those struct fields lack omitempty.
    const groups = meta.keyGroups.map((g) => sortedMap(keyListsTree(g, keyLists, true)))
    entries.push(['key_groups', new TreeSeq(groups)])
  }
  entries.push(['lastmodified', meta.lastModified], ['mac', meta.mac])
  if (meta.rules.macOnlyEncrypted) entries.push(['mac_only_encrypted', true])
  if (meta.shamirThreshold !== 0) entries.push(['shamir_threshold', BigInt(meta.shamirThreshold)])
  for (const [name, key] of RULE_FIELDS) {
    const v = meta.rules[name]
    if (v) entries.push([key, v])
  }
  entries.push(['version', meta.version])
  return sortedMap(entries)
}
