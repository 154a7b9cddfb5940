/**
 * `tsops rotate` / `tsops -r`: a new data key, every ciphertext new, every value the same, keys
 * added and removed, several files and directories with per-file reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { disposeGeneratedGpgHome, generatedGpgHome, type GeneratedGpgHome } from '../helpers/gpg.js'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { tempWorkspace } from '../helpers/workspace.js'

type AgeKey = { identity: string; recipient: string }

const { dir } = tempWorkspace('tsops-rotate-')
let alice: AgeKey
let bob: AgeKey
let gpg: GeneratedGpgHome

beforeAll(async () => {
  ;[alice, bob, gpg] = await Promise.all([generateAgeIdentity(), generateAgeIdentity(), generatedGpgHome()])
})
afterAll(async () => {
  await disposeGeneratedGpgHome()
})

/** Only the given age identities (and optionally the PGP home) can decrypt. */
function env(keys: AgeKey[], withGpg = false): Record<string, string | undefined> {
  return cleanEnv({
    SOPS_AGE_KEY: keys.map((k) => k.identity).join('\n'),
    XDG_CONFIG_HOME: path.join(dir, 'no-xdg'),
    GNUPGHOME: withGpg ? gpg.home : path.join(dir, 'no-gnupg'),
  })
}

const PLAIN = 'user: admin\npassword: hunter2\nport: 5432\nratio: 0.5\nenabled: true\n# a comment\nlist:\n    - one\n    - two\nnested:\n    token: t0k3n\n    public_unencrypted: visible\n'

let counter = 0
function fresh(sub = ''): string {
  const d = path.join(dir, `case-${++counter}`, sub)
  fs.mkdirSync(d, { recursive: true })
  return d
}

async function encryptTo(file: string, keyArgs: string[], content = PLAIN, cwd?: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, content)
  const r = await runCli(['encrypt', ...keyArgs, '-i', file], { env: env([], true), cwd })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
}

/** Every `ENC[…]` of the values (the sops block, with the MAC, cut off). */
function valueCiphertexts(text: string): string[] {
  return text.split('\nsops:\n')[0]!.match(/ENC\[AES256_GCM,[^\]]*\]/g) ?? []
}

function sopsField(text: string, name: string): string {
  return new RegExp(`^    ${name}: (.*)$`, 'm').exec(text)?.[1] ?? ''
}

async function decrypt(file: string, keys: AgeKey[], withGpg = false) {
  return runCli(['decrypt', file], { env: env(keys, withGpg) })
}

