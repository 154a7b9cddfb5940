/**
 * The files a key-management command (rotate, updatekeys) works on: FILE and DIR arguments,
 * directories expanded to the files inside that the `.sops.yaml` creation rules match, and a
 * runner that goes through them one by one, reports each, keeps going past failures and fails
 * at the end. Also the encrypted-document I/O those commands share.
 */
import fs from 'node:fs'
import path from 'node:path'
import { ConfigError, GenericError, MetadataNotFoundError, TsopsError, emitting } from '../core/errors.js'
import { matchCreationRule } from '../config/index.js'
import { detectFormat, loadFormat } from '../formats/registry.js'
import type { Document, Format } from '../formats/format.js'
import { readFileAsSops } from '../io/go-errors.js'
import { parseEncryptedDocument } from '../pipeline/open.js'
import type { Args } from './args.js'
import type { CliContext } from './context.js'
import { chooseFormats, type FormatChoice } from './formats.js'
import { emitOptionsFor, projectConfig } from './settings.js'

/** Never descended into: version-control internals and dependency trees hold no secrets of ours. */
const SKIPPED_DIRECTORIES = new Set(['.git', 'node_modules'])

export interface Target {
  /** The path as given, or joined onto the directory that was given. */
  file: string
  /** Found by walking a directory: if it turns out not to be encrypted it is skipped, not failed. */
  discovered: boolean
}

export interface Targets {
  files: Target[]
  /** Several files or a directory: per-file reports, and failures do not stop the others. */
  batch: boolean
}

/** Expand FILE and DIR arguments, in the order given, each file once. */
export function expandTargets(ctx: CliContext, args: Args, inputs: readonly string[]): Targets {
  const files: Target[] = []
  const seen = new Set<string>()
  let sawDirectory = false
  const add = (target: Target) => {
    const key = path.resolve(ctx.cwd, target.file)
    if (seen.has(key)) return
    seen.add(key)
    files.push(target)
  }
  for (const input of inputs) {
    if (isDirectory(path.resolve(ctx.cwd, input))) {
      sawDirectory = true
      for (const file of filesUnder(ctx, args, input)) add({ file, discovered: true })
    } else add({ file: input, discovered: false })
  }
  return { files, batch: inputs.length > 1 || sawDirectory }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory()
  } catch {
    return false // missing: reported when the command reads it
  }
}

/** Files under `dir` that a creation rule matches and that can be sops files at all. */
function filesUnder(ctx: CliContext, args: Args, dir: string): string[] {
  const loaded = projectConfig(ctx, args)
  if (!loaded || loaded.config.creationRules === undefined) {
    throw new ConfigError(`cannot expand directory ${dir}: no .sops.yaml creation rules say which files in it are encrypted`, {
      hint: 'Run the command from inside the repository that holds .sops.yaml (or pass --config), or list the files one by one.',
    })
  }
  const rules = loaded
  const typeForced = args.string('input-type') !== undefined
  return walk(dir).filter(
    (file) =>
      path.resolve(ctx.cwd, file) !== rules.path && // the config itself is never encrypted
      matchCreationRule(rules.config, rules.path, file, ctx.cwd) !== undefined &&
      couldBeEncrypted(file, typeForced),
  )
}

