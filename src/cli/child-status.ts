/** How exec-env and exec-file end when their command does (sops's toExitError of an *exec.ExitError). */
import { ChildExitError } from '../core/errors.js'
import { exitStatusOf, type ChildResult } from '../edit/child.js'

/** Go's names for the signals (syscall.Signal.String on Linux). */
const GO_SIGNAL_NAMES: Readonly<Record<string, string>> = {
  SIGHUP: 'hangup',
  SIGINT: 'interrupt',
  SIGQUIT: 'quit',
  SIGILL: 'illegal instruction',
  SIGTRAP: 'trace/breakpoint trap',
  SIGABRT: 'aborted',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGKILL: 'killed',
  SIGUSR1: 'user defined signal 1',
  SIGSEGV: 'segmentation fault',
  SIGUSR2: 'user defined signal 2',
  SIGPIPE: 'broken pipe',
  SIGALRM: 'alarm clock',
  SIGTERM: 'terminated',
}

/**
 * The command's exit status. A failure is also reported as sops reports it, in Go's words on
 * stderr: `exit status N` (exit code N), or `signal: terminated` for a command a signal ended.
 * That exit code is 128 + the signal's number, the shell's convention (sops exits 255 there).
 */
export function childStatus(result: ChildResult): number {
  const status = exitStatusOf(result)
  if (result.signal) throw new ChildExitError(status, `signal: ${GO_SIGNAL_NAMES[result.signal] ?? result.signal}`)
  if (status !== 0) throw new ChildExitError(status)
  return status
}
