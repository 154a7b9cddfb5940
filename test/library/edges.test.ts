/**
 * The library's edges (issue 16.6): keys that are also Object.prototype's names, an environment
 * that must count for nothing with inheritEnv: false, DataKeyError's documented fields, and
 * every option checked where it enters, with one error class and one message shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import {
  clearSecretsCache,
  DataKeyError,
  decrypt,
  decryptFile,
  encrypt,
  InvalidOptionError,
  loadSecrets,
  TsopsError,
  type DecryptOptions,
  type PlainValue,
} from '../../src/index.js'
import { unwrapDataKey } from '../../src/keys/datakey.js'
import { testAgeIdentity } from '../helpers/age.js'
import { REPO_ROOT } from '../helpers/paths.js'
import { tempWorkspace } from '../helpers/workspace.js'

const { dir } = tempWorkspace('tsops-lib-edges-')
let age: { identity: string; recipient: string }
let file: string
const isolated = () => ({ inheritEnv: false as const, ageIdentities: [age.identity] })

beforeAll(async () => {
  age = await testAgeIdentity()
  file = path.join(dir, 'secrets.yaml')
  fs.writeFileSync(file, await encrypt('a: 1\n', { format: 'yaml', age: [age.recipient], inheritEnv: false }))
})
afterAll(() => {
  clearSecretsCache()
})

describe('keys named like Object.prototype members', () => {
  const PLAIN = '__proto__:\n    polluted: true\nconstructor: c\ntoString: t\nhasOwnProperty: h\nnested:\n    __proto__: p\n    valueOf: 1\n'
  let encrypted: string
  beforeAll(async () => {
    encrypted = await encrypt(PLAIN, { format: 'yaml', age: [age.recipient], inheritEnv: false })
  })

  const check = (values: PlainValue) => {
    const v = values as Record<string, unknown>
    expect(Object.keys(v)).toEqual(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'nested'])
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype) // a normal object, not prototype-less
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ polluted: true })
    expect(Object.hasOwn(v, 'constructor') && v.constructor).toBe('c')
    expect(Object.hasOwn(v, 'toString') && v.toString).toBe('t')
    const nested = v.nested as Record<string, unknown>
    expect(Object.getOwnPropertyDescriptor(nested, '__proto__')?.value).toBe('p')
    expect(Object.hasOwn(nested, 'valueOf') && nested.valueOf).toBe(1)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  }

  it('survive decrypt and decryptFile as own properties, `__proto__` included', async () => {
    check(await decrypt(encrypted, { format: 'yaml', ...isolated() }))
    const f = path.join(dir, 'proto.yaml')
    fs.writeFileSync(f, encrypted)
    check(await decryptFile(f, isolated()))
  })

  it('survive loadSecrets (its copies included) and encrypt of a plain object', async () => {
    const f = path.join(dir, 'proto-load.yaml')
    fs.writeFileSync(f, encrypted)
    check(await loadSecrets(f, isolated()))
    check(await loadSecrets(f, isolated())) // served from the cache, as a copy
    const values = await decrypt(encrypted, { format: 'yaml', ...isolated() })
    const again = await encrypt(values as Record<string, unknown>, { format: 'yaml', age: [age.recipient], inheritEnv: false })
    check(await decrypt(again, { format: 'yaml', ...isolated() }))
  })
})

describe('inheritEnv: false', () => {
  it('never reads the default age key file of $HOME (or any location the process env gives)', async () => {
    const home = path.join(dir, 'home')
    fs.mkdirSync(path.join(home, '.config/sops/age'), { recursive: true })
    fs.writeFileSync(path.join(home, '.config/sops/age/keys.txt'), `${age.identity}\n`)
    const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME, SOPS_AGE_KEY: process.env.SOPS_AGE_KEY, SOPS_AGE_KEY_FILE: process.env.SOPS_AGE_KEY_FILE }
    process.env.HOME = home // os.homedir() answers this
    delete process.env.XDG_CONFIG_HOME
    delete process.env.SOPS_AGE_KEY
    delete process.env.SOPS_AGE_KEY_FILE
    try {
      // The control: inheriting the env, the planted key file is found.
      expect(await decryptFile(file)).toEqual({ a: 1 })
      const err = await decryptFile(file, { inheritEnv: false }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DataKeyError)
      expect((err as Error).message).not.toContain(home)
      // A HOME given in `env` is the caller's choice.
      expect(await decryptFile(file, { inheritEnv: false, env: { HOME: home } })).toEqual({ a: 1 })
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })
})

describe('DataKeyError', () => {
  it('has the fields docs/library.md documents, whatever the reason no key worked', async () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs/library.md'), 'utf8')
    const row = doc.split('\n').find((l) => l.startsWith('| `DataKeyError`'))!
    const fields = [...row.split('as data:')[1]!.matchAll(/`(\w+)` \(/g)].map((m) => m[1]!)
    expect(fields).toEqual(['groups', 'required'])

    const noKey = await decryptFile(file, { inheritEnv: false }).catch((e: unknown) => e)
    // Key groups with no group at all fail before any key is tried.
    const noGroups = await unwrapDataKey([], 0, { env: {} }).catch((e: unknown) => e)
    expect((noGroups as Error).message).toMatch(/no key groups/)
    for (const err of [noKey, noGroups]) {
      expect(err).toBeInstanceOf(DataKeyError)
      for (const field of fields) expect(Object.hasOwn(err as object, field)).toBe(true)
    }
    expect((noKey as DataKeyError).groups).toEqual([{ ok: false, attempts: [{ type: 'age', id: age.recipient, label: age.recipient, reason: expect.any(String) }] }])
    expect((noKey as DataKeyError).required).toBe(0)
    expect((noGroups as DataKeyError).groups).toEqual([])
  })
})

/** Each option and the values it must refuse; `secret` values must never appear in the message. */
type Case = [option: string, values: unknown[], secret?: boolean]