/** Depth-first, names sorted, so reports come in a stable order. Symlinked directories are not followed (no loops). */
function walk(dir: string): string[] {
  let entries: fs.Dirent[]
  try {
    entries = fs.readdirSync(path.resolve(dir), { withFileTypes: true })
  } catch (err) {
    throw new GenericError(`cannot read directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { code: 'DIRECTORY_UNREADABLE' })
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return entries.flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return SKIPPED_DIRECTORIES.has(e.name) ? [] : walk(p)
    if (e.isFile()) return [p]
    if (e.isSymbolicLink()) return isRegularFile(p) ? [p] : []
    return []
  })
}

function isRegularFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile()
  } catch {
    return false
  }
}

/**
 * A catch-all creation rule matches README.md and source files too; this drops the files that
 * cannot be sops files quietly instead of reporting each as a failure. Every encrypted file holds
 * the word `sops` (the `sops:` block, `"sops"`, `sops_…` keys, `[sops]`), and a file whose name
 * gives no format is a sops file only as the binary store's JSON object `{"data": …, "sops": …}`.
 */
function couldBeEncrypted(file: string, typeForced: boolean): boolean {
  let bytes: Buffer
  try {
    bytes = fs.readFileSync(file)
  } catch {
    return true // unreadable: let the command report why
  }
  if (!bytes.includes('sops')) return false
  if (typeForced || detectFormat(file) !== 'binary') return true
  return bytes.toString('utf8', 0, 64).trimStart().startsWith('{') && bytes.includes('"sops"')
}

// ---------------------------------------------------------------------------------------------
// Running a command over the targets

export interface BatchVerbs {
  /** For the summary: `failed rotating 2 of 5 file(s)`. */
  gerund: string
  /** Report a failed file another way than `failed <file>: <why>` (e.g. as sops does). */
  reportFailure?: (target: Target, err: unknown) => void
  /** The final error's message instead of `failed <gerund> N of M file(s)`. */
  summary?: (failed: number, total: number) => string
}

/**
 * Run `each` for every target. In batch mode every file gets a line on stderr (the message
 * `each` returns, `failed <file>: <why>`, or `skipped <file>: …` for a discovered file without
 * sops metadata), failures do not stop the rest, and the command fails at the end (exit 1). With
 * a single file the error is thrown as is, keeping its exit code (e.g. 128, 49), as in sops.
 */
export async function runTargets(
  ctx: CliContext,
  targets: Targets,
  verbs: BatchVerbs,
  each: (target: Target) => Promise<string | undefined>,
): Promise<number> {
  if (!targets.batch) {
    const only = targets.files[0]
    if (only === undefined) return 0
    const line = await each(only)
    if (line !== undefined) ctx.stderr(line)
    return 0
  }
  let failed = 0
  for (const target of targets.files) {
    try {
      const line = await each(target)
      if (line !== undefined) ctx.stderr(line)
    } catch (err) {
      if (target.discovered && err instanceof MetadataNotFoundError) {
        ctx.stderr(`skipped ${target.file}: not encrypted (no sops metadata)`)
        continue
      }
      failed++
      if (verbs.reportFailure) verbs.reportFailure(target, err)
      else ctx.stderr(`failed ${target.file}: ${describeError(err)}`)
    }
  }
  if (failed > 0) throw new GenericError(verbs.summary?.(failed, targets.files.length) ?? `failed ${verbs.gerund} ${failed} of ${targets.files.length} file(s)`, { code: 'SOME_FILES_FAILED' })
  return 0
}

/** An error for a per-file report line: continuation lines indented, the hint last. */
function describeError(err: unknown): string {
  const message = err instanceof TsopsError ? err.message : `unexpected failure: ${err instanceof Error ? err.message : String(err)}`
  const hint = err instanceof TsopsError && err.hint ? `\nhint: ${err.hint}` : ''
  return (message + hint).replace(/\n/g, '\n    ')
}

// ---------------------------------------------------------------------------------------------
// Encrypted documents in and out

export interface EncryptedFile {
  doc: Document
  formats: FormatChoice
  input: Format
}

/** Read and parse an encrypted file (the metadata stays in `doc.metadata`); read errors in sops's words. */
export async function readEncryptedFile(args: Args, file: string): Promise<EncryptedFile> {
  const formats = chooseFormats(args, file)
  const bytes = readFileAsSops(file)
  const doc = await parseEncryptedDocument(bytes, formats.input)
  return { doc, formats, input: await loadFormat(formats.input) }
}

/** Serialize an encrypted document in the output format (layout kept when the format is unchanged). */
export async function emitEncryptedFile(ctx: CliContext, args: Args, file: EncryptedFile): Promise<Uint8Array> {
  const { doc, formats, input } = file
  const same = formats.output === formats.input
  const output = same ? input : await loadFormat(formats.output)
  const options = emitOptionsFor(ctx, args, formats.output)
  return emitting('Could not marshal tree: ', () => output.emit({ branches: doc.branches, metadata: doc.metadata, origin: same ? doc.origin : undefined }, options))
}
