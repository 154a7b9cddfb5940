/**
 * The CLI's standard output and error, written synchronously. Every CLI write goes through
 * here, never through process.stdout/stderr: those streams can be asynchronous (pipes on
 * macOS), and the CLI exits as soon as its command is done, without waiting for the event loop.
 * Only node:fs, so that `tsops --version` loads nothing else.
 */
import fs from 'node:fs'
import { WriteError } from '../core/errors.js'

/** How long to back off when a non-blocking descriptor cannot take more yet. */
const EAGAIN_BACKOFF_MS = 5

/** Write to stdout, all of it (so the exit code follows the output). */
export function writeStdout(data: Uint8Array | string): void {
  writeAll(1, typeof data === 'string' ? Buffer.from(data, 'utf8') : data)
}

/** Write to stderr; a closed or broken stderr is ignored (nowhere left to report). */
export function writeStderr(text: string): void {
  try {
    writeAll(2, Buffer.from(text, 'utf8'))
  } catch {
    // Nothing to do.
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0
  while (off < data.length) {
    let written: number
    try {
      written = fs.writeSync(fd, data, off, data.length - off)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, EAGAIN_BACKOFF_MS)
        continue
      }
      const e = err as NodeJS.ErrnoException
      const why = e.code ? `${e.code}: ${e.syscall ?? 'io'} ${e.path ?? ''}`.trim() : 'unexpected I/O error'
      throw new WriteError(`Could not write to standard ${fd === 1 ? 'output' : 'error'}: ${why}`)
    }
    // A descriptor that takes nothing would loop forever.
    if (written === 0) throw new WriteError(`Could not write to standard ${fd === 1 ? 'output' : 'error'}: nothing was written`)
    off += written
  }
}
