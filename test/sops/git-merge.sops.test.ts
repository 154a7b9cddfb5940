/**
 * Differential tier (npm run test:sops): a file merged by the tsops merge driver after an
 * offboarding is read by real sops 3.13.2 — the new data key, its wraps and the MAC are sops's
 * format — and real sops refuses the removed key too.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { TestRepo, expectOk } from '../git/repo.js'

const SOPS = process.env.TSOPS_REAL_SOPS || '/root/.cache/tsops-tools/bin/sops'

function realSops(): string {
  if (!fs.existsSync(SOPS)) {
    throw new Error(`real sops is missing: expected it at ${SOPS} (set TSOPS_REAL_SOPS to its path, or build it into /root/.cache/tsops-tools/bin)`)
  }
  return SOPS
}

type Id = { identity: string; recipient: string }
let alice: Id
let bob: Id
let repo: TestRepo

beforeAll(async () => {
  ;[alice, bob] = await Promise.all([generateAgeIdentity(), generateAgeIdentity()])
})
afterEach(() => repo?.cleanup())

const FILE = 's.enc.json'

function sopsDecrypt(who: Id): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(realSops(), ['decrypt', FILE], { cwd: repo.dir, env: { PATH: process.env.PATH, HOME: repo.home, SOPS_AGE_KEY: who.identity }, encoding: 'utf8' })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

describe('real sops reads a merged offboarding', () => {
  it('decrypts the merged file with the remaining key and refuses the removed one', async () => {
    realSops()
    repo = await TestRepo.create({ SOPS_AGE_KEY: alice.identity })
    repo.write('.sops.yaml', `creation_rules:\n  - path_regex: \\.enc\\.json$\n    age: ${alice.recipient},${bob.recipient}\n`)
    await repo.install()
    repo.write(FILE, '{\n\t"a": "1",\n\t"b": "x"\n}\n')
    await expectOk(await repo.tsops(['encrypt', '-i', FILE]), 'encrypt')
    await repo.gitOk(['add', '.'])
    await repo.gitOk(['commit', '-q', '-m', 'base'])
    await repo.gitOk(['checkout', '-q', '-b', 'offboard'])
    await expectOk(await repo.tsops(['rotate', '-i', '--rm-age', bob.recipient, FILE]), 'rotate')
    await expectOk(await repo.tsops(['set', FILE, '["b"]', '"y"']), 'set b')
    await repo.gitOk(['commit', '-q', '-a', '-m', 'offboard'])
    await repo.gitOk(['checkout', '-q', 'main'])
    await expectOk(await repo.tsops(['set', FILE, '["a"]', '"100"']), 'set a')
    await repo.gitOk(['commit', '-q', '-a', '-m', 'a'])
    expect((await repo.git(['merge', '-q', '--no-edit', 'offboard'])).code).toBe(0)

    const asAlice = sopsDecrypt(alice)
    expect(asAlice.stderr).toBe('')
    expect(asAlice.code).toBe(0)
    expect(JSON.parse(asAlice.stdout)).toEqual({ a: '100', b: 'y' })
    expect(sopsDecrypt(bob).code).toBe(128)
  })
})
