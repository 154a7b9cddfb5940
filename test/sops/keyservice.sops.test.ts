/**
 * The key service against real sops 3.13.2, both ways: a real `sops keyservice` and a
 * `tsops keyservice` (run as `sops`) each hold an age identity, sops's functional-test GnuPG keys
 * and the loopback KMS's credentials; clients hold none of them. Real sops and tsops, as clients
 * of each server, must print the same output, errors and exit codes, and each reads what the
 * other encrypted through the service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { FIXTURE_KEYS, fixtureGpgHome, type GpgHome } from '../helpers/gpg.js'
import { freePort, startServiceProcess, type ServiceProcess } from '../helpers/keyservice.js'
import { kmsEnv, startKmsServer, testKeyArn, type KmsServer } from '../helpers/servers/aws-kms.js'
import { makeSopsBin, type SopsBin } from '../integrations/sops-bin.js'
import { baseEnv, cleanupTwins, crossDecrypt, expectSame, realAgeKey, realSops, run, twin, type AgeKey, type Side, type Twin } from './harness.js'

const ARN = testKeyArn('keyservice', 'eu-central-1')

let kms: KmsServer
let gpg: GpgHome
let age: AgeKey
let otherAge: AgeKey
let sopsBin: SopsBin
let home: string
/** Files real sops encrypted locally (it holds every key for that): what the clients decrypt. */
const encrypted: Record<'age' | 'pgp' | 'kms' | 'otherAge', Buffer> = { age: Buffer.alloc(0), pgp: Buffer.alloc(0), kms: Buffer.alloc(0), otherAge: Buffer.alloc(0) }
const servers: Record<'sops' | 'tsops', { process?: ServiceProcess; url: string }> = { sops: { url: '' }, tsops: { url: '' } }

/** What a key service host holds: every key of these tests. */
const serverEnv = () => baseEnv(home, { SOPS_AGE_KEY_FILE: age.file, GNUPGHOME: gpg.home, ...kmsEnv(kms, { AWS_REGION: 'us-west-2' }) })

async function startServer(command: string[], network: 'tcp' | 'unix' = 'tcp'): Promise<{ process: ServiceProcess; url: string }> {
  const address = network === 'tcp' ? `127.0.0.1:${await freePort()}` : path.join(home, `${path.basename(command[command.length - 1]!)}-${Date.now()}.sock`)
  // --verbose: both print `Listening on …` once they serve (sops's KEYSERVICE logger).
  const p = await startServiceProcess([...command, 'keyservice', '--verbose', '--network', network, '--address', address], serverEnv(), /Listening on/)
  return { process: p, url: network === 'tcp' ? `tcp://${address}` : `unix://${address}` }
}

beforeAll(async () => {
  kms = await startKmsServer()
  gpg = await fixtureGpgHome()
  age = await realAgeKey()
  otherAge = await realAgeKey()
  sopsBin = makeSopsBin()
  home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-ks-home-')))
  const dir = fs.mkdtempSync(path.join(home, 'src-'))
  fs.writeFileSync(path.join(dir, 'p.yaml'), 'password: hunter2\nlist:\n    - 1\n    - 2\n')
  const encrypt = async (flag: string, key: string) => {
    const r = await run(realSops(), ['encrypt', flag, key, 'p.yaml'], { cwd: dir, env: serverEnv() })
    expect(r.stderr).toBe('')
    return r.stdout
  }
  encrypted.age = await encrypt('--age', age.recipient)
  encrypted.otherAge = await encrypt('--age', otherAge.recipient)
  encrypted.pgp = await encrypt('--pgp', FIXTURE_KEYS.key1)
  encrypted.kms = await encrypt('--kms', ARN)
  servers.sops = await startServer([realSops()])
  servers.tsops = await startServer([process.execPath, path.join(sopsBin.binDir, 'sops')])
})

afterAll(async () => {
  for (const s of Object.values(servers)) await s.process?.stop()
  await kms?.close()
  await gpg?.cleanup()
  sopsBin?.cleanup()
  cleanupTwins()
  if (home) fs.rmSync(home, { recursive: true, force: true })
})

/** A PGP message's length varies from run to run: compare it as one token. */
function maskPgp(t: Twin): Twin {
  const mask = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/-----BEGIN PGP MESSAGE-----[^]*?-----END PGP MESSAGE-----/g, '<pgp message>'), 'latin1')
  const side = (s: Side): Side => ({ ...s, stdout: mask(s.stdout), files: Object.fromEntries(Object.entries(s.files).map(([k, v]) => [k, mask(v)])) })
  return { ...t, real: side(t.real), ours: side(t.ours) }
}

