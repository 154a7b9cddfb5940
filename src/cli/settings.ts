/**
 * What a command takes from `.sops.yaml` and the key/rule flags: the creation rule, the master
 * keys, the encryption rules and the store indentation (spec §8, precedence in §8.3).
 */
import path from 'node:path'
import { ConflictingParametersError, GenericError } from '../core/errors.js'
import { ONE_RULE_ONLY, RULE_FIELDS, type EncryptionRules } from '../core/rules.js'
import {
  dedupeKeyGroup,
  findConfigFile,
  loadConfig,
  parseEncryptionContext,
  requireCreationRule,
  storeIndent,
  validateRulesRegexes,
  type ConfigChecks,
  type CreationRule,
  type KeySpec,
  type SopsConfig,
} from '../config/index.js'
import { keySourceFromSpec, keySpecsFromFlags, parseDecryptionOrder } from '../keys/registry.js'
import type { KeySource, KeySpecOptions } from '../keys/types.js'
import type { EmitOptions, FormatName } from '../formats/format.js'
import type { Args } from './args.js'
import type { CliContext } from './context.js'
import type { FormatChoice } from './formats.js'

export interface LoadedConfig {
  path: string
  /** The path as sops names it: --config as given, else relative to the working directory (`.sops.yaml`, `../.sops.yaml`). */
  shown: string
  config: SopsConfig
}

const configCache = new WeakMap<CliContext, LoadedConfig | null>()
const storesCache = new WeakMap<CliContext, LoadedConfig | null>()

/** `--config`/SOPS_CONFIG, else `.sops.yaml` searched upward from the working directory. */
export function projectConfig(ctx: CliContext, args: Args): LoadedConfig | undefined {
  return cachedConfig(configCache, ctx, args, {})
}

/**
 * The config for its `stores` only (output indentation): validated like projectConfig, except
 * that rule regexes are not compiled — sops's decrypt never compiles them either.
 */
function storesConfig(ctx: CliContext, args: Args): LoadedConfig | undefined {
  const full = configCache.get(ctx)
  if (full !== undefined) return full ?? undefined
  return cachedConfig(storesCache, ctx, args, { regexes: false })
}

function cachedConfig(cache: WeakMap<CliContext, LoadedConfig | null>, ctx: CliContext, args: Args, checks: ConfigChecks): LoadedConfig | undefined {
  const cached = cache.get(ctx)
  if (cached !== undefined) return cached ?? undefined
  const explicit = args.string('config')
  const file = explicit ?? findConfigFile(ctx.cwd, (w) => ctx.stderr(`tsops: warning: ${w}`))
  const loaded = file === undefined ? null : { path: path.resolve(ctx.cwd, file), shown: explicit ?? path.relative(ctx.cwd, path.resolve(ctx.cwd, file)), config: loadConfig(file, { ...checks, warn: ctx.note }) }
  cache.set(ctx, loaded)
  return loaded ?? undefined
}

/** --indent, else `stores.<format>.indent` from the config. */
export function emitOptionsFor(ctx: CliContext, args: Args, format: FormatName): EmitOptions {
  const flag = args.int('indent')
  if (flag !== undefined) return { indent: flag }
  const loaded = storesConfig(ctx, args)
  const store = format === 'binary' ? 'json_binary' : format
  const indent = loaded ? storeIndent(loaded.config, store) : undefined
  return indent === undefined ? {} : { indent }
}

/** How set, unset and apply open the encrypted file they rewrite: formats, MAC check, key order, layout. */
export function rewriteOptions(ctx: CliContext, args: Args, formats: FormatChoice) {
  return {
    ctx: ctx.keyContext,
    format: formats.input,
    outputFormat: formats.output,
    ignoreMac: args.bool('ignore-mac'),
    decryptionOrder: parseDecryptionOrder(args.string('decryption-order')),
    emitOptions: emitOptionsFor(ctx, args, formats.output),
  }
}

export interface EncryptionSettings {
  keyGroups: KeySource[][]
  shamirThreshold: number
  rules: EncryptionRules
}

/** What the key flags' ids carry besides the id: --encryption-context and --aws-profile (KMS keys take them). */
export function keySpecOptions(args: Args): KeySpecOptions {
  const context = args.string('encryption-context')
  return { awsProfile: args.string('aws-profile'), context: context ? parseEncryptionContext(context) : undefined }
}

/** Key specs from --age/--pgp/… (or their env vars), one group, in sops's CLI order. */
export function cliKeySpecs(args: Args): KeySpec[] {
  return keySpecsFromFlags((flag) => args.values(flag), keySpecOptions(args))
}

export function keySourcesFor(groups: KeySpec[][]): Promise<KeySource[][]> {
  return Promise.all(
    groups.map((g) =>
      Promise.all(g.map((spec) => keySourceFromSpec(spec.type, spec.id, { role: spec.role, context: spec.context, awsProfile: spec.awsProfile }))),
    ),
  )
}

/** The comment-regex flags: global flags in sops, which only its legacy `-e` mode reads. */
const COMMENT_REGEX_FLAGS = new Set(['encrypted-comment-regex', 'unencrypted-comment-regex'])

/**
 * The rule flags given on the command line. For sops's `encrypt` and `edit` subcommands
 * (`subcommand`), getEncryptConfig reads the rule flags from the subcommand's own flags: the
 * comment-regex flags (which only the legacy `-e` form has) are never seen, and the other rule
 * flags only after the command word (`sops --unencrypted-suffix _u encrypt f` encrypts every
 * value). tsops does the same, since what real sops writes wins, and notes each flag it ignores.
 */