const KEY_OPTION_CASES: Case[] = [
  ['ageIdentities', ['AGE-SECRET-KEY-1SECRET', [5], [null], {}], true],
  ['env', ['x', [], { SOPS_AGE_KEY: 5 }, { A: null }, new Map()], true],
  ['inheritEnv', ['false', 0, null]],
  ['gnupgHome', ['', 5, ['/tmp']]],
  ['decryptionOrder', ['age', ['age', 'age'], ['agee'], [1], 'age,pgp']],
  ['onWarning', ['log', {}]],
  ['signal', [{ aborted: false }, 'abort']],
]
const READ_CASES: Case[] = [...KEY_OPTION_CASES, ['format', ['yml', 'YAML', 5, '']], ['ignoreMac', ['yes', 1]], ['noSuchOption', [true]]]
const DECRYPT_CASES: Case[] = [...READ_CASES, ['output', ['json', 'TEXT', true]]]
const ENCRYPT_CASES: Case[] = [
  ...KEY_OPTION_CASES,
  ['format', ['yml', 5]],
  ['shamirThreshold', [1.5, -3, 0, 256, NaN, Infinity, '2', 2n]],
  ['age', ['age1xyz', [''], [5], 'x']],
  ['pgp', ['ABCD', [5], ['']]],
  ['keys', [{ type: 'age', id: 'x' }, [{ type: 'nope', id: 'x' }], [{ type: 'age' }], [{ type: 'age', id: 'x', extra: 1 }], ['age1x']]],
  ['encryptedRegex', [5, /x/, ['^a$']]],
  ['unencryptedSuffix', [true]],
  ['macOnlyEncrypted', ['true', 1]],
  ['ageIdentity', ['AGE-SECRET-KEY-1TYPO'], true],
]

/** Every case as [option, value, secret] rows. */
const rows = (cases: Case[]) => cases.flatMap(([option, values, secret]) => values.map((value) => [option, value, secret === true] as const))

async function refusal(call: () => Promise<unknown>): Promise<InvalidOptionError> {
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(InvalidOptionError)
  expect(err).toBeInstanceOf(TsopsError)
  expect(err).toMatchObject({ code: 'INVALID_OPTION', exitCode: 1 })
  return err as InvalidOptionError
}

