/**
 * `tsops unset FILE PATH` (spec §9.1): decrypt, remove one map key or list element,
 * re-encrypt with the same data key (unchanged values keep their ciphertext), write in place.
 * A missing key is `Key not found` (exit 1), or a quiet success with `--idempotent`.
 */
import path from 'node:path'
import { NoFileError } from '../../core/errors.js'
import { writeFileAtomic } from '../../io/files.js'
import { withDecrypted } from '../../pipeline/reencrypt.js'
import { KeyNotFoundError } from '../../tree/errors.js'
import { unsetValue } from '../../tree/unset.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { chooseFormats } from '../formats.js'
import { updateInPlace } from '../output.js'
import { rewriteOptions } from '../settings.js'
import { parseIndex } from './set.js'

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  if (rest.length !== 2) throw new NoFileError('Error: no file specified, or index is missing')
  const file = path.resolve(ctx.cwd, rest[0]!)
  const treePath = parseIndex(rest[1]!, 'unset')
  const formats = chooseFormats(args, file)
  return updateInPlace(file, async () => {
    let result
    try {
      result = await withDecrypted(
        file,
        {
          ...rewriteOptions(ctx, args, formats),
          bumpVersion: false,
        },
        (doc) => unsetValue(doc.branches[0]!, treePath),
      )
    } catch (err) {
      if (err instanceof KeyNotFoundError && args.bool('idempotent')) {
        if (ctx.verbose) ctx.stderr(`tsops: file not written: ${err.message}`)
        return 0
      }
      throw err
    }
    writeFileAtomic(file, result.bytes)
    return 0
  })
}
