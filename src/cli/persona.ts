/**
 * Which command name the user ran. Installed as `sops` (bin/sops), tsops is a drop-in: scripts
 * and test suites compare sops's stderr, so errors are printed exactly as sops prints them (the
 * bare message) and tsops's own extras (prefixes, hints, notes sops has no equivalent of) stay
 * silent. As `tsops` it keeps its `tsops: error:` prefix and hints.
 */
import path from 'node:path'

export type Persona = 'sops' | 'tsops'

export function personaOf(scriptPath: string | undefined): Persona {
  return path.basename(scriptPath ?? '') === 'sops' ? 'sops' : 'tsops'
}

/** The persona of this process. */
export function currentPersona(): Persona {
  return personaOf(process.argv[1])
}
