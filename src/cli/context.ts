/** What a command gets from the process: env, cwd, output streams. The only bridge to `process`. */
import type { KeyContext } from '../keys/types.js'
import { writeStderr } from '../io/stdio.js'

export interface CliContext {
  env: Readonly<Record<string, string | undefined>>
  cwd: string
  stderr: (line: string) => void
  verbose: boolean
  keyContext: KeyContext
}

export function createCliContext(verbose: boolean): CliContext {
  const stderr = (line: string) => writeStderr(line.endsWith('\n') ? line : line + '\n')
  const env = process.env
  return {
    env,
    cwd: process.cwd(),
    stderr,
    verbose,
    keyContext: { env, warn: (m) => stderr(`tsops: warning: ${m}`) },
  }
}