export function cliRules(args: Args, ctx?: CliContext, subcommand = false): EncryptionRules {
  const rules: EncryptionRules = {}
  for (const [name, key] of RULE_FIELDS) {
    const flag = key.replaceAll('_', '-')
    const v = args.string(flag)
    if (v === undefined || v === '') continue
    if (subcommand && (COMMENT_REGEX_FLAGS.has(flag) || args.beforeCommand(flag))) {
      const where = COMMENT_REGEX_FLAGS.has(flag) ? `by the ${args.positionals[0] ?? ''} subcommand` : `before the ${args.positionals[0] ?? ''} command word`
      ctx?.note(`--${flag} is ignored ${where}, as sops ignores it there; put ${key} in a .sops.yaml creation rule, or give it after the command word (comment regexes: the legacy form, tsops --${flag} RE -e FILE)`)
      continue
    }
    rules[name] = v
  }
  if (args.bool('mac-only-encrypted')) rules.macOnlyEncrypted = true
  validateRulesRegexes(rules, 'command line')
  return rules
}

/** CLI rules override the same-named config rule; a different one on each side is two rules (exit 8). */
export function mergeRules(config: EncryptionRules | undefined, cli: EncryptionRules): EncryptionRules {
  const merged: EncryptionRules = { ...(config ?? {}) }
  const cliNames = RULE_FIELDS.filter(([name]) => cli[name]).map(([name]) => name)
  const configNames = RULE_FIELDS.filter(([name]) => merged[name]).map(([name]) => name)
  if (cliNames.length > 0 && configNames.some((n) => !cliNames.includes(n))) {
    throw new ConflictingParametersError(`Error: ${ONE_RULE_ONLY} in the same file`)
  }
  for (const name of cliNames) merged[name] = cli[name] as never
  if (cli.macOnlyEncrypted) merged.macOnlyEncrypted = true
  return merged
}

/** The creation rule for `fileName` (sops's gotcha: a config whose rules all miss is an error). */
export function creationRuleFor(ctx: CliContext, args: Args, fileName: string | undefined): CreationRule | undefined {
  const loaded = projectConfig(ctx, args)
  if (!loaded) return undefined
  const context = args.string('encryption-context')
  const name = fileName ?? ''
  return requireCreationRule(loaded.config, loaded.path, path.resolve(ctx.cwd, name), ctx.cwd, {
    kmsEncryptionContext: context ? parseEncryptionContext(context) : undefined,
  })
}

export const NO_KEYS_MESSAGE = 'config file not found, or has no creation rules, and no keys provided through command line options'

export interface EncryptionSettingsOptions {
  /** The `encrypt`/`edit` subcommand (not the legacy -e or bare form): the comment-regex flags are ignored. */
  subcommand?: boolean
  /** The input store: a binary one ignores every rule, with sops's warning for each. */
  inputFormat?: FormatName
}

/** Keys, rules and threshold for encrypting `fileName`, with sops's precedence. */
export async function encryptionSettings(ctx: CliContext, args: Args, fileName: string | undefined, options: EncryptionSettingsOptions = {}): Promise<EncryptionSettings> {
  const rule = creationRuleFor(ctx, args, fileName)
  const cliSpecs = cliKeySpecs(args)
  const specGroups = cliSpecs.length > 0 ? [dedupeKeyGroup(cliSpecs)] : (rule?.keyGroups ?? [])
  if (specGroups.length === 0) throw new GenericError(NO_KEYS_MESSAGE, { code: 'NO_KEYS', hint: 'Pass --age/--pgp or add creation_rules to .sops.yaml (see .sopsrc.example).' })
  const threshold = args.int('shamir-secret-sharing-threshold') ?? rule?.shamirThreshold ?? 0
  return {
    keyGroups: await keySourcesFor(specGroups),
    shamirThreshold: threshold,
    rules: singleValueStoreRules(ctx, mergeRules(rule?.rules, cliRules(args, ctx, options.subcommand)), options.inputFormat),
  }
}

/** sops's words for a rule that a single-value (binary) store ignores. */
const SINGLE_VALUE_WARNINGS: [keyof EncryptionRules, string][] = [
  ['unencryptedSuffix', 'Using an unencrypted suffix does not make sense with the input store (the binary store produces one key that should always be encrypted) and will be ignored.'],
  ['encryptedSuffix', 'Using an encrypted suffix does not make sense with the input store (the binary store produces one key that should always be encrypted) and will be ignored.'],
  ['encryptedRegex', 'Using an encrypted regex does not make sense with the input store (the binary store produces one key that should always be encrypted) and will be ignored.'],
  ['unencryptedRegex', 'Using an unencrypted regex does not make sense with the input store (the binary store produces one key that should always be encrypted) and will be ignored.'],
  ['encryptedCommentRegex', 'Using an encrypted comment regex does not make sense with the input store (the binary store never produces comments) and will be ignored.'],
]

/**
 * The binary store has one value, always encrypted: sops warns about each rule that would
 * select it (not the unencrypted comment regex or mac_only_encrypted, which cannot matter) and
 * drops them all.
 */
function singleValueStoreRules(ctx: CliContext, rules: EncryptionRules, inputFormat: FormatName | undefined): EncryptionRules {
  if (inputFormat !== 'binary') return rules
  for (const [name, warning] of SINGLE_VALUE_WARNINGS) if (rules[name]) ctx.warn(warning)
  return {}
}
