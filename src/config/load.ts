/**
 * Load and validate a `.sops.yaml` (spec §8.2). sops's own loader ignores unknown fields, and so
 * does tsops (a config sops accepts must work), but it names each one in a warning: a typo
 * (`creation_rule:`, `encrypt_regex:`) silently changes what gets encrypted.
 */
import { readFileSync } from 'node:fs'
import { ConfigError } from '../core/errors.js'
import { compileRe2 } from '../core/regex.js'
import { countRules, ONE_RULE_ONLY, RULE_FIELDS, type EncryptionRules } from '../core/rules.js'
import { FLAT_KEY_FIELD_NAMES, flatKeyGroup, keyGroup } from './key-groups.js'
import { ConfigSource, formatPath, type ConfigWarn, type FieldPath } from './source.js'
import type { CreationRule, DestinationRule, SopsConfig, StoresConfig } from './types.js'

/**
 * `keys` is not read by sops, but it is the conventional home of YAML anchors that rules then
 * reference (`keys: [&alice age1…]`, popularised by sops-nix); rejecting it would break those
 * configs, so it is accepted and ignored.
 */
const TOP_FIELDS = ['creation_rules', 'destination_rules', 'stores', 'keys'] as const

const RULE_OPTION_FIELDS = [...RULE_FIELDS.map(([, field]) => field), 'mac_only_encrypted']
export const CREATION_RULE_FIELDS: readonly string[] = ['path_regex', ...FLAT_KEY_FIELD_NAMES, 'key_groups', 'shamir_threshold', ...RULE_OPTION_FIELDS]

const DESTINATION_RULE_FIELDS = [
  'path_regex',
  's3_bucket',
  's3_prefix',
  'gcs_bucket',
  'gcs_prefix',
  'vault_path',
  'vault_address',
  'vault_kv_mount_name',
  'vault_kv_version',
  'recreation_rule',
  'omit_extensions',
] as const

const STORE_FIELDS = ['yaml', 'json', 'json_binary', 'dotenv', 'ini'] as const
const INDENTED_STORES = ['yaml', 'json', 'json_binary'] as const

export interface ConfigChecks {
  /**
   * Compile every rule and path regex now, so a bad one is reported with its line (default).
   * Off for commands that only read the stores (decrypt): sops never compiles them there, and
   * re2js costs a cold start ~10 ms.
   */
  regexes?: boolean
  /** Where warnings about the config go (unknown fields); default: nowhere. */
  warn?: ConfigWarn
}

