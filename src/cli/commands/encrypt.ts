/** `tsops encrypt FILE` / `tsops -e FILE`. */
import { ConflictingParametersError, emitting, FormatError } from '../../core/errors.js'
import type { Document, Format } from '../../formats/format.js'
import { assertReadsBack, loadFormat } from '../../formats/registry.js'
import { parseShowingWhere } from '../../formats/excerpt.js'
import { isStdin, readInput } from '../../io/files.js'
import { encryptBinaryChunks } from '../../pipeline/binary-stream.js'
import { encryptDocument } from '../../pipeline/encrypt.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { chooseFormats } from '../formats.js'
import { assertOutputFlags, warnExtraPositionals, writeResult } from '../output.js'
import { emitOptionsFor, encryptionSettings } from '../settings.js'

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  const file = rest[0]
  warnExtraPositionals(ctx, rest)
  assertOutputFlags(args, file)
  if (isStdin(file) && file !== '/dev/stdin' && args.string('filename-override') === undefined) {
    throw new ConflictingParametersError('encrypting standard input needs --filename-override to choose the creation rule and format')
  }
  const formats = chooseFormats(args, file)
  const settings = await encryptionSettings(ctx, args, formats.name ?? file, { subcommand: args.positionals[0] === 'encrypt', inputFormat: formats.input })
  const input = await loadFormat(formats.input)
  const doc = parsePlain(input, readInput(file))
  if (formats.input === 'binary' && formats.output === 'binary') {
    // Written as it is encrypted: a large file never exists whole in a second or third form.
    const chunks = await encryptBinaryChunks(input, doc, { ...settings, ctx: ctx.keyContext }, emitOptionsFor(ctx, args, 'binary'))
    if (chunks) {
      writeResult(args, file, chunks)
      return 0
    }
  }
  await encryptDocument(input, doc, { ...settings, ctx: ctx.keyContext })
  const output = formats.output === formats.input ? input : await loadFormat(formats.output)
  const origin = formats.output === formats.input ? doc.origin : undefined
  const data = emitting('Could not marshal tree: ', () => output.emit({ branches: doc.branches, metadata: doc.metadata, origin }, emitOptionsFor(ctx, args, formats.output)))
  if (args.bool('in-place')) await assertReadsBack(formats.output, data)
  writeResult(args, file, data)
  return 0
}

/** sops's encrypt names a file it cannot parse `Error unmarshalling file: …` (exit 2). */
function parsePlain(input: Format, bytes: Uint8Array): Document {
  return parseShowingWhere(bytes, () => {
    try {
      return input.parse(bytes)
    } catch (err) {
      if (!(err instanceof FormatError) || err.message.startsWith(UNMARSHALLING)) throw err
      throw new FormatError(`${UNMARSHALLING}${err.message}`, err.line, err.column, { cause: err })
    }
  })
}

const UNMARSHALLING = 'Error unmarshalling file: '
