/**
 * Key groups of a creation rule (spec §8.3, config.go getKeyGroupsFromCreationRule /
 * extractMasterKeys). The key order inside a group matters: it is the order keys are written
 * to the file and tried on decrypt.
 */
import type { KeyType } from '../keys/types.js'
import { dedupeKeyGroup, keySpecsFromString, kmsKeySpec } from './key-flags.js'
import { formatPath, type ConfigSource, type FieldPath } from './source.js'
import type { KeySpec } from './types.js'

/** Flat rule fields in sops's order. `hckms` is `[]string` in sops, so a plain string is refused. */
const FLAT_KEY_FIELDS: readonly { field: string; type: KeyType; typedSlice?: boolean }[] = [
  { field: 'age', type: 'age' },
  { field: 'pgp', type: 'pgp' },
  { field: 'kms', type: 'kms' },
  { field: 'gcp_kms', type: 'gcp_kms' },
  { field: 'hckms', type: 'hckms', typedSlice: true },
  { field: 'azure_keyvault', type: 'azure_kv' },
  { field: 'hc_vault_transit_uri', type: 'hc_vault' },
]

export const FLAT_KEY_FIELD_NAMES: readonly string[] = [...FLAT_KEY_FIELDS.map((f) => f.field), 'aws_profile']

export const KEY_GROUP_FIELDS = ['merge', 'age', 'pgp', 'kms', 'gcp_kms', 'hckms', 'azure_keyvault', 'hc_vault'] as const
const KMS_FIELDS = ['arn', 'role', 'context', 'aws_profile'] as const
const GCP_FIELDS = ['resource_id'] as const
const HCKMS_FIELDS = ['key_id'] as const
const AZURE_FIELDS = ['vaultUrl', 'key', 'version'] as const

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

/** The single group of a rule without key_groups; KMS keys get the rule's aws_profile. */
export function flatKeyGroup(src: ConfigSource, rule: Record<string, unknown>, path: FieldPath): KeySpec[] {
  const awsProfile = src.string(rule['aws_profile'], [...path, 'aws_profile'])
  const group: KeySpec[] = []
  for (const { field, type, typedSlice } of FLAT_KEY_FIELDS) {
    for (const entry of stringEntries(src, rule[field], [...path, field], typedSlice === true)) {
      group.push(...keySpecsFromString(type, entry, awsProfile === undefined ? {} : { awsProfile }))
    }
  }
  return dedupeKeyGroup(group)
}

/** One `key_groups` entry: merged groups first, then age, pgp, kms, gcp_kms, hckms, azure, vault. */
export function keyGroup(src: ConfigSource, v: unknown, path: FieldPath): KeySpec[] {
  return dedupeKeyGroup(groupKeys(src, v, path))
}

function groupKeys(src: ConfigSource, v: unknown, path: FieldPath): KeySpec[] {
  const g = src.map(v, path, KEY_GROUP_FIELDS) ?? {}
  const at = (field: string): FieldPath => [...path, field]
  const keys: KeySpec[] = []
  src.list(g['merge'], at('merge')).forEach((sub, i) => keys.push(...groupKeys(src, sub, [...at('merge'), i])))
  // Every string entry may itself be a comma list (sops splits age entries; doing it for all
  // types is harmless because no fingerprint or URI contains a comma).
  for (const [field, type] of [['age', 'age'], ['pgp', 'pgp']] as const) {
    for (const s of stringEntries(src, g[field], at(field), true)) keys.push(...keySpecsFromString(type, s))
  }
  src.list(g['kms'], at('kms')).forEach((item, i) => keys.push(kmsEntry(src, item, [...at('kms'), i])))
  src.list(g['gcp_kms'], at('gcp_kms')).forEach((item, i) => {
    const id = required(src, src.map(item, [...at('gcp_kms'), i], GCP_FIELDS), [...at('gcp_kms'), i], 'resource_id')
    keys.push(...keySpecsFromString('gcp_kms', id))
  })
  src.list(g['hckms'], at('hckms')).forEach((item, i) => {
    const id = required(src, src.map(item, [...at('hckms'), i], HCKMS_FIELDS), [...at('hckms'), i], 'key_id')
    keys.push({ type: 'hckms', id: id.trim() })
  })
  src.list(g['azure_keyvault'], at('azure_keyvault')).forEach((item, i) => keys.push(azureEntry(src, item, [...at('azure_keyvault'), i])))
  for (const s of stringEntries(src, g['hc_vault'], at('hc_vault'), true)) keys.push(...keySpecsFromString('hc_vault', s))
  return keys
}

function required(src: ConfigSource, m: Record<string, unknown> | undefined, path: FieldPath, field: string): string {
  const s = src.string(m?.[field], [...path, field])?.trim()
  if (!s) throw src.error(path, `${formatPath([...path, field])} is required`)
  return s
}

function kmsEntry(src: ConfigSource, item: unknown, path: FieldPath): KeySpec {
  const m = src.map(item, path, KMS_FIELDS)
  const arn = required(src, m, path, 'arn')
  const spec: KeySpec = { type: 'kms', id: kmsKeySpec(arn).id }
  const role = src.string(m?.['role'], [...path, 'role'])?.trim()
  if (role) spec.role = role
  const context = kmsContext(src, m?.['context'], [...path, 'context'])
  if (context) spec.context = context
  const profile = src.string(m?.['aws_profile'], [...path, 'aws_profile'])
  if (profile) spec.awsProfile = profile
  return spec
}

function kmsContext(src: ConfigSource, v: unknown, path: FieldPath): Record<string, string> | undefined {
  if (v === null || v === undefined) return undefined
  // Any key is allowed, so validate as a mapping with its own keys as the known set.
  const m = src.map(v, path, typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [])!
  const entries = Object.entries(m).map(([k, val]) => {
    const s = src.string(val, [...path, k])
    if (s === undefined) throw src.error([...path, k], `${formatPath([...path, k])} must be a string, got null`)
    return [k, s] as const
  })
  return entries.length === 0 ? undefined : Object.fromEntries(entries)
}

/** `{vaultUrl, key, version}` → the URL form `https://vault/keys/name[/version]` used as the id. */
function azureEntry(src: ConfigSource, item: unknown, path: FieldPath): KeySpec {
  const m = src.map(item, path, AZURE_FIELDS)
  const vaultUrl = required(src, m, path, 'vaultUrl').replace(/\/+$/, '')
  const key = required(src, m, path, 'key')
  const version = src.string(m?.['version'], [...path, 'version'])?.trim()
  return { type: 'azure_kv', id: `${vaultUrl}/keys/${key}${version ? `/${version}` : ''}` }
}
