/**
 * Private temporary directories for plaintext that must not outlive the command (the edit
 * buffer, exec-file's FIFO or file). Created 0700 under the system temp dir ($TMPDIR), removed
 * by remove() — callers do it in `finally` and on SIGINT/SIGTERM — and, as a last resort, when
 * the process exits.
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

export class PrivateTempDir {
  private removed = false

  private constructor(readonly path: string) {}

  static create(prefix = 'tsops-'): PrivateTempDir {
    let dir: string
    try {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
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
