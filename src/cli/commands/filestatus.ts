/** `tsops filestatus FILE`: `{"encrypted":true|false}`, as sops prints it (spec §9.1). */
import { fileStatus } from '../../check/status.js'
import { NoFileError } from '../../core/errors.js'
import { resolveFormatName } from '../../formats/registry.js'
import { readInput } from '../../io/files.js'
import { writeStdout } from '../../io/stdio.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'

export async function run(_ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  const file = rest[0]
  if (file === undefined) throw new NoFileError('Error: no file specified')
  const status = await fileStatus(readInput(file), resolveFormatName(args.string('input-type'), file))
  writeStdout(JSON.stringify({ encrypted: status.encrypted }) + '\n')
  return 0
}
