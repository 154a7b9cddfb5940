/**
 * The skeleton every cloud KMS key operation shares (AWS KMS, GCP KMS): one deadline around the
 * whole operation, a signal for the parts that take one, and the failure turned into the key
 * source's own message, unless the caller aborted (Ctrl-C), which is passed on untouched.
 */
import { NETWORK_TIMEOUT_MS, timeoutSignal, withTimeout } from './timeouts.js'
import type { KeyContext } from './types.js'

export interface BoundedCall {
  ctx: KeyContext
  /** Names the key and the operation in a timeout message: `AWS KMS decrypt with arn:…`. */
  what: string
  /**
   * The overall deadline. The signal given to `run` aborts after NETWORK_TIMEOUT_MS; a longer
   * deadline lets an SDK that honours the signal report its own error first.
   */
  deadlineMs: number
  /** When the signal given to `run` aborts (default NETWORK_TIMEOUT_MS; tests inject shorter bounds). */
  signalMs?: number
}

/**
 * Run `run` within the deadline. Any failure (a NetworkTimeoutError when the deadline passes)
 * becomes `failure(e)`, except after the caller's abort.
 */
export async function boundedCall<T>(call: BoundedCall, run: (signal: AbortSignal) => Promise<T>, failure: (e: unknown) => Error): Promise<T> {
  try {
    return await withTimeout(run(timeoutSignal(call.signalMs ?? NETWORK_TIMEOUT_MS, call.ctx.signal)), call.deadlineMs, call.what)
  } catch (e) {
    if (call.ctx.signal?.aborted) throw e
    throw failure(e)
  }
}
