/**
 * `tsops updatekeys`: key groups follow `.sops.yaml`, the data key and every value's ciphertext
 * stay byte for byte (so do lastmodified and the MAC), changes are shown and confirmed.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { CLI } from '../helpers/paths.js'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { tempWorkspace } from '../helpers/workspace.js'

type AgeKey = { identity: string; recipient: string }

const { dir } = tempWorkspace('tsops-updatekeys-')
let alice: AgeKey
let bob: AgeKey
let carol: AgeKey

beforeAll(async () => {
  ;[alice, bob, carol] = await Promise.all([generateAgeIdentity(), generateAgeIdentity(), generateAgeIdentity()])
})

function env(keys: AgeKey[]): Record<string, string | undefined> {
  return cleanEnv({ SOPS_AGE_KEY: keys.map((k) => k.identity).join('\n'), XDG_CONFIG_HOME: path.join(dir, 'no-xdg'), GNUPGHOME: path.join(dir, 'no-gnupg') })
}

const PLAIN = 'db:\n    user: admin\n    password: hunter2\nport: 5432\n# note\nitems:\n    - a\n    - b\n'

let counter = 0
/** A fresh repository directory with a .sops.yaml. */
function repo(config: string): string {
  const d = path.join(dir, `repo-${++counter}`)
  fs.mkdirSync(d, { recursive: true })
  setConfig(d, config)
  return d
}

function setConfig(d: string, config: string): void {
  fs.writeFileSync(path.join(d, '.sops.yaml'), config)
}

const flatRule = (...keys: AgeKey[]) => `creation_rules:\n  - path_regex: \\.(yaml|json)$\n    age: ${keys.map((k) => k.recipient).join(',')}\n`

async function encryptIn(d: string, name: string, content = PLAIN): Promise<string> {
  const file = path.join(d, name)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, content)
  const r = await runCli(['encrypt', '-i', name], { env: env([]), cwd: d })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return file
}

function allCiphertexts(text: string): string[] {
  return text.match(/ENC\[AES256_GCM,[^\]]*\]/g) ?? [] // the MAC included: it must not change either
}

function recipients(text: string): string[] {
  return [...text.matchAll(/"?recipient"?: "?([^"\s]+)/g)].map((m) => m[1]!) // YAML and JSON
}

const lastmodified = (text: string) => /lastmodified: "([^"]+)"/.exec(text)?.[1]

