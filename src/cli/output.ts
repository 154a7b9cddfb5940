/** Where a command's result goes: stdout, --output, or the input file itself (-i). */
import { ConflictingParametersError } from '../core/errors.js'
import { isStdin, withFileLock, writeFileAtomic, writeStdout, type Bytes } from '../io/files.js'
import type { Args } from './args.js'
import type { CliContext } from './context.js'
import { goQuote } from './sopslog.js'

export function assertOutputFlags(args: Args, file: string | undefined): void {
  if (args.bool('in-place') && args.string('output') !== undefined) {
    throw new ConflictingParametersError('Error: cannot operate on both --output and --in-place')
  }
  if (args.bool('in-place') && isStdin(file)) {
    throw new ConflictingParametersError('Cannot use --in-place with standard input')
  }
}

export function writeResult(args: Args, file: string | undefined, data: Bytes): void {
  const output = args.string('output')
  if (args.bool('in-place') && file) writeFileAtomic(file, data)
  else if (output !== undefined) writeFileAtomic(output, data)
  else writeStdout(data)
}

/**
 * Run a read-modify-write of `file` holding its lock (set, unset, apply, rotate -i, updatekeys),
 * so concurrent tsops updates of one file take turns instead of the last writer silently
 * dropping the others' changes. writeFileAtomic(file) inside reuses the lock; another process
 * waits for it (up to 10 s, then a clear error naming the holder).
 */
export function updateInPlace<T>(file: string, fn: () => Promise<T>): Promise<T> {
  return isStdin(file) ? fn() : withFileLock(file, fn)
}

/**
 * sops's warnMoreThanOnePositionalArgument (encrypt, edit, and sops's decrypt and rotate of one
 * file): only the first file is used, and an ignored word that looks like a flag (the last one)
 * is pointed out, since flags after the first positional argument are not flags to sops.
 */
export function warnExtraPositionals(ctx: CliContext, positionals: readonly string[]): void {
  if (positionals.length <= 1) return
  ctx.warn('More than one positional argument provided. Only the first one will be used!')
  const flagLike = positionals.slice(1).filter((p) => p.startsWith('-')).pop()
  if (flagLike !== undefined) {
    ctx.warn(`Note that one of the ignored positional argument is ${goQuote(flagLike)}, which looks like a flag. Flags must always be provided before the first positional argument!`)
  }
}
