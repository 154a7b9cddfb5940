/**
 * The pre-commit guard in a real repository, with no key anywhere in the environment: it must
 * judge staged blobs by their structure alone.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { testAgeIdentity } from '../helpers/age.js'
import { TestRepo, expectOk, sopsConfig } from './repo.js'

let age: { identity: string; recipient: string }
let repo: TestRepo

beforeAll(async () => {
  age = await testAgeIdentity()
})
afterEach(() => repo?.cleanup())

const SECRET = 'db:\n    user: app\n    password: hunter2\n'

async function setup(): Promise<TestRepo> {
  repo = await TestRepo.create()
  repo.write('.sops.yaml', sopsConfig(age.recipient))
  repo.write('README.md', '# project\n')
  await repo.install()
  await repo.gitOk(['add', '.sops.yaml', 'README.md', '.gitattributes'])
  await repo.gitOk(['commit', '-q', '-m', 'init'])
  return repo
}

/** Encrypt in place with the key from .sops.yaml (encrypting needs no private key). */
async function encrypt(rel: string): Promise<void> {
  await expectOk(await repo.tsops(['encrypt', '-i', rel]), `encrypt ${rel}`)
}

async function commit(message = 'change'): Promise<{ code: number; stderr: string }> {
  return repo.git(['commit', '-q', '-m', message])
}

