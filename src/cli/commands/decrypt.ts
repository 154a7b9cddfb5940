/**
 * `tsops decrypt FILE…` / `tsops -d FILE…`.
 *
 * One file: the plaintext to stdout, --output or in place (-i), exactly like sops.
 * Several files (or --output-dir): every file is decrypted in this one process — one data-key
 * unwrap per file, identities loaded once — and a failing file does not stop the others; each
 * failure is reported on stderr and the exit code is the first failure's. Output goes
 *   - with --output-dir DIR: to DIR/<the file's path relative to the working directory>
 *     (0600, atomically);
 *   - with -i: back into each file;
 *   - to stdout: YAML as one stream of documents, each file's preceded by a `# <file>` line and
 *     files separated by `---`; JSON as one object `{"<file>": <content>, …}`; dotenv, INI and
 *     TOML as `# <file>` then the content, files separated by a blank line. Binary output, or
 *     files whose output formats differ, need --output-dir.
 */
import fs from 'node:fs'
import path from 'node:path'
import { Literal, TreeMap, stripLiterals } from '../../core/tree.js'
import { BinaryEmitError, ConflictingParametersError, emitting, GenericError, NoFileError, TsopsError } from '../../core/errors.js'
import { DATA_KEY, NOT_BINARY_HINT } from '../../formats/binary.js'
import { loadFormat } from '../../formats/registry.js'
import { isStdin, readInput, writeFileAtomic, writeStderr, writeStdout } from '../../io/files.js'
import { isatty } from 'node:tty'
import { open } from '../../pipeline/open.js'
import { decryptBinaryFile } from '../../pipeline/binary-stream.js'
import { UNENCRYPTED_COMMENT_WARNING } from '../../core/walk.js'
import { sopsLogLine } from '../sopslog.js'
import { parseDecryptionOrder } from '../../keys/registry.js'
import type { Document, EmitOptions, Format, FormatName } from '../../formats/format.js'
import { valueAt } from '../../tree/path.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { chooseFormats, type FormatChoice } from '../formats.js'
import { assertOutputFlags, writeResult } from '../output.js'
import { parseTreePath, type PathPart } from '../treepath.js'
import { emitOptionsFor } from '../settings.js'

export async function decryptCommand(ctx: CliContext, args: Args, file: string | undefined): Promise<number> {
  assertOutputFlags(args, file)
  const extract = args.string('extract')
  const extractPath = extract === undefined ? undefined : parseTreePath(extract)
  const formats = chooseFormats(args, file)
  const plain = await decryptPlaintext(ctx, args, file, formats)
  const output = await loadFormat(formats.output)
  const emitOptions = emitOptionsFor(ctx, args, formats.output)
  const data = extractPath ? emitExtract(output, plain.branches[0] ?? new TreeMap(), extractPath, emitOptions) : emitPlain(output, plain, formats, emitOptions)
  writeResult(args, file, data)
  return 0
}

/** Read, parse and decrypt one file (MAC checked unless --ignore-mac); the data key is zeroed. */
async function decryptPlaintext(ctx: CliContext, args: Args, file: string | undefined, formats: FormatChoice): Promise<Document> {
  const streamed = await decryptBinaryStreamed(ctx, args, file, formats)
  if (streamed) return { branches: [new TreeMap([{ key: DATA_KEY, value: streamed }])], metadata: undefined }
  const opened = await open(readInput(file), formats.input, {
    keepIvs: false, // nothing is re-encrypted
    ctx: ctx.keyContext,
    ignoreMac: args.bool('ignore-mac'),
    decryptionOrder: parseDecryptionOrder(args.string('decryption-order')),
    onUnencryptedComment: unencryptedCommentWarning(ctx),
  })
  opened.close()
  const { doc } = opened
  // Another output format must see plain sops values, not TOML source spellings.
  if (formats.output !== formats.input) doc.branches.forEach(stripLiterals)
  return doc
}

/** A binary file decrypted to binary output, read in blocks (bounded memory); undefined = the general path. */
function decryptBinaryStreamed(ctx: CliContext, args: Args, file: string | undefined, formats: FormatChoice): Promise<Uint8Array | undefined> {
  if (formats.input !== 'binary' || formats.output !== 'binary' || file === undefined || isStdin(file) || args.string('extract') !== undefined) return Promise.resolve(undefined)
  return decryptBinaryFile(file, {
    ctx: ctx.keyContext,
    ignoreMac: args.bool('ignore-mac'),
    decryptionOrder: parseDecryptionOrder(args.string('decryption-order')),
    rawStrings: true,
  })
}

