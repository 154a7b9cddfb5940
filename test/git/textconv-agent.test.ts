// The textconv agent in-process (src/git/textconv-agent.ts): what it answers, what it refuses,
// where it agrees to listen. The Perl client and git around it: textconv-client.test.ts.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { encrypt } from '../../src/index.js'
import { answers, decodeRequest, encodeRequest, serveTextconv, type AgentOptions } from '../../src/git/textconv-agent.js'
import { textconvFile } from '../../src/git/textconv.js'
import { testAgeIdentity } from '../helpers/age.js'
import { tempWorkspace } from '../helpers/workspace.js'

const ws = tempWorkspace('tsops-textconv-agent-')
let identity = ''
let encryptedFile = ''
const plaintext = 'db:\n    password: hunter2\nport: 5432\n'

beforeAll(async () => {
  const age = await testAgeIdentity()
  identity = age.identity
  encryptedFile = ws.write('app.yaml', await encrypt(plaintext, { format: 'yaml', age: [age.recipient] }))
})

/** A private socket directory of its own per test (mode 0700). */
function socketDir(): string {
  const dir = ws.subdir('s')
  fs.chmodSync(dir, 0o700)
  return dir
}

const agentEnv = () => ({ SOPS_AGE_KEY: identity, HOME: ws.dir, PATH: process.env.PATH })

const running: Promise<void>[] = []
afterEach(async () => {
  await Promise.all(running.splice(0))
})

/** Start an agent that stops after `idleMs` without a request; resolves once it listens. */
async function startAgent(options: Partial<AgentOptions> = {}): Promise<AgentOptions> {
  const full: AgentOptions = { socketPath: path.join(socketDir(), 'agent.sock'), env: agentEnv(), cwd: ws.dir, idleMs: 300, ...options }
  running.push(serveTextconv(full))
  await untilListening(full.socketPath)
  return full
}

async function untilListening(socketPath: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await answers(socketPath)) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`nothing listens on ${socketPath}`)
}

/** Send raw bytes as the client does (then half-close) and read the whole answer. */
function ask(socketPath: string, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = net.connect(socketPath, () => socket.end(bytes))
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('end', () => resolve(Buffer.concat(chunks)))
    socket.on('error', reject)
  })
}

function request(options: AgentOptions, file: string, env: Record<string, string | undefined> = options.env, cwd = options.cwd): Buffer {
  const entries = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)
  return encodeRequest({ cwd, env: new Map(entries), file })
}

