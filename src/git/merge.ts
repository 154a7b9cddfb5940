/**
 * `tsops git merge %O %A %B %L %P`: git's merge driver for sops-encrypted files.
 *
 * The three versions are merged by threeway.ts: values key by key, and the protection (key
 * groups, threshold, rules) three-way too, so an offboarding or onboarding on either branch
 * survives the merge; a merge that drops a reader gets a fresh data key.
 *
 * A conflict leaves in %A the two encrypted versions as one text with git-style markers around
 * the lines that differ (conflict.ts) — ciphertext only — and exits 1; `tsops git resolve`
 * shows it decrypted. When the driver cannot merge at all (no key, a damaged side, the key
 * groups changed differently on both sides) it leaves the same kind of conflict from the two
 * versions as they are: never ours in silence. A side that is not a sops file falls back to
 * `git merge-file`.
 */
import fs from 'node:fs'
import { ReadError, TsopsError } from '../core/errors.js'
import type { EmitOptions, FormatName } from '../formats/format.js'
import { writeFileAtomic } from '../io/files.js'
import type { KeyContext } from '../keys/types.js'
import { OURS_LABEL_PREFIX, THEIRS_LABEL } from '../check/markers.js'
import { renderConflict } from './conflict.js'
import { firstLine, loadDriverFormat } from './decrypt.js'
import { runGit } from './exec.js'
import { threeWayMerge } from './threeway.js'

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
  | { kind: 'clean'; rotated: boolean }
  | { kind: 'conflict'; paths: string[]; rotated: boolean }
  /** Could not merge (no key, a damaged side, contradictory key changes): both versions left encrypted. */
  | { kind: 'unmerged'; reason: string }
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
  if (r.code < 0 || r.code > 127) throw new TsopsError(`git merge-file failed: ${r.stderr.trim()}`, { code: 'MERGE_TOOL_FAILED' })
  return { kind: 'text', conflicted: r.code !== 0 }
}

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1')

function writeConflict(options: MergeDriverOptions, ours: Uint8Array, theirs: Uint8Array): void {
  const text = renderConflict(latin1(ours), latin1(theirs), { ours: oursLabel(options.pathName), theirs: THEIRS_LABEL }, options.markerSize)
  writeFileAtomic(options.ours, Buffer.from(text, 'latin1'))
}

export async function mergeDriver(options: MergeDriverOptions): Promise<MergeOutcome> {
  const f = await loadDriverFormat(options.format)
  const inputs = { base: read(options.base), ours: read(options.ours), theirs: read(options.theirs) }
  let outcome
  try {
    outcome = await threeWayMerge(inputs, { format: f, ctx: options.ctx, decryptionOrder: options.decryptionOrder, emitOptions: options.emitOptions, now: options.now })
  } catch (err) {
    // Whatever went wrong (no key, a bad MAC, a key service down), never leave ours in silence.
    writeConflict(options, inputs.ours, inputs.theirs)
    return { kind: 'unmerged', reason: firstLine(err) }
  }
  if (outcome.kind === 'not-sops') return textMerge(options)
  if (outcome.kind === 'protection-conflict') {
    writeConflict(options, inputs.ours, inputs.theirs)
    return { kind: 'unmerged', reason: `changed differently on both sides: ${outcome.what.join(', ')}` }
  }
  const merged = outcome.result
  try {
    const doc = (branches: typeof merged.ours) => ({ branches, metadata: undefined, origin: merged.origin })
    if (merged.conflicts.length === 0) {
      const bytes = merged.unchanged ?? merged.seal(doc(merged.ours))
      if (bytes !== inputs.ours) writeFileAtomic(options.ours, bytes)
      return { kind: 'clean', rotated: merged.rotated }
    }
    writeConflict(options, merged.seal(doc(merged.ours)), merged.seal(doc(merged.theirs)))
    return { kind: 'conflict', paths: merged.conflicts, rotated: merged.rotated }
  } finally {
    merged.dispose()
  }
}