/**
 * sops logs a warning for every comment it finds in the clear, with the comment's text (it is
 * in the clear in the file already); tsops says it once.
 */
function unencryptedCommentWarning(ctx: CliContext): (text: string) => void {
  let warned = false
  return (text) => {
    if (ctx.persona === 'sops') return writeStderr(sopsLogLine('warning', UNENCRYPTED_COMMENT_WARNING, { comment: text }, new Date(), 'SOPS'))
    if (!warned) ctx.stderr(`tsops: warning: ${UNENCRYPTED_COMMENT_WARNING}`)
    warned = true
  }
}

function emitPlain(output: Format, doc: Document, formats: FormatChoice, options: EmitOptions): Uint8Array {
  const origin = formats.output === formats.input ? doc.origin : undefined
  return dumpingFile(() => output.emit({ branches: doc.branches, metadata: undefined, origin }, options))
}

/** sops's decrypt wording for an output that cannot be written: `Error dumping file: …`, plus a hint in the message for binary output. */
function dumpingFile(emit: () => Uint8Array): Uint8Array {
  try {
    return emitting('Error dumping file: ', emit)
  } catch (err) {
    if (!(err instanceof BinaryEmitError)) throw err
    throw new BinaryEmitError(`${err.message}\n\n${NOT_BINARY_HINT}`, { cause: err })
  }
}

/** --extract: a map in the output format, a string as raw bytes (no newline), other values via emitValue. */
function emitExtract(format: Format, root: TreeMap, path: PathPart[], options: EmitOptions): Uint8Array {
  const found = valueAt(root, path)
  // A TOML string is a Literal (it keeps its quoting); --extract prints a string's raw text.
  const value = found instanceof Literal && typeof found.value === 'string' ? found.value : found
  if (value instanceof TreeMap) return dumpingFile(() => format.emit({ branches: [value], metadata: undefined }, options))
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (value instanceof Uint8Array) return value
  if (!format.emitValue) throw new GenericError(`--extract of a single value is not supported for ${format.name} output`, { code: 'UNSUPPORTED_EXTRACT' })
  const emitValue = format.emitValue.bind(format)
  return emitting('Error dumping tree: ', () => emitValue(value, options))
}


export function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  if (rest.length <= 1 && args.string('output-dir') === undefined) return decryptCommand(ctx, args, rest[0])
  return decryptMany(ctx, args, rest)
}

// ---- several files --------------------------------------------------------------------------

type Sink = (file: string, doc: Document, formats: FormatChoice) => Promise<void>

async function decryptMany(ctx: CliContext, args: Args, files: string[]): Promise<number> {
  if (files.length === 0) throw new NoFileError('Error: no file specified')
  assertManyFlags(args, files)
  const planned = files.map((file) => ({ file, formats: chooseFormats(args, file) }))
  const outputDir = args.string('output-dir')
  const stream = outputDir === undefined && !args.bool('in-place') ? await stdoutStream(ctx, args, planned.map((p) => p.formats.output)) : undefined
  const sink: Sink = stream ? stream.add : outputDir !== undefined ? toDirectory(ctx, args, outputDir) : inPlace(ctx, args)
  const progress = new Progress(planned.length)
  let firstFailure: number | undefined
  let failures = 0
  for (const [i, { file, formats }] of planned.entries()) {
    progress.show(i, file)
    try {
      await sink(file, await decryptPlaintext(ctx, args, file, formats), formats)
    } catch (err) {
      progress.clear()
      failures++
      const code = reportFailure(ctx, file, err)
      firstFailure ??= code
    }
  }
  progress.clear()
  stream?.finish()
  if (failures > 0) ctx.stderr(`tsops: error: ${failures} of ${planned.length} files could not be decrypted`)
  return firstFailure ?? 0
}

function assertManyFlags(args: Args, files: string[]): void {
  const several = files.length > 1
  if (args.string('output') !== undefined && (several || args.string('output-dir') !== undefined)) {
    throw new ConflictingParametersError('Cannot use --output with several files or with --output-dir', { hint: 'Use --output-dir DIR to write one plaintext per file.' })
  }
  if (args.bool('in-place') && args.string('output-dir') !== undefined) throw new ConflictingParametersError('Cannot use both --in-place and --output-dir')
  if (args.string('extract') !== undefined) {
    throw new ConflictingParametersError('--extract works on a single file', { hint: 'Run one `tsops decrypt --extract` per file.' })
  }
  if (files.some((f) => isStdin(f))) throw new ConflictingParametersError('Standard input can only be decrypted on its own, not with several files or --output-dir')
}

