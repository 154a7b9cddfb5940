/**
 * writeFileAtomic and the file lock: mode, owner and symlinks kept; failures leave the original
 * and no debris; a second writer waits (bounded) or fails with exit 3; stale locks of dead
 * processes are recovered; locks are released on errors, exit and termination signals; and real
 * concurrent processes never lose an update under withFileLock.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type TsopsError, WriteError } from '../../src/core/errors.js'
import { FileLockedError, lockPathFor, withFileLock, withFileLockSync, writeFileAtomic } from '../../src/io/files.js'
import { acquireFileLock, resolveWriteTarget } from '../../src/io/lock.js'
import { bundleScript } from './support.js'
import { tempWorkspace } from '../helpers/workspace.js'
import { fakeClock } from '../helpers/clock.js'

const { dir } = tempWorkspace('tsops-atomic-')
let n = 0
const fresh = (name: string, content?: string | Buffer, mode?: number): string => {
  const file = path.join(dir, `${n++}-${name}`)
  if (content !== undefined) fs.writeFileSync(file, content, mode === undefined ? undefined : { mode })
  if (mode !== undefined) fs.chmodSync(file, mode)
  return file
}
const debris = (file: string) => fs.readdirSync(path.dirname(file)).filter((f) => f.includes(path.basename(file)) && f !== path.basename(file))


/** A process that does nothing until killed: a pid that is alive. */
function sleeper(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' })
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(r.stdout)
}

function writeLock(file: string, pid: number | string, host = os.hostname(), token = 'f00d'): string {
  const lock = lockPathFor(resolveWriteTarget(file))
  fs.writeFileSync(lock, `${pid}\n${host}\n${token}\n`)
  return lock
}