describe('textconv agent', () => {
  it('answers OK with exactly what tsops git textconv prints for the file', async () => {
    const agent = await startAgent()
    const answer = await ask(agent.socketPath, request(agent, encryptedFile))
    const expected = (await textconvFile(encryptedFile, undefined, { env: agent.env })).bytes
    expect(answer.subarray(0, 2).toString()).toBe('OK')
    expect(answer.readUInt32BE(2)).toBe(answer.length - 6)
    expect(answer.subarray(6).toString()).toBe(plaintext)
    expect(Buffer.compare(answer.subarray(6), Buffer.from(expected))).toBe(0)
  })

  it('answers a relative path from its working directory, and several requests in a row', async () => {
    const agent = await startAgent()
    for (let i = 0; i < 3; i++) expect((await ask(agent.socketPath, request(agent, 'app.yaml'))).subarray(6).toString()).toBe(plaintext)
  })

  it.each([
    ['another environment variable', (e: Record<string, string | undefined>) => ({ ...e, AWS_PROFILE: 'other' })],
    ['one variable fewer', (e: Record<string, string | undefined>) => ({ ...e, HOME: undefined })],
    ['another key', (e: Record<string, string | undefined>) => ({ ...e, SOPS_AGE_KEY: 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQSKJRJ0' })],
  ])('answers NO to a client with %s (its keys may differ)', async (_what, change) => {
    const agent = await startAgent()
    expect((await ask(agent.socketPath, request(agent, encryptedFile, change(agent.env)))).toString()).toBe('NO')
  })

  it('answers NO to a client in another working directory', async () => {
    const agent = await startAgent()
    expect((await ask(agent.socketPath, request(agent, encryptedFile, agent.env, path.dirname(ws.dir)))).toString()).toBe('NO')
  })

  it('stops after a client in another setting asked, so that client can start an agent of its own', async () => {
    const agent = await startAgent({ idleMs: 60_000 })
    expect((await ask(agent.socketPath, request(agent, encryptedFile, { ...agent.env, AWS_PROFILE: 'other' }))).toString()).toBe('NO')
    await running.pop()
    expect(fs.existsSync(agent.socketPath)).toBe(false)
  })

  it('keeps serving after requests it could not answer in its own setting', async () => {
    const agent = await startAgent()
    expect((await ask(agent.socketPath, Buffer.from('junk'))).toString()).toBe('NO')
    expect((await ask(agent.socketPath, request(agent, ws.write('plain2.yaml', 'a: 1\n')))).toString()).toBe('NO')
    expect((await ask(agent.socketPath, request(agent, encryptedFile))).subarray(6).toString()).toBe(plaintext)
  })

  it('answers NO when it cannot decrypt cleanly, so the client prints the plain driver output', async () => {
    const agent = await startAgent({ env: { HOME: ws.dir, PATH: process.env.PATH } })
    expect((await ask(agent.socketPath, request(agent, encryptedFile))).toString()).toBe('NO')
    const plain = ws.write('plain.yaml', 'a: 1\n')
    expect((await ask(agent.socketPath, request(agent, plain))).toString()).toBe('NO')
    expect((await ask(agent.socketPath, request(agent, ws.path('missing.yaml')))).toString()).toBe('NO')
  })

  it('answers NO to anything that is not a request', async () => {
    const agent = await startAgent()
    const good = request(agent, encryptedFile)
    for (const bad of [Buffer.alloc(0), Buffer.from('hello'), good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from('x')])]) {
      expect((await ask(agent.socketPath, bad)).toString()).toBe('NO')
    }
  })

  it('reads back what the client encodes', () => {
    const env = new Map([['A', '1'], ['EMPTY', ''], ['UNICODE', 'ü=✓']])
    expect(decodeRequest(encodeRequest({ cwd: '/x y', env, file: 'f.yaml' }))).toEqual({ cwd: '/x y', env, file: 'f.yaml' })
  })

  it('refuses to listen in a directory others can enter or that is not the user\'s', async () => {
    const dir = ws.subdir('open')
    fs.chmodSync(dir, 0o755)
    const socketPath = path.join(dir, 'agent.sock')
    await serveTextconv({ socketPath, env: agentEnv(), cwd: ws.dir, idleMs: 50 })
    expect(fs.existsSync(socketPath)).toBe(false)
    const link = path.join(ws.dir, `link-${Date.now()}`)
    fs.symlinkSync(socketDir(), link)
    await serveTextconv({ socketPath: path.join(link, 'agent.sock'), env: agentEnv(), cwd: ws.dir, idleMs: 50 })
    expect(fs.readdirSync(link)).toEqual([])
  })

  it('leaves a socket that already answers to its agent, and replaces one nobody answers on', async () => {
    const agent = await startAgent({ idleMs: 2_000 })
    // A second agent on the same socket stops at once: the first one serves.
    await serveTextconv({ ...agent, idleMs: 50 })
    expect((await ask(agent.socketPath, request(agent, encryptedFile))).subarray(0, 2).toString()).toBe('OK')

    // A crashed agent leaves its socket file behind, with nobody listening.
    const stale = path.join(socketDir(), 'stale.sock')
    const crashed = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`])
    expect(crashed.signal).toBe('SIGKILL')
    expect(fs.statSync(stale).isSocket()).toBe(true)
    const next = await startAgent({ socketPath: stale })
    expect((await ask(next.socketPath, request(next, encryptedFile))).subarray(0, 2).toString()).toBe('OK')
  })

  it('stops at the end of its lifetime even with a client that never finishes its request', async () => {
    const agent = await startAgent({ idleMs: 60_000, maxLifetimeMs: 200 })
    const hanging = net.connect(agent.socketPath)
    const closed = new Promise((r) => hanging.once('close', r))
    hanging.on('error', () => undefined)
    hanging.write('TSOPSTC1') // and never ends it
    await running.pop()
    await closed
    expect(fs.existsSync(agent.socketPath)).toBe(false)
  })

  it('stops by itself after its idle time', async () => {
    const agent = await startAgent({ idleMs: 50 })
    await running.pop()
    expect(fs.existsSync(agent.socketPath)).toBe(false)
  })
})
