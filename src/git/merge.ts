/**
 * `tsops git merge %O %A %B %L %P`: git's merge driver for sops-encrypted files.
 *
 * Base, ours and theirs are decrypted (one unwrap per distinct data key: a side whose MAC opens
 * with a key already recovered reuses it), merged key by key (merge3.ts) and re-encrypted with
 * ours' data key and master keys. The IV stash of every side that shares ours' data key is used,
 * so values nobody changed keep their exact ciphertext and the merge commit's diff stays small.
 *
 * A conflict leaves in %A the two encrypted versions as one text with git-style markers around
 * the lines that differ (conflict.ts) — ciphertext only — and exits 1; `tsops git resolve`
 * shows it decrypted. A side that is not a sops file falls back to `git merge-file`.
 */
import fs from 'node:fs'
import { IvStash } from '../core/cipher.js'
import { ReadError, TsopsError } from '../core/errors.js'
import type { EmitOptions, FormatName } from '../formats/format.js'
import { writeFileAtomic } from '../io/files.js'
import type { KeyContext } from '../keys/types.js'
import { sealDocument } from '../pipeline/encrypt.js'
import { OURS_LABEL_PREFIX, THEIRS_LABEL } from '../check/markers.js'
import { renderConflict } from './conflict.js'
import { dataKeyFor, loadDriverFormat, openSealed, parseSealed, type DriverFormat, type Sealed } from './decrypt.js'
import { runGit } from './exec.js'
import { mergeTrees, sameValue } from './merge3.js'
import type { TreeMap } from '../core/tree.js'

export class MergeConflictError extends TsopsError {
  override readonly code = 'MERGE_CONFLICT'
}

export interface MergeDriverOptions {
  base: string
  ours: string
  theirs: string
  markerSize: number
  /** %P: the path in the repository (decides the format; the temp files have no extension). */
  pathName: string
  format: FormatName
  ctx: KeyContext
  decryptionOrder?: readonly string[]
  emitOptions: EmitOptions
  cwd: string
  env?: Readonly<Record<string, string | undefined>>
  now?: Date
}

export type MergeOutcome =
  | { kind: 'clean' }
  | { kind: 'conflict'; paths: string[] }
  /** Not sops files: git merge-file did a line merge. */
  | { kind: 'text'; conflicted: boolean }

function read(file: string): Buffer {
  try {
    return fs.readFileSync(file)
  } catch (err) {
    throw new ReadError(`Error reading file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unexpected error'}`)
  }
}

/** The label of ours' side in a conflict; the checker recognises a tsops conflict by its prefix. */
export function oursLabel(pathName: string): string {
  return `${OURS_LABEL_PREFIX} encrypted values; see them with tsops git resolve ${pathName})`
}

async function textMerge(options: MergeDriverOptions): Promise<MergeOutcome> {
  const r = await runGit(
    ['merge-file', `--marker-size=${options.markerSize}`, '-L', 'ours', '-L', 'base', '-L', 'theirs', options.ours, options.base, options.theirs],
    { cwd: options.cwd, env: options.env },
  )
  if (r.code < 0 || r.code > 127) throw new TsopsError(`git merge-file failed: ${r.stderr.trim()}`)
  return { kind: 'text', conflicted: r.code !== 0 }
}

function sameBranches(a: readonly TreeMap[], b: readonly TreeMap[]): boolean {
  return a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
}

function sameProtection(a: Sealed, b: Sealed): boolean {
  const of = (s: Sealed) => JSON.stringify([s.metadata.keyGroups, s.metadata.shamirThreshold, s.metadata.rules])
  return of(a) === of(b)
}

interface Sides {
  base: Sealed | undefined
  ours: Sealed
  theirs: Sealed
}

/** Parse the three versions; undefined when one of them is not a sops file (an empty base is "no base"). */
function parseSides(options: MergeDriverOptions, f: DriverFormat): Sides | undefined {
  const baseBytes = read(options.base)
  const ours = parseSealed(read(options.ours), f)
  const theirs = parseSealed(read(options.theirs), f)
  const base = baseBytes.length === 0 ? undefined : parseSealed(baseBytes, f)
  if (!ours || !theirs || (baseBytes.length > 0 && !base)) return undefined
  return { base, ours, theirs }
}

export async function mergeDriver(options: MergeDriverOptions): Promise<MergeOutcome> {
  const f = await loadDriverFormat(options.format)
  const sides = parseSides(options, f)
  if (!sides) return textMerge(options)

  const keys: Uint8Array[] = []
  try {
    const oursKey = await dataKeyFor(sides.ours, [], options.ctx, options.decryptionOrder)
    keys.push(oursKey)
    const theirsKey = await dataKeyFor(sides.theirs, keys, options.ctx, options.decryptionOrder)
    if (!keys.includes(theirsKey)) keys.push(theirsKey)
    const baseKey = sides.base ? await dataKeyFor(sides.base, keys, options.ctx, options.decryptionOrder) : undefined
    if (baseKey && !keys.includes(baseKey)) keys.push(baseKey)

    // Only ciphertexts made with ours' key can be kept; ours is opened last so its IVs win.
    const stash = new IvStash()
    const stashFor = (key: Uint8Array) => (key === oursKey ? stash : new IvStash())
    if (sides.base && baseKey) openSealed(sides.base, baseKey, stashFor(baseKey), f)
    openSealed(sides.theirs, theirsKey, stashFor(theirsKey), f)
    openSealed(sides.ours, oursKey, stash, f)

    const merged = mergeTrees(sides.base?.doc.branches, sides.ours.doc.branches, sides.theirs.doc.branches)
    if (merged.conflicts.length === 0) {
      // Nothing of theirs to add, or nothing of ours: keep that side's file byte for byte (theirs'
      // only when it is protected exactly as ours, so a key change made on ours is never undone).
      if (sameBranches(merged.ours, sides.ours.doc.branches)) return { kind: 'clean' }
      if (theirsKey === oursKey && sameProtection(sides.ours, sides.theirs) && sameBranches(merged.ours, sides.theirs.doc.branches)) {
        writeFileAtomic(options.ours, read(options.theirs))
        return { kind: 'clean' }
      }
    }
    const now = options.now ?? new Date()
    const seal = (branches: typeof merged.ours): Uint8Array => {
      const doc = sealDocument(f.format, { branches, metadata: undefined, origin: sides.ours.doc.origin }, oursKey, {
        keyGroups: sides.ours.metadata.keyGroups,
        shamirThreshold: sides.ours.metadata.shamirThreshold,
        rules: sides.ours.metadata.rules,
        stash,
        now,
      })
      return f.format.emit(doc, options.emitOptions)
    }
    const oursBytes = seal(merged.ours)
    if (merged.conflicts.length === 0) {
      writeFileAtomic(options.ours, oursBytes)
      return { kind: 'clean' }
    }
    const theirsBytes = seal(merged.theirs)
    const text = renderConflict(Buffer.from(oursBytes).toString('latin1'), Buffer.from(theirsBytes).toString('latin1'), { ours: oursLabel(options.pathName), theirs: THEIRS_LABEL }, options.markerSize)
    writeFileAtomic(options.ours, Buffer.from(text, 'latin1'))
    return { kind: 'conflict', paths: merged.conflicts }
  } finally {
    for (const k of keys) k.fill(0)
  }
}