describe('tsops updatekeys', () => {
  it('-y adds a recipient without touching any value ciphertext, lastmodified or the MAC', async () => {
    const d = repo(flatRule(alice))
    const file = await encryptIn(d, 'app.yaml')
    const before = fs.readFileSync(file, 'utf8')
    setConfig(d, flatRule(alice, bob))

    const r = await runCli(['updatekeys', '-y', 'app.yaml'], { env: env([alice]), cwd: d })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe(`The following changes will be made to the file's groups:\nGroup 1\n    ${alice.recipient}\n+++ ${bob.recipient}\n`)
    expect(r.stderr).toBe('File app.yaml synced with new keys\n')
    const after = fs.readFileSync(file, 'utf8')
    expect(allCiphertexts(after)).toEqual(allCiphertexts(before))
    expect(allCiphertexts(after).length).toBe(7) // 5 values, the comment, the MAC
    expect(lastmodified(after)).toBe(lastmodified(before))
    expect(recipients(after)).toEqual([alice.recipient, bob.recipient])
    // Alice's entry is kept as it was: only Bob's is new.
    expect(after.startsWith(before.slice(0, before.indexOf('    lastmodified:')))).toBe(true)

    const asBob = await runCli(['decrypt', 'app.yaml'], { env: env([bob]), cwd: d })
    expect(asBob.code).toBe(0)
    expect(asBob.stdout.toString()).toBe(PLAIN)
  })

  it('removes a recipient: the removed key no longer decrypts, values untouched', async () => {
    const d = repo(flatRule(alice, bob))
    const file = await encryptIn(d, 'app.json', '{\n\t"k": "v",\n\t"n": 1\n}\n')
    const before = fs.readFileSync(file, 'utf8')
    setConfig(d, flatRule(alice))

    const r = await runCli(['updatekeys', '--yes', 'app.json'], { env: env([alice]), cwd: d })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toContain(`--- ${bob.recipient}\n`)
    const after = fs.readFileSync(file, 'utf8')
    expect(allCiphertexts(after)).toEqual(allCiphertexts(before))
    expect(after).not.toContain(bob.recipient)
    expect((await runCli(['decrypt', 'app.json'], { env: env([bob]), cwd: d })).code).toBe(128)
    expect((await runCli(['decrypt', 'app.json'], { env: env([alice]), cwd: d })).stdout.toString()).toBe('{\n\t"k": "v",\n\t"n": 1\n}\n')
  })

  it('says "already up to date" and writes nothing when the keys already match', async () => {
    const d = repo(flatRule(alice, bob))
    const file = await encryptIn(d, 'same.yaml')
    const before = fs.readFileSync(file)
    const mtime = fs.statSync(file).mtimeMs
    setConfig(d, flatRule(bob, alice)) // order does not count
    const r = await runCli(['updatekeys', 'same.yaml'], { env: env([]), cwd: d })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe('')
    expect(r.stderr).toBe('File same.yaml already up to date\n')
    expect(fs.readFileSync(file).equals(before)).toBe(true)
    expect(fs.statSync(file).mtimeMs).toBe(mtime)
  })

  it('without a terminal and without -y: shows the changes, refuses, and leaves the file alone', async () => {
    const d = repo(flatRule(alice))
    const file = await encryptIn(d, 'app.yaml')
    const before = fs.readFileSync(file, 'utf8')
    setConfig(d, flatRule(alice, bob))
    const r = await runCli(['updatekeys', 'app.yaml'], { env: env([alice]), cwd: d, input: 'y\n' })
    expect(r.code).toBe(1)
    expect(r.stdout.toString()).toContain(`+++ ${bob.recipient}`)
    expect(r.stderr).toContain('standard input is not a terminal')
    expect(r.stderr).toContain('-y (--yes)')
    expect(fs.readFileSync(file, 'utf8')).toBe(before)
  })

  it('on a terminal asks "Is this okay? (y/n):" until it gets y or n', async () => {
    const d = repo(flatRule(alice))
    const yes = await encryptIn(d, 'yes.yaml')
    const no = await encryptIn(d, 'no.yaml')
    const noBefore = fs.readFileSync(no, 'utf8')
    setConfig(d, flatRule(alice, carol))
    // util-linux `script` runs the CLI on a pseudo-terminal and types the answers into it.
    const onTty = (file: string, answers: string) =>
      spawnSync('script', ['-qec', `"${process.execPath}" "${CLI}" updatekeys ${file}`, '/dev/null'], {
        cwd: d,
        env: env([alice]) as NodeJS.ProcessEnv,
        input: answers,
        encoding: 'utf8',
      })
    const accepted = onTty('yes.yaml', 'maybe\ny\n')
    expect(accepted.status).toBe(0)
    expect(accepted.stdout.split('Is this okay? (y/n):').length - 1).toBe(2)
    expect(accepted.stdout).toContain('File yes.yaml synced with new keys')
    expect(recipients(fs.readFileSync(yes, 'utf8'))).toEqual([alice.recipient, carol.recipient])

    const declined = onTty('no.yaml', 'n\n')
    expect(declined.status).toBe(0)
    expect(declined.stdout).toContain('File no.yaml left unchanged')
    expect(fs.readFileSync(no, 'utf8')).toBe(noBefore)
  })

  it('updates every matching file of a directory and reports each', async () => {
    const d = repo(flatRule(alice))
    const a = await encryptIn(d, 'secrets/a.yaml')
    const b = await encryptIn(d, 'secrets/sub/b.json', '{\n\t"x": "y"\n}\n')
    fs.writeFileSync(path.join(d, 'secrets/readme.md'), 'no sops here\n')
    const before = [a, b].map((f) => allCiphertexts(fs.readFileSync(f, 'utf8')))
    setConfig(d, flatRule(alice, bob))

    const r = await runCli(['updatekeys', '-y', 'secrets'], { env: env([alice]), cwd: d })
    expect(r.code).toBe(0)
    const change = `The following changes will be made to the file's groups:\nGroup 1\n    ${alice.recipient}\n+++ ${bob.recipient}\n`
    expect(r.stdout.toString()).toBe(`secrets/a.yaml:\n${change}secrets/sub/b.json:\n${change}`)
    expect(r.stderr).toBe('File secrets/a.yaml synced with new keys\nFile secrets/sub/b.json synced with new keys\n')
    expect([a, b].map((f) => allCiphertexts(fs.readFileSync(f, 'utf8')))).toEqual(before)
    expect(recipients(fs.readFileSync(b, 'utf8'))).toEqual([alice.recipient, bob.recipient])

    const again = await runCli(['updatekeys', '-y', 'secrets'], { env: env([alice]), cwd: d })
    expect(again.stderr).toBe('File secrets/a.yaml already up to date\nFile secrets/sub/b.json already up to date\n')
  })

  it('keeps going past a file whose data key it cannot get, then fails', async () => {
    const d = repo(flatRule(bob))
    const theirs = await encryptIn(d, 'theirs.yaml')
    setConfig(d, flatRule(alice))
    const mine = await encryptIn(d, 'mine.yaml')
    const theirsBefore = fs.readFileSync(theirs, 'utf8')
    setConfig(d, flatRule(alice, carol))

    const r = await runCli(['updatekeys', '-y', 'theirs.yaml', 'mine.yaml'], { env: env([alice]), cwd: d })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('failed theirs.yaml: Failed to get the data key required to decrypt the SOPS file.')
    expect(r.stderr).toContain('File mine.yaml synced with new keys')
    expect(r.stderr).toContain('tsops: error: failed updating 1 of 2 file(s)')
    expect(fs.readFileSync(theirs, 'utf8')).toBe(theirsBefore)
    expect(recipients(fs.readFileSync(mine, 'utf8'))).toEqual([alice.recipient, carol.recipient])

    // A single file keeps its own exit code (128: no key could decrypt), like sops.
    const single = await runCli(['updatekeys', '-y', 'theirs.yaml'], { env: env([alice]), cwd: d })
    expect(single.code).toBe(128)
  })

  it('moves a file to a 2-of-3 key_groups rule with the rule threshold, values untouched', async () => {
    const d = repo(flatRule(alice))
    const file = await encryptIn(d, 'team.yaml')
    const before = fs.readFileSync(file, 'utf8')
    setConfig(
      d,
      `creation_rules:\n  - path_regex: \\.yaml$\n    shamir_threshold: 2\n    key_groups:\n      - age: [${alice.recipient}]\n      - age: [${bob.recipient}]\n      - age: [${carol.recipient}]\n`,
    )
    const r = await runCli(['updatekeys', '-y', 'team.yaml'], { env: env([alice]), cwd: d })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe(
      `The following changes will be made to the file's groups:\n+++ shamir_threshold: 2\nGroup 1\n    ${alice.recipient}\nGroup 2\n+++ ${bob.recipient}\nGroup 3\n+++ ${carol.recipient}\n`,
    )
    const after = fs.readFileSync(file, 'utf8')
    expect(allCiphertexts(after)).toEqual(allCiphertexts(before))
    expect(after).toContain('key_groups:')
    expect(after).toContain('shamir_threshold: 2')
    for (const pair of [[alice, bob], [bob, carol], [alice, carol]]) {
      const dec = await runCli(['decrypt', 'team.yaml'], { env: env(pair), cwd: d })
      expect(dec.code).toBe(0)
      expect(dec.stdout.toString()).toBe(PLAIN)
    }
    expect((await runCli(['decrypt', 'team.yaml'], { env: env([carol]), cwd: d })).code).toBe(128)
  })

  it('needs a .sops.yaml and a file argument', async () => {
    const bare = path.join(dir, 'bare')
    fs.mkdirSync(bare, { recursive: true })
    const noConfig = await runCli(['updatekeys', '-y', 'x.yaml'], { env: env([]), cwd: bare })
    expect(noConfig.code).toBe(1)
    expect(noConfig.stderr).toContain('config file not found')
    const noFile = await runCli(['updatekeys'], { env: env([]), cwd: repo(flatRule(alice)) })
    expect(noFile.code).toBe(100)
  })
})
