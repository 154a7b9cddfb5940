/**
 * The library as an app uses it (src/index.ts in-process): typed values, explicit identities
 * and env instead of the process's, typed errors, and loadSecrets's per-file cache. Unwraps are
 * counted with SOPS_AGE_KEY_CMD, which runs once per data-key unwrap and appends to a file.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import {
  clearSecretsCache,
  DataKeyError,
  decrypt,
  decryptFile,
  encrypt,
  loadSecrets,
  MacMismatchError,
  NoFileError,
  TsopsError,
  type PlainValue,
} from '../../src/index.js'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { yamlFormat } from '../../src/formats/yaml.js'
import { open, sealedDocument } from '../../src/pipeline/open.js'
import { sealDocument } from '../../src/pipeline/encrypt.js'
import { disposeGeneratedGpgHome, generatedGpgHome } from '../helpers/gpg.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir } = tempWorkspace('tsops-lib-')
let age: { identity: string; recipient: string }
let counter: string
let keyCmd: string

const PLAIN = 'db:\n    password: s3cr3t\n    port: 5432\n    ratio: 1.5\nbig: 9007199254740993\ndebug: true\nwhen: 2024-01-02T03:04:05Z\nhosts:\n    - a\n    - b\n'

beforeAll(async () => {
  age = await generateAgeIdentity()
  counter = path.join(dir, 'unwraps.log')
  keyCmd = path.join(dir, 'key-cmd.sh')
  isolated = { inheritEnv: false, env: { XDG_CONFIG_HOME: path.join(dir, 'xdg'), PATH: process.env.PATH } }
  fs.writeFileSync(keyCmd, '#!/bin/sh\necho unwrap >> "$TSOPS_TEST_COUNTER"\nprintf \'%s\\n\' "$TSOPS_TEST_IDENTITY"\n', { mode: 0o755 })
})
afterAll(async () => {
  clearSecretsCache()
  await disposeGeneratedGpgHome()
})
beforeEach(() => fs.rmSync(counter, { force: true }))

/** Only what the test gives: no developer key, no default key file. */
let isolated: { inheritEnv: false; env: Record<string, string | undefined> }
/** Keys only through the counting key command. */
const countedOptions = () => ({ inheritEnv: false, env: { ...isolated.env, SOPS_AGE_KEY_CMD: keyCmd, TSOPS_TEST_COUNTER: counter, TSOPS_TEST_IDENTITY: age.identity } })
const unwraps = () => (fs.existsSync(counter) ? fs.readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0)

async function encryptedFile(name: string, plain = PLAIN): Promise<string> {
  const file = path.join(dir, name)
  fs.writeFileSync(file, await encrypt(plain, { format: 'yaml', age: [age.recipient], ...isolated }))
  return file
}

/** What `sops edit` does: same data key, one value changed, new MAC. */
async function editKeepingDataKey(file: string, key: string, value: string): Promise<void> {
  const doc = yamlFormat.parse(fs.readFileSync(file))
  const opened = await open(sealedDocument(doc), 'yaml', { ctx: { env: {}, ageIdentities: [age.identity] } })
  ;(doc.branches[0]!.get('db') as import('../../src/core/tree.js').TreeMap).set(key, value)
  sealDocument(yamlFormat, doc, opened.dataKey, {
    keyGroups: opened.metadata.keyGroups,
    shamirThreshold: opened.metadata.shamirThreshold,
    rules: opened.metadata.rules,
    stash: opened.stash,
  })
  opened.close()
  fs.writeFileSync(file, yamlFormat.emit(doc))
}

