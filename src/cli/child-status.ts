/** How exec-env and exec-file end when their command does (sops's toExitError of an *exec.ExitError). */
import { ChildExitError } from '../core/errors.js'
import { exitStatusOf, type ChildResult } from '../edit/child.js'

/**
 * The command's exit status. A non-zero exit is also reported as sops reports it: Go's
 * `exit status N` on stderr, exit code N. A command killed by a signal gives 128 + its number.
 */
export function childStatus(result: ChildResult): number {
  if (result.code !== null && result.code !== 0) throw new ChildExitError(result.code)
  return exitStatusOf(result)
}
