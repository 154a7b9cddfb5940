/**
 * Command-line parsing for both styles sops accepts: subcommands (`tsops decrypt f.yaml`) and
 * the legacy flags (`tsops -d f.yaml`). One flag table; every command reads what it needs.
 * Unlike urfave/cli, flags may also follow positionals (until `--`), so `tsops decrypt f --output x` works.
 */
import { GenericError } from '../core/errors.js'
import { KEY_SOURCES, type KeyFlagName } from '../keys/registry.js'
import { goQuote } from './sopslog.js'

type FlagKind = 'bool' | 'string' | 'list'

interface FlagSpec {
  kind: FlagKind
  short?: string
  /** Environment variable read when the flag is absent (sops's EnvVar). */
  env?: string
}

/**
 * Every flag, long name without dashes. Each has a line of help in flag-usage.ts, kept apart so
 * the start-up bundle does not carry the help text; the type checker keeps the two key sets equal.
 */
const FLAG_SPECS = {
  // modes (legacy style)
  encrypt: { kind: 'bool', short: 'e' },
  decrypt: { kind: 'bool', short: 'd' },
  rotate: { kind: 'bool', short: 'r' },
  set: { kind: 'string' },
  // io
  'in-place': { kind: 'bool', short: 'i' },
  output: { kind: 'string' },
  'output-dir': { kind: 'string' },
  'input-type': { kind: 'string' },
  'output-type': { kind: 'string' },
  'filename-override': { kind: 'string' },
  extract: { kind: 'string' },
  'ignore-mac': { kind: 'bool' },
  indent: { kind: 'string' },
  config: { kind: 'string', env: 'SOPS_CONFIG' },
  // keys: --age, --add-age, --rm-age, … come from the key registry (KEY_FLAG_SPECS below)
  'aws-profile': { kind: 'string' },
  'encryption-context': { kind: 'string' },
  'shamir-secret-sharing-threshold': { kind: 'string' },
  'decryption-order': { kind: 'string', env: 'SOPS_DECRYPTION_ORDER' },
  // rules
  'unencrypted-suffix': { kind: 'string' },
  'encrypted-suffix': { kind: 'string' },
  'unencrypted-regex': { kind: 'string' },
  'encrypted-regex': { kind: 'string' },
  'unencrypted-comment-regex': { kind: 'string' },
  'encrypted-comment-regex': { kind: 'string' },
  'mac-only-encrypted': { kind: 'bool' },
  // editing and friends
  'show-master-keys': { kind: 'bool', short: 's' },
  yes: { kind: 'bool', short: 'y' },
  idempotent: { kind: 'bool' },
  'value-file': { kind: 'bool' },
  'value-stdin': { kind: 'bool' },
  pristine: { kind: 'bool' },
  'no-fifo': { kind: 'bool' },
  filename: { kind: 'string' },
  user: { kind: 'string' },
  background: { kind: 'bool' },
  'same-process': { kind: 'bool' },
  file: { kind: 'string', short: 'f' },
  json: { kind: 'bool' },
  'verify-mac': { kind: 'bool' },
  terraform: { kind: 'bool' },
  // git integration: the shell words that run tsops from git's drivers and hook
  'tsops-command': { kind: 'string', env: 'TSOPS_GIT_COMMAND' },
  pattern: { kind: 'list' },
  // check: the commits after REF (REF..HEAD)
  since: { kind: 'string' },
  // general
  verbose: { kind: 'bool' },
  version: { kind: 'bool', short: 'v' },
  help: { kind: 'bool', short: 'h' },
  'disable-version-check': { kind: 'bool' },
  'check-for-updates': { kind: 'bool' },
  keyservice: { kind: 'list', env: 'SOPS_KEYSERVICE' },
  // sops's BoolTFlag (on unless =VALUE reads false): it takes no value, so the word after it stays a file name.
  'enable-local-keyservice': { kind: 'bool' },
  // publish
  recursive: { kind: 'bool' },
  'omit-extensions': { kind: 'bool' },
  // keyservice (the server): sops's --network/--net, --address/--addr, --prompt
  network: { kind: 'string' },
  net: { kind: 'string' },
  address: { kind: 'string' },
  addr: { kind: 'string' },
  prompt: { kind: 'bool' },
} as const satisfies Record<string, FlagSpec>

/** Each key source's flag (with its short name and env var) and its --add-/--rm- forms, from the key registry. */
const KEY_FLAG_SPECS: Readonly<Record<KeyFlagName, FlagSpec>> = Object.fromEntries(
  KEY_SOURCES.flatMap(({ flag }) => [
    [flag.name, { kind: 'list', ...(flag.short === undefined ? {} : { short: flag.short }), env: flag.env }],
    [`add-${flag.name}`, { kind: 'list' }],
    [`rm-${flag.name}`, { kind: 'list' }],
  ]),
) as Record<KeyFlagName, FlagSpec>

/** Flags that are not a key source's (their help lines are in flag-usage.ts). */
export type PlainFlagName = keyof typeof FLAG_SPECS
export type FlagName = PlainFlagName | KeyFlagName

export const FLAGS: Readonly<Record<string, FlagSpec>> = { ...FLAG_SPECS, ...KEY_FLAG_SPECS }

const SHORT = new Map(Object.entries(FLAGS).flatMap(([name, spec]) => (spec.short ? [[spec.short, name] as const] : [])))

export interface ParsedArgs {
  flags: Map<string, string | boolean | string[]>
  positionals: string[]
  /** Flags last given before the first positional (the command word): sops's global position. */
  beforeCommand?: Set<string>
}

