/**
 * File input and atomic output. A write never leaves a half-written file: the bytes go to a
 * temp file in the target's directory, are fsynced, and replace the target by rename, under the
 * target's lock (lock.ts) so two tsops processes never interleave. The target's mode is kept
 * (and its owner, where permitted), and a symlink is followed so the link itself survives.
 * docs/reliability.md lists the guarantees and the few cases where they cannot hold.
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { NoFileError, ReadError, WriteError } from '../core/errors.js'
import { describeIoError as describe, readStdin, writeAll, writeStdout, type Bytes } from './stdio.js'
import { acquireFileLockSync, resolveWriteTarget, shortHash, takeStaleRecovery, type LockClock } from './lock.js'

export { withFileLock, withFileLockSync, FileLockedError, lockPathFor, type LockClock, type LockOptions } from './lock.js'

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
    // sops names the file by its absolute path.
    if (code === 'ENOENT') throw new NoFileError(`Error: cannot operate on non-existent file "${path.resolve(file ?? '')}"`)
    if (code === 'EISDIR') throw new ReadError(`Error reading file: ${file} is a directory`)
    if (code === 'ERR_FS_FILE_TOO_LARGE' || err instanceof RangeError) {
      throw new ReadError(`Error reading file: ${file ?? 'standard input'} is too large to process`)
    }
    throw new ReadError(`Error reading file: ${describe(err)}`)
  }
}

export interface WriteOptions {
  /** Mode of a newly created file (the umask applies); an existing file keeps its own. Default 0666. */
  mode?: number
  /** How long to wait for another tsops writing the same file (ms). Default 10 000. */
  lockTimeoutMs?: number
  /** The lock wait's clock (tests); see LockOptions. */
  lockClock?: LockClock
}

/**
 * Replace `file` with `data` atomically. New files get 0666 minus umask (like os.Create) unless
 * `mode` is given; existing files keep their mode and, where permitted, their owner. Devices and
 * FIFOs (`--output /dev/stdout`) are written directly: there is nothing to replace.
 */
export function writeFileAtomic(file: string, data: Bytes, options: WriteOptions = {}): void {
  const fd = STANDARD_STREAMS.get(path.resolve(file))
  if (fd === 1) return writeStdout(data)
  if (fd === 2) return writeInPlace(file, fd, data)
  if (isSpecialFile(file)) return writeInPlace(file, file, data)
  const target = resolveWriteTarget(file)
  const lock = acquireFileLockSync(file, { timeoutMs: options.lockTimeoutMs, clock: options.lockClock })
  try {
    if (takeStaleRecovery(target)) removeLeftoverTemps(target)
    replaceFile(file, target, data, options.mode)
  } finally {
    lock?.release()
  }
}

/**
 * `--output /dev/stdout` goes to the descriptor itself: reopening it by name fails when it is a
 * socket (ENXIO), as it is under many process supervisors and `spawn(..., { stdio: 'pipe' })`.
 */
const STANDARD_STREAMS = new Map([
  ['/dev/stdout', 1],
  ['/dev/fd/1', 1],
  ['/proc/self/fd/1', 1],
  ['/dev/stderr', 2],
  ['/dev/fd/2', 2],
  ['/proc/self/fd/2', 2],
])

/**
 * Devices, FIFOs, sockets and anything under /proc: written in place, never renamed over.
 * (A regular file under /dev, e.g. in /dev/shm, is a file like any other.)
 */
function isSpecialFile(file: string): boolean {
  if (path.resolve(file).startsWith('/proc/')) return true
  let st: fs.Stats
  try {
    st = fs.statSync(file)
  } catch {
    return false
  }
  if (st.isDirectory()) throw new WriteError(`Could not write output file ${file}: it is a directory`)
  return !st.isFile()
}

const TEMP_RE = /^\.(.+)\.tsops-[0-9a-f]{12}\.tmp$/

