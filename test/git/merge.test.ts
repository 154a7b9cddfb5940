/**
 * The merge driver, the diff driver and `tsops git resolve`, driven by real `git merge`,
 * `git diff` and `git log` in temporary repositories.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import { spawn } from 'node:child_process'
import { CLI } from '../helpers/paths.js'
import path from 'node:path'
import { testAgeIdentity } from '../helpers/age.js'
import { TestRepo, expectOk, sopsConfig } from './repo.js'
import { deletePath, editSops, setPath } from './sops-edit.js'

let age: { identity: string; recipient: string }
let repo: TestRepo

beforeAll(async () => {
  age = await testAgeIdentity()
})
afterEach(() => repo?.cleanup())

const PLAIN = 'db:\n    user: app-user\n    password: base-password\n    port: 5432\napi:\n    token: base-token\n'
const FILE = 'secrets/app.yaml'

/** A repo with the drivers installed, the age key in the environment, and FILE committed encrypted on main. */
async function setup(plain = PLAIN, file = FILE, config = sopsConfig('RECIPIENT', '^secrets/')): Promise<void> {
  repo = await TestRepo.create({ SOPS_AGE_KEY: age.identity })
  repo.write('.sops.yaml', config.replaceAll('RECIPIENT', age.recipient))
  await repo.install()
  repo.write(file, plain)
  await expectOk(await repo.tsops(['encrypt', '-i', file]), 'encrypt')
  await repo.gitOk(['add', '.'])
  await repo.gitOk(['commit', '-q', '-m', 'base'])
}

async function decrypted(file = FILE): Promise<string> {
  return (await expectOk(await repo.tsops(['decrypt', file]), 'decrypt')).stdout.toString()
}

async function onBranch(branch: string, change: () => Promise<void>, commitFlags: string[] = []): Promise<void> {
  await repo.gitOk(['checkout', '-q', '-B', branch])
  await change()
  await repo.gitOk(['commit', '-q', '-a', ...commitFlags, '-m', branch])
}

function encLine(text: string, key: string): string {
  return new RegExp(`^\\s*${key}: (ENC\\[[^\\]]*\\])`, 'm').exec(text)![1]!
}

const edit = (mutate: Parameters<typeof editSops>[2], file = FILE) => editSops(repo.path(file), age.identity, mutate)

