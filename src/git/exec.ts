/**
 * Running git on the hot paths (pre-commit guard, merge fallback) without a wrapper library:
 * the guard starts exactly three git processes whatever the number of staged files, and each
 * one inherits the hook's environment (GIT_DIR, GIT_INDEX_FILE for `git commit -a`/partial
 * commits), so it reads the index that is about to be committed.
 */
import { spawn } from 'node:child_process'
import { TsopsError } from '../core/errors.js'

export class GitError extends TsopsError {
  override readonly code = 'GIT'
}

export interface GitRun {
  code: number
  stdout: Buffer
  stderr: string
}

export interface GitOptions {
  cwd: string
  env?: Readonly<Record<string, string | undefined>>
  input?: Uint8Array | string
  /** Receives stdout as it arrives instead of buffering it (cat-file --batch). */
  onStdout?: (chunk: Buffer) => void
}

export function runGit(args: readonly string[], options: GitOptions): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env: options.env as NodeJS.ProcessEnv | undefined, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => (options.onStdout ? options.onStdout(c) : out.push(c)))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', (e) => reject(new GitError(`could not run git: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { hint: 'Is git installed and on PATH?' })))
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }))
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input ?? '')
  })
}

/** Run git and return stdout; a non-zero exit is a GitError carrying git's own message. */
export async function git(args: readonly string[], options: GitOptions): Promise<Buffer> {
  const r = await runGit(args, options)
  if (r.code !== 0) throw new GitError(`git ${args[0]} failed: ${r.stderr.trim().split('\n')[0] ?? `exit ${r.code}`}`)
  return r.stdout
}
