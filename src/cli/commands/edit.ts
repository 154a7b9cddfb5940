/**
 * `tsops edit FILE` and the legacy bare `tsops FILE` (spec §9.1, §9.3): decrypt into a private
 * temp file, run $SOPS_EDITOR/$EDITOR, re-encrypt with the same data key (small diffs), write
 * the file atomically. A file that does not exist starts from the store's example document,
 * encrypted for the creation-rule or command-line keys.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { DATA_KEY_SIZE, IvStash } from '../../core/cipher.js'
import { NoFileError, TsopsError, WriteError } from '../../core/errors.js'
import { SOPS_FORMAT_VERSION, type Metadata } from '../../core/metadata.js'
import { nowRFC3339 } from '../../core/gofmt.js'
import type { Format } from '../../formats/format.js'
import { loadEncryptedParser, loadFormat } from '../../formats/registry.js'
import { withFileLockSync, writeFileAtomic } from '../../io/files.js'
import { writeStderr } from '../../io/stdio.js'
import { wrapDataKey } from '../../keys/datakey.js'
import { parseDecryptionOrder } from '../../keys/registry.js'
import { effectiveRules } from '../../pipeline/encrypt.js'
import { zeroDataKeys } from '../../pipeline/open.js'
import { openEncryptedFile, type DecryptedKeys } from '../../pipeline/reencrypt.js'
import { editorCommand } from '../../edit/editor.js'
import { exampleDocument } from '../../edit/example.js'
import { PRESS_ENTER, waitForEnter } from '../../edit/prompt.js'
import { editEncrypted, type EditTarget } from '../../edit/session.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { chooseFormats, type FormatChoice } from '../formats.js'
import { warnExtraPositionals } from '../output.js'
import { creationRuleFor, emitOptionsFor, encryptionSettings } from '../settings.js'
import { sopsLogLine } from '../sopslog.js'

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  const [given] = rest
  if (given === undefined) throw new NoFileError('Error: no file specified')
  warnExtraPositionals(ctx, rest)
  const file = path.resolve(ctx.cwd, given)
  const formats = chooseFormats(args, file)
  // Legacy mode loads .sops.yaml like sops does: a config whose rules all miss is an error.
  if (args.positionals[0] !== 'edit') creationRuleFor(ctx, args, formats.name ?? file)
  // `original`: the bytes that were decrypted (none for a new file), checked again at commit.
  const { target, original, close } = fs.existsSync(file) ? await existingFile(ctx, args, file, formats) : await newFile(ctx, args, file, formats)
  try {
    await editEncrypted(target, {
      env: ctx.env,
      editor: editorCommand(ctx.env),
      askToRetry: process.stdin.isTTY ? askAtTerminal(ctx) : retryWithoutTerminal(ctx),
      commit: (encrypted) => commitEdit(file, original, encrypted),
    })
  } finally {
    close()
  }
  return 0
}

/** The file's bytes now, or undefined if it is gone. */
function snapshot(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/**
 * Write the edited file, unless it changed on disk while the editor was open (a `tsops set`, a
 * git checkout, another editor): writing then would silently drop that change. The edit is
 * saved instead, still encrypted, next to the file, and the user is told where.
 */
function commitEdit(file: string, original: Buffer | undefined, encrypted: Uint8Array): void {
  withFileLockSync(file, () => {
    const now = snapshot(file)
    const unchanged = now === undefined || original === undefined ? now === original : now.equals(original)
    if (unchanged) return writeFileAtomic(file, encrypted)
    const saved = `${file}.tsops-edit-${new Date().toISOString().replace(/[:.]/g, '-')}`
    writeFileAtomic(saved, encrypted, { mode: 0o600 })
    throw new WriteError(`${file} changed while it was being edited; not overwritten. Your edit is saved, encrypted, as ${saved}`, {
      hint: `Compare the two (tsops decrypt ${path.basename(saved)}), then apply your change to the file again.`,
    })
  })
}

interface Opened {
  target: EditTarget
  /** The file's bytes as read and decrypted; undefined for a new file. */
  original: Buffer | undefined
  /** Zeroes the data key once the edit is over. */
  close: () => void
}

/** Decrypt the file (MAC checked unless --ignore-mac) into an edit target. */
async function existingFile(ctx: CliContext, args: Args, file: string, formats: FormatChoice): Promise<Opened> {
  const opened = await openEncryptedFile(file, {
    ctx: ctx.keyContext,
    format: formats.input,
    ignoreMac: args.bool('ignore-mac'),
    decryptionOrder: parseDecryptionOrder(args.string('decryption-order')),
  })
  const format = formats.output === formats.input ? opened.format : await loadFormat(formats.output)
  if (format !== opened.format) opened.doc.origin = undefined
  return { target: await target(ctx, args, file, format, opened.doc, opened), original: opened.original, close: opened.close }
}

/** The store's example document, with a fresh data key wrapped for the configured keys. */
async function newFile(ctx: CliContext, args: Args, file: string, formats: FormatChoice): Promise<Opened> {
  const settings = await encryptionSettings(ctx, args, formats.name ?? file, { subcommand: args.positionals[0] === 'edit', inputFormat: formats.input })
  const format = await loadFormat(formats.output)
  const doc = format.parse(exampleDocument(format))
  const dataKey = randomBytes(DATA_KEY_SIZE)
  const wrapped = await wrapDataKey(dataKey, settings.keyGroups, settings.shamirThreshold, ctx.keyContext)
  const metadata: Metadata = {
    keyGroups: wrapped.groups,
    shamirThreshold: wrapped.threshold,
    lastModified: nowRFC3339(),
    mac: '',
    rules: effectiveRules(format, settings.rules),
    version: SOPS_FORMAT_VERSION,
  }
  return { target: await target(ctx, args, file, format, doc, { metadata, dataKey, stash: new IvStash() }), original: undefined, close: () => zeroDataKeys(dataKey) }
}

async function target(ctx: CliContext, args: Args, file: string, format: Format, doc: EditTarget['doc'], keys: DecryptedKeys): Promise<EditTarget> {
  return {
    format,
    parseWithMetadata: await loadEncryptedParser(format.name),
    baseName: path.basename(file),
    doc,
    keys,
    showMasterKeys: args.bool('show-master-keys'),
    emitOptions: emitOptionsFor(ctx, args, format.name),
  }
}

/** On a terminal: say what is wrong and wait for Enter before the editor reopens. */
function askAtTerminal(ctx: CliContext) {
  return async (problem: TsopsError, signal: AbortSignal): Promise<void> => {
    reportInvalidEdit(ctx, problem)
    await waitForEnter(process.stdin, signal)
  }
}

/**
 * Without a terminal sops does the same: it reads one byte of stdin (at once at its end) and
 * reopens the editor, which a scripted editor may use to fix its output. sops would do that
 * forever on an editor that never writes a valid file; tsops gives up after a few rounds at the
 * end of stdin and fails with the problem (the original file untouched).
 */
const RETRIES_AT_END_OF_INPUT = 5

function retryWithoutTerminal(ctx: CliContext) {
  let atEnd = 0
  return async (problem: TsopsError): Promise<void> => {
    if (atEnd >= RETRIES_AT_END_OF_INPUT) throw problem
    reportInvalidEdit(ctx, problem)
    if (!readOneLine()) atEnd++
  }
}

/** sops's wording: its logger's error line (`msg="<what>. Press enter…" error="<why>"`); tsops's error and the prompt. */
function reportInvalidEdit(ctx: CliContext, problem: TsopsError): void {
  if (ctx.persona === 'tsops') {
    ctx.stderr(`tsops: error: ${problem.message}`)
    ctx.stderr(PRESS_ENTER)
    return
  }
  const what = problem.message.slice(0, Math.max(0, problem.message.indexOf(': '))) || problem.message
  // A format's plain parse speaks as sops's encrypt does (`Error unmarshalling file: …`); the
  // editor loop prints the store's error alone.
  const why = (problem.cause instanceof TsopsError ? problem.cause.message : problem.message).replace(/^Error unmarshalling file: /, '')
  writeStderr(sopsLogLine('error', `${what}. ${PRESS_ENTER}`, { error: why }))
}

/** Consume stdin up to a newline; false at its end. */
function readOneLine(): boolean {
  const byte = Buffer.alloc(1)
  for (;;) {
    let n: number
    try {
      n = fs.readSync(0, byte, 0, 1, null)
    } catch {
      return false
    }
    if (n === 0) return false
    if (byte[0] === 0x0a) return true
  }
}
