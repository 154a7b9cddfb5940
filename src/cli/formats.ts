/** Choosing input and output formats for a command from flags and the file name. */
import { detectFormat, resolveFormatName } from '../formats/registry.js'
import type { FormatName } from '../formats/format.js'
import { isStdin } from '../io/files.js'
import type { Args } from './args.js'

export interface FormatChoice {
  input: FormatName
  output: FormatName
  /** The name rules and detection use: --filename-override, else the file (undefined for stdin). */
  name: string | undefined
}

export function chooseFormats(args: Args, file: string | undefined): FormatChoice {
  const override = args.string('filename-override')
  const name = override ?? (isStdin(file) && file !== '/dev/stdin' ? undefined : file)
  const explicitIn = args.string('input-type')
  const input = resolveFormatName(explicitIn, name)
  // Like sops, the output follows the file name; where the name says nothing (stdin, unknown
  // suffix) an explicit input type is the better guess than binary.
  const byName = name === undefined ? undefined : detectFormat(name)
  const fallback = byName === undefined || byName === 'binary' ? (explicitIn ? input : 'binary') : byName
  const output = resolveFormatName(args.string('output-type') ?? fallback, name)
  return { input, output, name }
}
