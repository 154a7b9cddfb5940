/**
 * The client side of the age plugin protocol (https://c2sp.org/age-plugin, filippo.io/age/plugin
 * v1.3.1): `age1NAME1…` recipients and `AGE-PLUGIN-NAME-1…` identities are handed to the program
 * `age-plugin-NAME` found on PATH, run with `--age-plugin=recipient-v1` (wrap) or
 * `--age-plugin=identity-v1` (unwrap), talking in age-format stanzas over its stdin and stdout.
 * Errors read as age's (`NAME plugin: …`). The plugin runs in the temp dir, as age runs it.
 */
// node:child_process is loaded when a plugin runs (cold-start cost, see age.ts).
import type { ChildProcessByStdio } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import os from 'node:os'
import { definedEnv } from '../core/env.js'
import { bech32Decode } from './bech32.js'
import { goQuote } from './go-text.js'
import { decodeString } from './age-format.js'
import { b64NoPad } from './age-x25519.js'
import type { AgeIdentity, StanzaLike } from './age-ssh.js'

export interface PluginContext {
  env: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal
  /** The terminal's answer to a plugin's request-secret / request-public. */
  askSecret?: (prompt: string) => Promise<string>
}

const VALID_NAME = /^[A-Za-z0-9+\-._]+$/

/** plugin.ParseRecipient: the plugin's name, or its error text. */
export function pluginRecipientName(recipient: string): { name: string } | { error: string } {
  const decoded = bech32Decode(recipient)
  if (!decoded.ok) return { error: `invalid recipient encoding: ${decoded.error}` }
  if (!decoded.hrp.startsWith('age1')) return { error: 'not a plugin recipient: <nil>' }
  const name = decoded.hrp.slice('age1'.length)
  return VALID_NAME.test(name) ? { name } : { error: `invalid plugin name: ${goQuote(name)}` }
}

/** plugin.ParseIdentity: the plugin's name (lower case), or its error text. */
export function pluginIdentityName(identity: string): { name: string } | { error: string } {
  const decoded = bech32Decode(identity)
  if (!decoded.ok) return { error: `invalid identity encoding: ${decoded.error}` }
  if (!decoded.hrp.startsWith('AGE-PLUGIN-') || !decoded.hrp.endsWith('-')) return { error: 'not a plugin identity: <nil>' }
  const name = decoded.hrp.slice('AGE-PLUGIN-'.length, -1).toLowerCase()
  return VALID_NAME.test(name) ? { name } : { error: `invalid plugin name: ${goQuote(name)}` }
}

/** plugin.Recipient.Wrap: the stanzas the plugin makes for `fileKey`. */
export async function pluginWrap(name: string, recipient: string, fileKey: Uint8Array, ctx: PluginContext): Promise<StanzaLike[]> {
  return withPlugin(name, 'recipient-v1', ctx, async (conn) => {
    conn.send('add-recipient', [recipient])
    conn.send('wrap-file-key', [], fileKey)
    conn.send('extension-labels', [])
    conn.send('done', [])
    const stanzas: StanzaLike[] = []
    let labels = false
    await readUntilDone(conn, (s) => {
      if (s.type === 'recipient-stanza') {
        if (s.args.length < 2) throw new Error('malformed recipient stanza: unexpected argument count')
        checkIndex(s.args[0]!, 'recipient')
        stanzas.push({ args: s.args.slice(1), body: s.body })
        return true
      }
      if (s.type !== 'labels') return false
      if (labels) throw new Error('repeated labels stanza')
      labels = true
      return true
    })
    if (stanzas.length === 0) throw new Error('received zero recipient stanzas')
    return stanzas
  })
}

/** plugin.Identity as an age identity: the plugin is run each time a file's stanzas need it. */
export function pluginIdentity(name: string, identity: string, ctx: PluginContext): AgeIdentity {
  return { unwrapFileKey: (stanzas) => pluginUnwrap(name, identity, stanzas, ctx) }
}

async function pluginUnwrap(name: string, identity: string, stanzas: readonly StanzaLike[], ctx: PluginContext): Promise<Uint8Array | null> {
  return withPlugin(name, 'identity-v1', ctx, async (conn) => {
    conn.send('add-identity', [identity])
    for (const s of stanzas) conn.send('recipient-stanza', ['0', ...s.args], s.body)
    conn.send('done', [])
    let fileKey: Buffer | null = null
    await readUntilDone(conn, (s) => {
      if (s.type !== 'file-key') return false
      if (s.args.length !== 1) throw new Error('malformed file-key stanza: unexpected arguments count')
      checkIndex(s.args[0]!, 'file-key')
      if (fileKey) throw new Error('received duplicated file-key stanza')
      fileKey = s.body
      return true
    })
    return fileKey
  })
}

/**
 * Phase 2 of both protocols: the plugin's stanzas until `done`. `handle` takes the ones the
 * caller expects (each acknowledged with `ok`); `error` ends the talk with its text; anything
 * else is a request for the user (ClientUI.handle).
 */
async function readUntilDone(conn: Connection, handle: (s: ProtocolStanza) => boolean): Promise<void> {
  for (;;) {
    const s = await conn.read()
    if (s.type === 'done') return
    if (s.type === 'error') {
      conn.send('ok', [])
      throw new Error(s.body.toString('utf8'))
    }
    if (handle(s)) conn.send('ok', [])
    else await conn.interact(s)
  }
}

