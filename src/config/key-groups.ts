/**
 * Key groups of a creation rule (spec §8.3, config.go getKeyGroupsFromCreationRule /
 * extractMasterKeys). The key order inside a group matters: it is the order keys are written
 * to the file and tried on decrypt. Which fields exist and how one entry reads is each key
 * source's (src/keys/sources/); this file knows only the YAML shapes.
 */
import { keySourcesIn, keySpecsFromList, splitKeyList } from '../keys/registry.js'
import { dedupeKeyGroup } from './key-flags.js'
import { formatPath, type ConfigSource, type FieldPath } from './source.js'
import type { KeySpec } from './types.js'

/** Key sources in the order sops builds a group from a creation rule. */
const CONFIG_SOURCES = keySourcesIn('config')

/** Flat rule fields in sops's order, and the profile its KMS keys take. */
export const FLAT_KEY_FIELD_NAMES: readonly string[] = [...CONFIG_SOURCES.map((d) => d.config.field), 'aws_profile']

export const KEY_GROUP_FIELDS: readonly string[] = ['merge', ...CONFIG_SOURCES.map((d) => d.config.groupField)]

/**
 * The entries of a key field. `typedSlice`: the field is a Go `[]string` in sops (hckms, and
 * every key_groups list): a list is required and yaml.v3 turns any scalar into its text.
 * Otherwise it is sops's `interface{}` (parseKeyField): a string or a list of real strings.
 */
function stringEntries(src: ConfigSource, v: unknown, path: FieldPath, typedSlice: boolean): string[] {
  if (typeof v === 'string' && !typedSlice) return [v]
  if (v === null || v === undefined || Array.isArray(v)) {
    return src.list(v, path).map((item, i) => src.string(item, [...path, i], !typedSlice) ?? '')
  }
  throw src.error(path, `${formatPath(path)} must be ${typedSlice ? 'a list of strings' : 'a string or a list of strings'}`)
}

/**
 * The single group of a rule without key_groups; KMS keys get the rule's aws_profile. As in
 * sops, a string field drops its empty items (parseKeyField) but a list's items are joined with
 * commas and the joined list read as a flag is: `age: ["a", ""]` refuses its empty recipient.
 */
export function flatKeyGroup(src: ConfigSource, rule: Record<string, unknown>, path: FieldPath): KeySpec[] {
  const awsProfile = src.string(rule['aws_profile'], [...path, 'aws_profile'])
  const group: KeySpec[] = []
  for (const { type, config } of CONFIG_SOURCES) {
    const value = rule[config.field]
    const typedSlice = config.typedSlice === true
    const entries = typeof value === 'string' && !typedSlice ? splitKeyList(value) : stringEntries(src, value, [...path, config.field], typedSlice)
    group.push(...keySpecsFromList(type, entries.join(','), awsProfile === undefined ? {} : { awsProfile }))
  }
  return dedupeKeyGroup(group)
}

/** One `key_groups` entry: merged groups first, then each source's field in sops's order. */
export function keyGroup(src: ConfigSource, v: unknown, path: FieldPath): KeySpec[] {
  return dedupeKeyGroup(groupKeys(src, v, path))
}

function groupKeys(src: ConfigSource, v: unknown, path: FieldPath): KeySpec[] {
  const g = src.map(v, path, KEY_GROUP_FIELDS) ?? {}
  const at = (field: string): FieldPath => [...path, field]
  const keys: KeySpec[] = []
  src.list(g['merge'], at('merge')).forEach((sub, i) => keys.push(...groupKeys(src, sub, [...at('merge'), i])))
  for (const { type, config } of CONFIG_SOURCES) {
    const field = config.groupField
    const parse = config.groupEntry
    if (parse) {
      src.list(g[field], at(field)).forEach((item, i) => keys.push(...parse(src, item, [...at(field), i])))
      continue
    }
    // Every string entry may itself be a comma list (sops splits age entries; doing it for all
    // types is harmless because no fingerprint or URI contains a comma).
    for (const s of stringEntries(src, g[field], at(field), true)) keys.push(...keySpecsFromList(type, s))
  }
  return keys
}
