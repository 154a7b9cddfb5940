/**
 * The edit buffer shared by `tsops edit` and `tsops git resolve`: a file in a fresh private
 * temp dir (tempdir.ts: in RAM when available, 0700) that exists only while the task runs. It
 * is removed on every way out — success, error, and SIGINT/SIGTERM/SIGHUP, at once in the
 * signal handler — and the task gets an AbortSignal that fires on those signals (runEditor
 * kills the editor; the command ends with "User canceled operation", exit 1).
 */
import { PrivateTempDir } from './tempdir.js'
import { withTerminationSignal } from './termination.js'

export async function withEditBuffer<T>(baseName: string, task: (file: string, signal: AbortSignal) => Promise<T>): Promise<T> {
  let tempDir: PrivateTempDir | undefined
  return withTerminationSignal(
    async (signal) => {
      tempDir = PrivateTempDir.create('edit')
      try {
        return await task(tempDir.file(baseName), signal)
      } finally {
        tempDir.remove()
      }
    },
    // Remove the plaintext at once, not only when the flow unwinds.
    () => tempDir?.remove(),
  )
}
