/**
 * Key groups and Shamir end to end through the CLI: `.sops.yaml` key_groups (with merge) and
 * shamir_threshold, --shamir-secret-sharing-threshold, and what decryption needs afterwards.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { generateAgeIdentity } from '../../src/keys/age.js'
import { tempWorkspace } from '../helpers/workspace.js'

type AgeKey = { identity: string; recipient: string }

const { dir } = tempWorkspace('tsops-shamir-')
/** keys[0] alone is group 1; keys[1] and keys[2] (merged) are group 2; keys[3] is group 3. */
let keys: AgeKey[]

beforeAll(async () => {
  keys = await Promise.all([0, 1, 2, 3].map(() => generateAgeIdentity()))
  fs.writeFileSync(
    path.join(dir, '.sops.yaml'),
    [
      'creation_rules:',
      '  - path_regex: ^team/',
      '    shamir_threshold: 2',
      '    key_groups:',
      `      - age: [${keys[0]!.recipient}]`,
      '      - merge:',
      `          - age: [${keys[1]!.recipient}]`,
      `          - age: [${keys[2]!.recipient}]`,
      `      - age: [${keys[3]!.recipient}]`,
      `  - age: ${keys[0]!.recipient}`,
      '',
    ].join('\n'),
  )
  fs.mkdirSync(path.join(dir, 'team'))
})

function env(holders: AgeKey[]): Record<string, string | undefined> {
  return cleanEnv({ SOPS_AGE_KEY: holders.map((k) => k.identity).join('\n'), XDG_CONFIG_HOME: path.join(dir, 'no-xdg'), GNUPGHOME: path.join(dir, 'no-gnupg') })
}

const PLAIN = '{\n\t"db_password": "hunter2",\n\t"replicas": 3\n}\n'

let counter = 0
async function encryptTeamFile(extra: string[] = []): Promise<string> {
  const name = `team/s${++counter}.json`
  fs.writeFileSync(path.join(dir, name), PLAIN)
  const r = await runCli(['encrypt', ...extra, '-i', name], { env: env([]), cwd: dir })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return name
}

const decrypt = (name: string, holders: AgeKey[]) => runCli(['decrypt', name], { env: env(holders), cwd: dir })

describe('Shamir key groups through the CLI', () => {
  it('.sops.yaml key_groups with merge and shamir_threshold: 2 give a 2-of-3 file', async () => {
    const name = await encryptTeamFile()
    const meta = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')).sops
    expect(meta.shamir_threshold).toBe(2)
    expect(meta.age).toBeUndefined()
    expect(meta.key_groups.map((g: { age: { recipient: string }[] }) => g.age.map((a) => a.recipient))).toEqual([
      [keys[0]!.recipient],
      [keys[1]!.recipient, keys[2]!.recipient],
      [keys[3]!.recipient],
    ])
  })

  it.each([
    ['groups 1 and 2', [0, 1]],
    ['groups 1 and 2 (the other merged key)', [0, 2]],
    ['groups 2 and 3', [2, 3]],
    ['groups 1 and 3', [0, 3]],
    ['all three groups', [0, 1, 3]],
  ])('decrypts with the keys of %s', async (_label, holders) => {
    const name = await encryptTeamFile()
    const r = await decrypt(name, holders.map((i) => keys[i]!))
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe(PLAIN)
  })

  it('with one group only: exit 128, "only 1 part(s) were successfully recovered"', async () => {
    const name = await encryptTeamFile()
    // Both keys of group 2 still make only one part.
    for (const holders of [[keys[0]!], [keys[1]!, keys[2]!], [keys[3]!]]) {
      const r = await decrypt(name, holders)
      expect(r.code).toBe(128)
      expect(r.stdout.length).toBe(0)
      const message = r.stderr.replace(/\s+/g, ' ')
      expect(message).toContain('Recovery failed because the file was encrypted with a Shamir threshold of 2, but only 1 part(s) were successfully recovered')
      expect(message).toMatch(/Group \d: SUCCESS/)
      expect(message).toContain('FAILED')
    }
  })

  it('--shamir-secret-sharing-threshold overrides the rule: 3 needs every group', async () => {
    const name = await encryptTeamFile(['--shamir-secret-sharing-threshold', '3'])
    expect(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')).sops.shamir_threshold).toBe(3)
    const two = await decrypt(name, [keys[0]!, keys[3]!])
    expect(two.code).toBe(128)
    expect(two.stderr.replace(/\s+/g, ' ')).toContain('Shamir threshold of 3, but only 2 part(s) were successfully recovered')
    expect((await decrypt(name, [keys[0]!, keys[1]!, keys[3]!])).stdout.toString()).toBe(PLAIN)
  })

  it('key flags on the command line replace the groups with one group (no Shamir)', async () => {
    const name = await encryptTeamFile(['--age', keys[3]!.recipient])
    const meta = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')).sops
    expect(meta.key_groups).toBeUndefined()
    expect(meta.age.map((a: { recipient: string }) => a.recipient)).toEqual([keys[3]!.recipient])
    expect((await decrypt(name, [keys[3]!])).stdout.toString()).toBe(PLAIN)
  })

  it('rotate keeps the groups and the threshold; the rotated file is still 2-of-3', async () => {
    const name = await encryptTeamFile()
    const before = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'))
    const r = await runCli(['rotate', '-i', name], { env: env([keys[0]!, keys[3]!]), cwd: dir })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const after = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'))
    expect(after.db_password).not.toBe(before.db_password)
    expect(after.sops.shamir_threshold).toBe(2)
    expect(after.sops.key_groups).toHaveLength(3)
    expect((await decrypt(name, [keys[2]!, keys[3]!])).stdout.toString()).toBe(PLAIN)
    expect((await decrypt(name, [keys[1]!])).code).toBe(128)
  })
})
