/**
 * `tsops git resolve FILE`: finish a conflict the merge driver left in FILE. The two encrypted
 * versions are split out of the conflict text, decrypted (ours' data key, plus theirs' when it
 * differs), and shown decrypted with the same markers in the editor; what the user saves is
 * encrypted with ours' data key and master keys (unchanged values keep their ciphertext) and
 * written over FILE. FILE is left untouched when anything goes wrong or markers remain.
 */
import fs from 'node:fs'
import { IvStash } from '../core/cipher.js'
import { FormatError, GenericError, NoFileError } from '../core/errors.js'
import type { Document, EmitOptions, FormatName } from '../formats/format.js'
import { writeFileAtomic } from '../io/files.js'
import type { KeyContext } from '../keys/types.js'
import { assertEncryptable, sealDocument } from '../pipeline/encrypt.js'
import { hasConflictMarkers, renderConflict, splitConflict } from './conflict.js'
import { dataKeyFor, loadDriverFormat, openSealed, parseSealed, type DriverFormat } from './decrypt.js'
import { editInTempFile } from './editor.js'

export interface ResolveOptions {
  file: string
  format: FormatName
  ctx: KeyContext
  decryptionOrder?: readonly string[]
  emitOptions: EmitOptions
  env: Readonly<Record<string, string | undefined>>
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

/** Returns the number of conflicting places the user resolved (0: the sides had the same plaintext). */
export async function resolveConflict(options: ResolveOptions): Promise<number> {
  const split = splitConflict(readConflict(options.file))
  if (split.hunks === 0) {
    throw new GenericError(`${options.file} has no conflict markers`, { hint: 'Nothing to resolve; tsops decrypt shows the file.' })
  }
  const f = await loadDriverFormat(options.format)
  const ours = parseSealed(Buffer.from(split.ours, 'latin1'), f)
  const theirs = parseSealed(Buffer.from(split.theirs, 'latin1'), f)
  if (!ours || !theirs) {
    throw new GenericError(`the conflict in ${options.file} was not written by the tsops merge driver`, {
      hint: `Run tsops git install, then recreate the conflict with: git checkout --merge -- ${options.file}`,
    })
  }
  const keys: Uint8Array[] = []
  try {
    const oursKey = await dataKeyFor(ours, [], options.ctx, options.decryptionOrder)
    keys.push(oursKey)
    const theirsKey = await dataKeyFor(theirs, keys, options.ctx, options.decryptionOrder)
    if (theirsKey !== oursKey) keys.push(theirsKey)
    const stash = new IvStash()
    openSealed(theirs, theirsKey, theirsKey === oursKey ? stash : new IvStash(), f)
    openSealed(ours, oursKey, stash, f)

    const plain = (s: typeof ours) => Buffer.from(f.format.emit({ branches: s.doc.branches, metadata: undefined, origin: s.doc.origin }, options.emitOptions)).toString('latin1')
    const view = renderConflict(plain(ours), plain(theirs), { ours: 'ours', theirs: 'theirs' })
    const hunks = splitConflict(view).hunks
    // Both sides decrypt to the same text (they differed in ciphertext only): nothing to ask.
    const edited = hunks === 0 ? Buffer.from(view, 'latin1') : editInTempFile(options.file, Buffer.from(view, 'latin1'), options.env)
    if (hasConflictMarkers(edited.toString('latin1'))) {
      throw new GenericError(`conflict markers are still in the edited text; ${options.file} was not changed`, {
        hint: `Keep one side (or combine them) and delete the marker lines, then run tsops git resolve ${options.file} again.`,
      })
    }
    const doc = parseEdited(f, edited, options.file)
    assertEncryptable(f.format, doc)
    sealDocument(f.format, doc, oursKey, {
      keyGroups: ours.metadata.keyGroups,
      shamirThreshold: ours.metadata.shamirThreshold,
      rules: ours.metadata.rules,
      stash,
    })
    writeFileAtomic(options.file, f.format.emit(doc, options.emitOptions))
    return hunks
  } finally {
    for (const k of keys) k.fill(0)
  }
}
