/**
 * Bounded waits for network key sources (AWS KMS, GCP KMS, Azure Key Vault, Vault transit).
 *
 * A key source that can hang turns `tsops decrypt` in CI into a job that times out after an
 * hour with no message. Every network call is therefore bounded twice: per attempt (connect
 * and request timeouts handed to the SDK or fetch) and overall (one deadline covering the
 * retries too), and the message says which key was being asked.
 */

/** Time to establish a TCP/TLS connection, per attempt. */
export const CONNECT_TIMEOUT_MS = 3_000

/** Time for one request to be answered, per attempt (key operations are tiny: milliseconds normally). */
export const REQUEST_TIMEOUT_MS = 5_000

/** Attempts per operation, the first one included (SDK retry settings). */
export const MAX_ATTEMPTS = 3

/** Deadline for one key operation, retries included. */
export const NETWORK_TIMEOUT_MS = 20_000

/** The four bounds together; a KeyContext may carry other values (tests: milliseconds, not seconds). */
export interface NetworkTimeouts {
  connectMs: number
  requestMs: number
  attempts: number
  overallMs: number
}

export const DEFAULT_NETWORK_TIMEOUTS: Readonly<NetworkTimeouts> = Object.freeze({
  connectMs: CONNECT_TIMEOUT_MS,
  requestMs: REQUEST_TIMEOUT_MS,
  attempts: MAX_ATTEMPTS,
  overallMs: NETWORK_TIMEOUT_MS,
})

/**
 * The bounds a key operation runs under: the defaults, or what the caller injected
 * (`KeyContext.timeouts`), so a test of a hanging server waits milliseconds instead of seconds.
 */
export function networkTimeouts(ctx: { timeouts?: Partial<NetworkTimeouts> | undefined }): Readonly<NetworkTimeouts> {
  return ctx.timeouts ? { ...DEFAULT_NETWORK_TIMEOUTS, ...ctx.timeouts } : DEFAULT_NETWORK_TIMEOUTS
}

/** Raised when a deadline passes; `what` names the key and the operation. */
export class NetworkTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} timed out after ${formatSeconds(ms)}`)
    this.name = 'NetworkTimeoutError'
  }
}

/**
 * Resolve or reject like `promise`, or reject with NetworkTimeoutError after `ms`. The
 * promise's own work is not cancelled: pass `timeoutSignal(ms)` to the call when it accepts a
 * signal, and use this as the guarantee for calls that do not.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NetworkTimeoutError(what, ms)), ms)
    timer.unref() // a pending deadline must not keep the process alive
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

/** A signal that aborts after `ms`, or earlier when `outer` (the caller's, e.g. Ctrl-C) aborts. */
export function timeoutSignal(ms: number, outer?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(ms)
  return outer ? AbortSignal.any([outer, timeout]) : timeout
}

/** How a message states a bound: `5s`, `0.2s`. */
export function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`
}

/** Wait `ms` between attempts; resolves at once when `signal` aborts (the caller then stops). */
export function backoff(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true })
  })
}