describe('git merge with the tsops driver', () => {
  it('merges changes to different keys without conflict; untouched values keep their ciphertext', async () => {
    await setup()
    const base = repo.read(FILE)
    await onBranch('feature', () => edit((r) => setPath(r, 'db.password', 'feature-password')))
    const featureText = repo.read(FILE)
    await repo.gitOk(['checkout', '-q', 'main'])
    await onBranch('main', () => edit((r) => setPath(r, 'api.token', 'main-token')))
    const merge = await repo.git(['merge', '-q', '--no-edit', 'feature'])
    expect(merge.stderr).toBe('')
    expect(merge.code).toBe(0)
    expect(await decrypted()).toBe('db:\n    user: app-user\n    password: feature-password\n    port: 5432\napi:\n    token: main-token\n')
    const merged = repo.read(FILE)
    expect(encLine(merged, 'user')).toBe(encLine(base, 'user'))
    expect(encLine(merged, 'password')).toBe(encLine(featureText, 'password'))
    expect((await repo.git(['status', '--porcelain'])).stdout).toBe('')
  })

  it('keeps a side\'s file byte for byte when the merge result is exactly that side', async () => {
    await setup()
    await onBranch('feature', () => edit((r) => setPath(r, 'db.password', 'same-change')))
    await repo.gitOk(['checkout', '-q', 'main'])
    await onBranch('main', () => edit((r) => setPath(r, 'db.password', 'same-change')))
    const ours = repo.read(FILE)
    expect((await repo.git(['merge', '-q', '--no-edit', 'feature'])).code).toBe(0)
    expect(repo.read(FILE)).toBe(ours)

    // Ours only re-sealed (new lastmodified and MAC, same values): theirs' file is the result.
    await onBranch('feature2', () => edit((r) => setPath(r, 'api.token', 'feature2-token')))
    const theirs = repo.read(FILE)
    await repo.gitOk(['checkout', '-q', 'main'])
    // A different lastmodified: the re-seal is dated an hour after the real time.
    await onBranch('main', () => editSops(repo.path(FILE), age.identity, () => undefined, new Date(Date.now() + 3_600_000)))
    expect((await repo.git(['merge', '-q', '--no-edit', 'feature2'])).code).toBe(0)
    expect(repo.read(FILE)).toBe(theirs)
  })

  it('adds and deletes keys from both sides', async () => {
    await setup()
    await onBranch('feature', () => edit((r) => (setPath(r, 'db.host', 'db.internal'), deletePath(r, 'api.token'), setPath(r, 'api.url', 'https://x'))))
    await repo.gitOk(['checkout', '-q', 'main'])
    await onBranch('main', () => edit((r) => setPath(r, 'cache.ttl', 60n)))
    expect((await repo.git(['merge', '-q', '--no-edit', 'feature'])).code).toBe(0)
    expect(await decrypted()).toBe(
      'db:\n    user: app-user\n    password: base-password\n    port: 5432\n    host: db.internal\napi:\n    url: https://x\ncache:\n    ttl: 60\n',
    )
  })

  it('stops on the same key changed on both sides, leaving only ciphertext in the file', async () => {
    await setup()
    await onBranch('feature', () => edit((r) => (setPath(r, 'db.password', 'theirs-password'), setPath(r, 'db.port', 6543n))))
    await repo.gitOk(['checkout', '-q', 'main'])
    await onBranch('main', () => edit((r) => (setPath(r, 'db.password', 'ours-password'), setPath(r, 'api.token', 'ours-token'))))
    const merge = await repo.git(['merge', '-q', '--no-edit', 'feature'])
    expect(merge.code).not.toBe(0)
    expect(merge.stderr).toContain('changed on both sides: db.password')
    const text = repo.read(FILE)
    for (const secret of ['theirs-password', 'ours-password', 'ours-token', 'base-password', 'app-user', 'base-token', '6543']) expect(text).not.toContain(secret)
    expect(text).toMatch(/^<<<<<<< ours \(tsops: .*\n {4}password: ENC\[AES256_GCM,.*\n=======\n {4}password: ENC\[AES256_GCM,.*\n>>>>>>> theirs \(tsops\)\n/m)
    expect((await repo.git(['status', '--porcelain'])).stdout).toContain(`UU ${FILE}`)
    // The guard refuses to commit the conflict.
    await repo.gitOk(['add', FILE])
    const commit = await repo.git(['commit', '-q', '--no-edit'])
    expect(commit.code).not.toBe(0)
    expect(commit.stderr).toContain(`${FILE} holds an unresolved tsops merge conflict`)
  })

  it('tsops git resolve shows the conflict decrypted in a private temp file and writes the choice encrypted', async () => {
    await setup()
    await onBranch('feature', () => edit((r) => setPath(r, 'db.password', 'theirs-password')))
    await repo.gitOk(['checkout', '-q', 'main'])
    await onBranch('main', () => edit((r) => (setPath(r, 'db.password', 'ours-password'), setPath(r, 'api.token', 'ours-token'))))
    expect((await repo.git(['merge', '-q', '--no-edit', 'feature'])).code).not.toBe(0)

    // An "editor" that records what it was shown, then keeps theirs' side of every conflict.
    const seen = path.join(repo.home, 'seen.txt')
    const editor = repo.write('../pick-theirs.sh', [
      '#!/bin/sh',
      `cp "$1" '${seen}'`,
      `stat -c '%a' "$1" >> '${seen}.mode'; stat -c '%a' "$(dirname "$1")" >> '${seen}.mode'; echo "$1" > '${seen}.path'`,
      `awk '/^<<<<<<< /{s=1;next} /^=======$/{s=2;next} /^>>>>>>> /{s=0;next} s!=1{print}' "$1" > "$1.tmp" && mv "$1.tmp" "$1"`,
      '',
    ].join('\n'))
    fs.chmodSync(editor, 0o755)
    const r = await repo.tsops(['git', 'resolve', FILE], { env: { EDITOR: editor } })
    expect(r.stderr).toContain(`resolved 1 conflict in ${FILE}; mark it resolved with: git add ${FILE}`)
    expect(r.code).toBe(0)
    expect(fs.readFileSync(seen, 'utf8')).toBe(
      'db:\n    user: app-user\n<<<<<<< ours\n    password: ours-password\n=======\n    password: theirs-password\n>>>>>>> theirs\n    port: 5432\napi:\n    token: ours-token\n',
    )
    expect(fs.readFileSync(`${seen}.mode`, 'utf8')).toBe('600\n700\n')
    expect(fs.existsSync(path.dirname(fs.readFileSync(`${seen}.path`, 'utf8').trim()))).toBe(false)
    expect(repo.read(FILE)).not.toContain('theirs-password')
    expect(await decrypted()).toBe('db:\n    user: app-user\n    password: theirs-password\n    port: 5432\napi:\n    token: ours-token\n')
    await repo.gitOk(['add', FILE])
    const commit = await repo.git(['commit', '-q', '--no-edit'])
    expect(commit.stderr).toBe('')
    expect(commit.code).toBe(0)
  })

  it('resolve leaves the file alone when the editor keeps conflict markers', async () => {
    await setup()
    await onBranch('feature', () => edit((r) => setPath(r, 'api.token', 'theirs')))
    await repo.gitOk(['checkout', '-q', 'main'])
    await onBranch('main', () => edit((r) => setPath(r, 'api.token', 'ours')))
    expect((await repo.git(['merge', '-q', '--no-edit', 'feature'])).code).not.toBe(0)
    const before = repo.read(FILE)
    const r = await repo.tsops(['git', 'resolve', FILE], { env: { EDITOR: 'true' } })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('conflict markers are still in the edited text')
    expect(repo.read(FILE)).toBe(before)
    // Text that does not parse: reported by position, without quoting the value.
    const editor = repo.write('../bad-yaml.sh', "#!/bin/sh\nprintf 'api:\\n    token: !!int typed-secret\\n' > \"$1\"\n")
    fs.chmodSync(editor, 0o755)
    const bad = await repo.tsops(['git', 'resolve', FILE], { env: { EDITOR: editor } })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('the edited text is not valid yaml at line 2')
    expect(bad.stderr).not.toContain('typed-secret')
    expect(repo.read(FILE)).toBe(before)
  })

  it('SIGINT while resolve waits for the editor: exit 1, the decrypted temp file is gone, the conflict file untouched', async () => {
    await setup()
    await onBranch('feature', () => edit((r) => setPath(r, 'api.token', 'theirs-secret')))
    await repo.gitOk(['checkout', '-q', 'main'])
    await onBranch('main', () => edit((r) => setPath(r, 'api.token', 'ours-secret')))
    expect((await repo.git(['merge', '-q', '--no-edit', 'feature'])).code).not.toBe(0)
    const before = repo.read(FILE)
    const started = path.join(repo.home, 'resolve-started')
    const editor = repo.write('../sleepy.sh', `#!/bin/sh\necho "$$ $1" > '${started}'\nexec sleep 30\n`)
    fs.chmodSync(editor, 0o755)
    const child = spawn(process.execPath, [CLI, 'git', 'resolve', FILE], { cwd: repo.dir, env: { ...repo.env, EDITOR: editor } as NodeJS.ProcessEnv, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    for (let i = 0; i < 400 && !(fs.existsSync(started) && fs.readFileSync(started, 'utf8').endsWith('\n')); i++) await new Promise((r) => setTimeout(r, 25))
    const [editorPid, tempFile] = fs.readFileSync(started, 'utf8').trim().split(' ')
    expect(fs.readFileSync(tempFile!, 'utf8')).toContain('ours-secret')
    child.kill('SIGINT')
    const code = await exited
    try {
      process.kill(Number(editorPid), 'SIGKILL')
    } catch {
      // already gone: resolve stopped it
    }
    expect(code).toBe(1)
    expect(stderr).toContain('User canceled operation')
    expect(fs.existsSync(path.dirname(tempFile!))).toBe(false)
    expect(repo.read(FILE)).toBe(before)
  })

  it('treats a structure change against a value change, and a deletion against a change, as conflicts', async () => {
    await setup()
    await onBranch('feature', () => edit((r) => (setPath(r, 'db.password', 'changed'), setPath(r, 'api.token', 'changed-token'))))
    await repo.gitOk(['checkout', '-q', 'main'])
    await onBranch('main', () => edit((r) => (deletePath(r, 'db.password'), setPath(r, 'db.password.current', 'nested'), deletePath(r, 'api.token'))))
    const merge = await repo.git(['merge', '-q', '--no-edit', 'feature'])
    expect(merge.code).not.toBe(0)
    expect(merge.stderr).toContain('changed on both sides: db.password, api.token')
    expect(repo.read(FILE)).not.toContain('nested')
  })

  it('merges files whose sides have different data keys under the key one branch rotated to (a rotation is not undone)', async () => {
    await setup()
    await onBranch('feature', async () => {
      const plain = (await decrypted()).replace('base-token', 'rotated-token')
      repo.write(FILE, plain)
      await expectOk(await repo.tsops(['encrypt', '-i', FILE]), 're-encrypt')
    })
    const feature = repo.read(FILE)
    await repo.gitOk(['checkout', '-q', 'main'])
    await onBranch('main', () => edit((r) => setPath(r, 'db.user', 'main-user')))
    expect((await repo.git(['merge', '-q', '--no-edit', 'feature'])).code).toBe(0)
    expect(await decrypted()).toBe('db:\n    user: main-user\n    password: base-password\n    port: 5432\napi:\n    token: rotated-token\n')
    // feature's new data key and its master key entries are kept; so are its ciphertexts
    const agePart = (t: string) => t.slice(t.indexOf('sops:'), t.indexOf('lastmodified'))
    expect(agePart(repo.read(FILE))).toBe(agePart(feature))
    expect(encLine(repo.read(FILE), 'password')).toBe(encLine(feature, 'password'))
  })

  it('merges JSON files key by key too', async () => {
    await setup('{\n\t"a": "1",\n\t"b": {\n\t\t"c": "2"\n\t}\n}\n', 'secrets/conf.json')
    const f = 'secrets/conf.json'
    await onBranch('feature', () => edit((r) => setPath(r, 'a', 'feature-a'), f))
    await repo.gitOk(['checkout', '-q', 'main'])
    await onBranch('main', () => edit((r) => setPath(r, 'b.c', 'main-c'), f))
    expect((await repo.git(['merge', '-q', '--no-edit', 'feature'])).code).toBe(0)
    expect(await decrypted(f)).toBe('{\n\t"a": "feature-a",\n\t"b": {\n\t\t"c": "main-c"\n\t}\n}\n')
  })

  it('falls back to a line merge for a file under the attribute that is not a sops file', async () => {
    await setup()
    repo.write('secrets/readme.txt', 'one\ntwo\nthree\n')
    await repo.gitOk(['add', '.'])
    await repo.gitOk(['commit', '-q', '--no-verify', '-m', 'plain file'])
    await onBranch('feature', async () => void repo.write('secrets/readme.txt', 'ONE\ntwo\nthree\n'), ['--no-verify'])
    await repo.gitOk(['checkout', '-q', 'main'])
    await onBranch('main', async () => void repo.write('secrets/readme.txt', 'one\ntwo\nTHREE\n'), ['--no-verify'])
    // A plaintext file under the rules: the pre-merge-commit hook would refuse the merge commit.
    expect((await repo.git(['merge', '-q', '--no-edit', 'feature'])).stderr).toContain('secrets/readme.txt is not encrypted')
    await repo.gitOk(['merge', '--abort'])
    const merge = await repo.git(['merge', '-q', '--no-edit', '--no-verify', 'feature'])
    expect(merge.code).toBe(0)
    expect(repo.read('secrets/readme.txt')).toBe('ONE\ntwo\nTHREE\n')
  })
})

describe('git diff with the tsops textconv driver', () => {
  it('shows the old and new plaintext of a changed value, in diff and log -p', async () => {
    await setup()
    await edit((r) => setPath(r, 'db.password', 'new-password'))
    const diff = await repo.gitOk(['diff'])
    expect(diff).toContain('-    password: base-password\n+    password: new-password\n')
    expect(diff).not.toContain('ENC[')
    await repo.gitOk(['commit', '-q', '-a', '-m', 'change'])
    const log = await repo.gitOk(['log', '-p', '-1'])
    expect(log).toContain('-    password: base-password\n+    password: new-password\n')
  })

  it('without a key, diff shows the stored text and says why, once per file version, without failing', async () => {
    await setup()
    await edit((r) => setPath(r, 'db.password', 'new-password'))
    const r = await repo.git(['diff'], { env: { SOPS_AGE_KEY: undefined } })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('+    password: ENC[AES256_GCM,')
    expect(r.stderr.trim().split('\n')).toHaveLength(2)
    expect(r.stderr).toContain('shown encrypted: Failed to get the data key required to decrypt the SOPS file')
  })
})

describe('tsops git textconv', () => {
  it.each([
    ['a plaintext file', 'plain.yaml', 'a: 1\n', 'not a sops-encrypted file'],
    ['garbage', 'garbage.yaml', '{{{: [\n', 'not a sops-encrypted file'],
    ['binary junk', 'junk.bin', Buffer.from([0, 1, 2, 255, 254]), 'not a sops-encrypted file'],
    ['broken metadata', 'broken.yaml', 'a: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nsops:\n    version: nope\n', 'invalid sops metadata'],
  ] as [string, string, string | Buffer, string][])('prints %s as stored with exactly one line on stderr, exit 0', async (_what, name, content, reason) => {
    repo = await TestRepo.create()
    const file = repo.write(name, content)
    const r = await repo.tsops(['git', 'textconv', file])
    expect(r.code).toBe(0)
    expect(r.stdout.equals(Buffer.from(content))).toBe(true)
    expect(r.stderr.endsWith('\n')).toBe(true)
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain(reason)
  })
})
