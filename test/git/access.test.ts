/**
 * A merge never undoes an access change and never drops a change, in real repositories:
 * offboarding (rotate --rm-age) and onboarding (updatekeys) on a branch survive a merge with a
 * branch that changed a value; a merge without any key leaves a real conflict that the guard
 * refuses and `tsops git resolve` finishes.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { loadEncryptedParser } from '../../src/formats/registry.js'
import { recoverDataKey } from '../../src/pipeline/decrypt.js'
import { TestRepo, expectOk } from './repo.js'

type Id = { identity: string; recipient: string }
let alice: Id
let bob: Id
let carol: Id
let repo: TestRepo

beforeAll(async () => {
  ;[alice, bob, carol] = await Promise.all([generateAgeIdentity(), generateAgeIdentity(), generateAgeIdentity()])
})
afterEach(() => repo?.cleanup())

const FILE = 's.enc.json'
const config = (...recipients: string[]) => `creation_rules:\n  - path_regex: \\.enc\\.json$\n    age: ${recipients.join(',')}\n`

async function setup(...recipients: string[]): Promise<void> {
  repo = await TestRepo.create({ SOPS_AGE_KEY: alice.identity })
  repo.write('.sops.yaml', config(...recipients))
  await repo.install()
  repo.write(FILE, '{\n\t"a": "1",\n\t"b": "x",\n\t"c": "keep"\n}\n')
  await expectOk(await repo.tsops(['encrypt', '-i', FILE]), 'encrypt')
  await repo.gitOk(['add', '.'])
  await repo.gitOk(['commit', '-q', '-m', 'base'])
}

async function commitAll(message: string): Promise<void> {
  await repo.gitOk(['commit', '-q', '-a', '-m', message])
}

const set = async (key: string, value: string) => expectOk(await repo.tsops(['set', FILE, `["${key}"]`, JSON.stringify(value)]), `set ${key}`)

/** Branch `offboard` removes bob (rotate --rm-age), then `more` changes; back on main afterwards. */
async function offboardBob(more: () => Promise<unknown> = async () => undefined): Promise<void> {
  await repo.gitOk(['checkout', '-q', '-b', 'offboard'])
  await expectOk(await repo.tsops(['rotate', '-i', '--rm-age', bob.recipient, FILE]), 'rotate --rm-age')
  await more()
  await commitAll('offboard bob')
  await repo.gitOk(['checkout', '-q', 'main'])
}

function decryptAs(who: Id) {
  return repo.tsops(['decrypt', FILE], { env: { SOPS_AGE_KEY: who.identity } })
}

/** The data key of an encrypted JSON text, recovered with alice's identity. */
async function dataKeyOf(text: string): Promise<string> {
  const parse = await loadEncryptedParser('json')
  const { dataKey } = await recoverDataKey(parse(Buffer.from(text)), { ctx: { env: {}, ageIdentities: [alice.identity] } })
  return Buffer.from(dataKey).toString('hex')
}

describe('merging access changes', () => {
  it('offboarding survives a merge: the removed key fails (exit 128), the file has a new data key, both value changes are kept', async () => {
    await setup(alice.recipient, bob.recipient)
    const base = repo.read(FILE)
    await offboardBob(() => set('b', 'y'))
    const offboard = await repo.gitOk(['show', `offboard:${FILE}`])
    await set('a', '100')
    await commitAll('change a')
    const main = repo.read(FILE)

    const merge = await repo.git(['merge', '-q', '--no-edit', 'offboard'])
    expect(merge.code).toBe(0)
    const merged = repo.read(FILE)
    expect(merged).not.toContain(bob.recipient)
    const asBob = await decryptAs(bob)
    expect(asBob.code).toBe(128)
    const asAlice = await expectOk(await decryptAs(alice), 'decrypt as alice')
    expect(JSON.parse(asAlice.stdout.toString())).toEqual({ a: '100', b: 'y', c: 'keep' })
    const keys = await Promise.all([base, main, offboard, merged].map(dataKeyOf))
    expect(new Set(keys).size).toBe(keys[0] === keys[1] ? 3 : 4)
    expect(keys.slice(0, 3)).not.toContain(keys[3])
    expect((await repo.git(['status', '--porcelain'])).stdout).toBe('')
  })

  it('offboarding merged the other way round (main into the offboarding branch) is kept too', async () => {
    await setup(alice.recipient, bob.recipient)
    await offboardBob()
    await set('a', '100')
    await commitAll('change a')
    await repo.gitOk(['checkout', '-q', 'offboard'])
    expect((await repo.git(['merge', '-q', '--no-edit', 'main'])).code).toBe(0)
    expect((await decryptAs(bob)).code).toBe(128)
    expect(JSON.parse((await expectOk(await decryptAs(alice), 'decrypt')).stdout.toString()).a).toBe('100')
  })

  it('onboarding survives a merge: the added key decrypts the merged file', async () => {
    await setup(alice.recipient)
    await repo.gitOk(['checkout', '-q', '-b', 'onboard'])
    repo.write('.sops.yaml', config(alice.recipient, carol.recipient))
    await expectOk(await repo.tsops(['updatekeys', '-y', FILE]), 'updatekeys')
    await commitAll('onboard carol')
    await repo.gitOk(['checkout', '-q', 'main'])
    await set('a', '100')
    await commitAll('change a')

    expect((await repo.git(['merge', '-q', '--no-edit', 'onboard'])).code).toBe(0)
    const asCarol = await expectOk(await decryptAs(carol), 'decrypt as carol')
    expect(JSON.parse(asCarol.stdout.toString())).toEqual({ a: '100', b: 'x', c: 'keep' })
    // Nobody lost access: the data key and the unchanged ciphertexts are kept.
    expect(repo.read(FILE)).toContain(alice.recipient)
  })

  it('a key removed on one side and a different key added on the other: both changes stay, under a new data key', async () => {
    await setup(alice.recipient, bob.recipient)
    await offboardBob()
    await expectOk(await repo.tsops(['rotate', '-i', '--add-age', carol.recipient, FILE]), 'rotate --add-age')
    await commitAll('onboard carol')
    expect((await repo.git(['merge', '-q', '--no-edit', 'offboard'])).code).toBe(0)
    expect((await decryptAs(bob)).code).toBe(128)
    expect((await decryptAs(carol)).code).toBe(0)
  })
})

