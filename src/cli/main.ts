/**
 * The tsops command line: argv -> command. The only module that calls process.exit.
 * Both styles work: `tsops decrypt f.yaml` and sops's legacy `tsops -d f.yaml`.
 */
import { TsopsError } from '../core/errors.js'
import { Args, parseArgs } from './args.js'
import { createCliContext, type CliContext } from './context.js'
import path from 'node:path'
import { HELP, SOPS_VERSION_TEXT, VERSION_TEXT } from './help.js'

export type Command = (ctx: CliContext, args: Args, rest: string[]) => Promise<number>

/**
 * Commands are the files in ./commands (one per command, each exporting `run`), loaded lazily:
 * `tsops decrypt` never parses the code of `tsops edit`. esbuild bundles every file the glob
 * import can reach as its own chunk, so adding a command is adding a file.
 */
async function loadCommand(name: string): Promise<Command | undefined> {
  if (!/^[a-z][a-z-]*$/.test(name)) return undefined
  try {
    const mod = (await import(`./commands/${name}.ts`)) as { run?: Command }
    return mod.run
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const message = err instanceof Error ? err.message : ''
    if (code === 'ERR_MODULE_NOT_FOUND' || message.startsWith('Module not found in bundle')) return undefined
    throw err
  }
}

function legacyMode(args: Args): string | undefined {
  if (args.bool('encrypt')) return 'encrypt'
  if (args.bool('decrypt')) return 'decrypt'
  if (args.bool('rotate')) return 'rotate'
  if (args.string('set')) return 'set' // sops: an empty --set means edit mode
  return undefined
}

export async function run(argv: readonly string[]): Promise<number> {
  const args = new Args(parseArgs(argv), process.env)
  const ctx = createCliContext(args.bool('verbose'))
  if (args.bool('version')) {
    process.stdout.write(path.basename(process.argv[1] ?? '') === 'sops' ? SOPS_VERSION_TEXT : VERSION_TEXT)
    return 0
  }
  const [first, ...rest] = args.positionals
  if (args.bool('help') || (first === undefined && legacyMode(args) === undefined)) {
    process.stdout.write(HELP)
    return first === undefined && !args.bool('help') ? 1 : 0
  }
  // `decrypt --terraform` speaks Terraform's external data source protocol (its own module).
  const name = first === 'decrypt' && args.bool('terraform') ? 'terraform' : first
  const command = name === undefined ? undefined : await loadCommand(name)
  if (command) return command(ctx, args, rest)
  // sops's legacy style: `tsops -d FILE`, `tsops --set '…' FILE`, and a bare `tsops FILE` edits.
  const mode = legacyMode(args) ?? 'edit'
  const legacy = await loadCommand(mode)
  if (!legacy) throw new TsopsError(`the ${mode} mode is not available in this version of tsops`)
  return legacy(ctx, args, args.positionals)
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
