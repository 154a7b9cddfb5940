/**
 * The validated shape of a `.sops.yaml` (spec §8.2). Keys are plain specifications, not key
 * sources: turning a spec into a KeySource (and validating its id format) is the key
 * registry's job, so this folder never imports a key implementation or a cloud SDK.
 */
import type { EncryptionRules } from '../core/rules.js'
import type { KeySpec } from '../keys/types.js'

export type { KeySpec } from '../keys/types.js'

export interface CreationRule {
  /** Absent (or empty in the file): the rule matches every file. */
  pathRegex?: string
  /** Each inner array is one key group; an empty group is kept so the caller can report it. */
  keyGroups: KeySpec[][]
  /** 0 when unset (sops then uses the number of groups). */
  shamirThreshold: number
  rules: EncryptionRules
  /**
   * Where the keys came from. sops applies `--encryption-context` only to the KMS keys of a
   * flat rule (key_groups carry their own `context`), so the caller needs to know.
   */
  keySource: 'flat' | 'key_groups'
}

export interface DestinationRule {
  /** Absent or empty: matches every file. */
  pathRegex?: string
  s3Bucket?: string
  s3Prefix?: string
  gcsBucket?: string
  gcsPrefix?: string
  vaultPath?: string
  vaultAddress?: string
  vaultKvMountName?: string
  vaultKvVersion?: number
  /** Keys used to re-encrypt before an S3/GCS upload (absent in the file: a rule with no keys, as in sops). */
  recreationRule: CreationRule
  omitExtensions: boolean
}

export type StoreName = 'yaml' | 'json' | 'json_binary' | 'dotenv' | 'ini'

/** Only what the file sets; defaults (json -1 = tab, yaml 4) belong to the stores. */
export interface StoresConfig {
  yaml: { indent?: number }
  json: { indent?: number }
  json_binary: { indent?: number }
}

export interface SopsConfig {
  /**
   * Undefined when the file has no (or a null) `creation_rules` key: sops then treats the
   * config as absent for creation purposes. `[]` is different: a config whose rules never match.
   */
  creationRules?: CreationRule[]
  destinationRules: DestinationRule[]
  stores: StoresConfig
}
