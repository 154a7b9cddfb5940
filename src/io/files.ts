/**
 * File input and atomic output. A write never leaves a half-written file: the bytes go to a
 * temp file in the target's directory, are fsynced, and replace the target by rename. The
 * target's mode is kept, and a symlink is followed so the link itself survives.
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { NoFileError, ReadError, WriteError } from '../core/errors.js'

export const STDIN_NAMES = new Set(['-', '/dev/stdin'])

export function isStdin(file: string | undefined): boolean {
  return file === undefined || STDIN_NAMES.has(file)
}

/** Read a whole file, or stdin for `-`, `/dev/stdin` or no name. */
export function readInput(file: string | undefined): Buffer {
  try {
    if (isStdin(file)) return readStdin()
    return fs.readFileSync(file!)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new NoFileError(`Error: cannot operate on non-existent file "${file}"`)
    if (code === 'EISDIR') throw new ReadError(`Error reading file: ${file} is a directory`)
    throw new ReadError(`Error reading file: ${describe(err)}`)
  }
}

function readStdin(): Buffer {
  const chunks: Buffer[] = []
  const buf = Buffer.alloc(1 << 16)
  for (;;) {
    let n: number
    try {
      n = fs.readSync(0, buf, 0, buf.length, null)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EAGAIN') continue
      if (code === 'EOF') break
      throw err
    }
    if (n === 0) break
    chunks.push(Buffer.from(buf.subarray(0, n)))
  }
  return Buffer.concat(chunks)
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e.code ? `${e.code}: ${e.syscall ?? 'io'} ${e.path ?? ''}`.trim() : 'unexpected I/O error'
}

/** Resolve symlinks so the link is kept and its target updated. */
function realTarget(file: string): string {
  try {
    return fs.realpathSync(file)
  } catch {
    return path.resolve(file)
  }
}

/**
 * Replace `file` with `data` atomically. New files get 0666 minus umask (like os.Create) unless
 * `mode` is given; existing files keep their mode and, where permitted, their owner.
 */
export function writeFileAtomic(file: string, data: Uint8Array, options: { mode?: number } = {}): void {
  const target = realTarget(file)
  const dir = path.dirname(target)
  const tmp = path.join(dir, `.${path.basename(target)}.tsops-${randomBytes(6).toString('hex')}.tmp`)
  let existing: fs.Stats | undefined
  try {
    existing = fs.statSync(target)
  } catch {
    existing = undefined
  }
  const mode = existing ? existing.mode & 0o7777 : (options.mode ?? 0o666)
  let fd: number | undefined
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode)
    writeAll(fd, data)
    if (existing) {
      fs.fchmodSync(fd, mode)
      try {
        fs.fchownSync(fd, existing.uid, existing.gid)
      } catch {
        // Not permitted for non-root users on foreign files; the mode is what matters.
      }
    }
    fs.fsyncSync(fd)
    fs.closeSync(fd)
    fd = undefined
    fs.renameSync(tmp, target)
    fsyncDir(dir)
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd)
    fs.rmSync(tmp, { force: true })
    throw new WriteError(`Could not write output file ${file}: ${describe(err)}`)
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off)
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r')
    try {
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic.
  }
}

/** Write to stdout, all of it, synchronously (so the exit code follows the output). */
export function writeStdout(data: Uint8Array): void {
  let off = 0
  while (off < data.length) {
    try {
      off += fs.writeSync(1, data, off, data.length - off)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue
      throw new WriteError(`Could not write to standard output: ${describe(err)}`)
    }
  }
}