describe('pre-commit guard', () => {
  it('blocks a plaintext secret, names the file and the fix, and lets the encrypted file through', async () => {
    await setup()
    repo.write('secrets/db.yaml', SECRET)
    await repo.gitOk(['add', 'secrets/db.yaml'])
    const blocked = await commit()
    expect(blocked.code).not.toBe(0)
    expect(blocked.stderr).toContain('secrets/db.yaml is not encrypted (no sops metadata)')
    expect(blocked.stderr).toContain('tsops encrypt -i secrets/db.yaml, then git add secrets/db.yaml')
    expect(blocked.stderr).toContain('git commit --no-verify')
    expect(blocked.stderr).not.toContain('hunter2')
    expect(await repo.gitOk(['rev-list', '--count', 'HEAD'])).toBe('1\n')

    await encrypt('secrets/db.yaml')
    await repo.gitOk(['add', 'secrets/db.yaml'])
    const passed = await commit()
    expect(passed.stderr).toBe('')
    expect(passed.code).toBe(0)
    expect(await repo.gitOk(['rev-list', '--count', 'HEAD'])).toBe('2\n')
  })

  it('checks the staged blob, not the work tree: encrypting only the work-tree copy is still blocked', async () => {
    await setup()
    repo.write('secrets/db.yaml', SECRET)
    await repo.gitOk(['add', 'secrets/db.yaml'])
    await encrypt('secrets/db.yaml') // work tree encrypted, index still plaintext
    expect(repo.read('secrets/db.yaml')).toContain('ENC[AES256_GCM,')
    const blocked = await commit()
    expect(blocked.code).not.toBe(0)
    expect(blocked.stderr).toContain('secrets/db.yaml is not encrypted')
  })

  it('blocks one plaintext value among encrypted ones, naming the key path but never the value', async () => {
    await setup()
    repo.write('secrets/app.yaml', 'database:\n    user: app\n    password: s3cr3t-value\napi:\n    token: t0k3n\n')
    await encrypt('secrets/app.yaml')
    const text = repo.read('secrets/app.yaml').replace(/password: ENC\[[^\]]*\]/, 'password: pasted-by-hand')
    repo.write('secrets/app.yaml', text)
    await repo.gitOk(['add', 'secrets/app.yaml'])
    const blocked = await commit()
    expect(blocked.code).not.toBe(0)
    expect(blocked.stderr).toContain('secrets/app.yaml: database.password is not encrypted')
    expect(blocked.stderr).not.toContain('pasted-by-hand')
    expect(blocked.stderr).not.toContain('api.token')
  })

  it('blocks broken metadata and a malformed ENC value', async () => {
    await setup()
    repo.write('secrets/a.yaml', SECRET)
    await encrypt('secrets/a.yaml')
    repo.write('secrets/a.yaml', repo.read('secrets/a.yaml').replace(/lastmodified: "[^"]*"/, 'lastmodified: "yesterday"'))
    repo.write('secrets/b.yaml', SECRET)
    await encrypt('secrets/b.yaml')
    repo.write('secrets/b.yaml', repo.read('secrets/b.yaml').replace(/(user: ENC\[AES256_GCM,data:[^,]*,iv:)[^,]*/, '$1AAAA'))
    await repo.gitOk(['add', 'secrets'])
    const blocked = await commit()
    expect(blocked.code).not.toBe(0)
    expect(blocked.stderr).toMatch(/secrets\/a\.yaml has invalid sops metadata: .*lastmodified/)
    expect(blocked.stderr).toContain('secrets/b.yaml: db.user is not a valid ENC[…] value (iv is 3 bytes, expected 32)')
  })

  it('ignores plain files no rule selects, but checks any file that carries sops metadata', async () => {
    await setup()
    repo.write('notes/todo.yaml', 'password: not-a-secret-here\n')
    repo.write('docs/sops.md', 'A sops file has `sops:` and `lastmodified` and ENC[AES256_GCM,data:...] values.\n')
    await repo.gitOk(['add', 'notes', 'docs'])
    expect((await commit('plain files')).code).toBe(0)

    // Encrypted outside the rules, then tampered with: still checked.
    repo.write('other/conf.json', '{"key": "value", "n": 1}\n')
    await expectOk(await repo.tsops(['encrypt', '--age', age.recipient, '-i', 'other/conf.json'], { cwd: repo.dir }), 'encrypt json')
    repo.write('other/conf.json', repo.read('other/conf.json').replace(/"n": "ENC\[[^"]*"/, '"n": 1'))
    await repo.gitOk(['add', 'other'])
    const blocked = await commit('tampered')
    expect(blocked.code).not.toBe(0)
    expect(blocked.stderr).toContain('other/conf.json: n is not encrypted')
  })

  it('sees renamed and copied files, and files staged by commit -a', async () => {
    await setup()
    repo.write('secrets/db.yaml', SECRET)
    await encrypt('secrets/db.yaml')
    repo.write('plain.yaml', SECRET)
    await repo.gitOk(['add', '.'])
    expect((await commit()).code).toBe(0)
    // git mv of a plaintext file into the protected folder
    await repo.gitOk(['mv', 'plain.yaml', 'secrets/moved.yaml'])
    const renamed = await commit('rename')
    expect(renamed.code).not.toBe(0)
    expect(renamed.stderr).toContain('secrets/moved.yaml is not encrypted')
    await repo.gitOk(['reset', '-q', '--hard'])
    // commit -a uses a temporary index; the hook must read that one
    repo.write('secrets/db.yaml', SECRET)
    const all = await repo.git(['commit', '-q', '-a', '-m', 'all'])
    expect(all.code).not.toBe(0)
    expect(all.stderr).toContain('secrets/db.yaml is not encrypted')
  })

  it('git commit --no-verify bypasses the guard', async () => {
    await setup()
    repo.write('secrets/db.yaml', SECRET)
    await repo.gitOk(['add', 'secrets/db.yaml'])
    expect((await repo.git(['commit', '-q', '--no-verify', '-m', 'forced'])).code).toBe(0)
  })

  it('runs as `tsops git pre-commit` by hand with exit 10 on failure and 0 with nothing staged', async () => {
    await setup()
    const empty = await repo.tsops(['git', 'pre-commit'])
    expect(empty.code).toBe(0)
    repo.write('secrets/db.yaml', SECRET)
    await repo.gitOk(['add', 'secrets/db.yaml'])
    const r = await repo.tsops(['git', 'pre-commit'], { cwd: repo.path('secrets') })
    expect(r.code).toBe(10)
    expect(r.stderr).toContain('secrets/db.yaml is not encrypted')
  })

  it('checks a path whose type changed: a symbolic link replaced by a plaintext secret (status T) is blocked', async () => {
    await setup()
    fs.mkdirSync(repo.path('secrets'))
    fs.symlinkSync('../README.md', repo.path('secrets/db.yaml'))
    await repo.gitOk(['add', 'secrets/db.yaml'])
    expect((await commit('link')).code).toBe(0)
    fs.rmSync(repo.path('secrets/db.yaml'))
    repo.write('secrets/db.yaml', SECRET)
    await repo.gitOk(['add', 'secrets/db.yaml'])
    expect((await repo.gitOk(['diff', '--cached', '--name-status'])).trim()).toBe('T\tsecrets/db.yaml')
    const blocked = await commit('type change')
    expect(blocked.code).not.toBe(0)
    expect(blocked.stderr).toContain('secrets/db.yaml is not encrypted')
  })

  it('checks every index stage of an unmerged path when run by hand during a conflict', async () => {
    await setup()
    repo.write('secrets/db.yaml', 'x: 1\n')
    await repo.gitOk(['add', '.'])
    await repo.gitOk(['commit', '-q', '--no-verify', '-m', 'plain base'])
    await repo.gitOk(['checkout', '-q', '-b', 'other'])
    repo.write('secrets/db.yaml', SECRET)
    await repo.gitOk(['commit', '-q', '--no-verify', '-a', '-m', 'theirs'])
    await repo.gitOk(['checkout', '-q', 'main'])
    repo.write('secrets/db.yaml', 'x: 2\n')
    await repo.gitOk(['commit', '-q', '--no-verify', '-a', '-m', 'ours'])
    expect((await repo.git(['merge', '-q', 'other'])).code).not.toBe(0)
    const r = await repo.tsops(['git', 'pre-commit'])
    expect(r.code).toBe(10)
    expect(r.stderr).toContain('secrets/db.yaml is not encrypted')
  })

  it('a merge that brings a plaintext commit made with --no-verify is blocked by the pre-merge-commit hook', async () => {
    await setup()
    expect(repo.exists('.git/hooks/pre-merge-commit')).toBe(true)
    await repo.gitOk(['checkout', '-q', '-b', 'sneaky'])
    repo.write('secrets/db.yaml', SECRET)
    await repo.gitOk(['add', 'secrets/db.yaml'])
    await repo.gitOk(['commit', '-q', '--no-verify', '-m', 'forced'])
    await repo.gitOk(['checkout', '-q', 'main'])
    repo.write('README.md', '# project, changed on main\n')
    await repo.gitOk(['commit', '-q', '-a', '-m', 'main moves on'])
    const merge = await repo.git(['merge', '--no-edit', 'sneaky'])
    expect(merge.code).not.toBe(0)
    expect(merge.stderr).toContain('secrets/db.yaml is not encrypted')
    expect(merge.stderr).not.toContain('hunter2')
    expect(await repo.gitOk(['rev-list', '--count', 'HEAD'])).toBe('2\n')
  })

  it('tsops check --since REF flags a plaintext file in a commit of the range (a rebase runs no hook)', async () => {
    await setup()
    const base = (await repo.gitOk(['rev-parse', 'HEAD'])).trim()
    await repo.gitOk(['checkout', '-q', '-b', 'feature'])
    repo.write('secrets/db.yaml', SECRET)
    await repo.gitOk(['add', 'secrets/db.yaml'])
    await repo.gitOk(['commit', '-q', '--no-verify', '-m', 'plaintext'])
    repo.write('secrets/db.yaml', SECRET)
    await encrypt('secrets/db.yaml')
    await repo.gitOk(['commit', '-q', '-a', '-m', 'encrypted afterwards'])
    // main moves on; the feature is rebased onto it (no hook runs)
    await repo.gitOk(['checkout', '-q', 'main'])
    repo.write('README.md', '# project 2\n')
    await repo.gitOk(['commit', '-q', '-a', '-m', 'main'])
    await repo.gitOk(['checkout', '-q', 'feature'])
    await repo.gitOk(['rebase', '-q', 'main'])
    const plaintextCommit = (await repo.gitOk(['rev-parse', 'HEAD~1'])).trim().slice(0, 12)

    const r = await repo.tsops(['check', '--since', 'main'])
    expect(r.code).toBe(10)
    const out = r.stdout.toString()
    expect(out).toContain(`FAIL  secrets/db.yaml (commit ${plaintextCommit})`)
    expect(out).toContain('secrets/db.yaml is not encrypted')
    expect(out).toMatch(/ok {4}secrets\/db\.yaml \(commit [0-9a-f]{12}\)/)
    expect(out).not.toContain('hunter2')
    const json = JSON.parse((await repo.tsops(['check', '--json', '--since', base])).stdout.toString())
    expect(json.failed).toBe(1)
    expect(json.files.find((f: { ok: boolean }) => !f.ok).commit).toBe(plaintextCommit)
    // Nothing after the tip: nothing to check.
    expect((await repo.tsops(['check', '--since', 'HEAD'])).code).toBe(0)
    const bad = await repo.tsops(['check', '--since', 'no-such-ref'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('--since no-such-ref: not a commit in this repository')
  })
})