describe('contradictory protection changes', () => {
  it('rules changed differently on both sides: a conflict of the two encrypted versions, which resolve refuses to guess', async () => {
    await setup(alice.recipient)
    const reencrypt = async (flag: string, value: string) => {
      const plain = (await expectOk(await decryptAs(alice), 'decrypt')).stdout
      repo.write(FILE, plain)
      await expectOk(await repo.tsops(['encrypt', flag, value, '-i', FILE]), `encrypt ${flag}`)
    }
    await repo.gitOk(['checkout', '-q', '-b', 'feature'])
    await reencrypt('--encrypted-regex', '^a$')
    await commitAll('only a encrypted')
    await repo.gitOk(['checkout', '-q', 'main'])
    await reencrypt('--encrypted-regex', '^b$')
    await commitAll('only b encrypted')
    const merge = await repo.git(['merge', '-q', '--no-edit', 'feature'])
    expect(merge.code).not.toBe(0)
    expect(merge.stderr).toContain('changed differently on both sides: sops encryption rules')
    expect(repo.read(FILE)).toMatch(/^<<<<<<< ours \(tsops:/m)
    const r = await repo.tsops(['git', 'resolve', FILE], { env: { EDITOR: 'false' } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('changed differently on both sides')
  })
})

describe('a merge without a key', () => {
  it('leaves a real conflict (markers, ciphertext only) that the guard blocks and tsops git resolve finishes', async () => {
    await setup(alice.recipient)
    await repo.gitOk(['checkout', '-q', '-b', 'feature'])
    await set('b', 'theirs-value')
    await commitAll('feature')
    await repo.gitOk(['checkout', '-q', 'main'])
    await set('a', 'ours-value')
    await commitAll('main')

    const merge = await repo.git(['merge', '-q', '--no-edit', 'feature'], { env: { SOPS_AGE_KEY: undefined } })
    expect(merge.code).not.toBe(0)
    const ours = merge.stderr.split('\n').filter((l) => l.includes('tsops'))
    expect(ours).toHaveLength(1)
    expect(ours[0]).toContain(`tsops git resolve ${FILE}`)
    expect((await repo.git(['status', '--porcelain'])).stdout).toContain(`UU ${FILE}`)
    const text = repo.read(FILE)
    expect(text).toMatch(/^<<<<<<< ours \(tsops:/m)
    expect(text).toMatch(/^>>>>>>> theirs \(tsops\)$/m)
    for (const plain of ['ours-value', 'theirs-value', 'keep']) expect(text).not.toContain(plain)

    // Committing it is blocked (commit -a stages the file in a temporary index only).
    const commit = await repo.git(['commit', '-q', '-a', '--no-edit'], { env: { SOPS_AGE_KEY: undefined } })
    expect(commit.code).not.toBe(0)
    expect(commit.stderr).toContain(`${FILE} holds an unresolved tsops merge conflict`)

    // With the key, resolve merges the index versions: no editor needed, both changes kept.
    const resolved = await repo.tsops(['git', 'resolve', FILE], { env: { EDITOR: 'false' } })
    expect(resolved.stderr).toContain(`merged it with your key, without conflicts in ${FILE}`)
    expect(resolved.code).toBe(0)
    expect(JSON.parse((await expectOk(await decryptAs(alice), 'decrypt')).stdout.toString())).toEqual({ a: 'ours-value', b: 'theirs-value', c: 'keep' })
    await repo.gitOk(['add', FILE])
    const done = await repo.git(['commit', '-q', '--no-edit'])
    expect(done.stderr).toBe('')
    expect(done.code).toBe(0)
  })
})