/** Go's flag package's words (one dash, whatever was typed), which sops hands to its logger. */
function usageError(message: string): GenericError {
  return new GenericError(message, { code: 'BAD_FLAG', hint: "Run 'tsops --help' for usage.", sopsLog: 'fatal' })
}

function setFlag(parsed: Required<ParsedArgs>, name: string, value: string | boolean): void {
  const { flags } = parsed
  if (parsed.positionals.length === 0) parsed.beforeCommand.add(name)
  else parsed.beforeCommand.delete(name)
  const spec = FLAGS[name]!
  if (spec.kind === 'list') {
    const list = (flags.get(name) as string[] | undefined) ?? []
    list.push(String(value))
    flags.set(name, list)
  } else flags.set(name, value)
}

/** Parse argv (without node and script). */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags: ParsedArgs['flags'] = new Map()
  const positionals: string[] = []
  const parsed = { flags, positionals, beforeCommand: new Set<string>() }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    // Once a command for a child process is reached, everything after it belongs to that command.
    if (positionals.length >= 2 && (positionals[0] === 'exec-env' || positionals[0] === 'exec-file')) {
      positionals.push(arg)
      continue
    }
    // `-5` is a value (tsops set f '["n"]' -5), not a flag.
    if (arg === '-' || !arg.startsWith('-') || /^-\d/.test(arg)) {
      positionals.push(arg)
      continue
    }
    const isLong = arg.startsWith('--')
    const eq = arg.indexOf('=')
    const rawName = isLong ? arg.slice(2, eq === -1 ? undefined : eq) : arg.slice(1, 2)
    const name = isLong ? rawName : SHORT.get(rawName)
    const spec = name === undefined ? undefined : FLAGS[name]
    if (!name || !spec) throw usageError(`flag provided but not defined: -${rawName}`)
    let inline: string | undefined = isLong ? (eq === -1 ? undefined : arg.slice(eq + 1)) : arg.length > 2 ? arg.slice(2) : undefined
    if (spec.kind === 'bool') {
      if (inline !== undefined && !isLong) {
        // bundled short booleans, e.g. -di: expand
        setFlag(parsed, name, true)
        for (const ch of inline) {
          const other = SHORT.get(ch)
          if (!other || FLAGS[other]!.kind !== 'bool') throw usageError(`flag provided but not defined: -${ch}`)
          setFlag(parsed, other, true)
        }
        continue
      }
      setFlag(parsed, name, inline === undefined ? true : goParseBool(inline, rawName))
      continue
    }
    if (inline === undefined) {
      if (i + 1 >= argv.length) throw usageError(`flag needs an argument: -${rawName}`)
      inline = argv[++i]!
    }
    if (INT_FLAGS.has(name) && !/^[+-]?\d+$/.test(inline)) throw usageError(`invalid value ${goQuote(inline)} for flag -${rawName}: parse error`)
    setFlag(parsed, name, inline)
  }
  return parsed
}

/**
 * `--flag=VALUE` of a boolean flag, read as Go's flag package reads it (strconv.ParseBool):
 * `--enable-local-keyservice=0` turns the local service off, as in sops, and a word ParseBool
 * does not know is a usage error instead of silently meaning true.
 */
function goParseBool(value: string, rawName: string): boolean {
  if (GO_TRUE.has(value)) return true
  if (GO_FALSE.has(value)) return false
  throw usageError(`invalid boolean value ${goQuote(value)} for -${rawName}: parse error`)
}
/** strconv.ParseBool's words. */
export const GO_TRUE: ReadonlySet<string> = new Set(['1', 't', 'T', 'true', 'TRUE', 'True'])
export const GO_FALSE: ReadonlySet<string> = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False'])

/** sops's cli.IntFlag flags: a value that is not an integer fails while the flags are parsed, before anything is read. */
const INT_FLAGS: ReadonlySet<string> = new Set(['shamir-secret-sharing-threshold', 'indent'])

/** Typed accessors with env fallbacks. */
export class Args {
  constructor(
    private readonly parsed: ParsedArgs,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {}

  get positionals(): string[] {
    return this.parsed.positionals
  }

  has(name: string): boolean {
    return this.parsed.flags.has(name)
  }

  /** Given before the command word (`sops --flag X encrypt …`), where a sops subcommand does not read its own flags. */
  beforeCommand(name: string): boolean {
    return this.parsed.beforeCommand?.has(name) ?? false
  }

  bool(name: string): boolean {
    return this.parsed.flags.get(name) === true
  }

  string(name: string): string | undefined {
    const v = this.parsed.flags.get(name)
    if (typeof v === 'string') return v
    const env = FLAGS[name]?.env
    return env ? this.env[env] || undefined : undefined
  }

  /** A repeatable comma-list flag, its env var when absent. */
  list(name: string): string[] {
    return this.values(name)
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter((s) => s !== '')
  }

  /**
   * Each value of a list flag as given (or its env var's), not split: key flags are comma lists
   * that keySpecsFromList splits as sops's key constructors do (an empty item is not dropped).
   */
  values(name: string): string[] {
    const v = this.parsed.flags.get(name)
    const raw = Array.isArray(v) ? v : []
    const env = FLAGS[name]?.env
    return raw.length > 0 ? raw : env && this.env[env] ? [this.env[env]!] : []
  }

  int(name: string): number | undefined {
    const s = this.string(name)
    if (s === undefined) return undefined
    if (!/^[+-]?\d+$/.test(s)) throw usageError(`invalid value ${goQuote(s)} for flag -${name}: parse error`)
    return Number(s)
  }
}
