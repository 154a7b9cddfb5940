/** `tsops decrypt FILE` / `tsops -d FILE`. */
import { TreeMap, TreeSeq, type Value } from '../../core/tree.js'
import { GenericError } from '../../core/errors.js'
import { loadEncryptedParser, loadFormat } from '../../formats/registry.js'
import { readInput } from '../../io/files.js'
import { decryptDocument } from '../../pipeline/decrypt.js'
import { parseDecryptionOrder } from '../../keys/registry.js'
import type { Format } from '../../formats/format.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { chooseFormats } from '../formats.js'
import { assertOutputFlags, writeResult } from '../output.js'
import { parseTreePath, type PathPart } from '../treepath.js'
import { emitOptionsFor } from '../settings.js'

export async function decryptCommand(ctx: CliContext, args: Args, file: string | undefined): Promise<number> {
  assertOutputFlags(args, file)
  const extract = args.string('extract')
  const extractPath = extract === undefined ? undefined : parseTreePath(extract)
  const formats = chooseFormats(args, file)
  const bytes = readInput(file)
  const parse = await loadEncryptedParser(formats.input)
  const doc = parse(bytes)
  const inputFormat = await loadFormat(formats.input)
  const decrypted = await decryptDocument(doc, {
    ctx: ctx.keyContext,
    ignoreMac: args.bool('ignore-mac'),
    decryptionOrder: parseDecryptionOrder(args.string('decryption-order')),
    rawStrings: formats.input === 'binary',
    decodeLiteral: inputFormat.decodeLiteral?.bind(inputFormat),
  })
  decrypted.dataKey.fill(0)
  const output = await loadFormat(formats.output)
  const emitOptions = emitOptionsFor(ctx, args, formats.output)
  const origin = formats.output === formats.input ? doc.origin : undefined
  const data = extractPath
    ? emitExtract(output, doc.branches[0] ?? new TreeMap(), extractPath, emitOptions)
    : output.emit({ branches: doc.branches, metadata: undefined, origin }, emitOptions)
  writeResult(args, file, data)
  return 0
}

/** --extract: a map in the output format, a string as raw bytes (no newline), other values via emitValue. */
function emitExtract(format: Format, root: TreeMap, path: PathPart[], options: ReturnType<typeof emitOptionsFor>): Uint8Array {
  const value = navigate(root, path)
  if (value instanceof TreeMap) return format.emit({ branches: [value], metadata: undefined }, options)
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (value instanceof Uint8Array) return value
  if (!format.emitValue) throw new GenericError(`--extract of a single value is not supported for ${format.name} output`)
  return format.emitValue(value, options)
}

export function navigate(root: TreeMap, path: PathPart[]): Value {
  let node: Value = root
  for (const part of path) {
    const next = child(node, part)
    if (next === undefined) throw new GenericError(`error truncating tree: component [${JSON.stringify(part)}] not found`)
    node = next
  }
  return node
}

function child(node: Value, part: PathPart): Value | undefined {
  if (typeof part === 'number') return node instanceof TreeSeq ? node.values()[part] : undefined
  return node instanceof TreeMap ? node.get(part) : undefined
}

export function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  return decryptCommand(ctx, args, rest[0])
}
