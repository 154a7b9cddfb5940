/**
 * The conflict markers `tsops git merge` leaves in a file it could not merge (docs/git.md).
 * Shared by the merge driver (writes them), `tsops git resolve` (reads them) and the checker
 * (refuses to let them be committed).
 */

/** How the label after the `<<<<<<<` marker starts; the checker recognises a tsops conflict by it. */
export const OURS_LABEL_PREFIX = 'ours (tsops:'
export const THEIRS_LABEL = 'theirs (tsops)'

/** Git's default marker length (conflict-marker-size / %L). */
export const DEFAULT_MARKER_SIZE = 7

const TSOPS_CONFLICT_RE = /^<{7,} ours \(tsops:/m

/** Does this file hold a conflict written by the tsops merge driver? */
export function hasTsopsConflict(bytes: Uint8Array): boolean {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  // Cheap pre-test before decoding (a longer marker run contains this one too).
  if (buf.indexOf('<<<<<<< ours (tsops:') === -1) return false
  return TSOPS_CONFLICT_RE.test(buf.toString('latin1'))
}
