/**
 * Key groups, Shamir, rotate, updatekeys and groups against real sops: what tsops writes is
 * decrypted by the real sops 3.13.2 binary (test/helpers/real-sops.mjs), MAC included.
 *
 * The 2-of-3 file has the groups (age), (PGP key1) and (PGP publicOnly — no secret key exists
 * anywhere), so exactly two groups can ever be recovered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parse } from 'yaml'
import { INTEROP, ORACLE } from '../helpers/paths.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { createGpgHome, fixtureGpgHome, FIXTURE_KEYS, type GpgHome } from '../helpers/gpg.js'
import { generateAgeIdentity } from '../../src/keys/age.js'

type AgeKey = { identity: string; recipient: string }

let gpg: GpgHome
let emptyGpg: GpgHome
let ageA: AgeKey
let ageB: AgeKey
let work: string

beforeAll(async () => {
  ;[gpg, emptyGpg, ageA, ageB] = await Promise.all([fixtureGpgHome(), createGpgHome(), generateAgeIdentity(), generateAgeIdentity()])
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-kg-oracle-'))
})
afterAll(async () => {
  await gpg?.cleanup()
  await emptyGpg?.cleanup()
  fs.rmSync(work, { recursive: true, force: true })
})

const PLAIN = 'user: admin\npassword: hunter2\nnested:\n    token: t0k3n\n    region_unencrypted: eu-west-1\n'
const VALUES = parse(PLAIN) as unknown

/** Who can decrypt: some age identities, and the fixture keyring (key1 secret) or an empty one. */
function env(age: AgeKey[], pgp: boolean): Record<string, string | undefined> {
  return cleanEnv({
    SOPS_AGE_KEY: age.map((k) => k.identity).join('\n'),
    GNUPGHOME: pgp ? gpg.home : emptyGpg.home,
    XDG_CONFIG_HOME: path.join(work, 'no-xdg'),
  })
}

function oracle(file: string, age: AgeKey[], pgp: boolean) {
  return runCli([file, 'yaml'], { env: env(age, pgp), command: [process.execPath, ORACLE] })
}

async function expectOracleDecrypts(file: string, age: AgeKey[], pgp: boolean): Promise<void> {
  const real = await oracle(file, age, pgp)
  expect(real.stderr).toBe('')
  expect(real.code).toBe(0)
  expect(parse(real.stdout.toString())).toEqual(VALUES)
}

const shamirRule = (group0: AgeKey) =>
  [
    'creation_rules:',
    '  - path_regex: \\.yaml$',
    '    shamir_threshold: 2',
    '    key_groups:',
    `      - age: [${group0.recipient}]`,
    `      - pgp: [${FIXTURE_KEYS.key1}]`,
    `      - pgp: [${FIXTURE_KEYS.publicOnly}]`,
    '',
  ].join('\n')

let counter = 0
/** A fresh directory with the 2-of-3 rule and a file encrypted by tsops under it. */
async function shamirFile(): Promise<{ cwd: string; file: string }> {
  const cwd = path.join(work, `case-${++counter}`)
  fs.mkdirSync(cwd)
  fs.writeFileSync(path.join(cwd, '.sops.yaml'), shamirRule(ageA))
  const file = path.join(cwd, 'secrets.yaml')
  fs.writeFileSync(file, PLAIN)
  const r = await runCli(['encrypt', '-i', 'secrets.yaml'], { env: env([], true), cwd })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return { cwd, file }
}

const ciphertexts = (text: string) => text.match(/ENC\[AES256_GCM,[^\]]*\]/g) ?? []

