/** Waiting for the user at the terminal ("Press enter to return to the editor, or Ctrl+C to exit."). */
import type { Readable } from 'node:stream'
import { CancelledError } from './errors.js'

export const PRESS_ENTER = 'Press enter to return to the editor, or Ctrl+C to exit.'

/** Resolve on the next line typed on `input`; reject on abort (its reason) or end of input (cancelled). */
export function waitForEnter(input: Readable, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (settle: () => void) => {
      input.off('data', onData)
      input.off('end', onEnd)
      signal.removeEventListener('abort', onAbort)
      input.pause() // a paused stdin does not keep the process alive, and leaves the TTY to the editor
      settle()
    }
    const onData = (chunk: Buffer | string) => {
      if (/[\r\n]/.test(chunk.toString())) finish(resolve)
    }
    const onEnd = () => finish(() => reject(new CancelledError()))
    const onAbort = () => finish(() => reject(signal.reason))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    input.on('data', onData)
    input.once('end', onEnd)
    input.resume()
  })
}
