/**
 * Private temporary directories for plaintext that must not outlive the command (the edit
 * buffer of `edit` and `git resolve`, exec-file's FIFO or file).
 *
 *  - Where: in RAM when the system offers it — `/dev/shm/tsops-<uid>` on Linux (tmpfs, so the
 *    plaintext never reaches a disk) — else the system temp dir ($TMPDIR). The per-user parent
 *    is created 0700; one that exists but is not a real directory owned by this user and closed
 *    to others is not used (someone else could read or replace what is put there).
 *  - Each directory is created 0700 and named after the owning process: `[label-]<ns>.<pid>-XXXXXX`
 *    in the RAM parent, `tsops-[label-]<ns>.<pid>-XXXXXX` in $TMPDIR, where <ns> names the pid
 *    namespace (containers sharing a temp dir have their own pids: a pid from another
 *    namespace says nothing about whether its process runs).
 *  - Removed by remove() — callers do it in `finally` and on SIGINT/SIGTERM — and, as a last
 *    resort, when the process exits. SIGKILL leaves no chance to clean up, so every creation
 *    first removes the directories of this user's tsops processes that are no longer running.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { WriteError } from '../core/errors.js'

const live = new Set<PrivateTempDir>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const dir of live) dir.remove()
  })
}

/** Where RAM-backed storage is mounted (Linux). */
export const RAM_ROOT = '/dev/shm'
/** statfs types that live in memory: tmpfs, ramfs. */
const RAM_FS_TYPES = new Set([0x01021994, 0x858458f6])

const uid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined)

/** Is this path a real directory owned by us with no access for group or others? */
function isPrivateDir(dir: string): boolean {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false })
  return st !== undefined && st.isDirectory() && st.uid === uid() && (st.mode & 0o077) === 0
}

/** `/dev/shm/tsops-<uid>`, created private when needed; undefined when RAM storage is missing or unsafe. */
export function ramParent(root = RAM_ROOT): string | undefined {
  const id = uid()
  if (id === undefined) return undefined
  try {
    if (!RAM_FS_TYPES.has(Number(fs.statfsSync(root).type))) return undefined
    const dir = path.join(root, `tsops-${id}`)
    try {
      fs.mkdirSync(dir, { mode: 0o700 })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return undefined
    }
    return isPrivateDir(dir) ? dir : undefined
  } catch {
    return undefined
  }
}

/** The pid namespace of this process (its inode on Linux), or 0 where there is none to read. */
function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0'
  } catch {
    return '0'
  }
}

/** This process in a directory name: `<ns>.<pid>`. */
export function ownerTag(): string {
  return `${pidNamespace()}.${process.pid}`
}

/** A process we may not signal (EPERM) is alive; only ESRCH means gone. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/**
 * Remove the directories under `parent` named `<prefix>[label-]<ns>.<pid>-…` of this pid
 * namespace whose process is gone and which belong to this user. A pid in use again by another
 * process keeps its directory (safe side).
 */
export function reapDeadDirs(parent: string, prefix: string): string[] {
  const removed: string[] = []
  let names: string[]
  try {
    names = fs.readdirSync(parent)
  } catch {
    return removed
  }
  const pattern = new RegExp(`^${prefix}(?:[a-z]+-)?(\\d+)\\.(\\d+)-[A-Za-z0-9]{6}$`)
  const ns = pidNamespace()
  for (const name of names) {
    const m = pattern.exec(name)
    if (!m || m[1] !== ns) continue
    const pid = Number(m[2])
    if (pid === process.pid || processAlive(pid)) continue
    const dir = path.join(parent, name)
    const st = fs.lstatSync(dir, { throwIfNoEntry: false })
    if (!st || !st.isDirectory() || st.uid !== uid()) continue
    try {
      fs.rmSync(dir, { recursive: true, force: true })
      removed.push(dir)
    } catch {
      // another tsops got there first, or it is not ours to remove
    }
  }
  return removed
}

/** Where new directories go, and their name prefix there. */
function location(ramRoot: string): { parent: string; prefix: string } {
  const ram = ramParent(ramRoot)
  return ram ? { parent: ram, prefix: '' } : { parent: os.tmpdir(), prefix: 'tsops-' }
}

/** Remove what dead tsops processes left, in RAM and in $TMPDIR. */
export function reapLeftovers(ramRoot = RAM_ROOT): void {
  const ram = ramParent(ramRoot)
  if (ram) reapDeadDirs(ram, '')
  reapDeadDirs(os.tmpdir(), 'tsops-')
}

export class PrivateTempDir {
  private removed = false

  private constructor(readonly path: string) {}

  /**
   * @param label what the directory is for, in its name (`exec`, `edit`); lowercase letters
   * @param ramRoot where RAM storage is mounted (tests)
   */
  static create(label = '', ramRoot = RAM_ROOT): PrivateTempDir {
    reapLeftovers(ramRoot)
    const { parent, prefix } = location(ramRoot)
    let dir: string
    try {
      dir = fs.mkdtempSync(path.join(parent, `${prefix}${label ? `${label}-` : ''}${ownerTag()}-`))
      fs.chmodSync(dir, 0o700) // mkdtemp already uses 0700; make it explicit for odd umasks
    } catch (err) {
      throw new WriteError(`Could not create temporary directory: ${(err as NodeJS.ErrnoException).code ?? 'unexpected error'}`)
    }
    const created = new PrivateTempDir(dir)
    live.add(created)
    installExitHook()
    return created
  }

  /** A path inside the directory. */
  file(name: string): string {
    return path.join(this.path, name)
  }

  /** Remove the directory and everything in it; safe to call more than once. */
  remove(): void {
    if (this.removed) return
    this.removed = true
    live.delete(this)
    fs.rmSync(this.path, { recursive: true, force: true, maxRetries: 2 })
  }
}