describe('2-of-3 key groups (age) (PGP key1) (PGP publicOnly) against real sops', () => {
  it('real sops decrypts the tsops file with the age key and key1', async () => {
    const { file } = await shamirFile()
    const text = fs.readFileSync(file, 'utf8')
    expect(text).toContain('    shamir_threshold: 2\n')
    expect(text).toContain(`fp: ${FIXTURE_KEYS.publicOnly}`)
    await expectOracleDecrypts(file, [ageA], true)
  })

  it('with only one group available, real sops refuses and tsops exits 128 with the Shamir message', async () => {
    const { file } = await shamirFile()
    const real = await oracle(file, [ageA], false)
    expect(real.code).toBe(1)
    expect(real.stderr.replace(/\s+/g, ' ')).toContain('Recovery failed because the file was encrypted with a Shamir threshold of 2, but only 1 part(s) were successfully recovered')

    for (const [age, pgp] of [[[ageA], false], [[], true]] as const) {
      const ours = await runCli(['decrypt', file], { env: env([...age], pgp) })
      expect(ours.code).toBe(128)
      expect(ours.stdout.length).toBe(0)
      const message = ours.stderr.replace(/\s+/g, ' ')
      expect(message).toContain('Recovery failed because the file was encrypted with a Shamir threshold of 2, but only 1 part(s) were successfully recovered')
      expect(message).toContain(`${FIXTURE_KEYS.publicOnly}: FAILED`)
    }
    const both = await runCli(['decrypt', file], { env: env([ageA], true) })
    expect(both.code).toBe(0)
    expect(both.stdout.toString()).toBe(PLAIN)
  })

  it('rotate: real sops decrypts the rotated file; every ciphertext changed', async () => {
    const { file, cwd } = await shamirFile()
    const before = fs.readFileSync(file, 'utf8')
    const r = await runCli(['rotate', '-i', 'secrets.yaml'], { env: env([ageA], true), cwd })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const after = fs.readFileSync(file, 'utf8')
    for (const ct of ciphertexts(after)) expect(ciphertexts(before)).not.toContain(ct)
    expect(after).toContain('    shamir_threshold: 2\n')
    await expectOracleDecrypts(file, [ageA], true)
  })

  it('updatekeys: group 1 moves to another age key; real sops decrypts with it, values byte-identical', async () => {
    const { file, cwd } = await shamirFile()
    const before = fs.readFileSync(file, 'utf8')
    fs.writeFileSync(path.join(cwd, '.sops.yaml'), shamirRule(ageB))
    const r = await runCli(['updatekeys', '-y', 'secrets.yaml'], { env: env([ageA], true), cwd })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toContain(`+++ ${ageB.recipient}\n--- ${ageA.recipient}\n`)
    const after = fs.readFileSync(file, 'utf8')
    expect(ciphertexts(after)).toEqual(ciphertexts(before)) // values and MAC
    expect(/lastmodified: .*/.exec(after)?.[0]).toBe(/lastmodified: .*/.exec(before)?.[0])
    await expectOracleDecrypts(file, [ageB], true)
    const removed = await oracle(file, [ageA], true)
    expect(removed.code).toBe(1)
  })

  it('groups delete: dropping the unrecoverable group leaves a 2-of-2 file real sops decrypts', async () => {
    const { file } = await shamirFile()
    const r = await runCli(['groups', 'delete', '-i', '--file', file, '2'], { env: env([ageA], true) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const text = fs.readFileSync(file, 'utf8')
    expect(text).not.toContain(FIXTURE_KEYS.publicOnly)
    await expectOracleDecrypts(file, [ageA], true)
  })
})

describe('rotate and updatekeys on single-group files against real sops', () => {
  it('rotate --add-age --rm-pgp: real sops decrypts with the added key, not with the removed one', async () => {
    const file = path.join(work, 'flat.yaml')
    fs.writeFileSync(file, PLAIN)
    expect((await runCli(['encrypt', '-i', '--age', ageA.recipient, '--pgp', FIXTURE_KEYS.key1, file], { env: env([], true) })).code).toBe(0)
    const r = await runCli(['rotate', '-i', '--add-age', ageB.recipient, '--rm-pgp', FIXTURE_KEYS.key1, file], { env: env([ageA], true) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    await expectOracleDecrypts(file, [ageB], false)
    expect((await oracle(file, [], true)).code).toBe(1)
  })

  it('updatekeys adding a PGP key: real sops decrypts with it alone', async () => {
    const cwd = path.join(work, 'flat-update')
    fs.mkdirSync(cwd)
    fs.writeFileSync(path.join(cwd, '.sops.yaml'), `creation_rules:\n  - age: ${ageA.recipient}\n`)
    fs.writeFileSync(path.join(cwd, 'app.yaml'), PLAIN)
    expect((await runCli(['encrypt', '-i', 'app.yaml'], { env: env([], false), cwd })).code).toBe(0)
    const before = fs.readFileSync(path.join(cwd, 'app.yaml'), 'utf8')
    fs.writeFileSync(path.join(cwd, '.sops.yaml'), `creation_rules:\n  - age: ${ageA.recipient}\n    pgp: ${FIXTURE_KEYS.key1}\n`)
    const r = await runCli(['updatekeys', '-y', 'app.yaml'], { env: env([ageA], true), cwd })
    expect(r.code).toBe(0)
    const after = fs.readFileSync(path.join(cwd, 'app.yaml'), 'utf8')
    expect(ciphertexts(after)).toEqual(ciphertexts(before))
    expect(after).toMatch(/created_at: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/)
    await expectOracleDecrypts(path.join(cwd, 'app.yaml'), [], true)
  })
})

describe('files written by real sops', () => {
  const fixture = (name: string) => path.join(INTEROP, 'sops', name)

  it('updatekeys on example.yaml (sops 3.10.2, PGP key1+key2): key2 out, age in; values byte-identical', async () => {
    const cwd = path.join(work, 'real-update')
    fs.mkdirSync(cwd)
    const file = path.join(cwd, 'example.yaml')
    fs.copyFileSync(fixture('example.yaml'), file)
    const before = fs.readFileSync(file, 'utf8')
    fs.writeFileSync(path.join(cwd, '.sops.yaml'), `creation_rules:\n  - age: ${ageA.recipient}\n    pgp: ${FIXTURE_KEYS.key1}\n`)
    const r = await runCli(['updatekeys', '-y', 'example.yaml'], { env: env([], true), cwd })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe(
      `The following changes will be made to the file's groups:\nGroup 1\n    ${FIXTURE_KEYS.key1}\n+++ ${ageA.recipient}\n--- ${FIXTURE_KEYS.key2}\n`,
    )
    const after = fs.readFileSync(file, 'utf8')
    expect(ciphertexts(after)).toEqual(ciphertexts(before))
    expect(after).not.toContain(FIXTURE_KEYS.key2)
    const real = await oracle(file, [ageA], false)
    expect(real.stderr).toBe('')
    expect(real.code).toBe(0)
    const ours = await runCli(['decrypt', file], { env: env([ageA], false) })
    expect(ours.stdout.toString()).toBe(fs.readFileSync(fixture('example.yaml.dec'), 'utf8'))
  })

  it('rotate of example.json (sops 3.5.0, legacy null key lists): real sops decrypts the result', async () => {
    const file = path.join(work, 'example.json')
    fs.copyFileSync(fixture('example.json'), file)
    const before = fs.readFileSync(file, 'utf8')
    const r = await runCli(['rotate', '-i', '--rm-pgp', FIXTURE_KEYS.key2, file], { env: env([], true) })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const after = fs.readFileSync(file, 'utf8')
    for (const ct of ciphertexts(after)) expect(ciphertexts(before)).not.toContain(ct)
    expect(after).toContain('"version": "3.5.0"') // sops keeps the file's version on rotate
    const real = await runCli([file, 'json'], { env: env([], true), command: [process.execPath, ORACLE] })
    expect(real.stderr).toBe('')
    expect(real.code).toBe(0)
    const ours = await runCli(['decrypt', file], { env: env([], true) })
    expect(ours.stdout.toString()).toBe(fs.readFileSync(fixture('example.json.dec'), 'utf8'))
  })
})
