/**
 * The tsops command line: argv -> command. The only module that calls process.exit.
 * Both styles work: `tsops decrypt f.yaml` and sops's legacy `tsops -d f.yaml`.
 */
import { TsopsError } from '../core/errors.js'
import { Args, parseArgs } from './args.js'
import { createCliContext, type CliContext } from './context.js'
import { HELP, VERSION_TEXT } from './help.js'

type Command = (ctx: CliContext, args: Args, rest: string[]) => Promise<number>

/** Commands load lazily: `tsops decrypt` never parses the code of `tsops edit`. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  encrypt: async () => (await import('./commands/encrypt.js')).encryptMain,
  decrypt: async () => (await import('./commands/decrypt.js')).decryptMain,
  keygen: async () => (await import('./commands/keygen.js')).keygenMain,
}

function legacyMode(args: Args): string | undefined {
  if (args.bool('encrypt')) return 'encrypt'
  if (args.bool('decrypt')) return 'decrypt'
  if (args.bool('rotate')) return 'rotate'
  if (args.string('set') !== undefined) return 'set-legacy'
  return undefined
}

export async function run(argv: readonly string[]): Promise<number> {
  const args = new Args(parseArgs(argv), process.env)
  const ctx = createCliContext(args.bool('verbose'))
  if (args.bool('version')) {
    process.stdout.write(VERSION_TEXT)
    return 0
  }
  const [first, ...rest] = args.positionals
  if (args.bool('help') || (first === undefined && legacyMode(args) === undefined)) {
    process.stdout.write(HELP)
    return first === undefined && !args.bool('help') ? 1 : 0
  }
  if (first !== undefined && COMMANDS[first]) {
    const command = await COMMANDS[first]!()
    return command(ctx, args, rest)
  }
  const mode = legacyMode(args) ?? 'edit'
  const loader = COMMANDS[mode]
  if (!loader) {
    throw new TsopsError(`the ${mode} mode is not available yet in this version of tsops`)
  }
  return (await loader())(ctx, args, args.positionals)
}

/** Print a TsopsError as `tsops: error: …` / `tsops: hint: …`; anything else without a stack trace. */
export function reportError(err: unknown, verbose: boolean): number {
  if (err instanceof TsopsError) {
    process.stderr.write(`tsops: error: ${err.message}\n`)
    if (err.hint) process.stderr.write(`tsops: hint: ${err.hint}\n`)
    return err.exitCode
  }
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`tsops: error: unexpected failure: ${message}\n`)
  if (verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n')
  return 1
}

export async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  let code: number
  try {
    code = await run(argv)
  } catch (err) {
    code = reportError(err, argv.includes('--verbose'))
  }
  process.exitCode = code
}
