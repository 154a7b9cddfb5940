/**
 * Go's wording for a failed file operation (`*fs.PathError`: `open f.yaml: no such file or
 * directory`), which sops prints as is: tsops run as `sops` must print the same words.
 */
import fs from 'node:fs'
import { ReadError } from '../core/errors.js'
import { isStdin, readInput } from './files.js'

/** syscall.Errno texts (Linux) for the errors a file read can meet. */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
}

/** `open f.yaml: no such file or directory`: the operation, the path as it was given, the errno text. */
export function goPathError(op: string, file: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException
  const text = (e.code && ERRNO_TEXT[e.code]) ?? e.code ?? 'unexpected I/O error'
  return `${op} ${file}: ${text}`
}

/**
 * sops's common.LoadEncryptedFile read: any failure is `Error reading file: <Go error>` (exit 2),
 * the file named as the caller names it (set, unset and rotate pass an absolute path, exec-env,
 * exec-file and groups the path as given). `-` and /dev/stdin read standard input as readInput does.
 */
export function readFileAsSops(file: string): Buffer {
  if (isStdin(file)) return readInput(file)
  try {
    return fs.readFileSync(file)
  } catch (err) {
    const { code, syscall } = err as NodeJS.ErrnoException
    // Not an OS error (a file too large for a Node buffer): readInput's own report.
    if (code === undefined || !/^E[A-Z]+$/.test(code)) return readInput(file)
    throw new ReadError(`Error reading file: ${goPathError(syscall === 'read' ? 'read' : 'open', file, err)}`)
  }
}