describe('writeFileAtomic', () => {
  it('replaces the content and keeps the mode of an existing file (0600 stays 0600)', () => {
    const file = fresh('secret.yaml', 'old\n', 0o600)
    writeFileAtomic(file, Buffer.from('new\n'))
    expect(fs.readFileSync(file, 'utf8')).toBe('new\n')
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(debris(file)).toEqual([])
  })

  it('creates new files with the given mode, or 0666 minus the umask', () => {
    const a = fresh('a.txt')
    writeFileAtomic(a, Buffer.from('x'), { mode: 0o600 })
    expect(fs.statSync(a).mode & 0o777).toBe(0o600)
    const b = fresh('b.txt')
    writeFileAtomic(b, Buffer.from('x'))
    const umask = process.umask()
    expect(fs.statSync(b).mode & 0o777).toBe(0o666 & ~umask)
  })

  it('writes through a symlink (and a chain of them): the link stays, its target changes', () => {
    const target = fresh('target.yaml', 'old\n', 0o640)
    const link1 = fresh('link1.yaml')
    const link2 = fresh('link2.yaml')
    fs.symlinkSync(path.basename(target), link1) // relative
    fs.symlinkSync(link1, link2) // absolute, to a link
    writeFileAtomic(link2, Buffer.from('new\n'))
    expect(fs.lstatSync(link2).isSymbolicLink()).toBe(true)
    expect(fs.lstatSync(link1).isSymbolicLink()).toBe(true)
    expect(fs.readFileSync(target, 'utf8')).toBe('new\n')
    expect(fs.statSync(target).mode & 0o777).toBe(0o640)
  })

  it('creates the target of a dangling symlink instead of replacing the link', () => {
    const target = fresh('not-yet.yaml')
    const link = fresh('dangling.yaml')
    fs.symlinkSync(target, link)
    writeFileAtomic(link, Buffer.from('created\n'))
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true)
    expect(fs.readFileSync(target, 'utf8')).toBe('created\n')
  })

  it('refuses a symlink loop, a directory and a read-only file with exit 3, changing nothing', () => {
    const loop = fresh('loop')
    fs.symlinkSync(loop, loop)
    expect(() => writeFileAtomic(loop, Buffer.from('x'))).toThrow(/too many levels of symbolic links/)
    const sub = fresh('subdir')
    fs.mkdirSync(sub)
    expect(() => writeFileAtomic(sub, Buffer.from('x'))).toThrow(/is a directory/)
    // sops opens the file for writing, so a read-only file is refused (root may write anyway).
    if (process.getuid?.() !== 0) {
      const ro = fresh('ro.yaml', 'keep\n', 0o444)
      const err = captureError(() => writeFileAtomic(ro, Buffer.from('x')))
      expect(err).toBeInstanceOf(WriteError)
      expect((err as WriteError).exitCode).toBe(3)
      expect(fs.readFileSync(ro, 'utf8')).toBe('keep\n')
    }
  })

  it('writes devices and FIFOs in place: --output /dev/null works and /dev is never renamed into', () => {
    expect(() => writeFileAtomic('/dev/null', Buffer.from('discarded'))).not.toThrow()
    const fifo = fresh('pipe')
    const made = spawnSync('mkfifo', [fifo])
    expect(made.status).toBe(0)
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] })
    const chunks: Buffer[] = []
    reader.stdout!.on('data', (c: Buffer) => chunks.push(c))
    writeFileAtomic(fifo, Buffer.from('through the pipe'))
    return new Promise<void>((resolve) =>
      reader.on('close', () => {
        expect(Buffer.concat(chunks).toString()).toBe('through the pipe')
        expect(fs.statSync(fifo).isFIFO()).toBe(true)
        resolve()
      }),
    )
  })

  it('a failure while writing leaves the original intact, no temp file and no lock (exit 3)', () => {
    const file = fresh('disk-full.yaml', 'original\n', 0o600)
    const real = fs.writeSync
    const spy = vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, ...rest: unknown[]) => {
      // Fail the data write of the temp file (the lock file's write is a string, let it through).
      if (typeof rest[0] !== 'string') throw Object.assign(new Error('no space'), { code: 'ENOSPC', syscall: 'write' })
      return (real as (...a: unknown[]) => number)(fd, ...rest)
    }) as typeof fs.writeSync)
    let err: unknown
    try {
      writeFileAtomic(file, Buffer.alloc(1 << 20, 1))
    } catch (e) {
      err = e
    } finally {
      spy.mockRestore()
    }
    expect(err).toBeInstanceOf(WriteError)
    expect((err as WriteError).exitCode).toBe(3)
    expect((err as WriteError).message).toContain('ENOSPC')
    expect((err as WriteError).hint).toMatch(/disk is full.*untouched/)
    expect(fs.readFileSync(file, 'utf8')).toBe('original\n')
    expect(debris(file)).toEqual([])
  })

  it('writes chunks produced while writing (a streamed binary encrypt) like one buffer', () => {
    const file = fresh('chunks.bin', 'old\n', 0o600)
    function* chunks(): Generator<Uint8Array> {
      for (let i = 0; i < 5; i++) yield Buffer.alloc(1000, 65 + i)
    }
    writeFileAtomic(file, chunks())
    expect(fs.readFileSync(file).equals(Buffer.concat([...chunks()].map((c) => Buffer.from(c))))).toBe(true)
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(debris(file)).toEqual([])
  })

  it('a chunk producer that fails midway leaves the original intact and no temp file', () => {
    const file = fresh('chunks-fail.bin', 'original\n')
    function* failing(): Generator<Uint8Array> {
      yield Buffer.from('partial')
      throw new WriteError('the producer failed')
    }
    expect(() => writeFileAtomic(file, failing())).toThrow('the producer failed')
    expect(fs.readFileSync(file, 'utf8')).toBe('original\n')
    expect(debris(file)).toEqual([])
  })

  it('a target that cannot be renamed over (EBUSY: a bind-mounted file) gets the chunks from the temp file', () => {
    const file = fresh('mounted.bin', 'old\n')
    const spy = vi.spyOn(fs, 'renameSync').mockImplementation(() => {
      throw Object.assign(new Error('busy'), { code: 'EBUSY', syscall: 'rename' })
    })
    try {
      writeFileAtomic(file, [Buffer.from('new '), Buffer.from('content\n')])
    } finally {
      spy.mockRestore()
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('new content\n')
    expect(debris(file)).toEqual([])
  })

  it('removes temp files a killed writer left behind (with its stale lock), and nothing else', () => {
    const file = fresh('litter.yaml', 'x\n')
    writeLock(file, deadPid())
    const base = path.basename(file)
    const orphan = path.join(dir, `.${base}.tsops-0123456789ab.tmp`)
    const unrelated = [path.join(dir, `.${base}.tsops-nothex.tmp`), path.join(dir, `.other.yaml.tsops-0123456789ab.tmp`)]
    for (const f of [orphan, ...unrelated]) fs.writeFileSync(f, 'partial')
    writeFileAtomic(file, Buffer.from('y\n'))
    expect(fs.existsSync(orphan)).toBe(false)
    for (const f of unrelated) expect(fs.existsSync(f)).toBe(true)
  })

  it('handles names too long for a suffix: lock and temp names fall back to a hash', () => {
    const file = path.join(dir, 'n'.repeat(250))
    writeFileAtomic(file, Buffer.from('long\n'))
    expect(fs.readFileSync(file, 'utf8')).toBe('long\n')
    expect(path.basename(lockPathFor(file)).length).toBeLessThanOrEqual(255)
  })
})

