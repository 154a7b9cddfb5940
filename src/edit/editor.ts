/**
 * Which editor to run and running it (sops edit.go runEditor): $SOPS_EDITOR, else $EDITOR,
 * split like a shell command with the file appended; else the first of vim, nano, vi on PATH.
 * Any failure — not found, killed, non-zero exit — is "Could not run editor" (exit 201).
 */
import { EditorError } from '../core/errors.js'
import { shlexSplit } from '../keys/age.js'
import { exitStatusOf, runChild } from './child.js'
import { goPathError } from '../io/go-errors.js'
import { lookPath } from '../io/look-path.js'

const FALLBACK_EDITORS = ['vim', 'nano', 'vi']

type Env = Readonly<Record<string, string | undefined>>

/** The editor command line (without the file). */
export function editorCommand(env: Env): string[] {
  for (const name of ['SOPS_EDITOR', 'EDITOR']) {
    const value = env[name]
    if (!value) continue
    let words: string[]
    try {
      words = shlexSplit(value)
    } catch {
      throw new EditorError(`Could not run editor: invalid $${name}: ${value}`)
    }
    if (words.length === 0) throw new EditorError(`Could not run editor: invalid $${name}: ${value}`)
    return words
  }
  const found = FALLBACK_EDITORS.map((e) => lookPath(e, env.PATH)).find((p) => p !== undefined)
  if (found === undefined) {
    throw new EditorError(
      `Could not run editor: no editor available: tsops uses the editor in the SOPS_EDITOR or EDITOR environment variables, and if neither is set any of ${FALLBACK_EDITORS.join(', ')}, but none of them could be found`,
      { hint: 'Set SOPS_EDITOR or EDITOR, e.g. EDITOR=nano.' },
    )
  }
  return [found]
}

export interface RunEditorOptions {
  env: Env
  /** Aborting kills the editor and rejects with the signal's reason at once. */
  signal: AbortSignal
}

/** Run the editor on `file` with the terminal; resolves when it exits 0. */
export async function runEditor(command: readonly string[], file: string, options: RunEditorOptions): Promise<void> {
  const [program, ...args] = command as [string, ...string[]]
  let result
  try {
    result = await runChild(program, [...args, file], { env: options.env, signal: options.signal, detachOnAbort: true })
  } catch (err) {
    if (options.signal.aborted) throw err
    // Go's words: a bare name is looked up on PATH, a path is started as it is (fork/exec).
    const code = (err as NodeJS.ErrnoException).code
    const why = !program.includes('/') && code === 'ENOENT' ? `exec: "${program}": executable file not found in $PATH` : code ? goPathError('fork/exec', program, err) : 'could not start it'
    throw new EditorError(`Could not run editor: ${why}`)
  }
  const status = exitStatusOf(result)
  if (status !== 0) {
    throw new EditorError(`Could not run editor: ${result.signal ? `signal: ${result.signal}` : `exit status ${status}`}`)
  }
}