describe('decryptFile / decrypt / encrypt', () => {
  it('gives typed values with an explicit identity and nothing from the environment', async () => {
    const file = await encryptedFile('typed.yaml')
    const values = (await decryptFile(file, { ...isolated, ageIdentities: [age.identity] })) as Record<string, PlainValue>
    expect(values).toEqual({
      db: { password: 's3cr3t', port: 5432, ratio: 1.5 },
      big: 9007199254740993n,
      debug: true,
      when: new Date('2024-01-02T03:04:05Z'),
      hosts: ['a', 'b'],
    })
    expect(await decryptFile(file, { ...isolated, ageIdentities: [age.identity], output: 'text' })).toBe(PLAIN)
  })

  it('decrypts text in a given format, and env overrides are laid over process.env', async () => {
    const text = await encrypt({ token: 'abc', n: 3 }, { format: 'json', age: [age.recipient], ...isolated })
    expect(text).not.toContain('abc')
    // The key options never reach the file's metadata.
    expect(text).not.toMatch(/inheritEnv|XDG_CONFIG_HOME|ageIdentities/)
    expect(await decrypt(text, { format: 'json', env: { SOPS_AGE_KEY: age.identity } })).toEqual({ token: 'abc', n: 3 })
    const saved = process.env.SOPS_AGE_KEY
    process.env.SOPS_AGE_KEY = age.identity
    try {
      expect(await decrypt(text, { format: 'json', env: { XDG_CONFIG_HOME: path.join(dir, 'xdg') } })).toEqual({ token: 'abc', n: 3 })
      // An override set to undefined hides the process's own value.
      await expect(decrypt(text, { format: 'json', env: { SOPS_AGE_KEY: undefined, XDG_CONFIG_HOME: path.join(dir, 'xdg') } })).rejects.toBeInstanceOf(DataKeyError)
    } finally {
      if (saved === undefined) delete process.env.SOPS_AGE_KEY
      else process.env.SOPS_AGE_KEY = saved
    }
  })

  it('uses gnupgHome for PGP keys', async () => {
    const gpg = await generatedGpgHome()
    const text = await encrypt('a: 1\n', { format: 'yaml', pgp: [gpg.fingerprint], ...isolated, gnupgHome: gpg.home })
    expect(await decrypt(text, { format: 'yaml', ...isolated, gnupgHome: gpg.home })).toEqual({ a: 1 })
    const other = path.join(dir, 'empty-gnupg')
    fs.mkdirSync(other, { mode: 0o700 })
    await expect(decrypt(text, { format: 'yaml', ...isolated, gnupgHome: other })).rejects.toBeInstanceOf(DataKeyError)
  })

  it('gives a binary file as { data: Uint8Array } with its exact bytes, and several YAML documents as an array', async () => {
    const bytes = Buffer.from([0x6b, 0x3d, 0x76, 0xff, 0x00, 0x0a, 0x0a, 0x0a])
    const text = await encrypt(bytes, { format: 'binary', age: [age.recipient], ...isolated })
    const values = (await decrypt(text, { format: 'binary', ...isolated, ageIdentities: [age.identity] })) as { data: Uint8Array }
    expect(values.data).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(values.data).equals(bytes)).toBe(true)
    const multi = await encrypt('a: 1\n---\nb: two\n', { format: 'yaml', age: [age.recipient], ...isolated })
    expect(await decrypt(multi, { format: 'yaml', ...isolated, ageIdentities: [age.identity] })).toEqual([{ a: 1 }, { b: 'two' }])
  })

  it('throws typed errors with sops exit codes and no secret in the message', async () => {
    const missing = await decryptFile(path.join(dir, 'missing.yaml'), isolated).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(NoFileError)
    expect(missing).toMatchObject({ code: 'NO_FILE', exitCode: 100 })
    const file = await encryptedFile('nokey.yaml')
    const noKey = await decryptFile(file, isolated).catch((e: unknown) => e)
    expect(noKey).toBeInstanceOf(DataKeyError)
    expect(noKey).toBeInstanceOf(TsopsError)
    expect(noKey).toMatchObject({ code: 'NO_DATA_KEY', exitCode: 128 })
    expect((noKey as Error).message).toContain(age.recipient)
    const tampered = path.join(dir, 'tampered.yaml')
    fs.writeFileSync(tampered, fs.readFileSync(file, 'utf8').replace(/lastmodified: "(\d{4})/, (_m, y: string) => `lastmodified: "${Number(y) + 1}`))
    const mac = await decryptFile(tampered, { ...isolated, ageIdentities: [age.identity] }).catch((e: unknown) => e)
    expect(mac).toBeInstanceOf(MacMismatchError)
    expect(mac).toMatchObject({ exitCode: 51 })
    expect(String((mac as Error).message)).not.toContain('s3cr3t')
  })
})

describe('loadSecrets', () => {
  it('decrypts once: an unchanged file costs no unwrap, and every caller gets its own copy', async () => {
    const file = await encryptedFile('cached.yaml')
    const first = await loadSecrets<{ db: { password: string; port: number } }>(file, countedOptions())
    expect(first.db).toEqual({ password: 's3cr3t', port: 5432, ratio: 1.5 })
    expect(unwraps()).toBe(1)
    first.db.password = 'mutated'
    const second = await loadSecrets<{ db: { password: string } }>(file, countedOptions())
    expect(second.db.password).toBe('s3cr3t')
    expect(unwraps()).toBe(1)
    // decryptFile never caches.
    await decryptFile(file, countedOptions())
    expect(unwraps()).toBe(2)
  })

  it('concurrent first calls share one decryption', async () => {
    const file = await encryptedFile('concurrent.yaml')
    const all = await Promise.all(Array.from({ length: 5 }, () => loadSecrets(file, countedOptions())))
    expect(all.every((v) => (v as { debug: boolean }).debug === true)).toBe(true)
    expect(unwraps()).toBe(1)
  })

  it('re-reads a changed file; an edit that keeps the data key reopens without an unwrap', async () => {
    const file = await encryptedFile('edited.yaml')
    await loadSecrets(file, countedOptions())
    expect(unwraps()).toBe(1)
    await editKeepingDataKey(file, 'password', 'n3w-s3cr3t')
    const edited = (await loadSecrets(file, countedOptions())) as { db: { password: string } }
    expect(edited.db.password).toBe('n3w-s3cr3t')
    expect(unwraps()).toBe(1)
    // A re-encrypted file (new data key) needs the master key again.
    fs.writeFileSync(file, await encrypt(PLAIN.replace('s3cr3t', 'r0tated'), { format: 'yaml', age: [age.recipient], ...isolated }))
    const rotated = (await loadSecrets(file, countedOptions())) as { db: { password: string } }
    expect(rotated.db.password).toBe('r0tated')
    expect(unwraps()).toBe(2)
  })

  it('a tampered file is refused even with the cached data key, and is not served afterwards', async () => {
    const file = await encryptedFile('tamper.yaml')
    const good = fs.readFileSync(file, 'utf8')
    await loadSecrets(file, countedOptions())
    fs.writeFileSync(file, good.replace(/lastmodified: "(\d{4})/, (_m, y: string) => `lastmodified: "${Number(y) + 1}`))
    await expect(loadSecrets(file, countedOptions())).rejects.toBeInstanceOf(MacMismatchError)
    await expect(loadSecrets(file, countedOptions())).rejects.toBeInstanceOf(MacMismatchError)
    expect(unwraps()).toBe(2) // the failed load dropped the cached key
    fs.writeFileSync(file, good)
    expect(((await loadSecrets(file, countedOptions())) as { debug: boolean }).debug).toBe(true)
  })

  it('clearSecretsCache forgets files, and a missing file is a NoFileError', async () => {
    const file = await encryptedFile('cleared.yaml')
    await loadSecrets(file, countedOptions())
    clearSecretsCache(file)
    await loadSecrets(file, countedOptions())
    expect(unwraps()).toBe(2)
    clearSecretsCache()
    await loadSecrets(file, countedOptions())
    expect(unwraps()).toBe(3)
    fs.rmSync(file)
    await expect(loadSecrets(file, countedOptions())).rejects.toMatchObject({ code: 'NO_FILE', exitCode: 100 })
  })
})