/** A client holds no key: no age identity, an empty GnuPG home, no AWS credentials. */
const clientEnv = { GNUPGHOME: '$DIR/gnupg' }
const freshGpgHome = (dir: string) => fs.mkdirSync(path.join(dir, 'gnupg'), { mode: 0o700 })
const withoutGpgHomes = (t: Twin): Twin => {
  const side = (s: Side): Side => ({ ...s, files: Object.fromEntries(Object.entries(s.files).filter(([k]) => !k.startsWith('gnupg/'))) })
  return { ...t, real: side(t.real), ours: side(t.ours) }
}

for (const server of ['sops', 'tsops'] as const) {
  describe(`${server} keyservice as the server; real sops and tsops as clients`, () => {
    const via = () => ['--keyservice', servers[server].url, '--enable-local-keyservice=false']

    for (const type of ['age', 'pgp', 'kms'] as const) {
      it(`${type}: a file whose only key is on the server decrypts through it`, async () => {
        const t = await twin(['decrypt', ...via(), 'e.yaml'], { files: { 'e.yaml': encrypted[type] }, env: clientEnv, prepare: freshGpgHome })
        expect(t.real.stdout.toString()).toBe('password: hunter2\nlist:\n    - 1\n    - 2\n')
        expectSame(withoutGpgHomes(t), {}, `keyservice ${server}: ${type} decrypt`)
      })

      it(`${type}: the local service first (it fails), then the server`, async () => {
        const t = await twin(['decrypt', '--keyservice', servers[server].url, 'e.yaml'], { files: { 'e.yaml': encrypted[type] }, env: clientEnv, prepare: freshGpgHome })
        expect(t.real.code).toBe(0)
        expectSame(withoutGpgHomes(t), {}, `keyservice ${server}: ${type} decrypt after the local service`)
      })
    }

    it('age: encrypt through the server, and each side decrypts the other\'s file through it', async () => {
      const t = await twin(['encrypt', ...via(), '--age', age.recipient, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\nb:\n    - x\n    - z\n' } })
      expectSame(t, { encryptedFiles: true }, `keyservice ${server}: age encrypt`)
      await crossDecrypt(t, 'e.yaml', via(), Buffer.from('a: 1\nb:\n    - x\n    - z\n'))
    })

    it('pgp: encrypt through the server (the client has no keyring with the key)', async () => {
      const t = await twin(['encrypt', ...via(), '--pgp', FIXTURE_KEYS.key1, '--output', 'e.yaml', 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: clientEnv, prepare: freshGpgHome })
      expectSame(maskPgp(withoutGpgHomes(t)), { encryptedFiles: true }, `keyservice ${server}: pgp encrypt`)
      await crossDecrypt(t, 'e.yaml', via(), Buffer.from('a: 1\n'))
    })

    it('kms: encrypt with an encryption context through the server (the client has no AWS credentials)', async () => {
      const t = await twin(['encrypt', ...via(), '--kms', ARN, '--encryption-context', 'app:web,env:prod', '--output', 'e.json', 'p.json'], { files: { 'p.json': '{"a": 1}\n' } })
      expectSame(t, { encryptedFiles: true }, `keyservice ${server}: kms encrypt with context`)
      await crossDecrypt(t, 'e.json', via(), Buffer.from('{\n\t"a": 1\n}\n'))
    })

    it('a key the server does not hold either: the same report, the server\'s error included', async () => {
      const t = await twin(['decrypt', ...via(), 'e.yaml'], { files: { 'e.yaml': encrypted.otherAge } })
      expect(t.real.code).toBe(128)
      expectSame(t, {}, `keyservice ${server}: key not held`)
    })
  })
}

describe('the server process', () => {
  it('with --verbose, both log where they listen in the KEYSERVICE logger\'s format', () => {
    // (sops's key sources then log each use at info level; tsops's do not.)
    const line = (s: 'sops' | 'tsops') => servers[s].process!.stderr().split('\n')[0]!.replace(/time="[^"]*"/, 'time="<time>"').replace(servers[s].url, '<url>')
    expect(line('sops')).toBe('[KEYSERVICE]\t time="<time>" level=info msg="Listening on <url>"')
    expect(line('tsops')).toBe(line('sops'))
  })
})

describe('the server cannot listen', () => {
  it('an address in use, or a network that is none: the same log lines and exit code', async () => {
    for (const args of [['--address', servers.sops.url.slice('tcp://'.length)], ['--network', 'udp', '--address', '127.0.0.1:0'], ['--net', 'carrier-pigeon']]) {
      const t = await twin(['keyservice', ...args])
      expect(t.real.code).toBe(1)
      expectSame(t, {}, `keyservice server: cannot listen ${args.join(' ')}`)
    }
  })
})

describe('over a unix socket', () => {
  it('real sops and tsops as clients of each server on a socket', async () => {
    for (const command of [[realSops()], [process.execPath, path.join(sopsBin.binDir, 'sops')]]) {
      const s = await startServer(command, 'unix')
      try {
        const t = await twin(['decrypt', '--keyservice', s.url, '--enable-local-keyservice=false', 'e.yaml'], { files: { 'e.yaml': encrypted.age } })
        expect(t.real.code).toBe(0)
        expectSame(t, {}, `keyservice unix socket (${command.length === 1 ? 'sops' : 'tsops'} server)`)
      } finally {
        await s.process.stop('SIGINT')
      }
    }
  })
})

describe('without a reachable service', () => {
  it('--enable-local-keyservice=false and no --keyservice: decrypt and encrypt fail alike', async () => {
    const dec = await twin(['decrypt', '--enable-local-keyservice=false', 'e.yaml'], { files: { 'e.yaml': encrypted.age }, env: { SOPS_AGE_KEY_FILE: age.file } })
    expect(dec.real.code).toBe(128)
    expectSame(dec, {}, 'keyservice: none, decrypt')
    const enc = await twin(['encrypt', '--age', age.recipient, 'p.yaml'], { files: { 'p.yaml': 'a: 1\n' }, env: { SOPS_ENABLE_LOCAL_KEYSERVICE: 'false' } })
    expect(enc.real.code).toBe(1)
    expectSame(enc, {}, 'keyservice: none, encrypt')
  })

  it('--enable-local-keyservice=VALUE read as Go reads a boolean flag: "0" and "F" are off, "1" is on', async () => {
    for (const value of ['0', 'F', '1']) {
      const t = await twin(['decrypt', `--enable-local-keyservice=${value}`, 'e.yaml'], { files: { 'e.yaml': encrypted.age }, env: { SOPS_AGE_KEY_FILE: age.file } })
      expect(t.real.code, value).toBe(value === '1' ? 0 : 128)
      expectSame(t, {}, `keyservice: --enable-local-keyservice=${value}`)
    }
  })

  it('SOPS_ENABLE_LOCAL_KEYSERVICE read as urfave/cli reads it: empty is off, "0" is off, "no" stops the run', async () => {
    for (const value of ['', '0', 'True', 'no']) {
      const t = await twin(['decrypt', 'e.yaml'], { files: { 'e.yaml': encrypted.age }, env: { SOPS_AGE_KEY_FILE: age.file, SOPS_ENABLE_LOCAL_KEYSERVICE: value } })
      expect(t.real.code, value).toBe(value === 'True' ? 0 : value === 'no' ? 1 : 128)
      expectSame(t, {}, `keyservice: SOPS_ENABLE_LOCAL_KEYSERVICE=${JSON.stringify(value)}`)
    }
  })

  it('a service nobody listens on: grpc-go\'s connection error, for TCP and a unix socket', async () => {
    const port = await freePort()
    for (const url of [`tcp://127.0.0.1:${port}`, 'unix:///nonexistent/sops.sock', 'unix:/nonexistent/sops.sock']) {
      const t = await twin(['decrypt', '--keyservice', url, '--enable-local-keyservice=false', 'e.yaml'], { files: { 'e.yaml': encrypted.age } })
      expect(t.real.code).toBe(128)
      expectSame(t, {}, `keyservice: unreachable ${url}`)
    }
  })

  it('URIs sops takes apart oddly: no host (`localhost:5000` is scheme localhost), a scheme that is no network', async () => {
    for (const url of ['localhost:5000', 'noscheme', `http://127.0.0.1:${await freePort()}`]) {
      const t = await twin(['decrypt', '--keyservice', url, '--enable-local-keyservice=false', 'e.yaml'], { files: { 'e.yaml': encrypted.age } })
      expect(t.real.code).toBe(128)
      expectSame(t, {}, `keyservice: odd URI ${url}`)
    }
  })

  it('--verbose before the subcommand: decrypt logs nothing more (sops reads it only in some commands)', async () => {
    const t = await twin(['--verbose', 'decrypt', '--keyservice', servers.sops.url, '--enable-local-keyservice=false', 'e.yaml'], { files: { 'e.yaml': encrypted.age } })
    expect(t.real.code).toBe(0)
    expectSame(t, {}, 'keyservice: verbose client')
  })
})
