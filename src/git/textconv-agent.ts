/**
 * The textconv agent: a node process that stays up for a few seconds and answers git's textconv
 * calls, so `git log -p` over many versions of an encrypted file does not pay node's start-up
 * (~25 ms, more than sops's whole decrypt) once per version.
 *
 * git runs the driver once per file version it shows. The driver `tsops git install` configures
 * is bin/tsops-textconv, a Perl client (git depends on perl, which starts in ~2 ms) that sends
 * the request over a Unix socket and prints the answer. When no agent answers it runs
 * `tsops git textconv` as before, which then starts one in the background (startTextconvAgent).
 *
 * What keeps it as safe as a plain `tsops git textconv`:
 * - The socket lives in a directory only the user can enter (privateSocketDir: owned by the
 *   user, mode 0700, not a symlink), checked by the client and by the agent; the client never
 *   talks to a socket elsewhere. Anyone who can connect can already read the user's keys.
 * - The agent serves a request only when the client's environment and working directory are
 *   exactly its own (they choose the keys: SOPS_AGE_KEY_FILE, AWS_PROFILE, …), so an agent
 *   started in one setting never decrypts for another.
 * - It answers only a clean decryption. Anything else (no key, a file shown as stored, a
 *   warning, a passphrase it cannot ask for without a terminal, any error) is answered "no",
 *   and the client runs `tsops git textconv` itself, whose output is then exactly the plain
 *   driver's. Keys are read again for every request, so a removed key stops working at once.
 * - Plaintext only crosses the socket, never the disk; the agent keeps no data key between
 *   requests, exits after IDLE_MS without a request and after MAX_LIFETIME_MS in any case.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { definedEnv, type EnvVars } from '../core/env.js'
import type { KeyContext } from '../keys/types.js'
import { parseDecryptionOrder } from '../keys/registry.js'
import { AGENT_SOCKET_ENV, textconvFile } from './textconv.js'

/** The first bytes of every request (the protocol's version). */
const REQUEST_MAGIC = 'TSOPSTC1'
/** A request is a working directory, an environment and a path: a few KiB. */
const MAX_REQUEST_BYTES = 1 << 20
const IDLE_MS = 5_000
const MAX_LIFETIME_MS = 10 * 60_000

export interface AgentRequest {
  cwd: string
  env: Map<string, string>
  file: string
}

/**
 * Directories that hold the agent's socket must be the user's alone: a socket planted by
 * someone else would be sent the user's environment (which may hold SOPS_AGE_KEY) and could
 * answer with any text.
 */
export function privateSocketDir(dir: string): boolean {
  if (typeof process.getuid !== 'function') return false
  try {
    const st = fs.lstatSync(dir)
    return st.isDirectory() && st.uid === process.getuid() && (st.mode & 0o077) === 0
  } catch {
    return false
  }
}

/** Start an agent on `socketPath` in the background; it outlives this process, never its terminal. */
export function startTextconvAgent(socketPath: string, env: EnvVars, cwd: string): void {
  if (!privateSocketDir(path.dirname(socketPath))) return
  const launcher = process.argv[1]
  if (launcher === undefined) return
  const agentEnv = definedEnv(env)
  delete agentEnv[AGENT_SOCKET_ENV]
  try {
    // detached: its own session, no controlling terminal; stdio ignored, so git (waiting for
    // this driver's output to end) never waits for the agent.
    spawn(process.execPath, [launcher, 'git', 'textconv-agent', socketPath], { cwd, env: agentEnv, detached: true, stdio: 'ignore' }).unref()
  } catch {
    // No agent this time: every call still works without one.
  }
}

/** Length-prefixed fields (32-bit big-endian length, then the bytes), as the client's pack('N/a*'). */
function field(bytes: Buffer, at: number): [Buffer, number] | undefined {
  if (at + 4 > bytes.length) return undefined
  const length = bytes.readUInt32BE(at)
  const end = at + 4 + length
  return end > bytes.length ? undefined : [bytes.subarray(at + 4, end), end]
}

/** The client's request; undefined when the bytes are not one. */
export function decodeRequest(bytes: Buffer): AgentRequest | undefined {
  if (bytes.subarray(0, REQUEST_MAGIC.length).toString('latin1') !== REQUEST_MAGIC) return undefined
  const cwd = field(bytes, REQUEST_MAGIC.length)
  const envBlob = cwd && field(bytes, cwd[1])
  const file = envBlob && field(bytes, envBlob[1])
  if (!cwd || !envBlob || !file || file[1] !== bytes.length) return undefined
  const env = new Map<string, string>()
  for (let at = 0; at < envBlob[0].length; ) {
    const name = field(envBlob[0], at)
    const value = name && field(envBlob[0], name[1])
    if (!name || !value) return undefined
    env.set(name[0].toString('utf8'), value[0].toString('utf8'))
    at = value[1]
  }
  return { cwd: cwd[0].toString('utf8'), env, file: file[0].toString('utf8') }
}

