/**
 * `tsops exec-file FILE COMMAND` (spec §9.1): decrypt (MAC always checked, as in sops), hand
 * the plaintext to `/bin/sh -c COMMAND` through a FIFO (default) or, with --no-fifo, a 0600
 * file, named `tmp-file` (or --filename) inside a fresh 0700 temp dir; `{}` in COMMAND is the
 * path. The temp dir is removed on every way out; the exit status is the command's.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import { GenericError, WriteError } from '../../core/errors.js'
import { writeFileAtomic } from '../../io/files.js'
import { parseDecryptionOrder } from '../../keys/registry.js'
import { openEncryptedFile } from '../../pipeline/reencrypt.js'
import { loadFormat } from '../../formats/registry.js'
import { runChild } from '../../edit/child.js'
import { childStatus } from '../child-status.js'
import { PrivateTempDir } from '../../edit/tempdir.js'
import { withTerminationSignal } from '../../edit/termination.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { chooseFormats } from '../formats.js'
import { emitOptionsFor } from '../settings.js'

const DEFAULT_FILENAME = 'tmp-file'
const FIFO_POLL_MS = 10

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  if (rest.length !== 2) throw new GenericError('error: missing file to decrypt', { code: 'USAGE', hint: "Usage: tsops exec-file FILE 'COMMAND {}'" })
  const [file, command] = rest as [string, string]
  if (args.string('user') !== undefined) {
    throw new GenericError('--user is not supported by tsops', { code: 'UNSUPPORTED_FLAG', hint: 'Run tsops as that user instead, e.g. sudo -u NAME tsops exec-file …' })
  }
  const filename = checkedFilename(args.string('filename') ?? DEFAULT_FILENAME)
  const plaintext = await decryptToBytes(ctx, args, file)
  if (args.bool('background')) {
    ctx.warn("exec-file's --background option is deprecated and will be removed in a future version of sops")
    ctx.note('tsops runs the command in the foreground')
  }
  const useFifo = !args.bool('no-fifo')
  let dir: PrivateTempDir | undefined
  return withTerminationSignal(async (signal) => {
    dir = PrivateTempDir.create('exec')
    let feeder: FifoFeeder | undefined
    try {
      const target = dir.file(filename)
      if (useFifo) await makeFifo(target, ctx.env)
      else writeFileAtomic(target, plaintext, { mode: 0o600 })
      if (signal.aborted) throw signal.reason
      if (useFifo) feeder = feedFifo(target, plaintext)
      // From here on signals go to the command; tsops waits for it and then cleans up.
      const result = await runChild('/bin/sh', ['-c', command.replaceAll('{}', target)], { env: ctx.env, forwardSignals: true })
      return childStatus(result)
    } finally {
      feeder?.stop()
      dir.remove()
    }
  })
}

/** sops: `filepath.IsLocal`; tsops also wants a plain name, since it creates no subdirectories. */
function checkedFilename(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new GenericError('The provided filename is not a local path.', { code: 'BAD_FLAG', hint: '--filename takes a plain file name such as secrets.env.' })
  }
  return name
}

async function decryptToBytes(ctx: CliContext, args: Args, file: string): Promise<Uint8Array> {
  const formats = chooseFormats(args, file)
  const opened = await openEncryptedFile(file, {
    ctx: ctx.keyContext,
    format: formats.input,
    decryptionOrder: parseDecryptionOrder(args.string('decryption-order')),
  })
  opened.close() // only the values are needed
  const output = formats.output === formats.input ? opened.format : await loadFormat(formats.output)
  const origin = output === opened.format ? opened.doc.origin : undefined
  return output.emit({ branches: opened.doc.branches, metadata: undefined, origin }, emitOptionsFor(ctx, args, formats.output))
}

/** Create a 0600 FIFO with the mkfifo binary (node has no mkfifo of its own). */
function makeFifo(target: string, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('mkfifo', ['-m', '600', target], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', (err) => reject(new WriteError(`Could not create the FIFO: ${(err as NodeJS.ErrnoException).code ?? 'mkfifo failed'}`, { hint: 'Use --no-fifo to pass a regular file instead.' })))
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new WriteError(`Could not create the FIFO: ${stderr.trim() || `mkfifo exit status ${code}`}`))))
  })
}

interface FifoFeeder {
  stop(): void
}

/**
 * Write `data` into the FIFO once the command opens it for reading, without ever blocking:
 * a non-blocking open fails (ENXIO) until a reader exists, so poll; the command may also never
 * open it, which is why the caller stops the feeder when the command exits.
 */
function feedFifo(fifo: string, data: Uint8Array): FifoFeeder {
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let socket: net.Socket | undefined
  const attempt = () => {
    if (stopped) return
    let fd: number
    try {
      fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENXIO') timer = setTimeout(attempt, FIFO_POLL_MS)
      return
    }
    // A libuv pipe on the fd writes as fast as the reader reads, on the event loop.
    socket = new net.Socket({ fd, readable: false, writable: true })
    socket.on('error', () => undefined) // the reader may close early (EPIPE): its business
    socket.end(data)
  }
  attempt()
  return {
    stop() {
      stopped = true
      clearTimeout(timer)
      socket?.destroy()
    },
  }
}
