/**
 * `tsops set FILE PATH VALUE` and sops's legacy `tsops --set '["a"]["b"] VALUE' FILE`
 * (spec §9.1, §9.4): decrypt, set one value, re-encrypt with the same data key so only that
 * value's lines, `lastmodified` and `mac` change, and write the file in place.
 */
import fs from 'node:fs'
import path from 'node:path'
import { GenericError, NoFileError, SetFormatError, TreePathError } from '../../core/errors.js'
import type { Value } from '../../core/tree.js'
import { readInput, writeFileAtomic } from '../../io/files.js'
import { goPathError } from '../../io/go-errors.js'
import { withDecrypted } from '../../pipeline/reencrypt.js'
import { parseSetValue } from '../../tree/set-value.js'
import { setValue } from '../../tree/set.js'
import type { PathPart } from '../../tree/path.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { chooseFormats } from '../formats.js'
import { updateInPlace } from '../output.js'
import { creationRuleFor, rewriteOptions } from '../settings.js'
import { parseTreePath } from '../treepath.js'

interface SetRequest {
  file: string
  path: PathPart[]
  value: Value
}

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  const legacy = args.string('set') !== undefined && args.positionals[0] !== 'set'
  const request = legacy ? legacyRequest(args, rest) : subcommandRequest(args, rest)
  const file = path.resolve(ctx.cwd, request.file)
  const formats = chooseFormats(args, file)
  // Legacy mode loads .sops.yaml like sops does: a config whose rules all miss is an error.
  if (legacy) creationRuleFor(ctx, args, formats.name ?? file)
  return updateInPlace(file, async () => {
    const result = await withDecrypted(
      file,
      {
        ...rewriteOptions(ctx, args, formats),
        bumpVersion: false,
      },
      (doc) => setValue(doc.branches[0]!, request.path, request.value),
    )
    if (!result.changed && args.bool('idempotent')) {
      if (ctx.verbose) ctx.stderr('tsops: file not written: the value is already set')
      return 0
    }
    writeFileAtomic(file, result.bytes)
    return 0
  })
}

/** `set FILE PATH VALUE`, `set --value-file FILE PATH VALUEFILE`, `set --value-stdin FILE PATH`. */
function subcommandRequest(args: Args, rest: string[]): SetRequest {
  const fromFile = args.bool('value-file')
  const fromStdin = args.bool('value-stdin')
  if (fromFile && fromStdin) throw new GenericError('Error: cannot use both --value-file and --value-stdin', { code: 'BAD_FLAG' })
  if (fromStdin && rest.length !== 2) {
    throw new NoFileError('Error: file specified, or index and value are missing. Need precisely 2 positional arguments since --value-stdin is used.')
  }
  if (!fromStdin && rest.length !== 3) {
    throw new NoFileError('Error: no file specified, or index and value are missing. Need precisely 3 positional arguments.')
  }
  const [file, index, third] = rest as [string, string, string | undefined]
  const treePath = parseIndex(index, 'set')
  // Reading the value from a file or stdin keeps it out of process listings.
  const text = fromStdin ? readInput('-').toString('utf8') : fromFile ? readValueFile(third!) : third!
  return { file, path: treePath, value: parseSetValue(text) }
}

/** sops reads --value-file with os.ReadFile and prints Go's error as is (exit 1). */
function readValueFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw new GenericError(goPathError('open', file, err), { code: 'FILE_NOT_FOUND' })
  }
}

/** `--set '["a"]["b"] VALUE' FILE`: split after the first `] `, as sops's extractSetArguments does. */
function legacyRequest(args: Args, rest: string[]): SetRequest {
  const file = rest[0]
  if (file === undefined) throw new NoFileError('Error: no file specified')
  const spec = args.string('set')!
  const split = spec.indexOf('] ')
  if (split === -1) throw new SetFormatError('Invalid --set format')
  const value = parseSetValue(spec.slice(split + 2))
  let treePath: PathPart[]
  try {
    treePath = parseTreePath(spec.slice(0, split + 1).trimEnd())
  } catch (err) {
    if (err instanceof TreePathError) throw new SetFormatError('Invalid --set format')
    throw err
  }
  return { file, path: treePath, value }
}

export function parseIndex(index: string, command: 'set' | 'unset'): PathPart[] {
  try {
    return parseTreePath(index)
  } catch (err) {
    if (err instanceof TreePathError) throw new SetFormatError(`Invalid ${command} index format`)
    throw err
  }
}