/** Read and validate a config file. Every failure is a ConfigError (exit 1, as in sops). */
export function loadConfig(path: string, checks: ConfigChecks = {}): SopsConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`could not read config file: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  return parseConfig(text, path, checks)
}

/** Validate config text; `file` is only used in messages. */
export function parseConfig(text: string, file = '.sops.yaml', checks: ConfigChecks = {}): SopsConfig {
  const src = ConfigSource.parse(text, file, checks.warn)
  const regexes = checks.regexes ?? true
  const top = src.map(src.value, [], TOP_FIELDS) ?? {}
  const creation = top['creation_rules']
  return {
    // sops: a nil creation_rules means "no config" for creation, unlike an empty list.
    ...(creation === null || creation === undefined
      ? {}
      : { creationRules: src.list(creation, ['creation_rules']).map((r, i) => parseCreationRule(src, r, ['creation_rules', i], regexes)) }),
    destinationRules: src.list(top['destination_rules'], ['destination_rules']).map((r, i) => parseDestinationRule(src, r, ['destination_rules', i], regexes)),
    stores: parseStores(src, top['stores']),
  }
}

function parseCreationRule(src: ConfigSource, v: unknown, path: FieldPath, regexes: boolean): CreationRule {
  const r = src.map(v, path, CREATION_RULE_FIELDS) ?? {}
  const at = (field: string): FieldPath => [...path, field]
  const pathRegex = checkedRegex(src, r['path_regex'], at('path_regex'), regexes)
  const threshold = src.int(r['shamir_threshold'], at('shamir_threshold')) ?? 0
  if (threshold < 0) throw src.error(at('shamir_threshold'), `${formatPath(at('shamir_threshold'))} must not be negative`)
  const rules = parseRules(src, r, path, regexes)
  // The flat fields are type-checked even when key_groups wins, so a broken line never hides.
  const flat = flatKeyGroup(src, r, path)
  const groups = src.list(r['key_groups'], at('key_groups'))
  const rule: CreationRule = {
    keyGroups: groups.length > 0 ? groups.map((g, i) => keyGroup(src, g, [...at('key_groups'), i])) : [flat],
    shamirThreshold: threshold,
    rules,
    keySource: groups.length > 0 ? 'key_groups' : 'flat',
  }
  if (pathRegex !== undefined) rule.pathRegex = pathRegex
  return rule
}

/** The six exclusive rules (an empty string is unset, as in Go) and mac_only_encrypted. */
function parseRules(src: ConfigSource, r: Record<string, unknown>, path: FieldPath, regexes: boolean): EncryptionRules {
  const rules: EncryptionRules = {}
  for (const [name, field] of RULE_FIELDS) {
    const value = src.string(r[field], [...path, field])
    if (!value) continue
    // sops would silently never match an invalid rule regex (spec §3); refuse it here instead.
    if (regexes && name.endsWith('Regex')) compileAt(src, value, [...path, field])
    rules[name] = value
  }
  if (src.bool(r['mac_only_encrypted'], [...path, 'mac_only_encrypted'])) rules.macOnlyEncrypted = true
  // sops: a config error (exit 1), not the command line's conflicting parameters (exit 8).
  if (countRules(rules) > 1) throw src.error(path, `${ONE_RULE_ONLY} for the same rule`, { hint: `Keep one of them in ${formatPath(path)}.` })
  return rules
}

/** A path_regex must compile under RE2 (sops: `can not compile regexp`); empty means "match all". */
function checkedRegex(src: ConfigSource, v: unknown, path: FieldPath, regexes: boolean): string | undefined {
  const pattern = src.string(v, path)
  if (pattern && regexes) compileAt(src, pattern, path)
  return pattern || undefined
}

/** compileRe2's ConfigError, re-issued with the file name and the field's line. */
function compileAt(src: ConfigSource, pattern: string, path: FieldPath): void {
  try {
    compileRe2(pattern, formatPath(path))
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    throw src.error(path, err.message, err.hint === undefined ? {} : { hint: err.hint })
  }
}

function parseDestinationRule(src: ConfigSource, v: unknown, path: FieldPath, regexes: boolean): DestinationRule {
  const r = src.map(v, path, DESTINATION_RULE_FIELDS) ?? {}
  const str = (field: string): string | undefined => src.string(r[field], [...path, field]) || undefined
  const rule: DestinationRule = {
    recreationRule: parseCreationRule(src, r['recreation_rule'], [...path, 'recreation_rule'], regexes),
    omitExtensions: src.bool(r['omit_extensions'], [...path, 'omit_extensions']) ?? false,
  }
  const pathRegex = checkedRegex(src, r['path_regex'], [...path, 'path_regex'], regexes)
  if (pathRegex !== undefined) rule.pathRegex = pathRegex
  const strings = {
    s3Bucket: str('s3_bucket'),
    s3Prefix: str('s3_prefix'),
    gcsBucket: str('gcs_bucket'),
    gcsPrefix: str('gcs_prefix'),
    vaultPath: str('vault_path'),
    vaultAddress: str('vault_address'),
    vaultKvMountName: str('vault_kv_mount_name'),
  }
  for (const [k, value] of Object.entries(strings)) if (value !== undefined) rule[k as keyof typeof strings] = value
  const kvVersion = src.int(r['vault_kv_version'], [...path, 'vault_kv_version'])
  if (kvVersion !== undefined) rule.vaultKvVersion = kvVersion
  return rule
}

function parseStores(src: ConfigSource, v: unknown): StoresConfig {
  const stores = src.map(v, ['stores'], STORE_FIELDS) ?? {}
  const out: StoresConfig = { yaml: {}, json: {}, json_binary: {} }
  for (const name of INDENTED_STORES) {
    const m = src.map(stores[name], ['stores', name], ['indent'])
    const indent = src.int(m?.['indent'], ['stores', name, 'indent'])
    if (indent !== undefined) out[name].indent = indent
  }
  // dotenv and ini have no settings; only their shape is checked.
  src.map(stores['dotenv'], ['stores', 'dotenv'], [])
  src.map(stores['ini'], ['stores', 'ini'], [])
  return out
}
