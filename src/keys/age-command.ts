/**
 * SOPS_AGE_KEY_CMD: the command line split as google/shlex splits it, run directly (never through
 * a shell) like Go's exec.Command(...).Output(), with os/exec's error texts.
 */
import type { ExecFileException } from 'node:child_process'
import type { KeyContext } from './types.js'
import { SOPS_AGE_KEY_CMD, SOPS_AGE_RECIPIENT, errorText } from './age-common.js'
import { goErrnoText, goQuote } from './go-text.js'

/** A key command may wait on a password manager; still, never hang forever. */
const KEY_CMD_TIMEOUT_MS = 120_000

/** sops's getOutputFromCmd for SOPS_AGE_KEY_CMD or SOPS_AGE_SSH_PRIVATE_KEY_CMD (`variable`, for messages). */
export async function keyCommandOutput(cmd: string, recipient: string, ctx: KeyContext, variable = SOPS_AGE_KEY_CMD): Promise<{ bytes: Buffer } | { error: string }> {
  let argv: string[]
  try {
    argv = shlexSplit(cmd)
  } catch (e) {
    return { error: `failed to parse command ${cmd}: ${errorText(e)}` }
  }
  const [file, ...args] = argv
  // (sops panics on an empty command; tsops reports it.)
  if (file === undefined) return { error: `failed to execute command ${cmd}: ${variable} holds no command` }
  try {
    return { bytes: await runKeyCommand(file, args, { ...definedEnv(ctx.env), [SOPS_AGE_RECIPIENT]: recipient }, ctx.signal) }
  } catch (e) {
    return { error: `failed to execute command ${cmd}: ${errorText(e)}` }
  }
}

/**
 * Runs the key command like Go's cmd.Output(): its output as bytes (it may print an encrypted,
 * binary identity file); rejects with os/exec's error text.
 */
async function runKeyCommand(file: string, args: string[], env: Record<string, string>, signal?: AbortSignal): Promise<Buffer> {
  const { execFile } = await import('node:child_process')
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env, signal, timeout: KEY_CMD_TIMEOUT_MS, maxBuffer: 1 << 20, encoding: 'buffer', windowsHide: true },
      (err, stdout) => {
        if (!err) return resolve(stdout)
        reject(new Error(execErrorText(file, err)))
      },
    )
    child.stdin?.end() // the command gets no input (like Go's cmd.Output())
  })
}

/** os/exec's words: `exit status 3`, `signal: killed`, or why the program could not start. */
function execErrorText(file: string, err: ExecFileException): string {
  if (typeof err.code === 'number') return `exit status ${err.code}`
  if (err.signal) return `signal: ${GO_SIGNAL_NAMES[err.signal] ?? err.signal}`
  if (err.code === 'ENOENT' || err.code === 'EACCES') {
    const errno = err as NodeJS.ErrnoException
    return file.includes('/') ? `fork/exec ${file}: ${goErrnoText(errno)}` : `exec: ${goQuote(file)}: executable file not found in $PATH`
  }
  return err.message
}

const GO_SIGNAL_NAMES: Partial<Record<NodeJS.Signals, string>> = { SIGKILL: 'killed', SIGTERM: 'terminated', SIGINT: 'interrupt', SIGHUP: 'hangup', SIGSEGV: 'segmentation fault', SIGABRT: 'aborted' }

// ---------------------------------------------------------------------------------------------
// Small helpers

/**
 * POSIX-shell-like word splitting (google/shlex as sops uses it): whitespace separates words,
 * '…' is literal, "…" and bare text honour backslash escapes, `#` at a word start begins a comment.
 * No expansion of any kind: the command is executed directly, never through a shell.
 */
export function shlexSplit(input: string): string[] {
  const words: string[] = []
  let word: string | undefined
  let i = 0
  const take = () => {
    if (word !== undefined) words.push(word)
    word = undefined
  }
  while (i < input.length) {
    const c = input[i]!
    if (/\s/.test(c)) {
      take()
      i++
    } else if (c === '#' && word === undefined) {
      while (i < input.length && input[i] !== '\n') i++
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1)
      if (end === -1) throw new Error('EOF found when expecting closing quote')
      word = (word ?? '') + input.slice(i + 1, end)
      i = end + 1
    } else if (c === '"') {
      word ??= ''
      i++
      for (;;) {
        if (i >= input.length) throw new Error('EOF found when expecting closing quote')
        const q = input[i]!
        if (q === '"') break
        if (q === '\\' && i + 1 < input.length) i++
        word += input[i]!
        i++
      }
      i++
    } else if (c === '\\') {
      if (i + 1 >= input.length) throw new Error('EOF found after escape character')
      word = (word ?? '') + input[i + 1]!
      i += 2
    } else {
      word = (word ?? '') + c
      i++
    }
  }
  take()
  return words
}

function definedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  return out
}

