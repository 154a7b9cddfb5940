/** `tsops filestatus FILE`: `{"encrypted":true|false}`, as sops prints it (spec §9.1). */
import { fileStatus } from '../../check/status.js'
import { GenericError, NoFileError, TsopsError } from '../../core/errors.js'
import { resolveFormatName } from '../../formats/registry.js'
import { readFileAsSops } from '../../io/go-errors.js'
import { writeStdout } from '../../io/stdio.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'

export async function run(_ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  const file = rest[0]
  if (file === undefined) throw new NoFileError('Error: no file specified')
  let status: { encrypted: boolean }
  try {
    status = await fileStatus(readFileAsSops(file), resolveFormatName(args.string('input-type'), file))
  } catch (err) {
    // sops's filestatus returns its error without an exit code: log.Fatal prints it (exit 1).
    if (!(err instanceof TsopsError)) throw err
    throw new GenericError(`cannot check file status: cannot load encrypted file: ${err.message}`, { code: 'LOAD_FAILED', sopsLog: 'fatal', cause: err, ...(err.hint ? { hint: err.hint } : {}) })
  }
  writeStdout(JSON.stringify({ encrypted: status.encrypted }) + '\n')
  return 0
}
