/**
 * Running a child process with the terminal (editor, exec-env/exec-file commands): stdio
 * inherited, exit code or signal reported, and an AbortSignal that stops waiting for it.
 */
import { spawn } from 'node:child_process'
import os from 'node:os'
import { TERMINATION_SIGNALS } from './termination.js'
import { definedEnv } from '../core/env.js'

export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface RunChildOptions {
  env: Readonly<Record<string, string | undefined>>
  /** On abort the child gets SIGTERM and the promise rejects with `signal.reason`. */
  signal?: AbortSignal
  /** On abort, don't wait for the child to exit (an editor that ignores SIGTERM must not hang tsops). */
  detachOnAbort?: boolean
  /**
   * Pass SIGINT/SIGTERM/SIGHUP sent to tsops on to the child and keep waiting for it, so tsops
   * outlives it and can clean up (exec-env, exec-file).
   */
  forwardSignals?: boolean
}

/** Run `file args…` to completion. Rejects with the spawn error (e.g. ENOENT) if it cannot start. */
export function runChild(file: string, args: readonly string[], options: RunChildOptions): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(options.signal.reason)
    const child = spawn(file, args, { env: definedEnv(options.env), stdio: 'inherit' })
    const onAbort = () => {
      child.kill('SIGTERM')
      if (options.detachOnAbort) {
        child.unref()
        reject(options.signal?.reason)
      }
    }
    const forwarders = options.forwardSignals ? TERMINATION_SIGNALS.map((name) => [name, () => child.kill(name)] as const) : []
    for (const [name, forward] of forwarders) process.on(name, forward)
    const settle = () => {
      options.signal?.removeEventListener('abort', onAbort)
      for (const [name, forward] of forwarders) process.off(name, forward)
    }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    child.once('error', (err) => {
      settle()
      reject(err)
    })
    child.once('exit', (code, signal) => {
      settle()
      resolve({ code, signal })
    })
  })
}

/** A shell-style exit status: the code, or 128 + the signal number when the child was killed. */
export function exitStatusOf(result: ChildResult): number {
  if (result.code !== null) return result.code
  const number = result.signal ? os.constants.signals[result.signal] : undefined
  return 128 + (number ?? 0)
}

