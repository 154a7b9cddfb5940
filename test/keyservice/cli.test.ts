/**
 * `tsops keyservice` as a process, and `--keyservice` / `--enable-local-keyservice` on the
 * commands: a file whose only key is on the server decrypts, encrypts and rotates on a client
 * that holds no key; without any service, sops's errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { CLI } from '../helpers/paths.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { cliWorkspace } from '../helpers/workspace.js'
import { startServiceProcess, type ServiceProcess } from '../helpers/keyservice.js'
import { makeSopsBin } from '../integrations/sops-bin.js'

const { dir, age, env: keyEnv, encrypted } = cliWorkspace('tsops-ks-cli-')
const sopsBin = makeSopsBin()
/** A client with no key of its own. */
const noKeyEnv = (extra: Record<string, string> = {}) => cleanEnv({ XDG_CONFIG_HOME: path.join(dir, 'xdg'), HOME: dir, ...extra })
const LISTENING = /tsops: key service listening on (\S+)\n/

let service: ServiceProcess
let url: string

beforeAll(async () => {
  service = await startServiceProcess([process.execPath, CLI, 'keyservice', '--address', '127.0.0.1:0'], keyEnv(), LISTENING)
  url = LISTENING.exec(service.stderr())![1]!
})
afterAll(async () => {
  await service?.stop()
  sopsBin.cleanup()
})

describe('a file whose only key is on the server', () => {
  it('the client cannot decrypt it alone, but can through --keyservice (with or without its local service)', async () => {
    const file = await encrypted('only-server.yaml', 'password: hunter2\n')
    const alone = await runCli(['decrypt', file], { env: noKeyEnv() })
    expect(alone.code).toBe(128)

    for (const extra of [['--enable-local-keyservice=false'], []]) {
      const r = await runCli(['decrypt', '--keyservice', url, ...extra, file], { env: noKeyEnv() })
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout.toString() }).toEqual({ code: 0, stderr: '', stdout: 'password: hunter2\n' })
    }
  })

  it('SOPS_KEYSERVICE and SOPS_ENABLE_LOCAL_KEYSERVICE do what the flags do', async () => {
    const file = await encrypted('env.yaml', 'a: 1\n')
    const r = await runCli(['decrypt', file], { env: noKeyEnv({ SOPS_KEYSERVICE: url, SOPS_ENABLE_LOCAL_KEYSERVICE: 'false' }) })
    expect({ code: r.code, stdout: r.stdout.toString() }).toEqual({ code: 0, stdout: 'a: 1\n' })
  })

  it('encrypt and rotate go through the service too', async () => {
    const file = path.join(dir, 'through.yaml')
    fs.writeFileSync(file, 'b: 2\n')
    const enc = await runCli(['encrypt', '--keyservice', url, '--enable-local-keyservice=false', '--age', age.recipient, '-i', file], { env: noKeyEnv() })
    expect({ code: enc.code, stderr: enc.stderr }).toEqual({ code: 0, stderr: '' })
    const before = fs.readFileSync(file, 'utf8')
    const rot = await runCli(['rotate', '--keyservice', url, '--enable-local-keyservice=false', '-i', file], { env: noKeyEnv() })
    expect({ code: rot.code, stderr: rot.stderr }).toEqual({ code: 0, stderr: '' })
    expect(fs.readFileSync(file, 'utf8')).not.toBe(before)
    // an ordinary file: the identity decrypts it without any service
    const dec = await runCli(['decrypt', file], { env: keyEnv() })
    expect(dec.stdout.toString()).toBe('b: 2\n')
  })

  it('with --verbose, the client says which services it uses', async () => {
    const file = await encrypted('verbose.yaml', 'c: 3\n')
    const r = await runCli(['decrypt', '--verbose', '--keyservice', url, '--enable-local-keyservice=false', file], { env: noKeyEnv() })
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: `tsops: using key service ${url}\n` })
  })
})

describe('grpc-js is loaded only when a key service is used', () => {
  it('a plain decrypt never compiles the vendored grpc-js; a decrypt through a service does', async () => {
    const cache = path.join(dir, 'cache-grpc')
    const grpcCaches = () => (fs.existsSync(path.join(cache, 'tsops')) ? fs.readdirSync(path.join(cache, 'tsops')).filter((f) => f.startsWith('code-vendor-grpc-js-')) : [])
    const file = await encrypted('lazy.yaml', 'l: 1\n')
    const plain = await runCli(['decrypt', file], { env: keyEnv({ XDG_CACHE_HOME: cache }) })
    expect(plain.stdout.toString()).toBe('l: 1\n')
    expect(fs.readdirSync(path.join(cache, 'tsops')).length).toBeGreaterThan(0) // the launcher did write its caches
    expect(grpcCaches()).toEqual([])
    const through = await runCli(['decrypt', '--keyservice', url, '--enable-local-keyservice=false', file], { env: noKeyEnv({ XDG_CACHE_HOME: cache }) })
    expect(through.stdout.toString()).toBe('l: 1\n')
    expect(grpcCaches()).toHaveLength(1)
  })
})

