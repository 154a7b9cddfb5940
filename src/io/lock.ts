/**
 * Advisory file locks between tsops processes: `<target>.tsops.lock`, created with O_EXCL and
 * holding the owner's pid, host and a random token. A second writer waits (bounded, 10 s by
 * default) and then fails with exit 3; it never interleaves with the first.
 *
 * A lock whose owner is gone (same host, pid not alive) is stale and is removed by the next
 * tsops that wants it, so a SIGKILLed run never blocks the next one. Breaking a stale lock goes
 * through a short-lived `<lock>.break` file, so two waiters cannot both "break" the lock and
 * then one of them delete the fresh lock the other just took.
 *
 * Locks are re-entrant within one async context (AsyncLocalStorage): `withFileLock(f, fn)` can
 * call `writeFileAtomic(f)` — which takes the same lock — without deadlocking. They are
 * released on every exit path we can see: normal return, a thrown error, `process.exit`
 * ('exit' listener) and SIGINT/SIGTERM/SIGHUP (when nothing else handles the signal, the locks
 * are released and the signal is re-raised, so the process still dies of it).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { WriteError } from '../core/errors.js'
import { sleepSync } from './sleep.js'

export const LOCK_SUFFIX = '.tsops.lock'
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000
/** A lock file with unreadable content younger than this may be mid-creation: not stale yet. */
const UNREADABLE_GRACE_MS = 2_000
/** A `.break` file older than this was left by a process killed while breaking a lock. */
const BREAKER_STALE_MS = 5_000
/** Longest file name most filesystems allow (bytes). */
const NAME_MAX = 255

/** Exit 3: the target is locked by another tsops (or another operation of this process). */
export class FileLockedError extends WriteError {
  override readonly code = 'LOCKED'
}

export interface LockOptions {
  /** How long to wait for another process's lock (ms). 0: fail at once. Default 10 000. */
  timeoutMs?: number
  /** The clock the wait is measured and spent on; the real one by default (tests inject a fake). */
  clock?: LockClock
}

/** Time as the lock wait sees it: a test's fake clock advances only when the waiter sleeps. */
export interface LockClock {
  now(): number
  sleepSync(ms: number): void
  sleep(ms: number): Promise<void>
}

const REAL_CLOCK: LockClock = {
  now: () => Date.now(),
  sleepSync,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

export interface FileLock {
  /** The lock file. */
  readonly lockPath: string
  /** The file it protects (symlinks resolved). */
  readonly target: string
  release(): void
}

interface LockInfo {
  pid: number | undefined
  host: string | undefined
  token: string | undefined
  raw: string
  mtimeMs: number
}

// ---- naming -----------------------------------------------------------------------------------

/**
 * The file a write to `file` really replaces: symlinks followed (also dangling ones, whose
 * target gets created), the directory canonical, so every path to one file shares one lock.
 */
export function resolveWriteTarget(file: string): string {
  let current = path.resolve(file)
  for (let hops = 0; isSymlink(current); hops++) {
    if (hops === MAX_SYMLINK_HOPS) throw new WriteError(`Could not write output file ${file}: too many levels of symbolic links`)
    try {
      current = path.resolve(path.dirname(current), fs.readlinkSync(current))
    } catch (err) {
      throw new WriteError(`Could not write output file ${file}: cannot read symbolic link ${current}: ${(err as NodeJS.ErrnoException).code ?? 'I/O error'}`)
    }
  }
  let dir = path.dirname(current)
  try {
    dir = fs.realpathSync(dir)
  } catch {
    // A missing directory fails later, where the write reports it.
  }
  return path.join(dir, path.basename(current))
}

/** Linux's limit (MAXSYMLINKS). */
const MAX_SYMLINK_HOPS = 40

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink()
  } catch {
    return false // does not exist (yet): it will be created
  }
}

/** `<target>.tsops.lock`; a name too long for the filesystem is replaced by a hash of it. */
export function lockPathFor(target: string): string {
  const base = path.basename(target)
  const name = Buffer.byteLength(base + LOCK_SUFFIX) <= NAME_MAX ? base + LOCK_SUFFIX : `.${shortHash(base)}${LOCK_SUFFIX}`
  return path.join(path.dirname(target), name)
}

export function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16)
}

// ---- process-wide state ---------------------------------------------------------------------

/** Locks this process holds, by lock path -> token. */
const held = new Map<string, string>()
/** Lock paths whose stale lock this process removed: the dead writer may have left a temp file. */
const recoveredStale = new Set<string>()
/** Lock paths held by the current async context (for re-entrancy). */
const context = new AsyncLocalStorage<ReadonlySet<string>>()
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
let hooksInstalled = false

