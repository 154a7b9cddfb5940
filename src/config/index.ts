/** `.sops.yaml`: discovery, validation, rule matching, and the key-list syntax shared with the CLI. */
export { CONFIG_FILE_NAME, findConfigFile, lookupConfigFile, type ConfigLookup } from './find.js'
export { loadConfig, parseConfig, CREATION_RULE_FIELDS, type ConfigChecks } from './load.js'
export { matchCreationRule, requireCreationRule, matchDestinationRule, ruleMatchPath, storeIndent, type MatchOptions } from './match.js'
export {
  splitKeyList,
  parseEncryptionContext,
  keySpecsFromString,
  kmsKeySpec,
  normalizeKeyId,
  dedupeKeyGroup,
  type KmsOptions,
} from './key-flags.js'
export { validateRulesRegexes } from './regexes.js'
export type { CreationRule, DestinationRule, KeySpec, SopsConfig, StoreName, StoresConfig } from './types.js'
