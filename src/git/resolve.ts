/**
 * `tsops git resolve FILE`: finish a conflict the merge driver left in FILE.
 *
 * While git still holds the path unmerged, the three versions come from the index (stages 1,
 * 2, 3) and are merged again, with the user's keys, exactly as the driver does (threeway.ts):
 * a conflict the driver left because it had no key may then merge cleanly. Otherwise (the
 * conflict file was already `git add`ed) the two encrypted versions are split out of the
 * conflict text and merged without a base.
 *
 * What still conflicts is shown decrypted, with markers, in the user's editor (edit/buffer.ts:
 * a private temp file, removed on every way out); what the user saves is encrypted with the
 * merged protection and written over FILE. FILE is left untouched when anything goes wrong or
 * markers remain.
 */
import fs from 'node:fs'
import { FormatError, GenericError, NoFileError } from '../core/errors.js'
import type { Document, EmitOptions, FormatName } from '../formats/format.js'
import { writeFileAtomic } from '../io/files.js'
import type { KeyContext } from '../keys/types.js'
import { assertEncryptable } from '../pipeline/encrypt.js'
import { editorCommand, runEditor } from '../edit/editor.js'
import { withEditBuffer } from '../edit/buffer.js'
import { hasConflictMarkers, renderConflict, splitConflict } from './conflict.js'
import { loadDriverFormat, type DriverFormat } from './decrypt.js'
import { readUnmergedStages } from './staged.js'
import { threeWayMerge, type MergedFile, type ThreeWayInputs } from './threeway.js'
import path from 'node:path'

export interface ResolveOptions {
  file: string
  format: FormatName
  ctx: KeyContext
  decryptionOrder?: readonly string[]
  emitOptions: EmitOptions
  env: Readonly<Record<string, string | undefined>>
  cwd: string
}

export interface ResolveResult {
  /** Conflicting places the user resolved in the editor (0: the merge was clean with the key). */
  hunks: number
  /** The result has a new data key: the merge removed a reader. */
  rotated: boolean
}

function readConflict(file: string): string {
  try {
    return fs.readFileSync(file).toString('latin1')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NoFileError(`Error: cannot operate on non-existent file "${file}"`)
    throw err
  }
}

/** The user's text; a syntax error is reported by position (parser messages may quote a value). */
function parseEdited(f: DriverFormat, edited: Buffer, file: string): Document {
  try {
    return f.format.parse(edited)
  } catch (err) {
    if (!(err instanceof FormatError)) throw err
    const at = err.line === undefined ? '' : ` at line ${err.line}${err.column === undefined ? '' : `, column ${err.column}`}`
    throw new FormatError(`the edited text is not valid ${f.format.name}${at}; ${file} was not changed`, undefined, undefined, {
      hint: `Run tsops git resolve ${file} again and fix the syntax.`,
    })
  }
}

/** The index stages while unmerged, else the two versions in the conflict text. */
async function conflictInputs(options: ResolveOptions): Promise<ThreeWayInputs> {
  const stages = await readUnmergedStages(options.file, { cwd: options.cwd, env: options.env })
  if (stages) return stages
  const split = splitConflict(readConflict(path.resolve(options.cwd, options.file)))
  if (split.hunks === 0) {
    throw new GenericError(`${options.file} has no conflict markers`, { code: 'NO_CONFLICT', hint: 'Nothing to resolve; tsops decrypt shows the file.' })
  }
  return { ours: Buffer.from(split.ours, 'latin1'), theirs: Buffer.from(split.theirs, 'latin1') }
}

async function askUser(merged: MergedFile, f: DriverFormat, options: ResolveOptions): Promise<{ edited: Buffer; hunks: number }> {
  const plain = (branches: MergedFile['ours']) => Buffer.from(f.format.emit({ branches, metadata: undefined, origin: merged.origin }, options.emitOptions)).toString('latin1')
  const view = renderConflict(plain(merged.ours), plain(merged.theirs), { ours: 'ours', theirs: 'theirs' })
  const hunks = splitConflict(view).hunks
  // The sides differ only where an emitter writes them alike: nothing to ask.
  if (hunks === 0) return { edited: Buffer.from(view, 'latin1'), hunks }
  const editor = editorCommand(options.env)
  const edited = await withEditBuffer(path.basename(options.file), async (file, signal) => {
    fs.writeFileSync(file, Buffer.from(view, 'latin1'), { mode: 0o600, flag: 'wx' })
    await runEditor(editor, file, { env: options.env, signal })
    return fs.readFileSync(file)
  })
  return { edited, hunks }
}

export async function resolveConflict(options: ResolveOptions): Promise<ResolveResult> {
  const inputs = await conflictInputs(options)
  const f = await loadDriverFormat(options.format)
  const outcome = await threeWayMerge(inputs, { format: f, ctx: options.ctx, decryptionOrder: options.decryptionOrder, emitOptions: options.emitOptions })
  if (outcome.kind === 'not-sops') {
    throw new GenericError(`the conflict in ${options.file} is not between two sops-encrypted versions`, { code: 'NOT_SOPS_CONFLICT',
      hint: `Resolve it as a text conflict, or run tsops git install and recreate it with: git checkout --merge -- ${options.file}`,
    })
  }
  if (outcome.kind === 'protection-conflict') {
    throw new GenericError(`${options.file}: changed differently on both sides: ${outcome.what.join(', ')}`, { code: 'CONFLICT_UNRESOLVED',
      hint: `Take one side (git checkout --ours ${options.file} or --theirs), make the other side's value and key changes again with tsops edit / tsops rotate, then git add ${options.file}.`,
    })
  }
  const merged = outcome.result
  const target = path.resolve(options.cwd, options.file)
  try {
    if (merged.conflicts.length === 0) {
      writeFileAtomic(target, merged.unchanged ?? merged.seal({ branches: merged.ours, metadata: undefined, origin: merged.origin }))
      return { hunks: 0, rotated: merged.rotated }
    }
    const { edited, hunks } = await askUser(merged, f, options)
    if (hasConflictMarkers(edited.toString('latin1'))) {
      throw new GenericError(`conflict markers are still in the edited text; ${options.file} was not changed`, { code: 'CONFLICT_UNRESOLVED',
        hint: `Keep one side (or combine them) and delete the marker lines, then run tsops git resolve ${options.file} again.`,
      })
    }
    const doc = parseEdited(f, edited, options.file)
    assertEncryptable(f.format, doc)
    writeFileAtomic(target, merged.seal(doc))
    return { hunks, rotated: merged.rotated }
  } finally {
    merged.dispose()
  }
}