/** We send a single file key, so a stanza's index must be 0 (strconv.Atoi, then the check). */
function checkIndex(arg: string, what: string): void {
  if (!/^[+-]?\d+$/.test(arg)) throw new Error(`malformed ${what} stanza: invalid index`)
  if (Number(arg) !== 0) throw new Error(`malformed ${what} stanza: unexpected index`)
}

// ---- the connection -------------------------------------------------------------------------

interface ProtocolStanza {
  type: string
  args: string[]
  body: Buffer
}

/** Runs `age-plugin-NAME --age-plugin=PROTOCOL`, errors prefixed `NAME plugin: ` as age does. */
async function withPlugin<T>(name: string, protocol: string, ctx: PluginContext, talk: (conn: Connection) => Promise<T>): Promise<T> {
  let conn: Connection
  try {
    conn = await Connection.open(name, protocol, ctx)
  } catch (e) {
    throw new Error(`${name} plugin: couldn't start plugin: ${e instanceof Error ? e.message : String(e)}`)
  }
  try {
    return await talk(conn)
  } catch (e) {
    throw new Error(`${name} plugin: ${e instanceof Error ? e.message : String(e)}`)
  } finally {
    await conn.close()
  }
}

class Connection {
  private buffered = Buffer.alloc(0)
  private waiting: (() => void) | undefined
  private ended = false

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    private readonly ctx: PluginContext,
  ) {
    child.stdout.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk])
      this.wake()
    })
    child.stdout.on('end', () => {
      this.ended = true
      this.wake()
    })
    child.stdin.on('error', () => undefined) // a plugin that exits early: its output says why
    child.on('error', () => undefined) // (an abort after start: the read fails with EOF)
  }

  static async open(name: string, protocol: string, ctx: PluginContext): Promise<Connection> {
    if (name.includes('/')) throw new Error(`invalid plugin name: ${goQuote(name)}`)
    const { spawn } = await import('node:child_process')
    const binary = `age-plugin-${name}`
    const env = definedEnv(ctx.env)
    return new Promise((resolve, reject) => {
      const child = spawn(binary, [`--age-plugin=${protocol}`], { cwd: os.tmpdir(), env, stdio: ['pipe', 'pipe', 'ignore'], signal: ctx.signal, windowsHide: true })
      child.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') reject(new Error(`${goQuote(name)} plugin not found: exec: ${goQuote(binary)}: executable file not found in $PATH`))
        else reject(e)
      })
      child.once('spawn', () => resolve(new Connection(child, ctx)))
    })
  }

  private wake(): void {
    const w = this.waiting
    this.waiting = undefined
    w?.()
  }

  /** format.Stanza.Marshal: `-> TYPE ARGS…`, then the body in 64-column unpadded base64 lines ending with a short one. */
  send(type: string, args: string[], body: Uint8Array = new Uint8Array()): void {
    const b64 = b64NoPad(Buffer.from(body))
    const lines: string[] = []
    for (let i = 0; i <= b64.length; i += 64) lines.push(b64.slice(i, i + 64))
    this.child.stdin.write(`-> ${[type, ...args].join(' ')}\n${lines.join('\n')}\n`)
  }

  private async line(): Promise<string> {
    for (;;) {
      const nl = this.buffered.indexOf(0x0a)
      if (nl !== -1) {
        const line = this.buffered.subarray(0, nl).toString('latin1')
        this.buffered = this.buffered.subarray(nl + 1)
        return line
      }
      if (this.ended) throw new Error('failed to read line: EOF') // (bufio's ReadBytes: EOF even after a partial line)
      await new Promise<void>((resolve) => (this.waiting = resolve))
    }
  }

  /** format.StanzaReader.ReadStanza. */
  async read(): Promise<ProtocolStanza> {
    const opening = await this.line()
    const [prefix, type, ...args] = opening.split(' ')
    if (prefix !== '->' || type === undefined) throw new Error(`malformed stanza opening line: ${goQuote(opening + '\n')}`)
    const body: Buffer[] = []
    for (;;) {
      const text = await this.line()
      const decoded = decodeString(text)
      if (!decoded.ok) throw new Error(`malformed body line ${goQuote(text + '\n')}: ${decoded.error}`)
      if (decoded.bytes.length > 48) throw new Error(`malformed body line ${goQuote(text + '\n')}: too long`)
      body.push(decoded.bytes)
      if (decoded.bytes.length < 48) return { type, args, body: Buffer.concat(body) }
    }
  }

  /** ClientUI.handle: messages, requests for a value, confirmations; anything else is unsupported. */
  async interact(s: ProtocolStanza): Promise<void> {
    if (s.type === 'msg') return this.send('ok', []) // sops logs these at info level, which it does not print
    if (s.type === 'request-secret' || s.type === 'request-public') {
      if (!this.ctx.askSecret) return this.send('fail', [])
      try {
        return this.send('ok', [], Buffer.from(await this.ctx.askSecret(s.body.toString('utf8'))))
      } catch {
        return this.send('fail', [])
      }
    }
    if (s.type === 'confirm') {
      if (s.args.length !== 1 && s.args.length !== 2) throw new Error('malformed confirm stanza: unexpected number of arguments')
      return this.send('fail', []) // tsops has no multiple-choice prompt; the plugin decides what a refusal means
    }
    this.send('unsupported', [])
  }

  /** Close stdin, interrupt the plugin (as age does) and wait for it to exit. */
  async close(): Promise<void> {
    this.child.stdin.end()
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      this.child.once('close', () => resolve())
      this.child.kill('SIGINT')
    })
  }
}