describe('tsops rotate', () => {
  it('re-encrypts every value under a new data key: all ciphertexts change, no value does', async () => {
    const file = path.join(fresh(), 'secrets.yaml')
    await encryptTo(file, ['--age', alice.recipient])
    const before = fs.readFileSync(file, 'utf8')

    const r = await runCli(['rotate', file], { env: env([alice]) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(fs.readFileSync(file, 'utf8')).toBe(before) // stdout mode leaves the file alone
    const after = r.stdout.toString()

    const oldCts = valueCiphertexts(before)
    const newCts = valueCiphertexts(after)
    expect(oldCts.length).toBe(9) // 5 top-level values, the comment, 2 list items, the token
    expect(newCts.length).toBe(oldCts.length)
    for (const ct of newCts) expect(oldCts).not.toContain(ct)
    expect(sopsField(after, 'mac')).not.toBe(sopsField(before, 'mac'))
    expect(after).toContain('public_unencrypted: visible')
    // The age entry is new too: the data key changed.
    expect(after.split('\nsops:\n')[1]).not.toBe(before.split('\nsops:\n')[1])

    const out = path.join(path.dirname(file), 'rotated.yaml')
    fs.writeFileSync(out, after)
    const d = await decrypt(out, [alice])
    expect(d.code).toBe(0)
    expect(d.stdout.toString()).toBe(PLAIN)
  })

  it('-i rewrites the file; the legacy -r does the same; PGP keys keep their created_at', async () => {
    const file = path.join(fresh(), 'app.yaml')
    await encryptTo(file, ['--age', alice.recipient, '--pgp', gpg.fingerprint])
    // created_at is not covered by the MAC: back-date it to see that rotate keeps it.
    const backdated = fs.readFileSync(file, 'utf8').replace(/created_at: "[^"]+"/, 'created_at: "2020-01-02T03:04:05Z"')
    fs.writeFileSync(file, backdated)

    // Wrapping for the PGP key again needs its public key: the gpg home is there.
    const r1 = await runCli(['rotate', '-i', file], { env: env([alice], true) })
    expect(r1.stderr).toBe('')
    expect(r1.code).toBe(0)
    const once = fs.readFileSync(file, 'utf8')
    expect(valueCiphertexts(once).some((ct) => valueCiphertexts(backdated).includes(ct))).toBe(false)
    expect(once).toContain('created_at: "2020-01-02T03:04:05Z"')

    const r2 = await runCli(['-r', '-i', file], { env: env([alice], true) })
    expect(r2.code).toBe(0)
    const twice = fs.readFileSync(file, 'utf8')
    expect(valueCiphertexts(twice).some((ct) => valueCiphertexts(once).includes(ct))).toBe(false)
    expect(twice).toContain('created_at: "2020-01-02T03:04:05Z"')

    // Both keys still decrypt it, each on its own.
    expect((await decrypt(file, [alice])).stdout.toString()).toBe(PLAIN)
    expect((await decrypt(file, [], true)).stdout.toString()).toBe(PLAIN)
  })

  it('--add-age adds a recipient and --rm-pgp removes the PGP key', async () => {
    const file = path.join(fresh(), 'team.yaml')
    await encryptTo(file, ['--age', alice.recipient, '--pgp', gpg.fingerprint])

    const r = await runCli(['rotate', '-i', '--add-age', bob.recipient, '--rm-pgp', gpg.fingerprint, file], { env: env([alice]) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const text = fs.readFileSync(file, 'utf8')
    expect(text).toContain(`recipient: ${alice.recipient}`)
    expect(text).toContain(`recipient: ${bob.recipient}`)
    expect(text).not.toContain('pgp:')
    expect(text).not.toContain(gpg.fingerprint)

    expect((await decrypt(file, [bob])).stdout.toString()).toBe(PLAIN)
    const removed = await decrypt(file, [], true)
    expect(removed.code).toBe(128)
  })

  it('--rm of a key the file does not have warns; removing the last key is refused', async () => {
    const file = path.join(fresh(), 'solo.yaml')
    await encryptTo(file, ['--age', alice.recipient])
    const before = fs.readFileSync(file, 'utf8')

    const warn = await runCli(['rotate', '--rm-age', bob.recipient, file], { env: env([alice]) })
    expect(warn.code).toBe(0)
    expect(warn.stderr).toContain(`age key ${bob.recipient} is not in`)

    const last = await runCli(['rotate', '-i', '--rm-age', alice.recipient, file], { env: env([alice]) })
    expect(last.code).toBe(1)
    expect(last.stderr).toContain('without any key')
    expect(fs.readFileSync(file, 'utf8')).toBe(before)
  })

  it('--rm of a key sops cannot make (a bad recipient, an empty list item) is refused before the file is touched, exit 1', async () => {
    const file = path.join(fresh(), 'rm-bad.yaml')
    await encryptTo(file, ['--age', alice.recipient])
    const before = fs.readFileSync(file, 'utf8')
    for (const [spec, message] of [
      ['bogus', 'failed to parse input, unknown recipient type: "bogus"'],
      [`${bob.recipient},`, 'failed to parse input, unknown recipient type: ""'],
    ] as const) {
      const r = await runCli(['rotate', '-i', '--rm-age', spec, file], { env: env([alice]) })
      expect(r.code).toBe(1)
      expect(r.stderr.split('\n')[0]).toBe(`tsops: error: ${message}`)
      expect(fs.readFileSync(file, 'utf8')).toBe(before)
    }
  })

  it('add/rm on a missing file exits 49; a missing file otherwise exits 2 (sops: Error reading file)', async () => {
    const missing = path.join(fresh(), 'nope.yaml')
    const add = await runCli(['rotate', '--add-age', bob.recipient, missing], { env: env([alice]) })
    expect(add.code).toBe(49)
    expect(add.stderr).toContain('cannot add or remove keys on non-existent file')
    const rm = await runCli(['-r', '--rm-pgp', gpg.fingerprint, missing], { env: env([alice]) })
    expect(rm.code).toBe(49)
    const plain = await runCli(['rotate', missing], { env: env([alice]) })
    expect(plain.code).toBe(2)
    expect(plain.stderr).toContain(`Error reading file: open ${missing}: no such file or directory`)
  })

  it('rotates several files in place, reporting each', async () => {
    const d = fresh()
    const a = path.join(d, 'a.yaml')
    const b = path.join(d, 'b.json')
    await encryptTo(a, ['--age', alice.recipient])
    await encryptTo(b, ['--age', alice.recipient], '{\n\t"k": "v"\n}\n')
    const before = [fs.readFileSync(a, 'utf8'), fs.readFileSync(b, 'utf8')]

    const noInPlace = await runCli(['rotate', a, b], { env: env([alice]) })
    expect(noInPlace.code).toBe(8)
    expect(noInPlace.stderr).toContain('needs -i')

    const r = await runCli(['rotate', '-i', a, b], { env: env([alice]) })
    expect(r.code).toBe(0)
    expect(r.stderr).toBe(`rotated ${a}\nrotated ${b}\n`)
    expect(fs.readFileSync(a, 'utf8')).not.toBe(before[0])
    expect(fs.readFileSync(b, 'utf8')).not.toBe(before[1])
    expect((await decrypt(b, [alice])).stdout.toString()).toBe('{\n\t"k": "v"\n}\n')
  })

  it('rotates the files of a directory that the creation rules match, recursively', async () => {
    const repo = fresh()
    fs.writeFileSync(path.join(repo, '.sops.yaml'), `creation_rules:\n  - path_regex: ^secrets/.*\\.(yaml|json)$\n    age: ${alice.recipient}\n`)
    const inRepo = (p: string) => path.join(repo, p)
    await encryptTo(inRepo('secrets/app.yaml'), [], PLAIN, repo)
    await encryptTo(inRepo('secrets/deep/db.json'), [], '{\n\t"pw": "x"\n}\n', repo)
    await encryptTo(inRepo('secrets/node_modules/dep.yaml'), ['--age', alice.recipient], PLAIN, repo)
    fs.writeFileSync(inRepo('secrets/notes.txt'), 'not matched by the rule, mentions sops\n')
    fs.writeFileSync(inRepo('secrets/plain.yaml'), 'about: sops but not encrypted\n')
    fs.writeFileSync(inRepo('secrets/other.yaml'), 'nothing: here\n')
    const snapshot = () => ['secrets/app.yaml', 'secrets/deep/db.json', 'secrets/node_modules/dep.yaml', 'secrets/plain.yaml'].map((p) => fs.readFileSync(inRepo(p), 'utf8'))
    const before = snapshot()

    const r = await runCli(['rotate', '-i', 'secrets'], { env: env([alice]), cwd: repo })
    expect(r.stderr).toBe(
      'rotated secrets/app.yaml\nrotated secrets/deep/db.json\nskipped secrets/plain.yaml: not encrypted (no sops metadata)\n',
    )
    expect(r.code).toBe(0)
    const after = snapshot()
    expect(after[0]).not.toBe(before[0])
    expect(after[1]).not.toBe(before[1])
    expect(after[2]).toBe(before[2]) // node_modules is never walked
    expect(after[3]).toBe(before[3])
    expect((await decrypt(inRepo('secrets/app.yaml'), [alice])).stdout.toString()).toBe(PLAIN)
  })

  it('with a catch-all rule, `rotate -i .` rotates the encrypted files and leaves everything else alone', async () => {
    const repo = fresh()
    const inRepo = (p: string) => path.join(repo, p)
    fs.writeFileSync(inRepo('.sops.yaml'), `# sops config\ncreation_rules:\n  - age: ${alice.recipient}\n`)
    await encryptTo(inRepo('config/app.yaml'), [], PLAIN, repo)
    await encryptTo(inRepo('blob.bin'), [], 'opaque bytes\n', repo)
    fs.writeFileSync(inRepo('README.md'), 'We keep secrets with sops; see lastmodified and "sops" keys.\n')
    fs.writeFileSync(inRepo('tool.ts'), "const name = 'sops'\n")
    fs.writeFileSync(inRepo('package.json'), '{"name": "x", "description": "uses sops"}\n')
    const others = ['.sops.yaml', 'README.md', 'tool.ts', 'package.json'].map((p) => fs.readFileSync(inRepo(p), 'utf8'))
    const blobBefore = fs.readFileSync(inRepo('blob.bin'), 'utf8')

    const r = await runCli(['rotate', '-i', '.'], { env: env([alice]), cwd: repo })
    expect(r.stderr).toBe('rotated blob.bin\nrotated config/app.yaml\nskipped package.json: not encrypted (no sops metadata)\n')
    expect(r.code).toBe(0)
    expect(['.sops.yaml', 'README.md', 'tool.ts', 'package.json'].map((p) => fs.readFileSync(inRepo(p), 'utf8'))).toEqual(others)
    expect(fs.readFileSync(inRepo('blob.bin'), 'utf8')).not.toBe(blobBefore)
    expect((await decrypt(inRepo('blob.bin'), [alice])).stdout.toString()).toBe('opaque bytes\n')
  })

  it('keeps going past a file that fails, then exits 1 naming it', async () => {
    const d = fresh()
    const a = path.join(d, 'a.yaml')
    const broken = path.join(d, 'bob-only.yaml')
    const c = path.join(d, 'c.yaml')
    await encryptTo(a, ['--age', alice.recipient])
    await encryptTo(broken, ['--age', bob.recipient])
    await encryptTo(c, ['--age', alice.recipient])
    const brokenBefore = fs.readFileSync(broken, 'utf8')
    const cBefore = fs.readFileSync(c, 'utf8')

    const r = await runCli(['rotate', '-i', a, broken, path.join(d, 'missing.yaml'), c], { env: env([alice]) })
    expect(r.code).toBe(1)
    const lines = r.stderr.split('\n')
    expect(lines[0]).toBe(`rotated ${a}`)
    expect(lines[1]).toBe(`failed ${broken}: Failed to get the data key required to decrypt the SOPS file.`)
    expect(r.stderr).toContain(`failed ${path.join(d, 'missing.yaml')}: Error reading file: open ${path.join(d, 'missing.yaml')}: no such file or directory`)
    expect(r.stderr).toContain(`rotated ${c}\n`)
    expect(r.stderr).toContain('tsops: error: failed rotating 2 of 4 file(s)')
    expect(fs.readFileSync(broken, 'utf8')).toBe(brokenBefore)
    expect(fs.readFileSync(c, 'utf8')).not.toBe(cBefore)
  })

  it('legacy -r loads the creation rules like sops (a config that matches nothing is an error); rotate does not', async () => {
    const repo = fresh()
    fs.writeFileSync(path.join(repo, '.sops.yaml'), `creation_rules:\n  - path_regex: ^elsewhere/\n    age: ${alice.recipient}\n`)
    const file = path.join(repo, 'x.yaml')
    await encryptTo(file, ['--age', alice.recipient], PLAIN, fresh())
    const legacy = await runCli(['-r', 'x.yaml'], { env: env([alice]), cwd: repo })
    expect(legacy.code).toBe(1)
    expect(legacy.stderr).toContain('no matching creation rules found')
    const sub = await runCli(['rotate', 'x.yaml'], { env: env([alice]), cwd: repo })
    expect(sub.code).toBe(0)
  })

  it('checks the MAC unless --ignore-mac', async () => {
    const file = path.join(fresh(), 'mac.yaml')
    await encryptTo(file, ['--age', alice.recipient])
    // A changed lastmodified breaks the MAC check (it is the MAC's AAD).
    const tampered = fs.readFileSync(file, 'utf8').replace(/lastmodified: "(\d{4})/, (_m, y: string) => `lastmodified: "${Number(y) - 1}`)
    fs.writeFileSync(file, tampered)
    const r = await runCli(['rotate', file], { env: env([alice]) })
    expect(r.code).toBe(51)
    const ignored = await runCli(['rotate', '--ignore-mac', '-i', file], { env: env([alice]) })
    expect(ignored.code).toBe(0)
    expect((await decrypt(file, [alice])).code).toBe(0)
  })
})