/** A request as the client writes it (for tests, and to document the format). */
export function encodeRequest(request: AgentRequest): Buffer {
  const lengthPrefixed = (b: Buffer) => {
    const head = Buffer.alloc(4)
    head.writeUInt32BE(b.length)
    return [head, b]
  }
  const envBlob = Buffer.concat([...request.env].flatMap(([k, v]) => [...lengthPrefixed(Buffer.from(k)), ...lengthPrefixed(Buffer.from(v))]))
  return Buffer.concat([Buffer.from(REQUEST_MAGIC, 'latin1'), ...lengthPrefixed(Buffer.from(request.cwd)), ...lengthPrefixed(envBlob), ...lengthPrefixed(Buffer.from(request.file))])
}

/** The answers: the decrypted text, or "no" (the client then runs `tsops git textconv` itself). */
const ANSWER_NO = Buffer.from('NO')
function answerText(bytes: Uint8Array): Buffer {
  const head = Buffer.from('OK\0\0\0\0', 'latin1')
  head.writeUInt32BE(bytes.length, 2)
  return Buffer.concat([head, bytes])
}

function sameSetting(request: AgentRequest, env: EnvVars, cwd: string): boolean {
  if (request.cwd !== cwd) return false
  const names = Object.keys(definedEnv(env))
  return names.length === request.env.size && names.every((k) => request.env.get(k) === env[k])
}

/** What a request gets: the textconv output, "no" (not clean), or "no" from another setting. */
type Answer = Uint8Array | 'no' | 'other setting'

/** One request: the textconv output when the client shares this setting and decryption was clean. */
async function answerRequest(request: AgentRequest, env: EnvVars, cwd: string): Promise<Answer> {
  if (!sameSetting(request, env, cwd)) return 'other setting'
  let warned = false
  // A fresh context per request: identities are loaded again (a removed key file stops working).
  const ctx: KeyContext = { env, warn: () => void (warned = true) }
  try {
    const result = await textconvFile(path.resolve(cwd, request.file), undefined, ctx, parseDecryptionOrder(env.SOPS_DECRYPTION_ORDER || undefined))
    return result.notice === undefined && !warned ? result.bytes : 'no'
  } catch {
    return 'no'
  }
}

export interface AgentOptions {
  socketPath: string
  env: EnvVars
  cwd: string
  idleMs?: number
  maxLifetimeMs?: number
}

/**
 * Serve on `socketPath` until idle; resolves when the agent has stopped (at once when the
 * directory is not private or another agent already answers there).
 */
export async function serveTextconv(options: AgentOptions): Promise<void> {
  if (!privateSocketDir(path.dirname(options.socketPath))) return
  // allowHalfOpen: the client half-closes after its request and still reads the answer.
  const server = net.createServer({ allowHalfOpen: true })
  if (!(await listenOnce(server, options.socketPath))) return
  const stopped = new Promise<void>((resolve) => server.once('close', () => resolve()))
  const stop = () => server.close()
  let idle = setTimeout(stop, options.idleMs ?? IDLE_MS)
  const open = new Set<net.Socket>()
  // At the end of its life the agent goes even with a request still running (a key source that
  // hangs): that client sees the connection close and runs the plain driver.
  const lifetime = setTimeout(() => {
    stop()
    for (const socket of open) socket.destroy()
  }, options.maxLifetimeMs ?? MAX_LIFETIME_MS)
  // One request at a time, in arrival order: git runs its drivers one after another anyway.
  let queue: Promise<void> = Promise.resolve()
  server.on('connection', (socket) => {
    open.add(socket)
    socket.once('close', () => open.delete(socket))
    clearTimeout(idle)
    readRequest(socket).then((bytes) => {
      queue = queue.then(async () => {
        const request = bytes && decodeRequest(bytes)
        const answer = request ? await answerRequest(request, options.env, options.cwd) : 'no'
        socket.end(answer instanceof Uint8Array ? answerText(answer) : ANSWER_NO)
        clearTimeout(idle)
        // A client in another setting (another git command's environment, another repository)
        // would find this agent in its way for as long as it keeps asking: make room for its own.
        if (answer === 'other setting') stop()
        else idle = setTimeout(stop, options.idleMs ?? IDLE_MS)
      })
    })
  })
  await stopped
  clearTimeout(idle)
  clearTimeout(lifetime)
}

/** The whole request (the client half-closes after sending it); undefined when it is too large or broken. */
function readRequest(socket: net.Socket): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_REQUEST_BYTES) {
        socket.destroy()
        resolve(undefined)
      } else chunks.push(chunk)
    })
    socket.on('end', () => resolve(Buffer.concat(chunks)))
    socket.on('error', () => resolve(undefined))
  })
}

/**
 * Listen on the socket. A socket file already there is another agent's (then false: it
 * serves) or a dead one's, removed once.
 */
async function listenOnce(server: net.Server, socketPath: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve)
      server.listen(socketPath, () => resolve(undefined))
    })
    if (!error) return true
    if (error.code !== 'EADDRINUSE' || (await answers(socketPath))) return false
    try {
      fs.unlinkSync(socketPath)
    } catch {
      return false
    }
  }
  return false
}

/** Does something accept connections on this socket? */
export function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath, () => {
      probe.destroy()
      resolve(true)
    })
    probe.on('error', () => resolve(false))
  })
}
