/**
 * In-place writes through the real CLI: the mode survives -i, a symlink stays a symlink and its
 * target changes, --output works on devices, a tsops that finds the file locked waits for the
 * lock, and concurrent in-place encrypts of one file never interleave.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { lockPathFor } from '../../src/io/files.js'
import { resolveWriteTarget } from '../../src/io/lock.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'
import { tempWorkspace } from '../helpers/workspace.js'

const PLAIN = 'user: admin\npassword: hunter2\n'

const { dir } = tempWorkspace('tsops-inplace-')
let age: { identity: string; recipient: string }
let env: Record<string, string | undefined>
let n = 0

beforeAll(async () => {
  age = await testAgeIdentity()
  env = cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg') })
})

function fresh(name: string, content: string | Buffer, mode = 0o644): string {
  const sub = path.join(dir, String(n++))
  fs.mkdirSync(sub)
  const file = path.join(sub, name)
  fs.writeFileSync(file, content)
  fs.chmodSync(file, mode)
  return file
}

const encryptInPlace = (file: string) => runCli(['encrypt', '-i', '--age', age.recipient, file], { env })
const decryptInPlace = (file: string) => runCli(['decrypt', '-i', file], { env })

describe.concurrent('in place', () => {
  it.each([
    ['0600', 0o600],
    ['0640', 0o640],
    ['0604', 0o604],
  ])('mode %s survives encrypt -i and decrypt -i', async (_name, mode) => {
    const file = fresh('secrets.yaml', PLAIN, mode)
    expect((await encryptInPlace(file)).code).toBe(0)
    expect(fs.readFileSync(file, 'utf8')).toContain('password: ENC[AES256_GCM,')
    expect(fs.statSync(file).mode & 0o777).toBe(mode)
    expect((await decryptInPlace(file)).code).toBe(0)
    expect(fs.readFileSync(file, 'utf8')).toBe(PLAIN)
    expect(fs.statSync(file).mode & 0o777).toBe(mode)
    expect(fs.readdirSync(path.dirname(file))).toEqual(['secrets.yaml'])
  })

  it('through a symlink: the link stays a link, its target is encrypted and decrypted', async () => {
    const target = fresh('real.yaml', PLAIN, 0o600)
    const link = path.join(path.dirname(target), 'link.yaml')
    fs.symlinkSync('real.yaml', link)
    expect((await encryptInPlace(link)).code).toBe(0)
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true)
    expect(fs.readlinkSync(link)).toBe('real.yaml')
    expect(fs.readFileSync(target, 'utf8')).toContain('ENC[AES256_GCM,')
    expect(fs.statSync(target).mode & 0o777).toBe(0o600)
    expect((await decryptInPlace(link)).code).toBe(0)
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true)
    expect(fs.readFileSync(target, 'utf8')).toBe(PLAIN)
  })

  it('--output /dev/stdout writes to the pipe (devices are written, not replaced)', async () => {
    const file = fresh('s.yaml', PLAIN)
    expect((await encryptInPlace(file)).code).toBe(0)
    const r = await runCli(['decrypt', '--output', '/dev/stdout', file], { env })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe(PLAIN)
  })

  it('waits while another live tsops holds the lock, then writes', async () => {
    const file = fresh('busy.yaml', PLAIN)
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' })
    const lock = lockPathFor(resolveWriteTarget(file))
    fs.writeFileSync(lock, `${holder.pid}\n${os.hostname()}\ncafe\n`)
    // The holder "finishes" a while later; the file must not have been written before that.
    let whileHeld = ''
    setTimeout(() => {
      whileHeld = fs.readFileSync(file, 'utf8')
      fs.rmSync(lock)
    }, 700)
    try {
      const r = await encryptInPlace(file)
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
    } finally {
      holder.kill()
    }
    expect(whileHeld).toBe(PLAIN)
    expect(fs.readFileSync(file, 'utf8')).toContain('ENC[AES256_GCM,')
  })

  it('three concurrent encrypt -i of one 8 MB file: each succeeds or finds it already encrypted; the file is one whole encryption', async () => {
    const original = `blob: ${randomBytes(6_000_000).toString('base64')}\n`
    const file = fresh('race.yaml', original)
    const results = await Promise.all([0, 1, 2].map(() => encryptInPlace(file)))
    for (const r of results) expect([0, 203], r.stderr).toContain(r.code)
    expect(results.some((r) => r.code === 0)).toBe(true)
    const out = path.join(path.dirname(file), 'out.yaml')
    const dec = await runCli(['decrypt', '--output', out, file], { env })
    expect(dec.code).toBe(0)
    expect(fs.readFileSync(out, 'utf8')).toBe(original)
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['out.yaml', 'race.yaml'])
  }, 60_000)
})