/** The exit code of a failure, after printing it as `tsops: error: FILE: …`. */
function reportFailure(ctx: CliContext, file: string, err: unknown): number {
  if (err instanceof TsopsError) {
    ctx.stderr(`tsops: error: ${file}: ${err.message}`)
    if (err.hint) ctx.stderr(`tsops: hint: ${err.hint}`)
    return err.exitCode
  }
  ctx.stderr(`tsops: error: ${file}: unexpected failure: ${err instanceof Error ? err.message : String(err)}`)
  return 1
}

function inPlace(ctx: CliContext, args: Args): Sink {
  return async (file, doc, formats) => {
    const output = await loadFormat(formats.output)
    writeFileAtomic(file, emitPlain(output, doc, formats, emitOptionsFor(ctx, args, formats.output)))
  }
}

/** DIR/<path relative to the working directory>, 0600; never over the encrypted file itself. */
function toDirectory(ctx: CliContext, args: Args, dir: string): Sink {
  const root = path.resolve(ctx.cwd, dir)
  return async (file, doc, formats) => {
    const source = path.resolve(ctx.cwd, file)
    const relative = path.relative(ctx.cwd, source)
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new ConflictingParametersError('is outside the working directory; --output-dir keeps paths relative to it', { hint: 'Run tsops from a directory that contains the file.' })
    }
    const target = path.join(root, relative)
    if (target === source) throw new ConflictingParametersError('--output-dir would overwrite the encrypted file with its plaintext')
    const output = await loadFormat(formats.output)
    const data = emitPlain(output, doc, formats, emitOptionsFor(ctx, args, formats.output))
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 })
    writeFileAtomic(target, data, { mode: 0o600 })
  }
}

interface StdoutStream {
  add: Sink
  finish(): void
}

/** One stream of every file's plaintext in one format (scheme in the header comment). */
async function stdoutStream(ctx: CliContext, args: Args, outputs: FormatName[]): Promise<StdoutStream> {
  const name = outputs[0]!
  if (outputs.some((o) => o !== name) || name === 'binary') {
    throw new ConflictingParametersError(
      name === 'binary' ? 'Binary plaintexts cannot share standard output' : 'These files decrypt to different formats and cannot share standard output',
      { hint: 'Use --output-dir DIR (one plaintext per file), or --output-type to choose one format.' },
    )
  }
  const format = await loadFormat(name)
  const emitOptions = emitOptionsFor(ctx, args, name)
  if (name === 'json') return jsonObjectStream(format, emitOptions)
  let count = 0
  return {
    add: async (file, doc, formats) => {
      const separator = count === 0 ? '' : name === 'yaml' ? '---\n' : '\n'
      const text = Buffer.from(emitPlain(format, doc, formats, emitOptions))
      const body = text.length === 0 || text[text.length - 1] === 0x0a ? text : Buffer.concat([text, Buffer.from('\n')])
      writeStdout(Buffer.concat([Buffer.from(`${separator}# ${oneLine(file)}\n`), body]))
      count++
    },
    finish: () => undefined,
  }
}

/** JSON: `{"<file>": <first document>, …}` written once every file is done. */
function jsonObjectStream(format: Format, emitOptions: EmitOptions): StdoutStream {
  const combined = new TreeMap()
  return {
    add: async (file, doc) => {
      combined.items.push({ key: file, value: doc.branches[0] ?? new TreeMap() })
    },
    finish: () => writeStdout(format.emit({ branches: [combined], metadata: undefined }, emitOptions)),
  }
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]/g, ' ')
}

/** `[i/n] file` on stderr while many files are decrypted at a terminal. */
class Progress {
  private readonly enabled: boolean
  private shown = false

  constructor(private readonly total: number) {
    this.enabled = isatty(2) && total > 10
  }

  show(index: number, file: string): void {
    if (!this.enabled) return
    writeStderr(`\r\x1b[K[${index + 1}/${this.total}] ${oneLine(file)}`)
    this.shown = true
  }

  clear(): void {
    if (!this.shown) return
    writeStderr('\r\x1b[K')
    this.shown = false
  }
}