function expectShape(err: InvalidOptionError, fn: string, option: string, value: unknown, secret: boolean): void {
  expect(err.option).toBe(option)
  expect(err.message).toMatch(new RegExp(`^invalid option "${option}" for ${fn}\\(\\): expected .+, got .+$`))
  if (secret || option === 'noSuchOption') {
    for (const text of [JSON.stringify(value), String(value)]) if (text && text.length > 3) expect(err.message).not.toContain(text.replace(/^"|"$/g, ''))
  }
}

describe('options are checked where they enter, with one message shape', () => {
  const missing = () => path.join(dir, 'missing.yaml') // checked before the file is even looked at

  it.each(rows(DECRYPT_CASES))('decryptFile refuses %s = %o', async (option, value, secret) => {
    expectShape(await refusal(() => decryptFile(missing(), { [option]: value } as never)), 'decryptFile', option, value, secret)
  })

  it.each(rows(DECRYPT_CASES.filter(([o]) => o !== 'format')))('decrypt refuses %s = %o', async (option, value, secret) => {
    expectShape(await refusal(() => decrypt('a: 1\n', { format: 'yaml', [option]: value } as never)), 'decrypt', option, value, secret)
  })

  it.each(rows(READ_CASES))('loadSecrets refuses %s = %o', async (option, value, secret) => {
    expectShape(await refusal(() => loadSecrets(missing(), { [option]: value } as never)), 'loadSecrets', option, value, secret)
  })

  it.each(rows(ENCRYPT_CASES))('encrypt refuses %s = %o', async (option, value, secret) => {
    expectShape(await refusal(() => encrypt('a: 1\n', { format: 'yaml', age: [age.recipient], [option]: value } as never)), 'encrypt', option, value, secret)
  })

  it('names a missing required option, and refuses bad arguments and non-object options', async () => {
    expect((await refusal(() => encrypt('a: 1\n', { age: [age.recipient] } as never))).message).toBe(
      'invalid option "format" for encrypt(): expected one of yaml, json, dotenv, ini, toml, binary, got nothing',
    )
    expect((await refusal(() => decrypt('a: 1\n', {} as never))).option).toBe('format')
    expect((await refusal(() => decryptFile(5 as never))).message).toBe('invalid argument "path" for decryptFile(): expected a non-empty file path string, got 5')
    expect((await refusal(() => loadSecrets(''))).option).toBe('path')
    expect((await refusal(() => decrypt(null as never, { format: 'yaml' }))).option).toBe('text')
    expect((await refusal(() => encrypt(['a'] as never, { format: 'yaml', age: [age.recipient] }))).option).toBe('input')
    expect((await refusal(() => decryptFile(file, 'yaml' as never))).option).toBe('options')
    expect(() => clearSecretsCache(5 as never)).toThrow(InvalidOptionError)
  })

  it('shamirThreshold 1.5 is a clear error, not a RangeError, and -3 never reaches a file', async () => {
    const err = await refusal(() => encrypt('a: 1\n', { format: 'yaml', age: [age.recipient], shamirThreshold: 1.5 }))
    expect(err.message).toBe('invalid option "shamirThreshold" for encrypt(): expected an integer from 1 to 255, got 1.5')
    await refusal(() => encrypt('a: 1\n', { format: 'yaml', age: [age.recipient], shamirThreshold: -3 }))
    // A valid threshold is written as sops writes it.
    expect(await encrypt('a: 1\n', { format: 'yaml', age: [age.recipient], shamirThreshold: 1, inheritEnv: false })).toMatch(/shamir_threshold: 1\n/)
  })

  it('undefined means "not given", and every valid option still works', async () => {
    const warnings: string[] = []
    // Built apart from the call: as a literal, `output: undefined` matches neither overload's type,
    // though at run time it must read as "not given" (which is what this test checks).
    const options: DecryptOptions & { output?: undefined } = {
      ...isolated(),
      format: 'yaml',
      ignoreMac: false,
      env: { UNUSED: undefined, PATH: process.env.PATH },
      gnupgHome: path.join(dir, 'gnupg'),
      decryptionOrder: ['age', 'pgp'],
      onWarning: (m) => warnings.push(m),
      signal: new AbortController().signal,
      output: undefined,
    }
    const values = await decryptFile(file, options)
    expect(values).toEqual({ a: 1 })
    expect(await decryptFile(file, { env: process.env, ageIdentities: [age.identity] })).toEqual({ a: 1 })
  })
})
