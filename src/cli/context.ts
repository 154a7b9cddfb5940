/** What a command gets from the process: env, cwd, output streams. The only bridge to `process`. */
import type { KeyContext } from '../keys/types.js'
import { writeStderr } from '../io/stdio.js'
import { currentPersona, type Persona } from './persona.js'
import { sopsLogLine } from './sopslog.js'

export interface CliContext {
  env: Readonly<Record<string, string | undefined>>
  cwd: string
  stderr: (line: string) => void
  verbose: boolean
  keyContext: KeyContext
  /** The name the user ran (see persona.ts). */
  persona: Persona
  /** A tsops-only remark sops has no equivalent of: `tsops: warning: …`, silent when run as `sops`. */
  note: (message: string) => void
  /** A warning sops prints too: `tsops: warning: …`, or as `sops` sops's logger line (`level=warning`). */
  warn: (message: string) => void
}

export function createCliContext(verbose: boolean, persona: Persona = currentPersona()): CliContext {
  const stderr = (line: string) => writeStderr(line.endsWith('\n') ? line : line + '\n')
  const env = process.env
  return {
    env,
    cwd: process.cwd(),
    stderr,
    verbose,
    keyContext: { env, warn: (m, sopsLogger) => stderr(persona === 'sops' && sopsLogger ? sopsLogLine('warning', m, {}, new Date(), sopsLogger) : `tsops: warning: ${m}`) },
    persona,
    note: (m) => {
      if (persona === 'tsops') stderr(`tsops: warning: ${m}`)
    },
    warn: (m) => stderr(persona === 'sops' ? sopsLogLine('warning', m) : `tsops: warning: ${m}`),
  }
}
