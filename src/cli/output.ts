/** Where a command's result goes: stdout, --output, or the input file itself (-i). */
import { ConflictingParametersError } from '../core/errors.js'
import { isStdin, writeFileAtomic, writeStdout } from '../io/files.js'
import type { Args } from './args.js'

export function assertOutputFlags(args: Args, file: string | undefined): void {
  if (args.bool('in-place') && args.string('output') !== undefined) {
    throw new ConflictingParametersError('Cannot use both --in-place and --output')
  }
  if (args.bool('in-place') && isStdin(file)) {
    throw new ConflictingParametersError('Cannot use --in-place with standard input')
  }
}

export function writeResult(args: Args, file: string | undefined, data: Uint8Array): void {
  const output = args.string('output')
  if (args.bool('in-place') && file) writeFileAtomic(file, data)
  else if (output !== undefined) writeFileAtomic(output, data)
  else writeStdout(data)
}