/** `.<name>.tsops-<random>.tmp` beside the target (hashed when the name would be too long). */
function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${tempStem(path.basename(target))}.tsops-${randomBytes(6).toString('hex')}.tmp`)
}

function tempStem(base: string): string {
  return Buffer.byteLength(base) + 26 <= 255 ? base : shortHash(base)
}

/**
 * Temp files of this target left by a killed tsops (called after its stale lock was removed).
 * Only the lock holder writes them, and we hold the lock, so any that exist are orphans.
 */
function removeLeftoverTemps(target: string): void {
  const dir = path.dirname(target)
  const stem = tempStem(path.basename(target))
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return
  }
  for (const name of names) {
    if (TEMP_RE.exec(name)?.[1] !== stem) continue
    try {
      fs.rmSync(path.join(dir, name), { force: true })
    } catch {
      // Litter only: never a reason to fail the write.
    }
  }
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file)
  } catch {
    return undefined
  }
}

/** sops opens the file for writing, so a read-only file is an error, not silently replaced. */
function assertWritable(file: string, target: string): void {
  try {
    fs.accessSync(target, fs.constants.W_OK)
  } catch (err) {
    throw new WriteError(`Could not write output file ${file}: ${describe(err)}`, { hint: 'The file is not writable; change its permissions first.' })
  }
}

function replaceFile(file: string, target: string, data: Bytes, newMode: number | undefined): void {
  const dir = path.dirname(target)
  const tmp = tempPathFor(target)
  const existing = statOrUndefined(target)
  if (existing) assertWritable(file, target)
  const mode = existing ? existing.mode & 0o7777 : (newMode ?? 0o666)
  let fd: number | undefined
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode & 0o777)
    writeAll(fd, data)
    if (existing) keepModeAndOwner(fd, existing, mode)
    fs.fsyncSync(fd)
    fs.closeSync(fd)
    fd = undefined
    renameOver(tmp, target, data)
    fsyncDir(dir)
  } catch (err) {
    if (fd !== undefined) closeQuietly(fd)
    fs.rmSync(tmp, { force: true })
    if (err instanceof WriteError) throw err
    throw new WriteError(`Could not write output file ${file}: ${describe(err)}`, hintFor(err))
  }
}

function keepModeAndOwner(fd: number, existing: fs.Stats, mode: number): void {
  fs.fchmodSync(fd, mode)
  try {
    fs.fchownSync(fd, existing.uid, existing.gid)
  } catch {
    // Not permitted for non-root users on foreign files; the mode is what matters.
  }
}

/**
 * rename(2) over the target. A bind-mounted single file (containers) cannot be renamed over
 * (EBUSY); like sops, it is then rewritten in place — the one non-atomic path.
 */
function renameOver(tmp: string, target: string, data: Bytes): void {
  try {
    fs.renameSync(tmp, target)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EBUSY' && code !== 'EXDEV') throw err
    // Chunks cannot be produced twice: the temp file holds them.
    if (data instanceof Uint8Array) writeInPlace(target, target, data)
    else fs.copyFileSync(tmp, target)
    fs.rmSync(tmp, { force: true })
  }
}

/** Write to `target` (a path, or an open descriptor) directly: truncate, write, fsync if possible. */
function writeInPlace(file: string, target: string | number, data: Bytes): void {
  let fd: number | undefined
  try {
    fd = typeof target === 'number' ? target : fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o666)
    writeAll(fd, data)
    try {
      fs.fsyncSync(fd)
    } catch {
      // Pipes and terminals cannot be fsynced.
    }
  } catch (err) {
    throw new WriteError(`Could not write output file ${file}: ${describe(err)}`, hintFor(err))
  } finally {
    if (fd !== undefined && typeof target !== 'number') closeQuietly(fd)
  }
}

function hintFor(err: unknown): { hint?: string } {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return { hint: 'tsops writes a temporary file next to the target and renames it over the target; the directory must be writable.' }
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') return { hint: 'The disk is full; the original file was left untouched.' }
  return {}
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd)
  } catch {
    // Closing after a failed write: the error that matters is already being reported.
  }
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

export { writeStderr, writeStdout, type Bytes } from './stdio.js'
