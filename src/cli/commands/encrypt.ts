/** `tsops encrypt FILE` / `tsops -e FILE`. */
import { ConflictingParametersError } from '../../core/errors.js'
import { assertReadsBack, loadFormat } from '../../formats/registry.js'
import { isStdin, readInput } from '../../io/files.js'
import { encryptDocument } from '../../pipeline/encrypt.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { chooseFormats } from '../formats.js'
import { assertOutputFlags, writeResult } from '../output.js'
import { emitOptionsFor, encryptionSettings } from '../settings.js'

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  const file = rest[0]
  assertOutputFlags(args, file)
  if (isStdin(file) && file !== '/dev/stdin' && args.string('filename-override') === undefined) {
    throw new ConflictingParametersError('encrypting standard input needs --filename-override to choose the creation rule and format')
  }
  const formats = chooseFormats(args, file)
  const settings = await encryptionSettings(ctx, args, formats.name ?? file)
  const input = await loadFormat(formats.input)
  const doc = input.parse(readInput(file))
  await encryptDocument(input, doc, { ...settings, ctx: ctx.keyContext })
  const output = formats.output === formats.input ? input : await loadFormat(formats.output)
  const origin = formats.output === formats.input ? doc.origin : undefined
  const data = output.emit({ branches: doc.branches, metadata: doc.metadata, origin }, emitOptionsFor(ctx, args, formats.output))
  if (args.bool('in-place')) await assertReadsBack(formats.output, data)
  writeResult(args, file, data)
  return 0
}