describe('no key service at all: sops\'s errors', () => {
  it('decrypt: every key is listed as failed with no reason (exit 128)', async () => {
    const file = await encrypted('none.yaml', 'a: 1\n')
    const ways: { args: string[]; env: Record<string, string> }[] = [
      { args: ['--enable-local-keyservice=false'], env: {} },
      { args: [], env: { SOPS_ENABLE_LOCAL_KEYSERVICE: 'false' } },
    ]
    for (const how of ways) {
      const r = await runCli(['decrypt', ...how.args, file], { env: keyEnv(how.env), command: [process.execPath, path.join(sopsBin.binDir, 'sops')] })
      expect(r.code).toBe(128)
      expect(r.stderr).toBe(
        `Failed to get the data key required to decrypt the SOPS file.\n\nGroup 0: FAILED\n  ${age.recipient}: FAILED\n\n\n` +
          'Recovery failed because no master key was able to decrypt the file. In\norder for SOPS to recover the file, at least one key has to be successful,\nbut none were.\n',
      )
    }
  })

  it('SOPS_ENABLE_LOCAL_KEYSERVICE set but empty is off; a word strconv.ParseBool refuses stops the run', async () => {
    const file = await encrypted('env-words.yaml', 'a: 1\n')
    expect((await runCli(['decrypt', file], { env: keyEnv({ SOPS_ENABLE_LOCAL_KEYSERVICE: '' }) })).code).toBe(128)
    expect((await runCli(['decrypt', file], { env: keyEnv({ SOPS_ENABLE_LOCAL_KEYSERVICE: 'T' }) })).code).toBe(0)
    const r = await runCli(['decrypt', file], { env: keyEnv({ SOPS_ENABLE_LOCAL_KEYSERVICE: 'no' }) })
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 1,
      stderr: 'tsops: error: could not parse no as bool value for flag enable-local-keyservice: strconv.ParseBool: parsing "no": invalid syntax\n',
    })
  })

  it('encrypt: "no key services provided" (exit 1)', async () => {
    const file = path.join(dir, 'plain.yaml')
    fs.writeFileSync(file, 'a: 1\n')
    const r = await runCli(['encrypt', '--enable-local-keyservice=false', '--age', age.recipient, file], { env: keyEnv() })
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: 'tsops: error: Could not generate data key: [no key services provided, cannot update master keys]\n' })
  })

  it('a service that cannot be reached: grpc-go\'s words, as sops prints them', async () => {
    const file = await encrypted('refused.yaml', 'a: 1\n')
    const r = await runCli(['decrypt', '--keyservice', 'unix:///nonexistent/ks.sock', '--enable-local-keyservice=false', file], { env: noKeyEnv() })
    expect(r.code).toBe(128)
    expect(r.stderr.replace(/\n\s*\| /g, ' ')).toContain(
      '- | rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /nonexistent/ks.sock: connect: no such file or directory"',
    )
  })
})

describe('tsops keyservice', () => {
  it('on a unix socket: owner-only, serves, and on SIGINT exits 0 and removes the socket', async () => {
    const socket = path.join(dir, 'ks.sock')
    const unix = await startServiceProcess([process.execPath, CLI, 'keyservice', '--network', 'unix', '--address', socket], keyEnv(), LISTENING)
    try {
      expect(unix.stderr()).toBe(`tsops: key service listening on unix://${socket}\n`)
      expect(fs.statSync(socket).mode & 0o777).toBe(0o600)
      const file = await encrypted('unix.yaml', 'u: 1\n')
      const r = await runCli(['decrypt', '--keyservice', `unix://${socket}`, '--enable-local-keyservice=false', file], { env: noKeyEnv() })
      expect(r.stdout.toString()).toBe('u: 1\n')
    } finally {
      expect(await unix.stop('SIGINT')).toBe(0)
    }
    expect(unix.stderr()).toContain('tsops: caught SIGINT: shutting down\n')
    expect(fs.existsSync(socket)).toBe(false)
  })

  it('an address in use: exit 1 with Go\'s words', async () => {
    const address = url.slice('tcp://'.length)
    const r = await runCli(['keyservice', '--addr', address], { env: keyEnv() })
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: `tsops: error: cannot start the key service: listen tcp ${address}: bind: address already in use\n` })
  })

  it('--prompt: each request waits for y or n on the server\'s terminal; n rejects it', async () => {
    const prompting = await startServiceProcess([process.execPath, CLI, 'keyservice', '--prompt', '--address', '127.0.0.1:0'], keyEnv(), LISTENING)
    const at = LISTENING.exec(prompting.stderr())![1]!
    try {
      const file = await encrypted('prompt.yaml', 'p: 1\n')
      const decrypt = () => runCli(['decrypt', '--keyservice', at, '--enable-local-keyservice=false', file], { env: noKeyEnv() })
      const question = `\nReceived decrypt request using Unknown key type. Respond to request? (y/n): `
      const answer = async (words: string) => {
        const asked = prompting.stdout().length
        const pending = decrypt()
        while (prompting.stdout().length === asked) await new Promise((r) => setTimeout(r, 20))
        prompting.child.stdin!.write(words)
        return pending
      }
      const rejected = await answer('maybe\nn\n')
      expect(rejected.code).toBe(128)
      expect(rejected.stderr.replace(/\n\s*\| /g, ' ')).toContain('- | rpc error: code = PermissionDenied desc = Request rejected by user')
      const accepted = await answer('y\n')
      expect({ code: accepted.code, stdout: accepted.stdout.toString() }).toEqual({ code: 0, stdout: 'p: 1\n' })
      // asked again after an answer that was neither y nor n, as sops does
      expect(prompting.stdout()).toBe(question.repeat(3))
    } finally {
      await prompting.stop()
    }
  })

  it('SIGTERM: exit 0', async () => {
    const other = await startServiceProcess([process.execPath, CLI, 'keyservice', '--net', 'tcp', '--address', '127.0.0.1:0'], keyEnv(), LISTENING)
    expect(await other.stop('SIGTERM')).toBe(0)
    expect(other.stderr()).toMatch(/tsops: caught SIGTERM: shutting down\n$/)
  })
})
