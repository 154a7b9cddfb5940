/**
 * keys/bounded-call.ts, the skeleton AWS KMS and GCP KMS share: the work gets a signal, a
 * deadline stops work that ignores it (NetworkTimeoutError naming the key), any failure becomes
 * the key source's own error, and after the caller's abort the original error passes through.
 */
import { describe, expect, it } from 'vitest'
import { boundedCall } from '../../src/keys/bounded-call.js'
import { NetworkTimeoutError } from '../../src/keys/timeouts.js'
import type { KeyContext } from '../../src/keys/types.js'

const wrapped = (e: unknown) => new Error(`wrapped: ${e instanceof Error ? e.message : String(e)}`)

describe('boundedCall', () => {
  it('returns what the work returns, and hands it a live signal', async () => {
    const ctx: KeyContext = { env: {} }
    let seen: AbortSignal | undefined
    const out = await boundedCall({ ctx, what: 'TEST encrypt with k', deadlineMs: 1_000 }, async (signal) => ((seen = signal), 42), wrapped)
    expect(out).toBe(42)
    expect(seen?.aborted).toBe(false)
  })

  it('turns a failure into the key source’s error', async () => {
    const ctx: KeyContext = { env: {} }
    await expect(boundedCall({ ctx, what: 'w', deadlineMs: 1_000 }, () => Promise.reject(new Error('boom')), wrapped)).rejects.toThrow('wrapped: boom')
  })

  it('a work that never settles fails at the deadline with a NetworkTimeoutError naming the key and the operation', async () => {
    const ctx: KeyContext = { env: {} }
    let cause: unknown
    const never = new Promise<never>(() => undefined)
    await expect(
      boundedCall({ ctx, what: 'TEST decrypt with key-1', deadlineMs: 20 }, () => never, (e) => ((cause = e), wrapped(e))),
    ).rejects.toThrow('wrapped: TEST decrypt with key-1 timed out after 0.0s')
    expect(cause).toBeInstanceOf(NetworkTimeoutError)
  })

  it('after the caller’s abort the original error passes through unchanged', async () => {
    const controller = new AbortController()
    const ctx: KeyContext = { env: {}, signal: controller.signal }
    const original = new Error('aborted by the user')
    const run = (signal: AbortSignal) =>
      new Promise<never>((_, reject) => {
        signal.addEventListener('abort', () => reject(original), { once: true })
        controller.abort()
      })
    await expect(boundedCall({ ctx, what: 'w', deadlineMs: 1_000 }, run, wrapped)).rejects.toBe(original)
  })
})
