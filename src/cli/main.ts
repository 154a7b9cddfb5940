/**
 * The tsops command line: argv -> command. The only module that calls process.exit.
 * Both styles work: `tsops decrypt f.yaml` and sops's legacy `tsops -d f.yaml`.
 */
import { FormatError, NoFileError, TsopsError, UnsupportedCommandError } from '../core/errors.js'
import { Args, parseArgs } from './args.js'
import { createCliContext, type CliContext } from './context.js'
import { writeStderr, writeStdout } from '../io/stdio.js'
import { SOPS_VERSION_TEXT, VERSION_TEXT } from './version.js'
import { currentPersona, type Persona } from './persona.js'
import { sopsLogLine } from './sopslog.js'
import { useKeyServices } from './keyservices.js'

export type Command = (ctx: CliContext, args: Args, rest: string[]) => Promise<number>

/** Finds the command called `name`; undefined when there is none (the word is then a file). */
export type CommandLoader = (name: string) => Promise<Command | undefined>

/**
 * Thrown by a loader that was built without some commands (the start-up bundle, see
 * scripts/bundle.mjs) for a word that may name one of them: main() then hands the whole run
 * over to the complete CLI. Nothing has been read or written at that point.
 */
export class CommandNotBundled extends Error {}

/**
 * sops subcommands tsops has no module for yet (none today). sops never takes these words for a
 * file, so neither does tsops: such a word must not open an editor on a new file of that name.
 */
const SOPS_ONLY_COMMANDS: ReadonlySet<string> = new Set<string>()

/** sops's `help` and its alias `h`: the usage text on stdout, exit 0. */
const HELP_WORDS: ReadonlySet<string> = new Set(['help', 'h'])

/** The last word of urfave/cli's completion scripts' call-back (commands/completion.ts). */
const GENERATE_COMPLETION = '--generate-bash-completion'

/**
 * The help and completion commands come through the loader like any other, so the start-up
 * bundle, which has neither, hands such a run over to the complete CLI: the usage text never
 * weighs on a decrypt's start.
 */
async function loadBuiltIn(load: CommandLoader, name: 'help' | 'completion'): Promise<Command> {
  const command = await load(name)
  if (!command) throw new TsopsError(`the ${name} command is missing from this build of tsops`, { code: 'COMMAND_NOT_BUNDLED' })
  return command
}

/** A word that can name a command (anything else is a file name or a flag value). */
export function isCommandWord(name: string): boolean {
  return /^[a-z][a-z-]*$/.test(name)
}

function legacyMode(args: Args): string | undefined {
  if (args.bool('encrypt')) return 'encrypt'
  if (args.bool('decrypt')) return 'decrypt'
  if (args.bool('rotate')) return 'rotate'
  if (args.string('set')) return 'set' // sops: an empty --set means edit mode
  return undefined
}

export async function run(argv: readonly string[], load: CommandLoader): Promise<number> {
  // Checked before parsing, as urfave/cli does: the words before it may be half-typed flags.
  if (argv.at(-1) === GENERATE_COMPLETION) {
    const complete = await loadBuiltIn(load, 'completion')
    return complete(createCliContext(false), new Args(parseArgs([]), process.env), [GENERATE_COMPLETION, ...argv.slice(0, -1)])
  }
  const args = new Args(parseArgs(argv), process.env)
  const ctx = createCliContext(args.bool('verbose'))
  if (args.bool('version')) {
    writeStdout(ctx.persona === 'sops' ? SOPS_VERSION_TEXT : VERSION_TEXT)
    return 0
  }
  const [first, ...rest] = args.positionals
  const helpWord = first !== undefined && HELP_WORDS.has(first)
  if (args.bool('help') || helpWord || (first === undefined && legacyMode(args) === undefined)) {
    const help = await loadBuiltIn(load, 'help')
    // `help CMD`, `CMD --help`, `CMD SUB --help`: that command's usage; a file name is no topic.
    const topic = helpWord ? rest : args.positionals.filter((w) => isCommandWord(w)).slice(0, 2)
    const code = await help(ctx, args, first === undefined ? [] : topic)
    return first === undefined && !args.bool('help') ? 1 : code
  }
  // `decrypt --terraform` speaks Terraform's external data source protocol (its own module).
  const name = first === 'decrypt' && args.bool('terraform') ? 'terraform' : first
  await useKeyServices(ctx, args)
  const command = name === undefined ? undefined : await load(name)
  if (command) return command(ctx, args, rest)
  if (name !== undefined && SOPS_ONLY_COMMANDS.has(name)) throw new UnsupportedCommandError(name)
  // sops's legacy style: `tsops -d FILE`, `tsops --set '…' FILE`, and a bare `tsops FILE` edits.
  const mode = legacyMode(args) ?? 'edit'
  // sops's legacy mode always needs a file (stdin is for the subcommands).
  if (args.positionals.length === 0) throw new NoFileError('Error: no file specified')
  const modes = ['encrypt', 'decrypt', 'rotate'].filter((m) => args.bool(m)).length + (args.string('set') ? 1 : 0)
  if (modes > 1) {
    ctx.warn('More than one command (--encrypt, --decrypt, --rotate, --set) has been specified. Only the changes made by the last one will be visible. Note that this behavior is deprecated and will cause an error eventually.')
  }
  const legacy = await load(mode)
  if (!legacy) throw new TsopsError(`the ${mode} mode is not available in this version of tsops`, { code: 'UNSUPPORTED_MODE' })
  return legacy(ctx, args, args.positionals)
}

