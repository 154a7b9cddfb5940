/**
 * Synchronous descriptor I/O: the CLI's standard input, output and error, and whole-buffer
 * writes to any descriptor (files.ts writes its temp files with it). Every CLI write goes
 * through here, never through process.stdout/stderr: those streams can be asynchronous (pipes
 * on macOS), and the CLI exits as soon as its command is done, without waiting for the event
 * loop. Only node:fs, so that `tsops --version` loads nothing else.
 */
import fs from 'node:fs'
import { WriteError } from '../core/errors.js'
import { sleepSync } from './sleep.js'

/** How long to back off when a non-blocking descriptor has nothing to give or take yet. */
const EAGAIN_BACKOFF_MS = 5

/** An I/O error for a message: its code, call and path, never the data involved. */
export function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e.code ? `${e.code}: ${e.syscall ?? 'io'} ${e.path ?? ''}`.trim() : 'unexpected I/O error'
}

/** All of stdin (a non-blocking one too: inherited O_NONBLOCK waits instead of spinning). */
export function readStdin(): Buffer {
  const chunks: Buffer[] = []
  const buf = Buffer.alloc(1 << 16)
  for (;;) {
    let n: number
    try {
      n = fs.readSync(0, buf, 0, buf.length, null)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EAGAIN') {
        sleepSync(EAGAIN_BACKOFF_MS)
        continue
      }
      if (code === 'EOF') break
      throw err
    }
    if (n === 0) break
    chunks.push(Buffer.from(buf.subarray(0, n)))
  }
  return Buffer.concat(chunks)
}

/** Output as one buffer, or as chunks produced while it is written (a large binary file's encryption). */
export type Bytes = Uint8Array | Iterable<Uint8Array>

/** writeFully of one buffer or of every chunk in turn. */
export function writeAll(fd: number, data: Bytes): void {
  if (data instanceof Uint8Array) return writeFully(fd, data)
  for (const chunk of data) writeFully(fd, chunk)
}

/** Write all of `data` to `fd`, waiting out EAGAIN; errors are thrown as the system gave them. */
export function writeFully(fd: number, data: Uint8Array): void {
  let off = 0
  while (off < data.length) {
    let written: number
    try {
      written = fs.writeSync(fd, data, off, data.length - off)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      sleepSync(EAGAIN_BACKOFF_MS)
      continue
    }
    // A descriptor that takes nothing would loop forever: report it as the I/O error it is.
    if (written === 0) throw Object.assign(new Error('write took no bytes'), { code: 'EIO', syscall: 'write' })
    off += written
  }
}

/** Write to stdout, all of it (so the exit code follows the output). */
export function writeStdout(data: Bytes | string): void {
  try {
    writeAll(1, typeof data === 'string' ? Buffer.from(data, 'utf8') : data)
  } catch (err) {
    throw new WriteError(`Could not write to standard output: ${describeIoError(err)}`)
  }
}

/** Write to stderr; a closed or broken stderr is ignored (nowhere left to report). */
export function writeStderr(text: string): void {
  try {
    writeFully(2, Buffer.from(text, 'utf8'))
  } catch {
    // Nothing to do.
  }
}