/** Release every lock this process holds (exit and signal paths; synchronous). */
function releaseAll(): void {
  for (const [lockPath, token] of [...held]) removeIfOurs(lockPath, token)
  held.clear()
}

/**
 * Installed once, on the first lock: 'exit' releases locks; a termination signal that nobody
 * else listens for releases them and is re-raised, which is what the default would have done.
 * When another listener exists (the editor flow), it owns the signal and its unwinding releases
 * the lock through withFileLock's `finally`.
 */
function installHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', releaseAll)
  for (const signal of SIGNALS) {
    const onSignal = (): void => {
      if (process.listenerCount(signal) > 1) return
      releaseAll()
      process.off(signal, onSignal)
      process.kill(process.pid, signal)
    }
    process.on(signal, onSignal)
  }
}

// ---- lock file I/O --------------------------------------------------------------------------

function readLockInfo(lockPath: string): LockInfo | undefined {
  let raw: string
  let mtimeMs: number
  try {
    raw = fs.readFileSync(lockPath, 'utf8')
    mtimeMs = fs.statSync(lockPath).mtimeMs
  } catch {
    return undefined // released meanwhile
  }
  const [pidText, host, token] = raw.split('\n')
  const pid = /^\d{1,10}$/.test(pidText ?? '') ? Number(pidText) : undefined
  return { pid, host: host || undefined, token: token || undefined, raw, mtimeMs }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Stale: written on this host by a process that no longer exists (or unreadable and old). */
function isStale(info: LockInfo): boolean {
  if (info.pid === undefined || info.token === undefined) return Date.now() - info.mtimeMs > UNREADABLE_GRACE_MS
  if (info.host !== os.hostname()) return false // cannot check another machine's processes
  // Our own pid with a token we do not hold: a previous process with the same pid (containers).
  if (info.pid === process.pid) return ![...held.values()].includes(info.token)
  return !pidAlive(info.pid)
}

/** Remove a stale lock unless it changed since we looked (see the header comment). */
function breakStaleLock(lockPath: string, seen: LockInfo): void {
  const breaker = lockPath + '.break'
  let fd: number
  try {
    fd = fs.openSync(breaker, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    // Someone else is breaking it right now — or died doing so long ago.
    try {
      if (Date.now() - fs.statSync(breaker).mtimeMs > BREAKER_STALE_MS) fs.rmSync(breaker, { force: true })
    } catch {
      // gone already
    }
    return
  }
  try {
    const now = readLockInfo(lockPath)
    if (now !== undefined && now.raw === seen.raw) {
      fs.rmSync(lockPath, { force: true })
      recoveredStale.add(lockPath)
    }
  } finally {
    fs.closeSync(fd)
    fs.rmSync(breaker, { force: true })
  }
}

function removeIfOurs(lockPath: string, token: string): void {
  try {
    if (readLockInfo(lockPath)?.token === token) fs.unlinkSync(lockPath)
  } catch {
    // Already gone; nothing to release.
  }
}

type Attempt = { lock: FileLock } | { busy: LockInfo | undefined }

/**
 * One try: create the lock file, or report who holds it. A stale lock is removed and the
 * creation retried at once (twice at most: another waiter may win the race for it).
 */
function tryAcquire(target: string, lockPath: string): Attempt {
  try {
    return createLock(target, lockPath)
  } catch (err) {
    if (err instanceof WriteError) throw err
    throw lockIoError(target, lockPath, err)
  }
}

function createLock(target: string, lockPath: string): Attempt {
  const token = randomBytes(12).toString('hex')
  let fd: number | undefined
  let info: LockInfo | undefined
  for (let attempt = 0; fd === undefined; attempt++) {
    try {
      fd = fs.openSync(lockPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw lockIoError(target, lockPath, err)
      info = readLockInfo(lockPath)
      if (attempt === 2 || (info !== undefined && !isStale(info))) return { busy: info }
      if (info !== undefined) breakStaleLock(lockPath, info) // else: released meanwhile, retry
    }
  }
  try {
    fs.writeSync(fd, `${process.pid}\n${os.hostname()}\n${token}\n`)
  } catch (err) {
    // A disk too full for even the lock file: leave no empty lock behind.
    fs.closeSync(fd)
    fs.rmSync(lockPath, { force: true })
    throw err
  }
  fs.closeSync(fd)
  installHooks()
  held.set(lockPath, token)
  let released = false
  const release = (): void => {
    if (released) return
    released = true
    held.delete(lockPath)
    removeIfOurs(lockPath, token)
  }
  return { lock: { lockPath, target, release } }
}

function lockIoError(target: string, lockPath: string, err: unknown): WriteError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new WriteError(`Could not write output file ${target}: its directory does not exist`)
  return new WriteError(`Could not write output file ${target}: cannot create lock file ${lockPath}: ${code ?? 'I/O error'}`, {
    hint: 'tsops writes through a lock file and a temporary file next to the target; its directory must be writable.',
  })
}

/**
 * Did this process remove a stale lock of `file` since the last call? Then the dead writer may
 * have left its temp file behind, and the caller (holding the lock now) should clean up.
 */
export function takeStaleRecovery(file: string): boolean {
  const lockPath = lockPathFor(resolveWriteTarget(file))
  return recoveredStale.delete(lockPath)
}

function lockedError(target: string, lockPath: string, info: LockInfo | undefined, waitedMs: number): FileLockedError {
  const owner =
    info?.pid === undefined ? 'another tsops process' : `another tsops process (pid ${info.pid}${info.host && info.host !== os.hostname() ? ` on ${info.host}` : ''})`
  return new FileLockedError(`${target} is being written by ${owner}; gave up after waiting ${(waitedMs / 1000).toFixed(1)} s`, {
    hint: `Try again when it is done. If no tsops process is running, delete ${lockPath}.`,
  })
}

/** Poll intervals: start fast (short writes), back off to 200 ms. */
function nextDelay(previous: number): number {
  return Math.min(200, Math.max(10, previous * 2))
}

function heldHere(lockPath: string): boolean {
  return context.getStore()?.has(lockPath) ?? false
}

/** A lock this process holds in another async context: waiting synchronously would deadlock. */
function assertNotHeldElsewhere(target: string, lockPath: string): void {
  if (held.has(lockPath)) {
    throw new FileLockedError(`${target} is being written by another operation of this tsops process`, {
      hint: 'Finish that operation first (a nested write must run inside its withFileLock callback).',
    })
  }
}

// ---- public API -----------------------------------------------------------------------------

/**
 * Take the lock of `file`, waiting synchronously (blocks the thread; for sync writers). Returns
 * undefined when the current async context already holds it (re-entrant use).
 */
export function acquireFileLockSync(file: string, options: LockOptions = {}): FileLock | undefined {
  const target = resolveWriteTarget(file)
  const lockPath = lockPathFor(target)
  if (heldHere(lockPath)) return undefined
  assertNotHeldElsewhere(target, lockPath)
  const timeout = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
  const clock = options.clock ?? REAL_CLOCK
  const start = clock.now()
  for (let delay = 0; ; ) {
    const attempt = tryAcquire(target, lockPath)
    if ('lock' in attempt) return attempt.lock
    const waited = clock.now() - start
    if (waited >= timeout) throw lockedError(target, lockPath, attempt.busy, waited)
    delay = nextDelay(delay)
    clock.sleepSync(Math.min(delay, timeout - waited))
  }
}

/** Take the lock of `file`, waiting asynchronously. Undefined when this context already holds it. */
export async function acquireFileLock(file: string, options: LockOptions = {}): Promise<FileLock | undefined> {
  const target = resolveWriteTarget(file)
  const lockPath = lockPathFor(target)
  if (heldHere(lockPath)) return undefined
  const timeout = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
  const clock = options.clock ?? REAL_CLOCK
  const start = clock.now()
  for (let delay = 0; ; ) {
    // Another operation of this process holds it: wait for it like for another process.
    const attempt: Attempt = held.has(lockPath) ? { busy: readLockInfo(lockPath) } : tryAcquire(target, lockPath)
    if ('lock' in attempt) return attempt.lock
    const waited = clock.now() - start
    if (waited >= timeout) throw lockedError(target, lockPath, attempt.busy, waited)
    delay = nextDelay(delay)
    await clock.sleep(Math.min(delay, timeout - waited))
  }
}

/**
 * Run `fn` holding the lock of `file` (read-modify-write: edit, set, unset, rotate, updatekeys).
 * writeFileAtomic(file) inside `fn` reuses the lock. The lock is released when `fn` settles.
 */
export async function withFileLock<T>(file: string, fn: () => Promise<T> | T, options: LockOptions = {}): Promise<T> {
  const lock = await acquireFileLock(file, options)
  if (lock === undefined) return fn()
  try {
    return await context.run(withHeld(lock.lockPath), fn)
  } finally {
    lock.release()
  }
}

/** Synchronous form of withFileLock. */
export function withFileLockSync<T>(file: string, fn: () => T, options: LockOptions = {}): T {
  const lock = acquireFileLockSync(file, options)
  if (lock === undefined) return fn()
  try {
    return context.run(withHeld(lock.lockPath), fn)
  } finally {
    lock.release()
  }
}

function withHeld(lockPath: string): ReadonlySet<string> {
  return new Set([...(context.getStore() ?? []), lockPath])
}
