/**
 * Choosing the creation / destination rule for a file (config.go parseCreationRuleForFile,
 * parseDestinationRuleForFile) and reading store settings.
 */
import path from 'node:path'
import { ConfigError } from '../core/errors.js'
import { compileRe2 } from '../core/regex.js'
import { withEncryptionContext as keyWithEncryptionContext } from '../keys/registry.js'
import type { CreationRule, DestinationRule, SopsConfig, StoreName } from './types.js'

/**
 * The string path_regex is matched against: relative to the config file's directory when the
 * file is inside it, otherwise absolute. Like sops this is a plain prefix strip of
 * `<abs config dir>/` (no symlink resolution); separators become `/` so one config works on
 * every OS.
 */
export function ruleMatchPath(configPath: string, filePath: string, cwd: string): string {
  const abs = path.resolve(cwd, filePath)
  const prefix = path.resolve(cwd, path.dirname(configPath)) + path.sep
  const p = abs.startsWith(prefix) ? abs.slice(prefix.length) : abs
  return p.split(path.sep).join('/')
}

function matches(pathRegex: string | undefined, p: string, what: string): boolean {
  // Loading already compiled the pattern, so this cannot throw for a loaded config.
  return !pathRegex || compileRe2(pathRegex, what).test(p)
}

export interface MatchOptions {
  /**
   * `--encryption-context`: sops applies it to the KMS keys of a *flat* rule only; key_groups
   * entries carry their own `context`.
   */
  kmsEncryptionContext?: Record<string, string>
}

/** First matching creation rule, or undefined (also when the config has no creation_rules). */
export function matchCreationRule(
  config: SopsConfig,
  configPath: string,
  filePath: string,
  cwd: string,
  options: MatchOptions = {},
): CreationRule | undefined {
  const p = ruleMatchPath(configPath, filePath, cwd)
  const index = config.creationRules?.findIndex((r, i) => matches(r.pathRegex, p, `creation_rules[${i}].path_regex`)) ?? -1
  const rule = index < 0 ? undefined : config.creationRules![index]!
  return rule && withEncryptionContext(rule, options.kmsEncryptionContext)
}

function withEncryptionContext(rule: CreationRule, context: Record<string, string> | undefined): CreationRule {
  if (rule.keySource !== 'flat' || !context || Object.keys(context).length === 0) return rule
  const keyGroups = rule.keyGroups.map((g) => g.map((k) => keyWithEncryptionContext(k, context)))
  return { ...rule, keyGroups }
}

/**
 * sops's gotcha (spec §8.3): a config with creation rules of which none matches is an error,
 * even when keys were given on the command line. Undefined: the config has no creation_rules,
 * so the caller proceeds with CLI keys only.
 */
export function requireCreationRule(
  config: SopsConfig,
  configPath: string,
  filePath: string,
  cwd: string,
  options: MatchOptions = {},
): CreationRule | undefined {
  if (config.creationRules === undefined) return undefined
  const rule = matchCreationRule(config, configPath, filePath, cwd, options)
  if (!rule) {
    throw new ConfigError('error loading config: no matching creation rules found', {
      hint: `No path_regex in ${configPath} matches "${ruleMatchPath(configPath, filePath, cwd)}". Add a rule for it, or a last rule without path_regex as a catch-all.`,
    })
  }
  return rule
}

/**
 * `sops publish`: the first destination rule whose path_regex matches the path as given (sops
 * does not make it relative here); an empty path_regex matches everything.
 */
export function matchDestinationRule(config: SopsConfig, filePath: string): DestinationRule {
  const p = filePath.split(path.sep).join('/')
  const rule = config.destinationRules.find((r, i) => matches(r.pathRegex, p, `destination_rules[${i}].path_regex`))
  if (!rule) throw new ConfigError('error loading config: no matching destination found in config')
  if ([rule.s3Bucket, rule.gcsBucket, rule.vaultPath].filter(Boolean).length > 1) {
    throw new ConfigError('error loading config: more than one destinations were found in a single destination rule, you can only use one per rule')
  }
  return rule
}

/** The configured indent for a store, or undefined to use the store's default (json: tab, yaml: 4). */
export function storeIndent(config: SopsConfig, format: StoreName | (string & {})): number | undefined {
  if (format === 'yaml' || format === 'json' || format === 'json_binary') return config.stores[format as 'yaml' | 'json' | 'json_binary'].indent
  return undefined
}
