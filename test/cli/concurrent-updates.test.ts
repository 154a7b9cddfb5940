// Read-modify-write commands run at the same time on one file (a CI job and a developer, two
// scripts): each holds the file's lock from its read to its write, so no update is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { testAgeIdentity } from '../helpers/age.js'

let dir: string
let age: { identity: string; recipient: string }
const env = () => cleanEnv({ SOPS_AGE_KEY: age.identity, XDG_CONFIG_HOME: path.join(dir, 'xdg') })

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-concurrent-'))
  age = await testAgeIdentity()
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

async function encryptedFile(name: string, plain: string): Promise<string> {
  const file = path.join(dir, name)
  fs.writeFileSync(file, plain)
  const r = await runCli(['encrypt', '--age', age.recipient, '-i', file], { env: env() })
  expect(r.code).toBe(0)
  return file
}

async function decrypted(file: string): Promise<string> {
  const r = await runCli(['decrypt', file], { env: env() })
  expect(r.stderr).toBe('')
  return r.stdout.toString()
}

describe('concurrent updates of one file', () => {
  it('keeps every value that 6 simultaneous `tsops set` runs write', async () => {
    const file = await encryptedFile('set.yaml', 'base: 0\n')
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => runCli(['set', file, `["k${i}"]`, `"v${i}"`], { env: env() })))
    for (const r of runs) expect([r.code, r.stderr]).toEqual([0, ''])
    const text = await decrypted(file)
    for (let i = 0; i < 6; i++) expect(text).toContain(`k${i}: v${i}`)
    expect(fs.readdirSync(dir).filter((f) => f.includes('lock') || f.includes('.tmp'))).toEqual([])
  }, 60_000)

  it('serialises set, unset and rotate -i of the same file', async () => {
    const file = await encryptedFile('mixed.yaml', 'a: 1\nb: 2\nc: 3\n')
    const runs = await Promise.all([
      runCli(['set', file, '["d"]', '4'], { env: env() }),
      runCli(['unset', file, '["a"]'], { env: env() }),
      runCli(['rotate', '-i', file], { env: env() }),
      runCli(['set', file, '["e"]', '5'], { env: env() }),
    ])
    for (const r of runs) expect([r.code, r.stderr]).toEqual([0, ''])
    // d and e are appended in whichever order their runs took the lock.
    expect((await decrypted(file)).split('\n').filter(Boolean).sort()).toEqual(['b: 2', 'c: 3', 'd: 4', 'e: 5'])
  }, 60_000)
})