/**
 * Print a failure and return the exit code. A TsopsError is printed as `tsops: error: …` /
 * `tsops: hint: …` with its own exit code (its message is written never to hold a secret); run
 * as `sops`, as sops prints it: the bare message, no hint.
 * Anything else is a bug or a runtime limit: exit 1, no stack trace unless --verbose, and its
 * message is redacted first, because runtime messages quote their input (V8's JSON.parse
 * prints `"hunter2" is not valid JSON`). Control characters are escaped so a hostile file or
 * key name cannot drive the terminal. Never throws, even on a broken error object.
 */
export function reportError(err: unknown, verbose: boolean, persona: Persona = currentPersona()): number {
  const prefix = persona === 'sops' ? '' : 'tsops: error: '
  try {
    if (err instanceof TsopsError) {
      if (err.sopsLog && persona === 'sops') {
        writeStderr(sopsLogLine(err.sopsLog, String(err.message)))
        return 1 // logrus's Fatal exits 1
      }
      writeStderr(`${prefix}${printable(String(err.message))}\n`)
      if (err.hint && persona === 'tsops') writeStderr(`tsops: hint: ${printable(String(err.hint))}\n`)
      const excerpt = excerptOf(err)
      if (excerpt && persona === 'tsops') writeStderr(indented(excerpt))
      return validExitCode(err.exitCode)
    }
    writeStderr(`${prefix}unexpected failure: ${printable(describeUnexpected(err))}\n`)
    if (verbose) writeStderr(stackFrames(err))
  } catch {
    writeStderr('tsops: error: unexpected failure\n')
  }
  return 1
}

/** A parse error's excerpt, also when a command wrapped the FormatError in its own error (filestatus). */
function excerptOf(err: TsopsError): string | undefined {
  if (err instanceof FormatError) return err.excerpt
  return err.cause instanceof FormatError ? err.cause.excerpt : undefined
}

/** A FormatError's excerpt under its hint: each line indented, control characters escaped. */
function indented(excerpt: string): string {
  return excerpt
    .split('\n')
    .map((line) => `    ${printable(line)}\n`)
    .join('')
}

function validExitCode(code: unknown): number {
  return typeof code === 'number' && Number.isInteger(code) && code > 0 && code < 256 ? code : 1
}

/** Runtime limits get a plain-language message; other errors their name and redacted message. */
function describeUnexpected(err: unknown): string {
  // A thrown string or object has no shape to redact by: say only what kind of thing it was.
  if (!(err instanceof Error)) return `a non-error value was thrown (${err === null ? 'null' : typeof err})`
  const message = String(err.message)
  if (err instanceof RangeError && message.startsWith('Maximum call stack size exceeded')) return 'the input is nested too deeply to process'
  if (message === 'Invalid string length' || (err as NodeJS.ErrnoException).code === 'ERR_STRING_TOO_LONG') return 'the input is too large to process'
  // Parsers' SyntaxErrors quote input even unquoted ("Cannot convert hunter2 to a BigInt").
  if (err instanceof SyntaxError) return 'SyntaxError (details withheld: they may quote the input)'
  return `${err.name}: ${redactQuoted(message)}`
}

/** Whatever is quoted in a runtime message is input; keep the shape, drop the text. */
export function redactQuoted(message: string): string {
  return message.replace(/"[^"\n]*"|'[^'\n]*'|`[^`\n]*`/g, (q) => `${q[0]}…${q[0]}`)
}

/** The `at …` lines of a stack: code locations only (the first line repeats the raw message). */
function stackFrames(err: unknown): string {
  const stack = err instanceof Error && typeof err.stack === 'string' ? err.stack : ''
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l))
  return frames.length > 0 ? printable(frames.join('\n')) + '\n' : ''
}

/** C0/C1 controls (except newline and tab) and DEL as \xNN, so output cannot steer the terminal. */
export function printable(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** Synchronous and failure-proof: a closed or broken stderr must not turn into a crash. */

/**
 * Runs the CLI on process.argv and sets the exit code. `handOver` is given by the start-up
 * bundle, whose loader lacks most commands: when it meets one, the run starts over in the
 * complete CLI (see CommandNotBundled).
 */
export async function main(load: CommandLoader, handOver?: () => Promise<void>): Promise<void> {
  const argv = process.argv.slice(2)
  const verbose = argv.includes('--verbose')
  // Failures outside run() (a late rejection in a key source, a stream error) get the same
  // treatment as the rest: a `tsops: error:` line and an exit code, never Node's stack trace.
  const lastResort = (err: unknown) => {
    process.exitCode = reportError(err, verbose)
  }
  process.on('uncaughtException', lastResort)
  process.on('unhandledRejection', lastResort)
  let code: number
  try {
    code = await run(argv, load)
  } catch (err) {
    if (err instanceof CommandNotBundled && handOver) {
      process.off('uncaughtException', lastResort)
      process.off('unhandledRejection', lastResort)
      return handOver()
    }
    code = reportError(err, verbose)
  }
  // Everything a command does is awaited and every write is synchronous (io/stdio.ts), so
  // nothing is left to wait for: exit now instead of returning to the event loop, whose first
  // task after a cold start is a garbage collection (~1 ms of a small decrypt). 'exit' listeners
  // (lock release, temp-file cleanup, the code cache) still run.
  process.exit(code)
}