function captureError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  return undefined
}

describe('file lock', () => {
  it('withFileLock holds <file>.tsops.lock (with our pid) and removes it afterwards, also on a throw', async () => {
    const file = fresh('locked.yaml', 'x\n')
    const lock = `${resolveWriteTarget(file)}.tsops.lock`
    await withFileLock(file, () => {
      expect(fs.readFileSync(lock, 'utf8').split('\n')[0]).toBe(String(process.pid))
      writeFileAtomic(file, Buffer.from('inside\n')) // re-entrant: no deadlock on its own lock
    })
    expect(fs.existsSync(lock)).toBe(false)
    expect(fs.readFileSync(file, 'utf8')).toBe('inside\n')
    await expect(withFileLock(file, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(() => withFileLockSync(file, () => { throw new Error('sync boom') })).toThrow('sync boom')
    expect(fs.existsSync(lock)).toBe(false)
  })

  it('a lock held by a live process makes the writer wait, then fail clearly with exit 3', () => {
    const file = fresh('busy.yaml', 'before\n')
    const holder = sleeper()
    try {
      const lock = writeLock(file, holder.pid!)
      const clock = fakeClock()
      const err = captureError(() => writeFileAtomic(file, Buffer.from('after\n'), { lockTimeoutMs: 300, lockClock: clock }))
      // It polled with a growing back-off and gave up exactly when the 300 ms were spent.
      expect(clock.sleeps).toEqual([10, 20, 40, 80, 150])
      expect((err as TsopsError).message).toContain('gave up after waiting 0.3 s')
      expect(err).toBeInstanceOf(FileLockedError)
      expect((err as TsopsError).exitCode).toBe(3)
      expect((err as TsopsError).message).toContain(`pid ${holder.pid}`)
      expect((err as TsopsError).hint).toContain(lock)
      expect(fs.readFileSync(file, 'utf8')).toBe('before\n')
      expect(fs.existsSync(lock)).toBe(true) // someone else's live lock is never removed
    } finally {
      holder.kill()
    }
  })

  it('waits for a lock that is released meanwhile, then proceeds', async () => {
    const file = fresh('released.yaml', 'before\n')
    const holder = sleeper()
    const lock = writeLock(file, holder.pid!)
    // The holder finishes during the writer's third wait; until then the file is untouched.
    let whileHeld = ''
    const clock = fakeClock((sleeps) => {
      if (sleeps.length !== 3) return
      whileHeld = fs.readFileSync(file, 'utf8')
      fs.rmSync(lock)
    })
    try {
      await withFileLock(file, () => writeFileAtomic(file, Buffer.from('after\n')), { timeoutMs: 5_000, clock })
    } finally {
      holder.kill()
    }
    expect(whileHeld).toBe('before\n')
    expect(clock.sleeps).toEqual([10, 20, 40])
    expect(fs.readFileSync(file, 'utf8')).toBe('after\n')
  })

  it.each([
    ['a dead pid', () => deadPid(), os.hostname()],
    ['our own pid with a token we do not hold (a previous process in a container)', () => process.pid, os.hostname()],
  ])('recovers a stale lock left by %s', (_what, pid, host) => {
    const file = fresh('stale.yaml', 'before\n')
    const lock = writeLock(file, pid(), host)
    writeFileAtomic(file, Buffer.from('after\n'), { lockTimeoutMs: 0 })
    expect(fs.readFileSync(file, 'utf8')).toBe('after\n')
    expect(fs.existsSync(lock)).toBe(false)
  })

  it('recovers an unreadable lock once it is old, but not while it may be mid-creation', () => {
    const file = fresh('garbled.yaml', 'before\n')
    const lock = writeLock(file, 'garbage')
    expect(() => writeFileAtomic(file, Buffer.from('after\n'), { lockTimeoutMs: 100 })).toThrow(FileLockedError)
    const old = new Date(Date.now() - 60_000)
    fs.utimesSync(lock, old, old)
    writeFileAtomic(file, Buffer.from('after\n'), { lockTimeoutMs: 100 })
    expect(fs.readFileSync(file, 'utf8')).toBe('after\n')
  })

  it('never breaks a lock from another host (its pid cannot be checked)', () => {
    const file = fresh('nfs.yaml', 'before\n')
    writeLock(file, deadPid(), 'some-other-host')
    const err = captureError(() => writeFileAtomic(file, Buffer.from('after\n'), { lockTimeoutMs: 100 }))
    expect(err).toBeInstanceOf(FileLockedError)
    expect((err as TsopsError).message).toContain('on some-other-host')
  })

  it('a sync write cannot wait for a lock held by another operation of this process: it says so at once', async () => {
    const file = fresh('self.yaml', 'x\n')
    const lock = await acquireFileLock(file)
    try {
      // Outside the holder's async context (a timer callback): not re-entrant.
      const err = await new Promise((resolve) => setTimeout(() => resolve(captureError(() => writeFileAtomic(file, Buffer.from('y'))))))
      expect(err).toBeInstanceOf(FileLockedError)
      expect((err as TsopsError).message).toContain('another operation of this tsops process')
    } finally {
      lock?.release()
    }
  })
})

describe('locks across processes', () => {
  let script: string
  beforeAll(() => {
    script = bundleScript(
      dir,
      'lock-child',
      `
      import fs from 'node:fs'
      import { withFileLock, writeFileAtomic } from 'REPO/src/io/files.js'
      const [mode, file, count] = process.argv.slice(2)
      if (mode === 'increment') {
        // Read-modify-write N times; without mutual exclusion, increments get lost.
        for (let i = 0; i < Number(count); i++) {
          await withFileLock(file, async () => {
            const n = Number(fs.readFileSync(file, 'utf8'))
            await new Promise((r) => setTimeout(r, 1))
            writeFileAtomic(file, Buffer.from(String(n + 1)))
          }, { timeoutMs: 60_000 })
        }
      } else if (mode === 'hold') {
        if (count === 'own-handler') process.on('SIGTERM', () => process.exit(7))
        await withFileLock(file, () => new Promise(() => { process.stdout.write('locked\\n'); setInterval(() => {}, 1e6) }))
      }
      `,
    )
  })

  it('4 processes × 15 locked read-modify-writes of one file lose no update', async () => {
    const file = fresh('counter', '0')
    const children = Array.from({ length: 4 }, () => spawn(process.execPath, [script, 'increment', file, '15'], { stdio: ['ignore', 'ignore', 'pipe'] }))
    const codes = await Promise.all(children.map((c) => new Promise<number | null>((r) => c.on('close', r))))
    expect(codes).toEqual([0, 0, 0, 0])
    expect(fs.readFileSync(file, 'utf8')).toBe('60')
    expect(debris(file)).toEqual([])
  }, 60_000)

  async function holder(file: string, variant: string): Promise<ChildProcess> {
    const child = spawn(process.execPath, [script, 'hold', file, variant], { stdio: ['ignore', 'pipe', 'pipe'] })
    await new Promise<void>((resolve) => child.stdout!.on('data', () => resolve()))
    return child
  }

  it.each([
    ['SIGTERM with no handler: the lock is released and the process dies of the signal', 'plain', 'SIGTERM', null, 'SIGTERM'],
    ['SIGINT with no handler', 'plain', 'SIGINT', null, 'SIGINT'],
    ['SIGTERM handled by the program (process.exit): released by the exit hook', 'own-handler', 'SIGTERM', 7, null],
  ] as const)('%s', async (_what, variant, signal, code, bySignal) => {
    const file = fresh('held.yaml', 'x\n')
    const lock = lockPathFor(resolveWriteTarget(file))
    const child = await holder(file, variant)
    expect(fs.existsSync(lock)).toBe(true)
    child.kill(signal)
    const [exitCode, exitSignal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])))
    expect([exitCode, exitSignal]).toEqual([code, bySignal])
    expect(fs.existsSync(lock)).toBe(false)
  })

  it('after SIGKILL the lock stays, but the next writer recovers it at once', async () => {
    const file = fresh('killed.yaml', 'x\n')
    const lock = lockPathFor(resolveWriteTarget(file))
    const child = await holder(file, 'plain')
    child.kill('SIGKILL')
    await new Promise((r) => child.on('close', r))
    expect(fs.existsSync(lock)).toBe(true)
    writeFileAtomic(file, Buffer.from('next\n'), { lockTimeoutMs: 0 })
    expect(fs.readFileSync(file, 'utf8')).toBe('next\n')
    expect(fs.existsSync(lock)).toBe(false)
  })
})
