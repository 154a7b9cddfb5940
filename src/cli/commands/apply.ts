/**
 * `tsops apply ENCRYPTED NEW_PLAINTEXT` — for scripts and CI (sops issues #1587, #2008, #931):
 * replace the whole content of an encrypted file with a new plaintext of the same format
 * (`-` reads standard input), keeping its data key, master keys and rules. Values that did not
 * change keep their exact ciphertext, so the diff shows only what changed (plus `lastmodified`
 * and `mac`). Nothing is written when the new plaintext equals the current one.
 */
import path from 'node:path'
import { AlreadyEncryptedError, NoFileError } from '../../core/errors.js'
import { readInput, writeFileAtomic, isStdin } from '../../io/files.js'
import { withDecrypted } from '../../pipeline/reencrypt.js'
import { treeEquals } from '../../tree/equals.js'
import type { TreeMap } from '../../core/tree.js'
import { parseShowingWhere } from '../../formats/excerpt.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { chooseFormats } from '../formats.js'
import { assertOutputFlags, updateInPlace } from '../output.js'
import { rewriteOptions } from '../settings.js'

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  if (rest.length !== 2) {
    throw new NoFileError('Error: need precisely 2 positional arguments: the encrypted file and the new plaintext (- for standard input)')
  }
  const file = path.resolve(ctx.cwd, rest[0]!)
  assertOutputFlags(args, file)
  const source = isStdin(rest[1]) ? '-' : path.resolve(ctx.cwd, rest[1]!)
  const formats = chooseFormats(args, file)
  const plaintext = readInput(source)
  const apply = () => applyTo(ctx, args, rest[0]!, plaintext, formats)
  // In place, the file is read and rewritten under its lock; with --output it is only read.
  return args.string('output') === undefined ? updateInPlace(file, apply) : apply()
}

async function applyTo(ctx: CliContext, args: Args, given: string, plaintext: Uint8Array, formats: ReturnType<typeof chooseFormats>): Promise<number> {
  const file = path.resolve(ctx.cwd, given)
  const result = await withDecrypted(
    file,
    {
      ...rewriteOptions(ctx, args, formats),
    },
    (doc, opened) => {
      const next = parseShowingWhere(plaintext, () => opened.format.parse(plaintext))
      // A plaintext with a sops block is an encrypted file (or clashes with the metadata).
      if (opened.format.hasMetadataKey(next)) throw new AlreadyEncryptedError()
      const changed = !sameBranches(doc.branches, next.branches)
      doc.branches = next.branches
      doc.origin = next.origin
      return changed
    },
  )
  const output = args.string('output')
  if (!result.changed) {
    if (ctx.verbose) ctx.stderr(`tsops: ${given} already has this content; not rewritten`)
    // --output still gets the file, unchanged byte for byte.
    if (output !== undefined) writeFileAtomic(path.resolve(ctx.cwd, output), readInput(file))
    return 0
  }
  writeFileAtomic(output === undefined ? file : path.resolve(ctx.cwd, output), result.bytes)
  return 0
}

function sameBranches(a: TreeMap[], b: TreeMap[]): boolean {
  return a.length === b.length && a.every((branch, i) => treeEquals(branch, b[i]!))
}
