// Read-modify-write commands run at the same time on one file (a CI job and a developer, two
// scripts): each holds the file's lock from its read to its write, so no update is lost.
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { runCli } from '../helpers/cli.js'
import { cliWorkspace } from '../helpers/workspace.js'

const { dir, env, encrypted, decrypted } = cliWorkspace('tsops-concurrent-')

describe('concurrent updates of one file', () => {
  it('keeps every value that 6 simultaneous `tsops set` runs write', async () => {
    const file = await encrypted('set.yaml', 'base: 0\n')
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => runCli(['set', file, `["k${i}"]`, `"v${i}"`], { env: env() })))
    for (const r of runs) expect([r.code, r.stderr]).toEqual([0, ''])
    const text = await decrypted(file)
    for (let i = 0; i < 6; i++) expect(text).toContain(`k${i}: v${i}`)
    expect(fs.readdirSync(dir).filter((f) => f.includes('lock') || f.includes('.tmp'))).toEqual([])
  }, 60_000)

  it('serialises set, unset and rotate -i of the same file', async () => {
    const file = await encrypted('mixed.yaml', 'a: 1\nb: 2\nc: 3\n')
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
