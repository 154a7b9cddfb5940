/**
 * Ctrl+C, SIGTERM and SIGHUP while tsops holds plaintext on disk or runs a child process.
 * Node's default would kill tsops on the spot and leave the plaintext behind; instead the
 * handlers turn the signal into an AbortSignal the flow reacts to (kill the editor, remove the
 * temp dir, exit 1 "User canceled operation" — or forward it to a child and wait).
 */
import { CancelledError } from './errors.js'

export const TERMINATION_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
export type TerminationSignal = (typeof TERMINATION_SIGNALS)[number]

/**
 * Run `task` with the default signal handling suspended. `onSignal` runs synchronously in the
 * handler (e.g. to remove a temp dir at once); the AbortSignal fires after the first signal,
 * its reason a CancelledError.
 */
export async function withTerminationSignal<T>(
  task: (signal: AbortSignal) => Promise<T>,
  onSignal: (name: TerminationSignal) => void = () => undefined,
): Promise<T> {
  const controller = new AbortController()
  const handlers = TERMINATION_SIGNALS.map((name) => {
    const handler = () => {
      onSignal(name)
      if (!controller.signal.aborted) controller.abort(new CancelledError())
    }
    process.on(name, handler)
    return [name, handler] as const
  })
  try {
    return await task(controller.signal)
  } finally {
    for (const [name, handler] of handlers) process.off(name, handler)
  }
}
